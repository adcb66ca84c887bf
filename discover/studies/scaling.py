"""Scaling study: discovery of a chain of n masses between walls as n grows.

For each chain size n and noise level, clean trajectories come from the closed-form solution
(``get_system("chain", n=n)``), Gaussian noise of σ = level × std(q) is added to the positions
(:func:`discover.studies.noise.noisy_set`) and ``SparseLagrangian(library=tier).fit`` fits the
first of ``default_tiers(coordinates)`` (for a chain of n ≥ 3 that is ``local``,
:class:`discover.library.Local`; at n = 2 ``quadratic``).  The tier is passed explicitly
because ``SparseLagrangian`` calls ``default_tiers`` with the number of coordinates only, so
its own search sees no names (neither chains nor bodies).  Each cell runs in a fresh process,
so that the peak resident memory (``ru_maxrss``) is that cell's, and is stopped after
``timeout`` seconds (status "timeout").

Per cell: the size of the tier the fit chose and of the full quadratic tier it replaces, the
fit's wall time, the peak resident memory of the process and its growth during the fit, the
peak of Python-level allocations (tracemalloc: numpy, SymPy; torch's own allocator is not
traced), exact support and the largest relative coefficient error against the truth normalized
as the fit normalizes (:func:`discover.evaluation.compare_to_truth`).
"""
from __future__ import annotations

import multiprocessing
import resource
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["ScalingConfig", "tier_sizes", "run_cell", "run_study", "time_exponent", "FIELDS"]

FIELDS = ["n", "noise", "seed", "status", "library", "tier_terms", "quadratic_terms", "model_terms",
          "fit_seconds", "peak_rss_mb", "fit_rss_growth_mb", "py_peak_mb", "success", "coef_rel_error",
          "error"]


@dataclass
class ScalingConfig:
    sizes: tuple = (2, 4, 8, 16, 32)
    levels: tuple = (0.0, 0.01)
    seed: int = 0
    n_traj: int = 4
    duration: float = 5.0
    dt: float = 0.01
    timeout: float = 240.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def tier_sizes(coords, row: dict):
    """Record in ``row`` the first default tier for these coordinates (its name, its size) and the
    size of the full quadratic tier; return that tier's library."""
    from ..bodies import find_chain
    from ..library import Local, Polynomial

    # default_tiers' first tier for these names, without building every tier to size it (at
    # n = 32 the degree-4 tiers over 64 variables take SymPy many minutes to enumerate)
    tier, library = ("local", Local()) if len(coords) >= 3 and find_chain(coords) else ("quadratic", Polynomial(2))
    row.update(library=tier, tier_terms=len(library.terms(coords)), quadratic_terms=len(Polynomial(2).terms(coords)))
    return library


def run_cell(n: int, noise: float, cfg: ScalingConfig) -> dict:
    """Fit and score one (n, noise) cell in this process; never raises (status column)."""
    import torch

    from ..evaluation import compare_to_truth
    from ..model import SparseLagrangian
    from ..systems import get_system
    from .noise import noisy_set, truth_normalized

    torch.set_num_threads(1)
    row = {"n": n, "noise": noise, "seed": cfg.seed}
    try:
        system = get_system("chain", n=n)
        coords = list(system.coordinates)
        t = np.arange(int(round(cfg.duration / cfg.dt)) + 1) * cfg.dt
        q0, v0 = system.sample_initial_states(cfg.n_traj, np.random.default_rng(cfg.seed))
        q, qd = system.exact_solution(q0, v0, t)
        q = np.asarray(q, float).reshape(len(t), cfg.n_traj, n)
        qd = np.asarray(qd, float).reshape(len(t), cfg.n_traj, n)
        data = noisy_set(t, q, coords, noise, cfg.seed)
        library = tier_sizes(coords, row)
        rss0 = _rss_mb()
        tracemalloc.start()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SparseLagrangian(library=library, seed=cfg.seed).fit(data)
        row["fit_seconds"] = time.perf_counter() - t0
        row["py_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        row["peak_rss_mb"] = _rss_mb()
        row["fit_rss_growth_mb"] = row["peak_rss_mb"] - rss0
        row.update(status="ok", model_terms=len(model.terms_))
        qa, va = q.reshape(-1, n), qd.reshape(-1, n)
        truth = truth_normalized(system, model.normalization_coordinates_, qa, va)
        score = compare_to_truth(model.terms_, model.coef_, truth, coords, qa, va, seed=cfg.seed)
        row.update(success=bool(score["success"]), coef_rel_error=float(score["coef_rel_error"]))
    except Exception as exc:  # a failed fit is a data point, not a crash
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        row.update(status="failed", success=False, error=" ".join(str(exc).split())[:200])
    return row


def _cell_in_child(args) -> dict:
    return run_cell(*args)


def run_study(cfg: ScalingConfig, *, progress=None) -> list[dict]:
    """Every (n, noise) cell, each in a fresh process (one at a time, so timings do not compete),
    stopped after ``cfg.timeout`` seconds.  ``progress``: called with each finished row."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for n in cfg.sizes:
        for level in cfg.levels:
            with ctx.Pool(1) as pool:  # leaving the block terminates a worker still running
                job = pool.apply_async(_cell_in_child, ((n, level, cfg),))
                try:
                    row = job.get(cfg.timeout)
                except multiprocessing.TimeoutError:
                    row = {"n": n, "noise": level, "seed": cfg.seed, "status": "timeout", "success": False,
                           "fit_seconds": float("nan"), "error": f"fit not finished after {cfg.timeout:g} s"}
                    tier_sizes([f"x{i + 1}" for i in range(n)], row)
            rows.append(row)
            if progress is not None:
                progress(row)
    return rows


def time_exponent(rows: list[dict], noise: float, *, min_n: int = 4) -> float:
    """The slope p of log(fit time) against log(n) (time ∝ n^p), least squares over the cells
    of this noise level that finished, n ≥ ``min_n`` (n = 2 has no local tier)."""
    pts = [(r["n"], r["fit_seconds"]) for r in rows
           if r["noise"] == noise and r["status"] == "ok" and r["n"] >= min_n]
    if len(pts) < 2:
        return float("nan")
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])
