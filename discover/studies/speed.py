"""The torch side of the speed comparison with jit-compiled JAX (``pipelines/benchmark_jax.py``,
where the JAX side lives: JAX is an optional extra, kept out of the package): the test
Lagrangians as torch callables for ONE state (a chain with a state-dependent diagonal mass
matrix, an n-link pendulum with a dense one), the LNN under test, interleaved timing and
throughput ratios.  Report and figure: :mod:`discover.reports.benchmark_jax_report`.
"""
from __future__ import annotations

import numpy as np

from .benchmark import interleaved_times

__all__ = ["LNN_HIDDEN", "CHAIN", "time_interleaved", "one_thread", "chain_lagrangian_torch",
           "pendulum_chain_lagrangian_torch", "make_lnn", "ratios"]

LNN_HIDDEN = (128, 128)
CHAIN = {"m": 1.0, "k": 1.0, "alpha": 0.1}


def time_interleaved(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Seconds per call of each function: ``warmup`` calls each (JIT compilation), then
    ``repeats`` rounds with the functions alternating, so that load from other processes hits
    all alike.  Each function must return only when its result is ready."""
    return {k: {"median_s": float(np.median(v)), "all_s": v}
            for k, v in interleaved_times(fns, repeats, warmup).items()}


def one_thread(fn):
    """``fn`` run with ONE torch thread (sensitivity check: OpenMP under a shared CPU)."""
    import torch

    def run():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(before)

    return run


def chain_lagrangian_torch(m=CHAIN["m"], k=CHAIN["k"], alpha=CHAIN["alpha"]):
    """The chain L = Σ ½ m (1 + α q_i²) q̇_i² − ½ k Σ (q_{i+1} − q_i)², fixed walls q_0 = q_{n+1} = 0,
    as a torch callable for ONE state (q, qdot 1-D)."""
    import torch

    def L(q, v):
        kinetic = 0.5 * m * torch.sum((1 + alpha * q ** 2) * v ** 2)
        wall = q.new_zeros(1)
        ends = torch.cat([wall, q, wall])
        return kinetic - 0.5 * k * torch.sum((ends[1:] - ends[:-1]) ** 2)

    return L


def pendulum_chain_lagrangian_torch(g=9.81):
    """The n-link pendulum (unit masses and lengths, angles from the downward vertical; M is dense,
    M_ij = Σ_{k ≥ max(i, j)} cos(θ_i − θ_j)) as a torch callable for ONE state."""
    import torch

    def L(q, v):
        xd = torch.cumsum(torch.cos(q) * v, -1)
        yd = torch.cumsum(torch.sin(q) * v, -1)
        y = -torch.cumsum(torch.cos(q), -1)
        return 0.5 * torch.sum(xd ** 2 + yd ** 2) - g * torch.sum(y)

    return L


def make_lnn(seed: int = 0):
    """The LNN under test: ``LagrangianNet(2, LNN_HIDDEN, softplus)`` in float32, torch seed ``seed``."""
    import torch

    from discover.neural import LagrangianNet

    torch.manual_seed(seed)
    return LagrangianNet(2, LNN_HIDDEN, activation="softplus").float()


def ratios(qps: dict) -> dict:
    """torch/JAX throughput ratios: against each JAX form and against the faster one."""
    best = max(qps["jax_paper"], qps["jax_fwd"])
    out = {"vs_jax_paper": qps["torch"] / qps["jax_paper"], "vs_jax_fwd": qps["torch"] / qps["jax_fwd"],
           "vs_best_jax": qps["torch"] / best, "torch_1thread_vs_best_jax": qps["torch_1thread"] / best}
    if "torch_dense" in qps:
        out["dense_vs_best_jax"] = qps["torch_dense"] / best
    return out
