"""Neural-network building blocks: loss, normalization, attention."""

import math

import numpy as np

from .harness.declaration import OpBenchmark, Operand
from .harness.frameworks import F, mx, nn
from .harness.inputs import Case, elementwise, numel, standard_normal, uniform
from .harness.vocabulary import DTYPES


class BCE(OpBenchmark):
    """Binary cross-entropy of probabilities in (0, 1) against 0/1 targets, mean reduction."""

    cases = [Case(s, s) for s in ("1000000", "100000x32", "100000x64x2", "128x100000")]

    @classmethod
    def result(cls, shapes, **static):
        return Operand((), "float")

    @classmethod
    def make_inputs(cls, case, rng):
        shape, _ = case.shapes()
        probabilities = uniform(rng, shape, 1e-3, 1 - 1e-3)
        targets = elementwise(lambda u: (u < 0.5).astype(np.float32), uniform(rng, shape, 0.0, 1.0))
        return [probabilities, targets]

    @staticmethod
    def mlx_fn(p, y):
        return nn.losses.binary_cross_entropy(p, y, with_logits=False, reduction="mean")

    @staticmethod
    def torch_fn(p, y):
        return F.binary_cross_entropy(p, y, reduction="mean")

    @staticmethod
    def reference(p, y):
        return -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))


class LayerNorm(OpBenchmark):
    """Normalization over the last axis, eps 1e-5, no affine parameters."""

    cases = [Case("64x128x1024"), Case("128x64x1024")]
    dtypes = DTYPES

    @staticmethod
    def mlx_fn(x):
        return mx.fast.layer_norm(x, None, None, 1e-5)

    @staticmethod
    def torch_fn(x):
        return F.layer_norm(x, x.shape[-1:], eps=1e-5)

    @staticmethod
    def reference(x):
        mean = x.mean(axis=-1, keepdims=True)
        var = x.var(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5)


def causal_mask(queries, keys):
    """Additive mask, 0 where query i may see key j, -inf elsewhere.

    Queries are the last `queries` positions of a `keys`-long sequence (bottom-right
    alignment, as when decoding with a cache), so every query sees at least one key.
    """
    allowed = np.tril(np.ones((queries, keys), dtype=bool), k=keys - queries)
    return np.where(allowed, 0.0, -np.inf).astype(np.float32)


class ScaledDotProductAttention(OpBenchmark):
    """softmax(q k^T / sqrt(d) + causal mask) v; the mask is one explicit array for both."""

    cases = [
        Case("64x8x16x1024", "64x8x16x1024", "64x8x16x1024"),
        Case("64x8x16x1024", "64x8x64x1024", "64x8x64x1024"),
        Case("64x16x16x1024", "64x16x16x1024", "64x16x16x1024"),
        Case("64x16x16x1024", "64x16x64x1024", "64x16x64x1024"),
    ]
    dtypes = DTYPES
    tf32_setting = "fp32_matmul"

    @classmethod
    def operands(cls, shapes, **static):
        q, k, v = shapes
        return [Operand(s, "float") for s in shapes] + [Operand((q[-2], k[-2]), "float")]

    @classmethod
    def workspace_bytes(cls, shapes, dtype="float32", **static):
        q, k, _ = shapes  # an unfused implementation holds the scores, batch x heads x Lq x Lk
        return max(numel(q[:-1]) * k[-2] * 4, super().workspace_bytes(shapes, dtype))

    @classmethod
    def matrix_flops(cls, shapes, **static):
        q, k, _ = shapes  # q k^T and the weights times v: 2 x (2 Lq Lk d) per batch and head
        return 4 * numel(q) * k[-2]

    @classmethod
    def make_inputs(cls, case, rng):
        q_shape, k_shape, v_shape = case.shapes()
        q, k, v = (standard_normal(rng, s) for s in (q_shape, k_shape, v_shape))
        return [q, k, v, causal_mask(q_shape[-2], k_shape[-2])]

    @staticmethod
    def mlx_fn(q, k, v, mask):
        return mx.fast.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(q.shape[-1]), mask=mask)

    @staticmethod
    def torch_fn(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1 / math.sqrt(q.shape[-1]))

    @staticmethod
    def reference(q, k, v, mask):
        scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]) + mask
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return (weights / weights.sum(axis=-1, keepdims=True)) @ v
