"""Cases (a table row: operand shapes and an axis), their labels per profile, and seeded
inputs: standard normals, uniforms, large inputs tiled from one drawn block."""

import math
import zlib

import numpy as np

from .vocabulary import PROFILES, setting


def active_profile():
    return setting("BENCH_PROFILE")


def shrink(dim):
    """The small profile's size for a reference dimension.

    Strictly increasing, so equal dimensions stay equal (matmul inner sizes, Linear's
    in-features), distinct ones stay distinct (every case keeps its own row), and order
    is kept (kernels still fit their inputs). Sizes up to 16 (kernels, heads, index
    counts of 10) are kept as they are; ranks and axes never change.
    """
    return dim if dim <= 16 else 16 + round(math.sqrt(dim - 16))


class Case:
    """One row of the table: the operand shapes (reference sizes) and the op's axis, if any."""

    def __init__(self, *shapes, axis=None, profile=None):
        self.reference_shapes = [tuple(int(d) for d in str(s).split("x")) for s in shapes]
        self.axis = axis
        self.profile = profile

    def at(self, profile):
        """This case bound to `profile`: its shapes and label are that profile's."""
        bound = Case(axis=self.axis, profile=profile)
        bound.reference_shapes = self.reference_shapes
        return bound

    def shapes(self, profile=None):
        """The operand shapes in `profile` (default: the bound one, else BENCH_PROFILE)."""
        if (profile or self.profile or active_profile()) == "small":
            return [tuple(shrink(d) for d in shape) for shape in self.reference_shapes]
        return list(self.reference_shapes)

    def label(self, profile=None):
        """The reference table's row label: `dim=64x1024x128 axi=0`."""
        parts = ["dim=" + "x".join(map(str, s)) for s in self.shapes(profile)]
        if self.axis is not None:
            parts.append(f"axi={self.axis}")
        return " ".join(parts)

    def labels(self):
        """{profile: label}; a case whose dimensions are all small has one label for both."""
        return {p: self.label(p) for p in PROFILES}

    @property
    def static(self):
        """Non-array arguments of the op functions."""
        return {} if self.axis is None else {"axis": self.axis}


def parse_label(label):
    """(shapes, static arguments) of a row label, whatever profile made it."""
    shapes, static = [], {}
    for part in label.split():
        key, _, value = part.partition("=")
        if key == "dim":
            shapes.append(tuple(int(d) for d in value.split("x")))
        elif key == "axi":
            static["axis"] = int(value)
        else:
            raise ValueError(f"not a case label: {label!r}")
    if not shapes:
        raise ValueError(f"not a case label: {label!r}")
    return shapes, static


def numel(shape):
    return math.prod(shape)


def case_seed(op_name, label):
    """A stable seed per case: every backend sees the same inputs, and a rerun too."""
    return zlib.crc32(f"{op_name}/{label}".encode())


# Inputs larger than this many elements repeat one seeded random block of this size (4 MiB
# of float32): drawing random values is per-process cost, paid in every benchmark process.
TILE = 1 << 20


class Tiled:
    """A large input that repeats one random block of TILE values, in row-major order.

    Drawing 10^8 random values and copying them to the device would dominate every
    benchmark process (asv starts hundreds). A Tiled input is
    placed as its block and repeated on the device, in milliseconds. Repetition every 4
    MiB changes no op's cost here (caches work by address, not by value); the NumPy
    reference sees exactly the same values (`numpy.asarray(tiled)`).
    """

    def __init__(self, block, shape):
        self.block = np.ascontiguousarray(block).reshape(-1)
        self.shape = tuple(shape)
        self.size = int(np.prod(self.shape))
        self.dtype = self.block.dtype
        self.nbytes = self.size * self.dtype.itemsize
        self.ndim = len(self.shape)

    def __array__(self, dtype=None, copy=None):
        full = np.resize(self.block, self.shape)  # repeats the flat block: the same order
        return full if dtype is None else full.astype(dtype)

    def map(self, fn):
        """`fn` applied to the values (for element-wise functions only)."""
        return Tiled(fn(self.block), self.shape)

    def pieces(self):
        """(repeats of the whole block, length of the partial block at the end)."""
        return divmod(self.size, self.block.size)


def _generated(rng, shape, draw):
    """`draw(rng, n)` values in `shape`: drawn directly up to TILE elements, else one drawn
    block of TILE values repeated."""
    n = numel(shape)
    if n <= TILE:
        return draw(rng, n).reshape(shape)
    return Tiled(draw(rng, TILE), shape)


def standard_normal(rng, shape):
    """Seeded standard-normal float32 values."""
    return _generated(rng, shape, lambda g, n: g.standard_normal(n, dtype=np.float32))


def uniform(rng, shape, low, high):
    """Seeded uniform float32 values in [low, high] (float32 rounding can reach `high`)."""
    return _generated(rng, shape, lambda g, n: low + (high - low) * g.random(n, dtype=np.float32))


def elementwise(fn, array):
    """`fn` (an element-wise NumPy function) applied to an input, tiled or not."""
    return array.map(fn) if isinstance(array, Tiled) else fn(array)


def round_to(array, dtype):
    """A float32 array's values rounded to `dtype` (round to nearest even), kept in float32.

    The NumPy reference then sees exactly the values the framework computes on, so the
    check measures the op's error, not the rounding of its inputs.
    """
    if dtype == "float32" or array.dtype != np.float32:
        return array
    if isinstance(array, Tiled):
        return array.map(lambda block: round_to(block, dtype))
    if dtype == "float16":
        return array.astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":  # NumPy has no bfloat16: round the float32 bit pattern
        bits = array.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return rounded.astype(np.uint32).view(np.float32)
    raise ValueError(f"unknown dtype {dtype!r}")
