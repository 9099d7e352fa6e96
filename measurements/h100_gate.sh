#!/usr/bin/env bash
# The regression gate's checks on the H100 (issue 11), stage by stage: each stage fits the
# GPU host's 10-minute limit per command. Run from the project root on the GPU host after
# MLX's CUDA build is installed (../shared/gpu/mlx-cuda-wheels.sh).
#
#   bash measurements/h100_gate.sh setup|runs|gates1|gates2|fidelity|report OUT
#
# setup:  versions, a small-shape correctness pass (warms MLX's kernel cache), the scratch
#         copy, and run 1: the default run, both measures, timed (the wall-time target).
# runs:   runs 2 and 3, device time only (what the gate compares).
# gates1: the A/A gate of runs 1 and 2, then run 4 with the planted slowdowns.
# gates2: the A/A gate of runs 2 and 3, and the gate of run 3 against the planted run 4.
set -uo pipefail
stage=$1
out=$2
mkdir -p "$out"
W=/tmp/gate-check
G="python3 measurements/gate_check.py --work $W"
GPU=mlx_gpu,mlx_gpu_compile,cuda
# 10 %: 20 (case, backend) pairs; 5 %: 16; spread over ops and the three backends.
PLANT="0.10:ReLU/cuda,Sigmoid/mlx_gpu,Softplus/mlx_gpu_compile,Softmax/cuda,SumAll/mlx_gpu,BCE/mlx_gpu_compile"
PLANT="$PLANT;0.05:LeakyReLU/mlx_gpu,SeLU/cuda,PReLU/mlx_gpu_compile,Argmax/cuda,Sum/mlx_gpu,LayerNorm/mlx_gpu_compile"

case $stage in
setup)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/versions.txt"
    python3 -c "import sys, torch, mlx.core as mx, numpy, asv; print(sys.version.split()[0], 'torch', torch.__version__, 'mlx', mx.__version__, 'numpy', numpy.__version__, 'asv', asv.__version__)" | tee -a "$out/versions.txt"
    BENCH_PROFILE=small BENCH_BACKENDS=$GPU timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_correctness.py \
        -k "ReLU or Softmax or MatMul or Conv2d or ScaledDot" 2>&1 | tail -2 | tee "$out/pytest-small.txt"
    $G prepare --profile reference --backends $GPU --dtypes float32 --plant "$PLANT" --machine h100
    /usr/bin/time -f "%e s wall, %M KB max RSS" -o "$out/run1.time" $G run aa --both-measures
    cat "$out/run1.time"
    ;;
runs)
    $G run aa
    $G run aa
    ;;
gates1)
    $G gate aa1 1 2
    $G run planted
    ;;
gates2)
    $G gate aa2 2 3
    $G gate planted 3 4
    ;;
fidelity)
    BENCH_PROFILE=reference timeout 500 python3 -m pytest -q -s -p no:cacheprovider tests/test_device_time_fidelity.py \
        > "$out/fidelity.txt" 2>&1; tail -3 "$out/fidelity.txt"
    ;;
report)
    $G summary --out "$out/gate"
    cp -r $W/results "$out/gate/results" 2>/dev/null
    tar -czf "$out/gate.tar.gz" -C "$out" gate && rm -rf "$out/gate"
    ;;
esac
