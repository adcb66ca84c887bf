"""Studies of the method: each runs experiments and returns numbers and curves; the pipelines
hand those to :mod:`discover.reports` to draw and write.

- ``noise`` (+ ``noise_friction``): the noise sweep, fits scored against known truths;
- ``landscape``, ``landscape_library``: the q̈-loss landscape (HO grid, multi-starts, slices);
- ``energy``: energy drift of learned models' rollouts (MLP Lagrangian vs baselines);
- ``benchmark``: the engine against hand-derived equations and a naive loop, integrators;
- ``speed``: the torch side of the speed comparison with compiled JAX (the JAX side, an
  optional extra, is in ``pipelines/benchmark_jax.py``);
- ``symmetry_probe``: which symmetries an MLP Lagrangian learned or broke;
- ``extrapolation``: q̈ error and rollout validity outside the sampled region (sparse vs MLP).
"""
