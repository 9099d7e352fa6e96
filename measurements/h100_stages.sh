#!/usr/bin/env bash
# The H100 measurements behind results/h100/ and results/reports/h100/, stage by stage (each fits the GPU host's
# 10-minute limit per command). Run from the project root on the GPU host, after MLX's
# CUDA build is installed (DEVELOPERS.md: ../shared/gpu/mlx-cuda-wheels.sh).
#
#   bash measurements/h100_stages.sh smoke|run1|run2|dtypes|tests OUTDIR
set -uo pipefail
stage=$1
out=$2
mkdir -p "$out"
GPU=mlx_gpu,mlx_gpu_compile,cuda
file() { ls results/h100/"$(git rev-parse --short=8 HEAD)"-*.json; }

case $stage in
smoke)  # the mechanics on small shapes: both measures, peaks, fidelity
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    python3 -c "import sys, torch, mlx.core as mx, numpy, asv; print(sys.version.split()[0], 'torch', torch.__version__, 'mlx', mx.__version__, 'numpy', numpy.__version__, 'asv', asv.__version__)"
    python3 -m tools.suite --profile small --machine h100-smoke --backends mlx_gpu,cuda -b 'ReLU|Softmax|MatMul|Peak'
    python3 -m tools.tables --machine h100-smoke --measure device
    python3 -m tools.fidelity --machine h100-smoke --min-us 5
    ;;
run1|run2)  # the full reference set, float32, on the three GPU backends; timed
    /usr/bin/time -v python3 -m tools.suite --machine h100 --backends $GPU --dtypes float32 2> "$out/$stage.time"
    tail -25 "$out/$stage.time" | grep -E "Elapsed|Maximum resident"
    cp "$(file)" "$out/$stage.json"
    if [ "$stage" = run2 ]; then
        python3 -m tools.noise "$out/run1.json" "$out/run2.json" | tee "$out/noise.md"
        python3 -m tools.fidelity --machine h100 --markdown "$out/fidelity.md"
    fi
    ;;
dtypes)  # float16 and bfloat16 on the ops that have them; the float32 precision switch
    python3 -m tools.suite --machine h100 --backends $GPU --dtypes float16,bfloat16 \
        -b 'MatMul|Linear|Conv1d|Conv2d|ScaledDotProductAttention|Softmax|LayerNorm'
    # full FP32 everywhere: MLX's measured error must drop from TF32's ~1e-4 to ~1e-7
    python3 -m asv machine --yes --machine h100-fp32 > /dev/null
    BENCH_FP32_MATMUL=fp32 python3 -m asv run --python=same --set-commit-hash "$(git rev-parse HEAD)" \
        --machine h100-fp32 -b "Float32Matmul.*'(mlx_gpu|cuda)'" --show-stderr 2>&1 | grep -A12 track_relative_error
    ;;
tests)  # correctness at the reference shapes on the GPU backends (float16 / bfloat16 by
        # default; K selects), then every op, dtype and backend present at the small shapes
    BENCH_PROFILE=reference BENCH_BACKENDS=$GPU python3 -m pytest -q -p no:cacheprovider -rf \
        tests/test_correctness.py -k "${K:-float16 or bfloat16}" > "$out/pytest-reference.log" 2>&1
    tail -3 "$out/pytest-reference.log"
    BENCH_PROFILE=small python3 -m pytest -q -p no:cacheprovider -rf tests/test_correctness.py \
        > "$out/pytest-small.log" 2>&1
    tail -3 "$out/pytest-small.log"
    ;;
esac
