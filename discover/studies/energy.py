"""The energy study (``pipelines/energy_study.py``): learned models of the double pendulum and the
relativistic particle (MLP Lagrangian, the baselines of :mod:`discover.neural.baselines`, sparse
library fits) trained on states along true rollouts, rolled out from new states, and scored by
the drift of the TRUE energy along their rollouts.  Returns numbers and curves; the figures and
the markdown are drawn by :mod:`discover.reports.energy_report`.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..evaluation import relative_error
from ..integrate import rollout
from ..mechanics import SingularMassMatrixError, accelerations
from ..model import SparseLagrangian
from ..neural import MLPLagrangian, TrainingDivergedError
from ..neural.baselines import HNN, BlackBox, train_baseline
from ..systems import get_system

F32 = torch.float32


# ----------------------------------------------------------------------------------------
# data and evaluation
# ----------------------------------------------------------------------------------------
def true_rollouts(system, n_traj, t_end, dt, rng, substeps=4):
    q0, v0 = system.sample_initial_states(n_traj, rng)
    t = torch.arange(0, t_end + dt / 2, dt, dtype=torch.float64)
    return t, rollout(system, torch.as_tensor(q0), torch.as_tensor(v0), t, substeps=substeps, compute_energy=False)


def trajectory_states(system, n_traj, t_end, dt, rng):
    """States sampled along true rollouts (float64): q, q̇, q̈ each (N, n), per trajectory."""
    _, out = true_rollouts(system, n_traj, t_end, dt, rng)
    q, v = out.q.reshape(-1, system.n_dof), out.qdot.reshape(-1, system.n_dof)
    a = accelerations(system.torch_lagrangian(), q, v)
    return q, v, a


def position_series(system, n_traj, t_end, dt, rng):
    """What a camera gives: positions only, (t (T,), q (T, B, n)), along true rollouts."""
    t, out = true_rollouts(system, n_traj, t_end, dt, rng, substeps=10)
    return t.numpy(), out.q.numpy()


def fit_sparse(system, series, noise_rel: float, rng):
    """SparseLagrangian (default settings) from the training POSITIONS only (t, q (T, B, n)),
    optionally with Gaussian noise σ = noise_rel × std(q) added; (model, fit seconds)."""
    from ..data import TrajectorySet

    t, q = series
    T_, B, n = q.shape
    qs = q.transpose(1, 0, 2).reshape(-1, n)
    qs = qs + noise_rel * qs.std(0) * rng.normal(size=qs.shape)
    data = TrajectorySet.from_arrays(np.tile(t, B), qs, coordinates=list(system.coordinates),
                                     traj=np.repeat(np.arange(B), T_))
    t0 = time.perf_counter()
    model = SparseLagrangian().fit(data)
    print(f"  sparse ({noise_rel:.0%} noise): L = {model.lagrangian()}", flush=True)
    return model, time.perf_counter() - t0


def model_rollouts(models, q0, v0, t):
    """{name: (q, v) (T, B, n) float64 or None when the rollout failed}."""
    out = {}
    for name, m in models.items():
        t0 = time.perf_counter()
        try:
            with torch.no_grad():
                if isinstance(m, MLPLagrangian):
                    q, v = m.simulate(q0.to(F32), v0.to(F32), t.to(F32))
                elif isinstance(m, SparseLagrangian):
                    q, v = m.simulate(q0, v0, t)
                elif hasattr(m, "field"):  # the baselines: their own first-order field
                    r = rollout(None, q0.to(F32), v0.to(F32), t.to(F32), field=m.field, compute_energy=False)
                    q, v = r.q, r.qdot
                else:  # the true system
                    r = rollout(m, q0, v0, t, compute_energy=False)
                    q, v = r.q, r.qdot
            out[name] = (q.double(), v.double())
        except SingularMassMatrixError as e:
            print(f"  {name}: rollout stopped: {str(e)[:120]}")
            out[name] = None
        print(f"  rollout {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def relative_energy_error(system, q, v, scale):
    E = system.energy(q, v).detach()
    err = (E - E[0]).abs() / scale
    return torch.where(torch.isfinite(err), err, torch.full_like(err, float("inf"))).numpy()


def fit_models(train, val, *, hidden, epochs, batch_size, lr, seed, lnn_kwargs=None, sparse=None):
    """The learned models; ``sparse``: {name: (fitted SparseLagrangian, fit seconds)} to include."""
    (q, v, a), (qv, vv, av) = train, val
    c = lambda x: x.to(F32)
    models, times, errors = {}, {}, {}
    t0 = time.perf_counter()
    try:
        models["MLP Lagrangian"] = MLPLagrangian(
            hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr, patience=epochs, seed=seed,
            **(lnn_kwargs or {})).fit((q.numpy(), v.numpy(), a.numpy()), validation=(qv.numpy(), vv.numpy(), av.numpy()))
    except TrainingDivergedError as e:
        print(f"  MLP Lagrangian diverged: {e}")
    times["MLP Lagrangian"] = time.perf_counter() - t0
    for name, cls in (("black-box MLP", BlackBox), ("HNN (q, q̇)", HNN)):
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        m = cls(c(q), c(v), c(a), hidden)
        models[name] = train_baseline(m, (c(q), c(v), c(a)), (c(qv), c(vv), c(av)), epochs=epochs,
                                      batch_size=batch_size, lr=lr, seed=seed)
        times[name] = time.perf_counter() - t0
    for name, (m, secs) in (sparse or {}).items():
        models[name], times[name] = m, secs
    for name, m in models.items():
        with torch.no_grad():
            if isinstance(m, MLPLagrangian):
                pred = torch.as_tensor(m.acceleration(c(qv), c(vv))).double()
            elif isinstance(m, SparseLagrangian):
                pred = m.acceleration(qv, vv).double()
            else:
                pred = m.field(c(qv), c(vv))[1].double()
        errors[name] = relative_error(pred, av)
        print(f"  {name}: q̈ relative error {errors[name]:.3g} (train {times[name]:.0f} s)", flush=True)
    return models, times, errors


# ----------------------------------------------------------------------------------------
# studies
# ----------------------------------------------------------------------------------------
def double_pendulum_study(args, rng):
    """Double pendulum: (results per model, info, curves {"t", "energy_error": {model: (T, B)}})."""
    system = get_system("double_pendulum")
    p = system.params
    v_range = 2 * p["g"] * ((p["m1"] + p["m2"]) * p["l1"] + p["m2"] * p["l2"])
    print("double pendulum: data", flush=True)
    train = trajectory_states(system, args.train_traj, args.train_t, args.train_dt, rng)
    val = trajectory_states(system, max(2, args.train_traj // 5), args.train_t, args.train_dt, rng)
    series = position_series(system, args.sparse_traj, args.train_t, args.sparse_dt, rng)
    sparse = {"sparse L (clean positions)": fit_sparse(system, series, 0.0, rng),
              "sparse L (1 % noisy positions)": fit_sparse(system, series, 0.01, rng)}
    models, times, errors = fit_models(train, val, hidden=tuple(args.hidden), epochs=args.epochs,
                                       batch_size=args.batch_size, lr=args.lr, seed=args.seed, sparse=sparse)
    q0, v0 = (torch.as_tensor(x) for x in system.sample_initial_states(args.test_states, rng))
    t = torch.arange(0, args.t_end + args.dt / 2, args.dt, dtype=torch.float64)
    runs = model_rollouts({"true L": system, **models}, q0, v0, t)
    res, curves = {}, {}
    for name, r in runs.items():
        if r is None:
            res[name] = {"rollout": "failed (singular mass matrix)"}
            continue
        err = relative_energy_error(system, r[0], r[1], v_range)  # (T, B)
        curves[name] = err
        res[name] = {"energy_error_mean": float(np.mean(err)), "energy_error_median": float(np.median(err)),
                     "energy_error_final_median": float(np.median(err[-1])),
                     "energy_error_max": float(np.max(err)),
                     "rollouts_blown_up": int(np.sum(~(err.max(0) < 1))),
                     "qddot_rel_error_val": errors.get(name), "train_s": times.get(name)}
    return res, {"potential_range": v_range, "n_train": int(train[0].shape[0])}, {"t": t.numpy(), "energy_error": curves}


def relativistic_study(args, rng):
    """Relativistic particle: (results per model, info, curves of one rollout and median energy errors)."""
    system = get_system("relativistic")
    m, g = system.params["m"], system.params["g"]
    print("relativistic particle: data", flush=True)

    def states(n):
        q = torch.as_tensor(rng.uniform(-2, 2, (n, 1)))
        v = torch.as_tensor(rng.uniform(-0.9, 0.9, (n, 1)))
        return q, v, accelerations(system.torch_lagrangian(), q, v)

    train, val = states(args.rel_train), states(max(64, args.rel_train // 5))
    models, times, errors = fit_models(train, val, hidden=tuple(args.hidden), epochs=args.epochs,
                                       batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    q0 = torch.as_tensor(rng.uniform(-0.5, 0.5, (args.test_states, 1)))
    v0 = torch.as_tensor(rng.uniform(-0.3, 0.6, (args.test_states, 1)))
    t = torch.arange(0, args.rel_t_end + 1e-9, 0.02, dtype=torch.float64)
    qe, ve = system.exact_solution(q0.numpy(), v0.numpy(), t.numpy())
    runs = model_rollouts(models, q0, v0, t)
    scale = m * g * 4.0  # range of the potential energy over the training interval x ∈ [−2, 2]
    res, lines = {}, []
    for name, r in runs.items():
        if r is None:
            res[name] = {"rollout": "failed (singular mass matrix)"}
            continue
        q, v = r
        err = relative_energy_error(system, q, v, scale)
        pos = np.abs(q.numpy() - qe)[..., 0]
        res[name] = {"qddot_rel_error_val": errors[name], "train_s": times[name],
                     "position_error_final_median": float(np.median(pos[-1])),
                     "energy_error_median": float(np.median(err)), "energy_error_max": float(np.max(err)),
                     "max_speed": float(np.nanmax(np.abs(v.numpy())))}
        lines.append({"name": name, "color": len(res) - 1, "x": q[:, 0, 0], "energy_error_median": np.median(err, 1)})
    return res, {"energy_scale": scale}, {"t": t, "exact_x": qe[:, 0, 0], "models": lines}
