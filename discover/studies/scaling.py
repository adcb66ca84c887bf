"""Scaling study: discovery of a chain of n masses and of an n-link pendulum as n grows.

For each system, size n and noise level, clean trajectories come from the closed-form solution
(``get_system("chain", n=n)``) or from RK4 (:class:`discover.studies.pendulum_chain.PendulumChain`),
Gaussian noise of σ = level × std(q) is added to the positions
(:func:`discover.studies.noise.noisy_set`) and the default path fits them:
``SparseLagrangian().fit`` with no options, coordinates named as in a CSV (x1 … xn,
theta1 … thetan), so the tiers are what ``default_tiers`` gives a user.  Each cell runs in a
fresh process, so that the peak resident memory (``ru_maxrss``) is that cell's, and is stopped
after ``timeout`` seconds (status "timeout").

Per cell: the default tiers offered and their sizes, the tier the fit chose and the full
quadratic tier's size, the fit's wall time, the peak resident memory of the process and its
growth during the fit, the peak of Python-level allocations (tracemalloc: numpy, SymPy; torch's
own allocator is not traced), exact support and the largest relative coefficient error against
the truth normalized as the fit normalizes (:func:`discover.evaluation.compare_to_truth`), and
the held-out q̈ error (a model with another support can still give the same motion).
"""
from __future__ import annotations

import multiprocessing
import resource
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["ScalingConfig", "SYSTEMS", "make_system", "tier_sizes", "run_cell", "run_study", "time_exponent", "FIELDS"]

FIELDS = ["system", "n", "noise", "seed", "status", "tiers", "truth_in", "library", "tier_terms", "quadratic_terms",
          "truth_terms", "model_terms", "fit_seconds", "peak_rss_mb", "fit_rss_growth_mb", "py_peak_mb", "success",
          "coef_rel_error", "qddot_error", "error"]

#: the systems of the study: registry name → coordinates for n
SYSTEMS = ("chain", "pendulum_chain")


@dataclass
class ScalingConfig:
    systems: tuple = SYSTEMS
    sizes: tuple = (2, 4, 8, 16, 32)
    levels: tuple = (0.0, 0.01)
    seed: int = 0
    n_traj: int = 4
    duration: float = 5.0
    dt: float = 0.01
    timeout: float = 300.0
    #: address-space limit of a cell's process (a shared machine: a cell that needs more fails
    #: with an allocation error instead of pushing others out of memory)
    memory_gb: float = 10.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def make_system(name: str, n: int):
    if name == "pendulum_chain":
        from .pendulum_chain import PendulumChain

        return PendulumChain(n=n)
    from ..systems import get_system

    return get_system(name, n=n)


def _monomials(exprs) -> set[str]:
    """The terms of expressions without their numeric factors, as strings."""
    import sympy

    return {str(t.as_coeff_Mul()[1]) for e in exprs for t in sympy.Add.make_args(sympy.expand(e))}


def tier_sizes(system, row: dict) -> None:
    """Record in ``row`` the default tiers for the system's coordinates (names and sizes: what
    ``SparseLagrangian()`` will search), those of them that contain every term of the true
    Lagrangian, and the size of the full quadratic tier."""
    from ..library import Polynomial, default_tiers

    coords = list(system.coordinates)
    truth = _monomials([system.lagrangian()])
    tiers = [(name, lib.terms(coords)) for name, lib in default_tiers(coords)]
    row.update(tiers=" ".join(f"{name}:{len(terms)}" for name, terms in tiers), truth_terms=len(truth),
               truth_in=" ".join(name for name, terms in tiers if truth <= _monomials(terms)) or "none",
               quadratic_terms=Polynomial(2).size(coords))


def _trajectories(system, cfg: ScalingConfig):
    n = system.n_dof
    t = np.arange(int(round(cfg.duration / cfg.dt)) + 1) * cfg.dt
    q0, v0 = system.sample_initial_states(cfg.n_traj, np.random.default_rng(cfg.seed))
    q, qd = system.exact_solution(q0, v0, t) if system.has_exact_solution else system.simulate(q0, v0, t)
    return t, np.asarray(q, float).reshape(len(t), cfg.n_traj, n), np.asarray(qd, float).reshape(len(t), cfg.n_traj, n)


