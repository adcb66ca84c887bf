"""Which symmetries did an MLP Lagrangian learn?  A numerical probe of candidate point
transformations g — translations of one coordinate, the joint shift of all of them (for angles:
the rotation of the whole device), rotations of coordinate pairs — against a trained
:class:`discover.neural.MLPLagrangian`.

For each candidate and held-out states s (kept only where g·s stays inside the sampled region,
so that nothing here is extrapolation):

- **q̈ equivariance**: a symmetry of the motion maps solutions to solutions, q̈(g·s) = R q̈(s)
  (R the linear part of g).  The violation rms(q̈(g·s) − R q̈(s)) is given in units of the
  model's own held-out q̈ error rms(q̈_model − q̈_true): about √2 (two independent errors) when
  the model respects the symmetry as well as it can, much more when it breaks it.  The same
  number for the true q̈ says whether the system has the symmetry (it is 0 when it does).
- **L invariance**: rms(L(g·s) − L(s)) over the spread of L on the data — gauge-dependent (an
  MLP may learn L + dF/dt, invariant only up to dF/dt), so shown but not used for the verdict.
- **Noether charge** of the MLP for the infinitesimal generator ξ, Q = ξ·∂L/∂q̇ (F = 0
  assumed), along true trajectories: its relative variation (max − min over the RMS size of
  its terms, as :mod:`discover.conserved`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..mechanics import accelerations, lagrangian_gradients

__all__ = ["Candidate", "candidates", "probe", "PROBE_SYSTEMS", "run_probe"]


@dataclass
class Candidate:
    """A point transformation q ↦ R q + a (q̇ ↦ R q̇) and its infinitesimal generator ξ(q) = A q + b."""

    name: str
    R: np.ndarray
    a: np.ndarray
    A: np.ndarray
    b: np.ndarray

    def apply(self, q, qd):
        return q @ self.R.T + self.a, qd @ self.R.T

    def xi(self, q):
        return q @ self.A.T + self.b


def candidates(coordinates, *, shift: float = 0.3, angle: float = 0.3) -> list[Candidate]:
    """Translations of each coordinate and of all together by ``shift``; rotations of each
    coordinate pair by ``angle`` (radians)."""
    n = len(coordinates)
    eye, zero = np.eye(n), np.zeros((n, n))
    out = [Candidate(f"translation of {c}", eye, shift * eye[i], zero, eye[i]) for i, c in enumerate(coordinates)]
    if n > 1:
        out.append(Candidate(f"joint translation of ({', '.join(coordinates)})", eye, shift * np.ones(n),
                             zero, np.ones(n)))
    for i in range(n):
        for j in range(i + 1, n):
            R, A = eye.copy(), zero.copy()
            R[i, i] = R[j, j] = np.cos(angle)
            R[i, j], R[j, i] = -np.sin(angle), np.sin(angle)
            A[i, j], A[j, i] = -1.0, 1.0
            out.append(Candidate(f"rotation in ({coordinates[i]}, {coordinates[j]})", R, np.zeros(n), A, np.zeros(n)))
    return out


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def probe(model, true_acceleration: Callable, q, qd, cands, inside: Callable, *, trajectories=None) -> list[dict]:
    """Measure each candidate on held-out states ``q``, ``qd`` ``(N, n)``.

    Args:
        model: a fitted MLPLagrangian (``acceleration``, ``module_``).
        true_acceleration: q̈ of the true system, ``(N, n)`` arrays in and out.
        inside: ``inside(q) -> bool (N,)``: which states lie in the sampled region.
        trajectories: optional true ``(q, qd)`` arrays ``(T, B, n)`` for the Noether check.
    """
    err = _rms(model.acceleration(q, qd) - true_acceleration(q, qd))
    net = model.module_
    dtype = next(net.parameters()).dtype
    L = lambda a, b: torch.vmap(net)(torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype)).detach().numpy()
    L0 = L(q, qd)
    rows = []
    for c in cands:
        q2, qd2 = c.apply(q, qd)
        keep = inside(q2) & inside(q)
        if keep.sum() < 10:
            continue
        s, s2 = (q[keep], qd[keep]), (q2[keep], qd2[keep])
        viol = lambda f: _rms(f(*s2) - f(*s) @ c.R.T)
        true_v = viol(true_acceleration)
        row = {"candidate": c.name, "n_states": int(keep.sum()), "model_qddot_error": err,
               "model_violation": viol(model.acceleration) / err, "true_violation": true_v / err,
               "true_violation_relative": true_v / _rms(true_acceleration(*s)),
               "L_change": _rms(L(*s2) - L0[keep]) / float(np.std(L0))}
        if trajectories is not None:
            row["charge_variation"] = _charge_variation(net, c, *trajectories, dtype)
        row["system_symmetric"] = row["true_violation_relative"] < 1e-6
        row["verdict"] = _verdict(row)
        rows.append(row)
    return rows


def _verdict(row) -> str:
    """Threshold 2 (in units of the model's q̈ error); a breaking smaller than that cannot be
    told from the model's own error."""
    learned = row["model_violation"] < 2.0
    if row["system_symmetric"]:
        return "learned" if learned else "broken by the model"
    if row["true_violation"] < 2.0:
        return "unresolved (system breaks it by less than the model error)"
    return "spurious (model invariant, system not)" if learned else "absent in system and model"


def _charge_variation(net, c: Candidate, q, qd, dtype) -> float:
    """Largest over trajectories of (max − min) Q / RMS Σ|ξᵢ pᵢ|, Q = ξ·∂L/∂q̇."""
    T, B, n = q.shape
    Q = torch.as_tensor(q.reshape(-1, n), dtype=dtype)
    V = torch.as_tensor(qd.reshape(-1, n), dtype=dtype)
    _, p = lagrangian_gradients(net, Q, V)
    terms = (c.xi(q.reshape(-1, n)) * p.detach().numpy()).reshape(T, B, n)
    val, size = terms.sum(-1), np.abs(terms).sum(-1)
    return float(np.max(np.ptp(val, axis=0) / np.sqrt(np.mean(size ** 2, axis=0))))


# ----------------------------------------------------------------------------------------
# the systems of the study
# ----------------------------------------------------------------------------------------
def _disc(rng, n, radius):
    """n points uniform in a disc (rotation-invariant sampling)."""
    r, phi = radius * np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], 1)


