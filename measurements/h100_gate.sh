#!/usr/bin/env bash
# The regression gate's checks on an H100 or H200 (issue 11): measurements/gate_check.py with the
# GPU backends and the planted slowdowns below, one step per command so that each fits the
# GPU host's 10-minute limit. Run from the project root on the GPU host after MLX's CUDA
# build is installed (../shared/gpu/mlx-cuda-wheels.sh).
#
#   bash measurements/h100_gate.sh OUT versions         # versions and the card
#   bash measurements/h100_gate.sh OUT prepare          # the scratch copy and the settings
#   bash measurements/h100_gate.sh OUT run aa [--both-measures]   # one more run (unchanged)
#   bash measurements/h100_gate.sh OUT run planted      # one more run with BENCH_PLANT
#   bash measurements/h100_gate.sh OUT gate NAME BASE HEAD [--ops A,B] [--confirm-seconds S]   # tools.compare --confirm
#   bash measurements/h100_gate.sh OUT fidelity         # MLX device time vs an independent timer
#   bash measurements/h100_gate.sh OUT report           # summary.md and the reports into OUT
#
# Every step ends by packing the scratch copy (its git history, state, log and asv results) into
# OUT/state.tar.gz, so that a lost host loses nothing measured: `restore TARBALL` unpacks it on
# a new one.
set -uo pipefail
out=$1
step=$2
shift 2
mkdir -p "$out"
W=/tmp/gate-check
G="python3 measurements/gate_check.py --work $W"
GPU=mlx_gpu,mlx_gpu_compile,cuda
# asv's machine name: the card's model, e.g. h100 for "NVIDIA H100 80GB HBM3", h200 for "NVIDIA H200".
MACHINE=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | awk '{print tolower($2)}')
# 10 %: 20 (case, backend) pairs; 5 %: 16; spread over ops and the three backends.
PLANT="0.10:ReLU/cuda,Sigmoid/mlx_gpu,Softplus/mlx_gpu_compile,Softmax/cuda,SumAll/mlx_gpu,BCE/mlx_gpu_compile"
PLANT="$PLANT;0.05:LeakyReLU/mlx_gpu,SeLU/cuda,PReLU/mlx_gpu_compile,Argmax/cuda,Sum/mlx_gpu,LayerNorm/mlx_gpu_compile"

case $step in
versions)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/versions.txt"
    python3 -c "import sys, torch, mlx.core as mx, numpy, asv; print(sys.version.split()[0], 'torch', torch.__version__, 'mlx', mx.__version__, 'numpy', numpy.__version__, 'asv', asv.__version__)" | tee -a "$out/versions.txt"
    ;;
prepare)
    $G prepare --profile reference --backends $GPU --dtypes float32 --plant "$PLANT" --machine "${MACHINE:-gpu}"
    ;;
run)
    /usr/bin/time -f "%e s wall, %M KB max RSS" -a -o "$out/runs.time" $G run "$@"
    tail -1 "$out/runs.time"
    ;;
gate)
    $G gate "$@"
    ;;
fidelity)
    BENCH_PROFILE=reference timeout 500 python3 -m pytest -q -s -p no:cacheprovider tests/test_device_time_fidelity.py \
        > "$out/fidelity.txt" 2>&1; tail -3 "$out/fidelity.txt"
    ;;
restore)
    mkdir -p $W && tar -xzf "$1" -C $W
    ;;
report)
    $G summary --out "$out/gate"
    ;;
*)
    echo "unknown step $step" >&2; exit 2
    ;;
esac
status=$?
[ -d $W ] && tar -czf "$out/state.tar.gz" -C $W --exclude=./.asv .
exit $status
