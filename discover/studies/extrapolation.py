"""Outside the sampled region: how a sparse library Lagrangian and an MLP Lagrangian, both fitted
on motions confined to |θᵢ| ≤ 1 rad, predict q̈ and roll out as the state moves away from it.

Training: true trajectories (RK4 of the exact L) whose angles stay within ±``bound``; the
sparse model (:class:`discover.SparseLagrangian`, default tiers) sees them with exact q̇, q̈;
the MLP (:class:`discover.neural.MLPLagrangian`) sees ``n_train`` states drawn from them.
Distance of a state from the region: d = max(maxᵢ |θᵢ| − bound, 0) (radians; speeds are drawn
from the training band).  Measured per distance bin:

- **q̈ error**: ‖q̈_model − q̈_true‖ / ‖q̈_true‖ over test states with angles uniform in ±π;
- **valid time**: rollouts from rest at max |θᵢ| = bound + d (RK4, same integrator and step
  for model and truth) until the angle error first exceeds ``tolerance`` rad, capped at
  ``t_end``; median over the initial states.
"""
from __future__ import annotations

import numpy as np
import torch

from ..integrate import rollout
from ..mechanics import accelerations

__all__ = ["distance", "training_trajectories", "qddot_error_by_distance", "valid_time", "run_extrapolation"]


def distance(q: np.ndarray, bound: float) -> np.ndarray:
    """d = max(maxᵢ |qᵢ| − bound, 0), shape ``(N,)`` for q ``(N, n)``."""
    return np.clip(np.abs(q).max(-1) - bound, 0, None)


def training_trajectories(system, *, n_traj: int, bound: float, t_end: float, dt: float, rng):
    """``(t (T,), q, qd, qdd (T, B, n))`` of true motions that stay within ±bound, from
    low-energy initial states (angles within 0.6·bound, speeds within ±0.5)."""
    f = system.torch_lagrangian()
    n = system.n_dof
    t = torch.arange(0, t_end + dt / 2, dt, dtype=torch.float64)
    kept = []
    for _ in range(20):
        q0 = rng.uniform(-0.6 * bound, 0.6 * bound, (4 * n_traj, n))
        v0 = rng.uniform(-0.5, 0.5, (4 * n_traj, n))
        out = rollout(f, torch.as_tensor(q0), torch.as_tensor(v0), t, substeps=2, compute_energy=False)
        ok = (out.q.abs().amax(dim=(0, 2)) <= bound).numpy()
        kept += [(out.q[:, i], out.qdot[:, i]) for i in np.flatnonzero(ok)]
        if len(kept) >= n_traj:
            break
    q = torch.stack([k[0] for k in kept[:n_traj]], 1)
    qd = torch.stack([k[1] for k in kept[:n_traj]], 1)
    qdd = accelerations(f, q, qd)
    return t.numpy(), q.numpy(), qd.numpy(), qdd.numpy()


def qddot_error_by_distance(models: dict, true_acc, q, qd, bins) -> dict:
    """Relative q̈ error of each model per distance bin: {name: [error per bin]} plus counts."""
    true = true_acc(q, qd)
    d = distance(q, bins["bound"])
    edges = bins["edges"]
    out = {"bins": [[float(a), float(b)] for a, b in zip(edges[:-1], edges[1:])],
           "counts": [], "errors": {k: [] for k in models}}
    preds = {k: np.asarray(m.acceleration(q, qd), float) for k, m in models.items()}
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        sel = (d == 0) if i == 0 else (d > a) & (d <= b)
        out["counts"].append(int(sel.sum()))
        for k in models:
            err = np.linalg.norm(preds[k][sel] - true[sel]) / max(np.linalg.norm(true[sel]), 1e-300)
            out["errors"][k].append(float(err) if np.isfinite(err) else float("inf"))
    return out


def _edge_states(n, n_dof, level, rng):
    """n states at rest with maxᵢ |θᵢ| = level exactly (a random coordinate at ±level)."""
    q = rng.uniform(-level, level, (n, n_dof))
    idx = rng.integers(0, n_dof, n)
    q[np.arange(n), idx] = level * rng.choice([-1.0, 1.0], n)
    return q, np.zeros_like(q)


