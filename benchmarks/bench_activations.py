"""Element-wise activations: one read, one write per element."""

import numpy as np

from .harness.declaration import OpBenchmark
from .harness.frameworks import F, mx, nn, torch
from .harness.inputs import Case, standard_normal

SHAPES = ["128x16x1024", "64x128x1024"]
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


class ReLU(OpBenchmark):
    """max(x, 0)."""

    cases = [Case(s) for s in SHAPES]

    @staticmethod
    def mlx_fn(x):
        return nn.relu(x)

    @staticmethod
    def torch_fn(x):
        return F.relu(x)

    @staticmethod
    def reference(x):
        return np.maximum(x, 0)


class LeakyReLU(OpBenchmark):
    """x if x > 0 else 0.01 x (both frameworks' default slope)."""

    cases = [Case(s) for s in SHAPES]

    @staticmethod
    def mlx_fn(x):
        return nn.leaky_relu(x, negative_slope=0.01)

    @staticmethod
    def torch_fn(x):
        return F.leaky_relu(x, negative_slope=0.01)

    @staticmethod
    def reference(x):
        return np.where(x > 0, x, 0.01 * x)


class PReLU(OpBenchmark):
    """x if x > 0 else a x, with one learned slope a = 0.25 (both frameworks' initial value)."""

    cases = [Case(s, "1") for s in SHAPES]

    @classmethod
    def make_inputs(cls, case, rng):
        x_shape, a_shape = case.shapes()
        return [standard_normal(rng, x_shape), np.full(a_shape, 0.25, dtype=np.float32)]

    @staticmethod
    def mlx_fn(x, a):
        return nn.prelu(x, a)

    @staticmethod
    def torch_fn(x, a):
        return F.prelu(x, a)

    @staticmethod
    def reference(x, a):
        return np.where(x > 0, x, a * x)


class SeLU(OpBenchmark):
    """Scaled exponential linear unit."""

    cases = [Case(s) for s in SHAPES]

    @staticmethod
    def mlx_fn(x):
        return nn.selu(x)

    @staticmethod
    def torch_fn(x):
        return F.selu(x)

    @staticmethod
    def reference(x):
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))


class Sigmoid(OpBenchmark):
    """1 / (1 + exp(-x))."""

    cases = [Case(s) for s in SHAPES]

    @staticmethod
    def mlx_fn(x):
        return mx.sigmoid(x)

    @staticmethod
    def torch_fn(x):
        return torch.sigmoid(x)

    @staticmethod
    def reference(x):
        return 1 / (1 + np.exp(-x))


class Softplus(OpBenchmark):
    """log(1 + exp(x))."""

    cases = [Case(s) for s in SHAPES]

    @staticmethod
    def mlx_fn(x):
        return nn.softplus(x)

    @staticmethod
    def torch_fn(x):
        return F.softplus(x)

    @staticmethod
    def reference(x):
        return np.logaddexp(x, 0)