def run_cell(system_name: str, n: int, noise: float, cfg: ScalingConfig) -> dict:
    """Fit and score one (system, n, noise) cell in this process; never raises (status column)."""
    import torch

    from ..evaluation import compare_to_truth
    from ..model import SparseLagrangian
    from .noise import noisy_set, truth_normalized

    torch.set_num_threads(1)
    row = {"system": system_name, "n": n, "noise": noise, "seed": cfg.seed}
    try:
        system = make_system(system_name, n)
        coords = list(system.coordinates)
        tier_sizes(system, row)
        t, q, qd = _trajectories(system, cfg)
        data = noisy_set(t, q, coords, noise, cfg.seed)
        rss0 = _rss_mb()
        tracemalloc.start()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SparseLagrangian(seed=cfg.seed).fit(data)
        row["fit_seconds"] = time.perf_counter() - t0
        row["py_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        row["peak_rss_mb"] = _rss_mb()
        row["fit_rss_growth_mb"] = row["peak_rss_mb"] - rss0
        row.update(status="ok", library=model.library_name_, model_terms=len(model.terms_),
                   tier_terms=next(d["terms"] for d in model.tiers_ if d["tier"] == model.library_name_),
                   qddot_error=float(model.metrics_["validation_qddot_error"]))
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
    """run_cell in the worker; a few seconds before the parent's time limit the worker's stack
    is written to ``where`` (a file), so that a cell that is stopped says where it was."""
    import faulthandler

    *cell, where, limit = args
    cap = int(cell[-1].memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    with open(where, "w") as fh:
        faulthandler.dump_traceback_later(max(limit - 5.0, 1.0), file=fh)
        try:
            return run_cell(*cell)
        finally:
            faulthandler.cancel_dump_traceback_later()


def where_stopped(path: str) -> str:
    """The innermost frames of the discover package in a faulthandler dump ('' if none)."""
    import os
    import re

    if not os.path.exists(path):
        return ""
    frames = re.findall(r'File "[^"]*/(discover/[^"]+)", line (\d+) in (\S+)', open(path).read())
    return " < ".join(f"{fn} ({f}:{line})" for f, line, fn in frames[:3])


def run_study(cfg: ScalingConfig, *, progress=None) -> list[dict]:
    """Every (system, n, noise) cell, each in a fresh process (one at a time, so timings do not
    compete), stopped after ``cfg.timeout`` seconds.  ``progress``: called with each finished row."""
    import os
    import tempfile

    ctx = multiprocessing.get_context("spawn")
    rows = []
    where = os.path.join(tempfile.mkdtemp(prefix="scaling-"), "stack.txt")
    for name in cfg.systems:
        for n in cfg.sizes:
            for level in cfg.levels:
                with ctx.Pool(1) as pool:  # leaving the block terminates a worker still running
                    job = pool.apply_async(_cell_in_child, ((name, n, level, cfg, where, cfg.timeout),))
                    try:
                        row = job.get(cfg.timeout)
                    except multiprocessing.TimeoutError:
                        row = {"system": name, "n": n, "noise": level, "seed": cfg.seed, "status": "timeout",
                               "success": False, "fit_seconds": float("nan"),
                               "error": f"cell not finished after {cfg.timeout:g} s; it was in "
                                        f"{where_stopped(where) or 'an unknown place'}"}
                        tier_sizes(make_system(name, n), row)
                rows.append(row)
                if progress is not None:
                    progress(row)
    return rows


def time_exponent(rows: list[dict], system: str, noise: float, *, min_n: int = 4) -> float:
    """The slope p of log(fit time) against log(n) (time ∝ n^p), least squares over the cells
    of this system and noise level that finished, n ≥ ``min_n`` (n = 2 has no local tier)."""
    pts = [(r["n"], r["fit_seconds"]) for r in rows
           if r["system"] == system and r["noise"] == noise and r["status"] == "ok" and r["n"] >= min_n]
    if len(pts) < 2:
        return float("nan")
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])
