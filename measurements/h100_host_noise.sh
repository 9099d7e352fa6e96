#!/usr/bin/env bash
# measurements/host_noise.py on the H100 host: unpinned, pinned to one core next to the GPU
# (BENCH_GPU_CORE=auto), and pinned with MLX's CUDA graphs off. Run after MLX's CUDA build is
# installed.
#   bash measurements/h100_host_noise.sh PROCESSES OUT
set -uo pipefail
n=$1
out=$2
{
    python3 -c "from benchmarks.harness import frameworks as f; print('cores next to the GPU', f.gpu_local_cores(), 'of', __import__('os').cpu_count())"
    nvidia-smi --query-gpu=persistence_mode,clocks.sm,clocks.max.sm,clocks.mem,power.draw --format=csv
    cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null
    python3 measurements/host_noise.py "$n"
    BENCH_GPU_CORE=auto python3 measurements/host_noise.py "$n"
    BENCH_GPU_CORE=auto MLX_USE_CUDA_GRAPHS=0 python3 measurements/host_noise.py "$n"
} 2>&1 | tee "$out/host-noise.txt"
