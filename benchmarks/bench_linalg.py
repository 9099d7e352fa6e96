"""Matrix products."""

import math

import numpy as np

from .backends import mx, torch
from .common import Case, OpBenchmark, numel


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
    tf32_setting = "fp32_matmul"

    @classmethod
    def footprint(cls, shapes):
        (*batch_a, m, k), (*batch_b, _, n) = shapes
        batch = math.prod(np.broadcast_shapes(tuple(batch_a), tuple(batch_b)))
        return 4 * sum(numel(s) for s in shapes), 4 * batch * m * n

    @classmethod
    def flops(cls, shapes):
        (*batch_a, m, k), (*batch_b, _, n) = shapes
        return 2 * math.prod(np.broadcast_shapes(tuple(batch_a), tuple(batch_b))) * m * n * k

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
    tf32_setting = "fp32_matmul"

    @classmethod
    def footprint(cls, shapes):
        x, (fan_in, fan_out), _ = shapes
        return 4 * sum(numel(s) for s in shapes), 4 * numel(x[:-1]) * fan_out

    @classmethod
    def flops(cls, shapes):
        x, (fan_in, fan_out), _ = shapes
        return 2 * numel(x[:-1]) * fan_in * fan_out

    @classmethod
    def make_inputs(cls, case, rng):
        x_shape, (fan_in, fan_out), b_shape = case.shapes()
        return [
            rng.standard_normal(x_shape, dtype=np.float32),
            rng.standard_normal((fan_out, fan_in), dtype=np.float32),
            rng.standard_normal(b_shape, dtype=np.float32),
        ]

    @staticmethod
    def mlx_fn(x, w, b):
        return mx.addmm(b, x, w.T)

    @staticmethod
    def torch_fn(x, w, b):
        return torch.nn.functional.linear(x, w, b)

    @staticmethod
    def reference(x, w, b):
        return x @ w.T + b
