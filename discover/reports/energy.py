"""Energy drift of learned models' rollouts (``pipelines/energy_study.py``): the baselines of
the LNN paper's comparison (a black-box MLP q̈ = f(q, q̇) and an HNN on (q, q̇)), their training,
data along true rollouts, model rollouts, and the double-pendulum and relativistic studies with
their figures.  The markdown report is in :mod:`discover.reports.energy_report`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import grad, vmap

from ..integrate import rollout
from ..mechanics import SingularMassMatrixError, accelerations
from ..model import SparseLagrangian
from ..neural import MLPLagrangian, TrainingDivergedError
from ..systems import get_system

F32 = torch.float32


# ----------------------------------------------------------------------------------------
# baselines (not Lagrangian: they do not go through the engine)
# ----------------------------------------------------------------------------------------
class _Normalized(nn.Module):
    def __init__(self, q, v, a, n_out, hidden):
        super().__init__()
        n = q.shape[1]
        for name, x in (("q_mean", q.mean(0)), ("q_scale", q.std(0)), ("v_scale", v.pow(2).mean(0).sqrt()),
                        ("a_scale", a.pow(2).mean(0).sqrt())):
            self.register_buffer(name, x.clone())
        layers, w = [], 2 * n
        for h in hidden:
            layers += [nn.Linear(w, h), nn.Softplus()]
            w = h
        self.net = nn.Sequential(*layers, nn.Linear(w, n_out))

    def features(self, q, v):
        return torch.cat([(q - self.q_mean) / self.q_scale, v / self.v_scale], -1)


class BlackBox(_Normalized):
    """q̈ = f(q, q̇) by an MLP."""

    def __init__(self, q, v, a, hidden):
        super().__init__(q, v, a, q.shape[1], hidden)

    def field(self, q, v):
        return v, self.net(self.features(q, v)) * self.a_scale


class HNN(_Normalized):
    """H(q, q̇) by an MLP, with Hamilton's equations as if q̇ were the canonical momentum."""

    def __init__(self, q, v, a, hidden):
        super().__init__(q, v, a, 1, hidden)

    def _H(self, x, w):  # normalized coordinates x = (q − μ)/σ_q, w = q̇/σ_q̇
        return self.net(torch.cat([x, w]))[0]

    def field(self, q, v):
        x, w = (q - self.q_mean) / self.q_scale, v / self.v_scale
        dHdx, dHdw = vmap(grad(self._H, argnums=(0, 1)))(x, w)
        # Hamilton's equations in (x, w): x' = ∂H/∂w, w' = −∂H/∂x
        return dHdw * self.q_scale, -dHdx * self.v_scale


def train_baseline(model, train, val, *, epochs, batch_size, lr, seed):
    """Adam + cosine; loss on (q', q̇') in units of the data's RMS; best validation state."""
    q, v, a = train
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=lr * 1e-2)
    g = torch.Generator().manual_seed(seed)

    def loss(qb, vb, ab):
        dq, dv = model.field(qb, vb)
        return (((dq - vb) / model.v_scale) ** 2 + ((dv - ab) / model.a_scale) ** 2).mean()

    best, best_state = math.inf, None
    for _ in range(epochs):
        for i in torch.randperm(q.shape[0], generator=g).split(batch_size):
            opt.zero_grad()
            loss(q[i], v[i], a[i]).backward()
            opt.step()
        sched.step()
        with torch.no_grad():
            lv = float(loss(*val))
        if lv < best:
            best, best_state = lv, {k: x.clone() for k, x in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model.eval().requires_grad_(False)


def rk4_first_order(field, q, v, t):
    """Classical RK4 for (q, v)' = field(q, v): returns q, v of shape (T, B, n)."""
    qs, vs = [q], [v]
    for h in torch.diff(t):
        k1 = field(q, v)
        k2 = field(q + h / 2 * k1[0], v + h / 2 * k1[1])
        k3 = field(q + h / 2 * k2[0], v + h / 2 * k2[1])
        k4 = field(q + h * k3[0], v + h * k3[1])
        q = q + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v = v + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        qs.append(q), vs.append(v)
    return torch.stack(qs), torch.stack(vs)


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
                elif hasattr(m, "field"):
                    q, v = rk4_first_order(m.field, q0.to(F32), v0.to(F32), t.to(F32))
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
        errors[name] = float(torch.linalg.norm(pred - av) / torch.linalg.norm(av))
        print(f"  {name}: q̈ relative error {errors[name]:.3g} (train {times[name]:.0f} s)", flush=True)
    return models, times, errors


# ----------------------------------------------------------------------------------------
# studies
# ----------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def double_pendulum_study(args, out: Path, rng):
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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, err in curves.items():
        med = np.clip(np.median(err, 1), 1e-7, None)
        lo, hi = (np.clip(np.quantile(err, p, 1), 1e-7, None) for p in (0.25, 0.75))
        (line,) = ax.plot(t.numpy(), med, label=name)
        ax.fill_between(t.numpy(), lo, hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set(yscale="log", ylim=(1e-7, 10), xlabel="t", ylabel="|E(t) − E(0)| / (V_max − V_min)",
           title=f"Double pendulum: median and quartiles of {args.test_states} rollouts, RK4 dt={args.dt}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "double_pendulum_energy.png", dpi=120)
    plt.close(fig)
    return res, {"potential_range": v_range, "n_train": int(train[0].shape[0])}


def relativistic_study(args, out: Path, rng):
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
    res = {}
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(t, qe[:, 0, 0], "k-", lw=2, label="exact")
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
        axes[0].plot(t, q[:, 0, 0], f"C{len(res) - 1}--", label=name)
        axes[1].plot(t, np.clip(np.median(err, 1), 1e-7, None), f"C{len(res) - 1}", label=name)
    axes[0].set(xlabel="t", ylabel="x", title="Relativistic particle: one rollout")
    axes[1].set(yscale="log", xlabel="t", ylabel="|E(t) − E(0)| / (4mg), median", ylim=(1e-7, None),
                title=f"{args.test_states} rollouts")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "relativistic.png", dpi=120)
    plt.close(fig)
    return res, {"energy_scale": scale}