def valid_time(model, system, q0, qd0, *, t_end: float, dt: float, tolerance: float) -> np.ndarray:
    """Per initial state: first time the model's rollout is off the true one by > tolerance rad
    in some angle (t_end when never; 0 when the model's rollout fails at once)."""
    t = np.arange(0, t_end + dt / 2, dt)
    truth = rollout(system.torch_lagrangian(), torch.as_tensor(q0), torch.as_tensor(qd0), torch.as_tensor(t),
                    compute_energy=False).q.numpy()
    try:
        q, _ = model.simulate(q0, qd0, t)
        q = np.asarray(q, float)
    except Exception:  # a singular mass matrix on the way: no valid prediction at all
        return np.zeros(len(q0))
    bad = ~(np.abs(q - truth).max(-1) <= tolerance)  # NaN counts as bad
    first = np.where(bad.any(0), bad.argmax(0), len(t) - 1)
    return t[first]


def run_extrapolation(name: str, *, bound: float = 1.0, n_traj: int = 12, traj_t: float = 6.0, traj_dt: float = 0.01,
                      n_train: int = 2048, epochs: int = 120, hidden=(64, 64), lr: float = 3e-3,
                      batch_size: int = 1024, n_test: int = 4000, levels=(0.8, 1.25, 1.5, 2.0, 2.5, 3.0),
                      n_rollouts: int = 16, t_end: float = 5.0, dt: float = 0.02, tolerance: float = 0.2,
                      seed: int = 0) -> dict:
    """Fit both models to system ``name`` (a discover.systems registry name) inside ±bound and
    measure them outside.  Returns the numbers the report renders."""
    import time

    from ..data import TrajectorySet
    from ..model import SparseLagrangian
    from ..neural import MLPLagrangian
    from ..systems import get_system

    system = get_system(name)
    n = system.n_dof
    rng = np.random.default_rng(seed)
    t, q, qd, qdd = training_trajectories(system, n_traj=n_traj, bound=bound, t_end=traj_t, dt=traj_dt, rng=rng)
    T, B, _ = q.shape
    flat = lambda a: a.transpose(1, 0, 2).reshape(-1, n)
    data = TrajectorySet.from_arrays(np.tile(t, B), flat(q), qdot=flat(qd), qddot=flat(qdd),
                                     coordinates=list(system.coordinates), traj=np.repeat(np.arange(B), T))
    t0 = time.perf_counter()
    sparse = SparseLagrangian(seed=seed).fit(data)
    sparse_s = time.perf_counter() - t0
    pick = rng.choice(T * B, min(n_train, T * B), replace=False)
    t0 = time.perf_counter()
    mlp = MLPLagrangian(hidden=tuple(hidden), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed).fit(
        (flat(q)[pick], flat(qd)[pick], flat(qdd)[pick]))
    mlp_s = time.perf_counter() - t0
    models = {"sparse L": sparse, "MLP L": mlp}

    f = system.torch_lagrangian()
    true_acc = lambda a, b: accelerations(f, torch.as_tensor(a), torch.as_tensor(b)).numpy()
    speed = np.abs(flat(qd)).max(0)
    tq = rng.uniform(-np.pi, np.pi, (n_test, n))
    tqd = rng.uniform(-speed, speed, (n_test, n))
    edges = [0.0, 0.25, 0.5, 1.0, 1.5, np.pi - bound]
    errors = qddot_error_by_distance(models, true_acc, tq, tqd, {"bound": bound, "edges": edges})

    rollouts = {"levels": list(levels), "median_valid_time": {k: [] for k in models},
                "fraction_full": {k: [] for k in models}}
    for level in levels:
        q0, qd0 = _edge_states(n_rollouts, n, level, rng)
        for k, m in models.items():
            vt = valid_time(m, system, q0, qd0, t_end=t_end, dt=dt, tolerance=tolerance)
            rollouts["median_valid_time"][k].append(float(np.median(vt)))
            rollouts["fraction_full"][k].append(float(np.mean(vt >= t_end - 1e-9)))
    return {"system": name, "coordinates": list(system.coordinates), "bound": bound,
            "sparse_lagrangian": str(sparse.lagrangian()), "true_lagrangian": str(system.lagrangian()),
            "training": {"trajectories": B, "samples": T * B, "mlp_states": len(pick),
                         "max_speed": speed.tolist(), "sparse_fit_s": sparse_s, "mlp_fit_s": mlp_s,
                         "mlp_val_error": float(mlp.val_error_), "mlp_epochs": int(mlp.n_epochs_)},
            "qddot": errors, "rollouts": rollouts,
            "settings": {"t_end": t_end, "dt": dt, "tolerance": tolerance, "n_rollouts": n_rollouts,
                         "n_test": n_test}}