PROBE_SYSTEMS = {
    # name: (Lagrangian, coordinates, sampler(rng, N) -> (q, qd), inside(q) -> bool)
    "magnetic trap": ("x_dot**2/2 + y_dot**2/2 + (x*y_dot - y*x_dot) - 3*(x**2 + y**2)/4", ["x", "y"],
                      lambda rng, N: (_disc(rng, N, 1.0), _disc(rng, N, 1.0)),
                      lambda q: (q ** 2).sum(1) <= 1.0),
    "cart-pole": ("3*x_dot**2/2 + x_dot*theta_dot*cos(theta) + theta_dot**2/2 + 9.81*cos(theta)", ["x", "theta"],
                  lambda rng, N: (rng.uniform([-2, -1], [2, 1], (N, 2)), rng.uniform(-1, 1, (N, 2))),
                  lambda q: (np.abs(q[:, 0]) <= 2) & (np.abs(q[:, 1]) <= 1)),
    "double pendulum": ("theta1_dot**2 + theta2_dot**2/2 + theta1_dot*theta2_dot*cos(theta1 - theta2)"
                        " + 2*9.81*cos(theta1) + 9.81*cos(theta2)", ["theta1", "theta2"],
                        lambda rng, N: (rng.uniform(-1, 1, (N, 2)), rng.uniform(-1, 1, (N, 2))),
                        lambda q: np.all(np.abs(q) <= 1, axis=1)),
}


def run_probe(name: str, *, n_train: int = 2048, n_test: int = 1000, epochs: int = 120, hidden=(64, 64),
              lr: float = 3e-3, batch_size: int = 1024, shift: float = 0.3, angle: float = 0.3,
              seed: int = 0) -> dict:
    """Train an MLP Lagrangian on states of system ``name`` (true q̈) and probe it."""
    from ..neural import MLPLagrangian
    from ..symbolic import sympy_to_torch

    L_text, coords, sample, inside = PROBE_SYSTEMS[name]
    f, _ = sympy_to_torch(L_text, coordinates=coords)
    true_acc = lambda q, qd: accelerations(f, torch.as_tensor(q, dtype=torch.float64),
                                           torch.as_tensor(qd, dtype=torch.float64)).numpy()
    rng = np.random.default_rng(seed)
    q, qd = sample(rng, n_train)
    from ..neural import TrainingDivergedError

    for lr_used in (lr, lr / 3, lr / 10):  # an indefinite M at a validation state ends a run: retry slower
        try:
            model = MLPLagrangian(hidden=tuple(hidden), epochs=epochs, lr=lr_used, batch_size=batch_size,
                                  seed=seed).fit((q, qd, true_acc(q, qd)))
            break
        except TrainingDivergedError:
            continue
    else:
        raise TrainingDivergedError(f"{name}: MLP training diverged at lr {lr}, {lr / 3:.3g} and {lr / 10:.3g}")
    tq, tqd = sample(rng, n_test)
    from ..integrate import rollout

    q0, qd0 = sample(rng, 64)
    keep = np.flatnonzero(inside(q0))[:8]
    t = torch.linspace(0, 3.0, 151, dtype=torch.float64)
    out = rollout(f, torch.as_tensor(q0[keep]), torch.as_tensor(qd0[keep]), t, substeps=2, compute_energy=False)
    rows = probe(model, true_acc, tq, tqd, candidates(coords, shift=shift, angle=angle), inside,
                 trajectories=(out.q.numpy(), out.qdot.numpy()))
    return {"system": name, "lagrangian": L_text, "coordinates": coords, "rows": rows,
            "val_error": float(model.val_error_), "epochs_run": int(model.n_epochs_), "lr_used": lr_used,
            "fit_time_s": float(model.fit_time_)}
