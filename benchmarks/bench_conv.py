"""Convolutions, stride 1, no padding, no bias.

Each framework gets its native layout: MLX channels-last (N, ..., C) with weights
(C_out, ..., C_in), torch channels-first (N, C, ...) with weights (C_out, C_in, ...). Both
compute the same cross-correlation; results are compared in MLX's layout.
"""

import numpy as np

from .harness.declaration import OpBenchmark, Operand
from .harness.frameworks import mx, torch
from .harness.inputs import Case, numel
from .harness.vocabulary import DTYPES


def channels_first(a):
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


def channels_last(a):
    return np.moveaxis(a, 1, -1)


class _Convolution(OpBenchmark):
    dtypes = DTYPES
    tf32_setting = "fp32_conv"  # cuDNN and MLX may run float32 convolutions on TF32 tensor cores

    @staticmethod
    def output_shape(x, w):
        n, *spatial, _ = x
        out, *kernel, _ = w
        return (n, *(s - k + 1 for s, k in zip(spatial, kernel)), out)

    @classmethod
    def result(cls, shapes, **static):
        return Operand(cls.output_shape(*shapes), "float")

    @classmethod
    def matrix_flops(cls, shapes, **static):
        x, w = shapes
        return 2 * numel(cls.output_shape(x, w)) * numel(w[1:])

    @classmethod
    def framework_inputs(cls, framework, arrays):
        return [channels_first(a) for a in arrays] if framework == "torch" else arrays

    @classmethod
    def reference_layout(cls, framework, result):
        return channels_last(result) if framework == "torch" else result


class Conv1d(_Convolution):
    """1-D convolution: x (N, L, C_in) with w (C_out, K, C_in)."""

    cases = [
        Case("100x256x3", "8x3x3"),
        Case("100x256x256", "8x3x256"),
        Case("16x1000x80", "128x11x80"),
        Case("16x1000x3", "128x11x3"),
    ]

    @staticmethod
    def mlx_fn(x, w):
        return mx.conv1d(x, w)

    @staticmethod
    def torch_fn(x, w):
        return torch.nn.functional.conv1d(x, w)

    @staticmethod
    def reference(x, w):
        windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[1], axis=1)  # N, L', C, K
        return np.einsum("nlck,okc->nlo", windows, w, optimize=True)


class Conv2d(_Convolution):
    """2-D convolution: x (N, H, W, C_in) with w (C_out, KH, KW, C_in)."""

    cases = [
        Case("100x256x256x3", "8x3x3x3"),
        Case("10x256x256x12", "8x3x3x12"),
        Case("1x256x256x128", "8x3x3x128"),
        Case("100x28x28x3", "8x3x3x3"),
        Case("1000x28x28x3", "8x3x3x3"),
    ]

    @staticmethod
    def mlx_fn(x, w):
        return mx.conv2d(x, w)

    @staticmethod
    def torch_fn(x, w):
        return torch.nn.functional.conv2d(x, w)

    @staticmethod
    def reference(x, w):
        windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[1:3], axis=(1, 2))  # N, H', W', C, KH, KW
        return np.einsum("nhwcij,oijc->nhwo", windows, w, optimize=True)
