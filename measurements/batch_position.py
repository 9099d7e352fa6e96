"""Does a call cost the same wherever it sits in a device-time batch? (issue 11)

    python3 measurements/batch_position.py [REPEATS]

A planted slowdown adds calls to a batch (measurement.PlacedCase); on the H200 a planted
10 % came out at 1.03-1.13x for torch `cuda` cases of about 5 us (ReLU and SeLU
128x16x1024), exactly 1.10x for cases of 100 us and more. That fits a batch whose first
calls cost more than its last. Torch only, as the suite's CUDA clock does it: a spin
(`torch.cuda._sleep`), an event, the calls, an event; the figure a call for batches of 60
and 66 calls taking turns, and the same batches with an event after every call, whose
medians by position show where the time goes.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the suite's own packages

from benchmarks.harness.frameworks import CudaEventClock  # noqa: E402

REPEATS = int(sys.argv[1]) if sys.argv[1:] else 40
SPIN_SECONDS = 1.2e-3  # about what the suite's clock spins for these cases (2 x 60 calls' queueing)
torch.set_grad_enabled(False)


def event():
    mark = torch.cuda.Event(enable_timing=True)
    mark.record()
    return mark


CYCLES = CudaEventClock.cycles_per_second()
OPS = {"ReLU 128x16x1024": (torch.relu, (128, 16, 1024)), "SeLU 128x16x1024": (torch.selu, (128, 16, 1024)),
       "ReLU 64x128x1024": (torch.relu, (64, 128, 1024)),
       "Softmax 64x16x32x1024": (lambda x: torch.softmax(x, -1), (64, 16, 32, 1024))}


def batch(fn, x, calls, every_call, spin=SPIN_SECONDS):
    torch.cuda.synchronize()
    torch.cuda._sleep(int(spin * CYCLES) + 1000)
    marks, outs = [event()], []
    for _ in range(calls):
        outs.append(fn(x))
        if every_call:
            marks.append(event())
    if not every_call:
        marks.append(event())
    marks[-1].synchronize()
    return np.array([a.elapsed_time(b) * 1e3 for a, b in zip(marks, marks[1:])])  # us


for name, (fn, shape) in OPS.items():
    inputs = [torch.randn(shape, device="cuda") for _ in range(3)]
    for x in inputs:
        batch(fn, x, 66, False)
    figures = {60: [], 66: []}
    positions = []
    for rep in range(REPEATS):
        x = inputs[rep % 3]
        for calls in (60, 66):
            figures[calls].append(batch(fn, x, calls, False).sum() / 60)
        positions.append(batch(fn, x, 66, True))
    positions = np.median(np.array(positions), axis=0)
    base, planted = np.median(figures[60]), np.median(figures[66])
    print(f"{name}: a call in 60 {base:.3f} us, 66 calls / 60 {planted:.3f} us, planted ratio {planted / base:.4f}; "
          f"with an event a call, median by position: first 5 {np.round(positions[:5], 2).tolist()}, "
          f"calls 10-19 {np.median(positions[10:20]):.2f}, 30-39 {np.median(positions[30:40]):.2f}, "
          f"56-65 {np.median(positions[56:]):.2f}", flush=True)
    no_spin = [batch(fn, inputs[r % 3], 60, False, spin=0.0).sum() / 60 for r in range(REPEATS)]
    print(f"  the same 60 calls without the spin: {np.median(no_spin):.3f} us", flush=True)
