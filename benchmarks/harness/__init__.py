"""The harness behind the op classes, split by role; imports run one way, top to bottom:

- `vocabulary`: names and settings (no heavy imports; the tools read it too);
- `inputs`: cases, their labels and shapes per profile, seeded inputs;
- `frameworks`: everything that differs between MLX and PyTorch and between devices;
- `measurement`: a case placed on a backend, sampling, the device clock, the per-process cache;
- `declaration`: `OpBenchmark`, the op declaration (cost model, `verify`, asv's face);
- `catalog`: the only importer of the `bench_*` modules, and the tools' only way in.

This file imports nothing, so that `benchmarks.harness.vocabulary` stays light.
"""
