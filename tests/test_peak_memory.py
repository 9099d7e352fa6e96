"""The memory measure: peak device bytes of one call beyond what the process already holds
(its inputs, however many placements of them), checked where a backend reports it here."""

import json
import os

import pytest

from benchmarks.harness import frameworks
from toolkit import run_python

MEASURE = '''
import json, sys
from benchmarks.harness import catalog
from benchmarks.harness.inputs import active_profile
out = {}
for op in ("ReLU", "Sigmoid", "Softmax"):
    label = catalog.find_op(op).labels(active_profile())[-1]
    with catalog.placed(op, label, sys.argv[1]) as placed:
        result = placed.call()
        out[op] = [placed.peak_memory(), placed.backend.nbytes(result), len(placed.placements)]
print(json.dumps(out))
'''


def measured(backend, placements):
    env = dict(os.environ, BENCH_PROFILE="small", BENCH_PLACEMENTS=str(placements))
    return json.loads(run_python(MEASURE, backend, env=env).stdout.strip().splitlines()[-1])


@pytest.mark.skipif(frameworks.BACKENDS["mlx_cpu"].unavailable_reason() is not None, reason="needs MLX")
def test_peak_memory_counts_the_call_not_the_inputs_already_held():
    """Element-wise ops and a softmax need about their output; the figure must not grow
    with the placements of the inputs the process holds (MLX resets its peak to zero, so
    the peak alone would count every input)."""
    one, three = measured("mlx_cpu", 1), measured("mlx_cpu", 3)
    for op, (peak, output, placements) in one.items():
        assert placements == 1 and three[op][2] == 3
        assert output <= peak <= 3 * output + 65536, (op, peak, output)
        assert three[op][0] == peak, (op, peak, three[op][0])


def test_torch_on_the_cpu_reports_no_peak():
    assert measured("cpu", 1)["ReLU"][0] is None
