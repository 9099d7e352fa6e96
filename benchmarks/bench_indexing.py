"""Concatenation, gather and scatter.

Gather and scatter keep the reference script's inputs: a node-feature matrix of N rows and
D columns and M edge indices drawn uniformly from [0, N - 1) (its `randint(0, N - 1)`,
which never picks the last row). The scatters write M rows of gathered features into an
N x D zero matrix, every column, and return the result.
"""

import numpy as np

from .harness.declaration import OpBenchmark, Operand
from .harness.frameworks import mx, torch
from .harness.inputs import Case, standard_normal

EDGE_COUNTS = ("10", "1000", "1000000")


SCATTER_CASES = [Case(nodes, edges) for nodes in ("64x16", "1024x32") for edges in EDGE_COUNTS]


def edge_index(rng, num_nodes, num_edges):
    return rng.integers(0, num_nodes - 1, num_edges, dtype=np.int64)


class _GraphScatter(OpBenchmark):
    """The three scatters' inputs: zeros (N x D), destination rows (M), the rows written (M x D)."""

    @classmethod
    def make_inputs(cls, case, rng):
        (num_nodes, features), (num_edges,) = case.shapes()
        node_features = standard_normal(rng, (num_nodes, features))
        values = node_features[edge_index(rng, num_nodes, num_edges)]
        index = edge_index(rng, num_nodes, num_edges)
        return [np.zeros((num_nodes, features), dtype=np.float32), index, values]

    @classmethod
    def operands(cls, shapes, **static):
        (num_nodes, features), (num_edges,) = shapes
        return [Operand((num_nodes, features), "float"), Operand((num_edges,), "index"),
                Operand((num_edges, features), "float")]


class Concat(OpBenchmark):
    """Concatenation of two arrays along the case's axis."""

    cases = [
        Case("1000000x64", "1000000x32", axis=1),
        Case("1000000x64", "1000000x128", axis=1),
        Case("1000000x64", "1000000x64", axis=0),
        Case("64x1000000", "64x1000000", axis=0),
    ]
    tolerance = 0.0

    @classmethod
    def result(cls, shapes, axis):
        a, b = shapes
        return Operand(tuple(x + y if i == axis % len(a) else x for i, (x, y) in enumerate(zip(a, b))), "float")

    @staticmethod
    def mlx_fn(a, b, axis):
        return mx.concatenate([a, b], axis=axis)

    @staticmethod
    def torch_fn(a, b, axis):
        return torch.cat([a, b], dim=axis)

    @staticmethod
    def reference(a, b, axis):
        return np.concatenate([a, b], axis=axis)


class Gather(OpBenchmark):
    """Rows of an N x D matrix picked by M indices."""

    cases = [Case(nodes, edges) for nodes in ("64x256", "1024x32") for edges in EDGE_COUNTS]
    tolerance = 0.0

    @classmethod
    def operands(cls, shapes, **static):
        return [Operand(shapes[0], "float"), Operand(shapes[1], "index")]

    @classmethod
    def result(cls, shapes, **static):
        (num_nodes, features), (num_edges,) = shapes
        return Operand((num_edges, features), "float")

    @classmethod
    def make_inputs(cls, case, rng):
        (num_nodes, features), (num_edges,) = case.shapes()
        x = standard_normal(rng, (num_nodes, features))
        return [x, edge_index(rng, num_nodes, num_edges)]

    @staticmethod
    def mlx_fn(x, index):
        return x[index]

    @staticmethod
    def torch_fn(x, index):
        return x[index]

    @staticmethod
    def reference(x, index):
        return x[index]


class Scatter(_GraphScatter):
    """Assignment of M rows into N rows; with repeated indices any one writer may win."""

    cases = SCATTER_CASES

    @staticmethod
    def mlx_fn(out, index, values):
        out = mx.array(out)  # a new handle: the assignment must not mutate the cached input
        out[index] = values
        return out

    @staticmethod
    def torch_fn(out, index, values):
        return out.index_put((index,), values)

    @staticmethod
    def reference(out, index, values):
        out = out.copy()
        out[index] = values
        return out

    @classmethod
    def check(cls, got, expected, arrays, case, tolerance):
        """Each element of a written row holds a value some writer of that row wrote there;
        untouched rows keep their zeros."""
        out, index, values = arrays
        assert got.shape == out.shape, f"shape {got.shape}, expected {out.shape}"
        written = np.zeros(out.shape, dtype=bool)
        written[index] = True
        np.testing.assert_array_equal(got[~written], out[~written], err_msg="rows nobody wrote changed")
        matched = np.zeros(out.shape, dtype=bool)
        np.logical_or.at(matched, index, got[index] == values)
        assert matched[written].all(), f"{np.count_nonzero(~matched[written])} written elements hold no writer's value"


class ScatterSum(_GraphScatter):
    """out[index[i], :] += values[i, :] for every i: np.add.at."""

    cases = SCATTER_CASES

    @staticmethod
    def mlx_fn(out, index, values):
        return out.at[index].add(values)

    @staticmethod
    def torch_fn(out, index, values):
        return out.scatter_reduce(0, index[:, None].expand_as(values), values, reduce="sum")

    @staticmethod
    def reference(out, index, values):
        out = out.copy()
        np.add.at(out, index, values)
        return out

    @classmethod
    def error_scale(cls, expected, arrays, case):
        # Order of the float32 additions is free: bound the error by the sum of |values|.
        out, index, values = arrays
        magnitude = np.zeros(out.shape)
        np.add.at(magnitude, index, np.abs(values))
        return float(magnitude.max(initial=0.0))


class ScatterMax(_GraphScatter):
    """out[index[i], :] = max(out[index[i], :], values[i, :]) for every i: np.maximum.at."""

    cases = SCATTER_CASES
    tolerance = 0.0

    @staticmethod
    def mlx_fn(out, index, values):
        return out.at[index].maximum(values)

    @staticmethod
    def torch_fn(out, index, values):
        return out.scatter_reduce(0, index[:, None].expand_as(values), values, reduce="amax")

    @staticmethod
    def reference(out, index, values):
        out = out.copy()
        np.maximum.at(out, index, values)
        return out
