"""Matrix products."""

import numpy as np

from .harness.declaration import OpBenchmark, Operand
from .harness.frameworks import mx, torch
from .harness.inputs import Case, numel, standard_normal
from .harness.vocabulary import DTYPES


class MatMul(OpBenchmark):
    """a @ b, batched where the shapes say so."""

    cases = [
        Case("32x1x1000", "32x1000x128"),
        Case("1000x64x256", "256x32"),
        Case("1000x64x1024", "1000x1024x32"),
        Case("1000x1024x64", "1000x64x256"),
        Case("64x1000000", "1000000x32"),
        Case("1000000x64", "64x1024"),
    ]
    dtypes = DTYPES
    tf32_setting = "fp32_matmul"

    @classmethod
    def result(cls, shapes, **static):
        (*batch_a, m, k), (*batch_b, _, n) = shapes
        return Operand((*np.broadcast_shapes(tuple(batch_a), tuple(batch_b)), m, n), "float")

    @classmethod
    def matrix_flops(cls, shapes, **static):
        *_, k = shapes[0]
        return 2 * numel(cls.result(shapes).shape) * k

    @staticmethod
    def mlx_fn(a, b):
        return mx.matmul(a, b)

    @staticmethod
    def torch_fn(a, b):
        return torch.matmul(a, b)

    @staticmethod
    def reference(a, b):
        return a @ b


class Linear(OpBenchmark):
    """x @ W.T + b, as nn.Linear in both frameworks.

    The row label keeps the reference table's operands: x, W.T (in x out) and b. W itself
    is stored out x in, the layout both nn.Linear modules use.
    """

    cases = [
        Case("100x1024x32", "32x1024", "1024"),
        Case("100x1024x64", "64x1024", "1024"),
        Case("100x1024x256", "256x1024", "1024"),
        Case("100x1024x512", "512x1024", "1024"),
        Case("100x1x51200", "51200x1", "1"),
    ]
    dtypes = DTYPES
    tf32_setting = "fp32_matmul"

    @classmethod
    def operands(cls, shapes, **static):
        x, (fan_in, fan_out), b = shapes
        return [Operand(x, "float"), Operand((fan_out, fan_in), "float"), Operand(b, "float")]

    @classmethod
    def result(cls, shapes, **static):
        x, (fan_in, fan_out), _ = shapes
        return Operand((*x[:-1], fan_out), "float")

    @classmethod
    def matrix_flops(cls, shapes, **static):
        x, (fan_in, fan_out), _ = shapes
        return 2 * numel(x[:-1]) * fan_in * fan_out

    @classmethod
    def make_inputs(cls, case, rng):
        return [standard_normal(rng, o.shape) for o in cls.operands(case.shapes())]

    @staticmethod
    def mlx_fn(x, w, b):
        return mx.addmm(b, x, w.T)

    @staticmethod
    def torch_fn(x, w, b):
        return torch.nn.functional.linear(x, w, b)

    @staticmethod
    def reference(x, w, b):
        return x @ w.T + b
