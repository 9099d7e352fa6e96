"""Reductions and sorts along an axis: the reference script's axis bugs live here."""

import numpy as np

from .harness.declaration import OpBenchmark, Operand
from .harness.frameworks import mx, torch
from .harness.inputs import Case
from .harness.vocabulary import DTYPES


def reduced(shape, axis):
    return tuple(d for i, d in enumerate(shape) if i != axis % len(shape))


class Argmax(OpBenchmark):
    """Index of the maximum along the case's axis."""

    cases = [
        Case("64x1024x128", axis=0),
        Case("64x1024x128", axis=1),
        Case("64x1024x128", axis=2),
        Case("64x128x1024", axis=2),
    ]

    @classmethod
    def result(cls, shapes, axis):
        return Operand(reduced(shapes[0], axis), "index")

    @staticmethod
    def mlx_fn(x, axis):
        return mx.argmax(x, axis=axis)

    @staticmethod
    def torch_fn(x, axis):
        return torch.argmax(x, dim=axis)

    @staticmethod
    def reference(x, axis):
        return np.argmax(x, axis=axis)


def sum_error_scale(cls, expected, arrays, case):
    # A float32 sum's error grows with the sum of |x|, not with the (possibly tiny) sum.
    return float(np.max(np.sum(np.abs(arrays[0]), axis=case.axis)))


class Sum(OpBenchmark):
    """Sum along the case's axis."""

    cases = [Case("64x128x128x128", axis=a) for a in range(4)]
    error_scale = classmethod(sum_error_scale)

    @classmethod
    def result(cls, shapes, axis):
        return Operand(reduced(shapes[0], axis), "float")

    @staticmethod
    def mlx_fn(x, axis):
        return mx.sum(x, axis=axis)

    @staticmethod
    def torch_fn(x, axis):
        return torch.sum(x, dim=axis)

    @staticmethod
    def reference(x, axis):
        return np.sum(x, axis=axis)


class SumAll(OpBenchmark):
    """Sum of every element."""

    cases = [Case("64x128x128x128"), Case("1000000"), Case("1000000x128"), Case("128x1000000")]
    error_scale = classmethod(sum_error_scale)

    @classmethod
    def result(cls, shapes):
        return Operand((), "float")

    @staticmethod
    def mlx_fn(x):
        return mx.sum(x)

    @staticmethod
    def torch_fn(x):
        return torch.sum(x)

    @staticmethod
    def reference(x):
        return np.sum(x)


class Softmax(OpBenchmark):
    """Softmax along the case's axis."""

    cases = [
        Case("64x1000000", axis=-1),
        Case("1000000x64", axis=-1),
        Case("64x16x32x1024", axis=-1),
        Case("128x16x32x1024", axis=-1),
        Case("1024x16x32x128", axis=-1),
        Case("1024x64x32x8", axis=-1),
    ]
    dtypes = DTYPES

    @staticmethod
    def mlx_fn(x, axis):
        # precise: accumulate in float32, as torch does for float16 / bfloat16 (MLX 0.32.4's
        # default accumulates in the input type: on its CPU backend a float16 row of 10^6
        # elements then sums to about 22).
        return mx.softmax(x, axis=axis, precise=True)

    @staticmethod
    def torch_fn(x, axis):
        return torch.softmax(x, dim=axis)

    @staticmethod
    def reference(x, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


class Sort(OpBenchmark):
    """Sorted values along the case's axis (torch also returns the indices: it has no values-only sort)."""

    cases = [Case("64x128x1024", axis=a) for a in range(3)]
    tolerance = 0.0  # sorting moves values, it never rounds them

    @staticmethod
    def mlx_fn(x, axis):
        return mx.sort(x, axis=axis)

    @staticmethod
    def torch_fn(x, axis):
        return torch.sort(x, dim=axis).values

    @staticmethod
    def reference(x, axis):
        return np.sort(x, axis=axis)
