"""A CPU benchmark process keeps its freed memory in its heap (frameworks.keep_freed_heap),
so that a batch's outputs are not faulted in afresh in some processes and not in others."""

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="sets glibc's malloc parameters")

# In a fresh interpreter: where a 16 MiB block comes from (heap or mmap), and whether the
# heap shrinks once it is freed; before and after keep_freed_heap. mallinfo2: glibc >= 2.33.
PROBE = r"""
import ctypes, json

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def block():
    before = libc.mallinfo2()
    pointer = libc.malloc(16 * 2**20)
    held = libc.mallinfo2()
    libc.free(pointer)
    after = libc.mallinfo2()
    return {"mmapped": held.hblkhd - before.hblkhd, "heap_grew": held.arena - before.arena,
            "heap_kept": after.arena - before.arena}

default = block()  # before anything else has moved glibc's dynamic mmap threshold
from benchmarks.harness import frameworks
kept = frameworks.keep_freed_heap()
print(json.dumps({"default": default, "kept": kept, "after": block()}))
"""


@pytest.fixture(scope="module")
def probe():
    if not hasattr(__import__("ctypes").CDLL(None), "mallinfo2"):
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_by_default_a_large_block_is_a_fresh_mmap(probe):
    assert probe["default"]["mmapped"] >= 16 * 2**20 and probe["default"]["heap_grew"] < 2**20


def test_a_kept_heap_serves_large_blocks_and_does_not_shrink_when_they_are_freed(probe):
    assert probe["kept"] is True
    after = probe["after"]
    assert after["mmapped"] < 2**20 and after["heap_grew"] >= 16 * 2**20
    assert after["heap_kept"] >= 16 * 2**20  # freed, and still the process's


def test_every_cpu_backend_keeps_the_heap_and_says_so():
    from benchmarks.harness.frameworks import BACKENDS

    for name in ("cpu", "mlx_cpu"):
        backend = BACKENDS[name]
        if backend.unavailable_reason() is not None:
            continue
        backend.apply_settings()
        assert backend.settings()["heap_kept"] is True, name
