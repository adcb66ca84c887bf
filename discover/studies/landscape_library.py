"""Loss landscapes of fitted library models, and multi-starts with and without stage 1.

1. Double pendulum: ``SparseLagrangian()`` fitted to clean simulated data gives the optimum ξ*
   (``termset_``, ``coef_``).  The relative q̈-loss Σ‖q̈(ξ) − q̈‖²/Σ‖q̈‖² is sliced through ξ*
   along two random filter-normalized directions (Li et al. 2018: each coordinate of a Gaussian
   direction rescaled to the optimum's coefficient magnitude, d_k = r_k/|r_k|·|ξ*_k|) and along
   the scale direction ξ* → cξ*, which is flat (L and cL give the same motion).  Every grid point
   goes through :func:`discover.studies.landscape.batched_qddot`; where M is not positive
   definite the point is marked (NaN, hatched), never an error.
2. Pendulum multi-start: the same Adam fit started from ξ ~ N(0, 1) and from the stage-1 linear
   Euler–Lagrange regression (``discover.sparse``), slightly perturbed; and final validation
   errors of several MLP Lagrangian seeds (``discover.neural.MLPEnsemble``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..library import TermSet
from .landscape import DTYPE, MultiStart, batched_qddot, cluster_minima, reaches_global

__all__ = ["double_pendulum_data", "relative_loss", "filter_normalized_direction", "grid_local_minima",
           "library_slices", "stage1_coefficients", "stage1_starts", "split_multistart", "mlp_multistart"]

#: relative-loss level at which the width of the minimum is measured
WIDTH_LEVEL = 1e-2


# ----------------------------------------------------------------------------------------
# data and batched loss
# ----------------------------------------------------------------------------------------
def double_pendulum_data(*, n_traj: int = 4, duration: float = 5.0, dt: float = 0.01, substeps: int = 2,
                         seed: int = 0):
    """Clean double-pendulum samples: (t, q, qdot, qddot, traj ids, coordinates); arrays (N, 2).

    RK4 rollouts of the default system (``discover.integrate.rollout``); q̈ from the engine with
    the exact Lagrangian at the sampled states."""
    from ..integrate import rollout
    from ..mechanics import accelerations
    from ..systems import get_system

    sys_ = get_system("double_pendulum")
    q0, v0 = sys_.sample_initial_states(n_traj, np.random.default_rng(seed))
    t = np.arange(int(round(duration / dt)) + 1) * dt
    r = rollout(sys_, torch.as_tensor(q0, dtype=DTYPE), torch.as_tensor(v0, dtype=DTYPE),
                torch.as_tensor(t, dtype=DTYPE), substeps=substeps, compute_energy=False)
    n = r.q.shape[-1]
    q = r.q.transpose(0, 1).reshape(-1, n)
    qd = r.qdot.transpose(0, 1).reshape(-1, n)
    coords = list(sys_.coordinates)
    qdd = accelerations(sys_.lagrangian(), q, qd, coordinates=coords).detach()
    ids = np.repeat(np.arange(n_traj), len(t))
    return np.tile(t, n_traj), q.numpy(), qd.numpy(), qdd.numpy(), ids, coords


def relative_loss(M_cols, f_cols, target, xi, *, chunk: int = 128):
    """Relative q̈-loss Σ‖q̈(ξ) − q̈‖²/Σ‖q̈‖² for every row of ``xi`` (G, K) at once.

    M_cols (N, n, n, K), f_cols (N, n, K), target (N, n) → (loss (G,), positive (G,) bool).
    ``loss`` is NaN where M(ξ) is singular at some sample (c = 0 on the scale line); a negative
    definite M (c < 0) still gives the same q̈ and a finite loss.  ``positive``: M(ξ) positive
    definite at every sample (a physical kinetic energy)."""
    xi = torch.as_tensor(np.asarray(xi, float), dtype=DTYPE)
    denom = (target**2).sum()
    losses, pos = [], []
    for a in range(0, xi.shape[0], chunk):
        x = xi[a:a + chunk]
        pred = batched_qddot(M_cols, f_cols, x)                      # (g, N, n), NaN where singular
        losses.append(((pred - target) ** 2).sum((-1, -2)) / denom)
        M = torch.einsum("bijk,gk->gbij", M_cols, x)
        pos.append((torch.linalg.cholesky_ex(M)[1] == 0).all(-1))
    return torch.cat(losses).numpy(), torch.cat(pos).numpy()


def filter_normalized_direction(coef: np.ndarray, rng: np.random.Generator, *, avoid=(), max_cos: float = 0.7):
    """d_k = r_k/|r_k| · |ξ*_k|, r ~ N(0, 1)^K: filter normalization with one coefficient per filter.

    With one coefficient per filter only the signs are random; draws within ``max_cos`` (|cosine|,
    in the filter-normalized metric d_k/|ξ*_k|, see :func:`relative_cos`) of ξ* itself (the flat
    scale direction) or of any vector in ``avoid`` are redrawn."""
    coef = np.asarray(coef, float)
    d = None
    for _ in range(1000):
        r = rng.normal(size=coef.shape)
        d = r / np.abs(r) * np.abs(coef)
        if all(abs(relative_cos(d, v, coef)) <= max_cos for v in (coef, *avoid)):
            return d
    return d


def relative_cos(a, b, coef) -> float:
    """Cosine of a and b in per-coefficient relative units (divided by |ξ*_k|): the metric in which
    filter-normalized directions are compared (in plain units the largest coefficients dominate)."""
    w = np.where(np.abs(coef) > 0, np.abs(coef), 1.0)
    return _cos(np.asarray(a) / w, np.asarray(b) / w)


def _cos(a, b) -> float:
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def grid_local_minima(Z: np.ndarray) -> list[tuple[int, int, float, bool]]:
    """Strict local minima of a 2-D grid over its finite values (8-neighbourhood):
    [(row, col, value, interior)], ``interior`` False when the point is on the grid's edge or
    next to a NaN (masked) cell, where the loss may keep falling outside the shown region."""
    Z = np.asarray(Z, float)
    P = np.pad(Z, 1, constant_values=np.nan)
    out = []
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            z = Z[i, j]
            if not np.isfinite(z):
                continue
            nb = np.delete(P[i:i + 3, j:j + 3].ravel(), 4)
            fin = nb[np.isfinite(nb)]
            if fin.size and np.all(z < fin):
                out.append((i, j, float(z), bool(np.isfinite(nb).all())))
    return sorted(out, key=lambda m: m[2])


# ----------------------------------------------------------------------------------------
# 1. slices through a fitted library model
# ----------------------------------------------------------------------------------------
@dataclass
class LibrarySlices:
    names: list
    coef: np.ndarray            # (K,) the optimum ξ* (SparseLagrangian.coef_)
    lagrangian: str
    normalization: str
    fit_seconds: float
    n_samples: int
    d1: np.ndarray              # (K,) filter-normalized random directions
    d2: np.ndarray
    cosines: dict               # cos(d1, ξ*), cos(d2, ξ*), cos(d1, d2)
    span: float
    axis: np.ndarray            # (G,) slice coordinates α = β grid, odd length (0 included)
    loss2d: np.ndarray          # (G, G) ξ* + α d1 + β d2 (rows β), NaN where M is not positive definite
    frac_not_pd: float
    plane_a: np.ndarray         # scale × random plane: (1 + a) ξ* + b d1
    plane_b: np.ndarray
    plane_loss: np.ndarray      # (Gb, Ga), NaN where M is not positive definite
    line: np.ndarray            # (L,) s for the 1-D profiles
    scale_loss: np.ndarray      # loss((1 + s) ξ*), NaN only at s = −1 (M = 0)
    scale_pd: np.ndarray        # M positive definite along the scale line
    rand_loss: np.ndarray       # loss(ξ* + s d1), NaN where M is not positive definite
    loss_opt: float
    scale_max_dev: float        # max over c ≠ 0 on the line of |loss(cξ*) − loss(ξ*)|
    scale_qddot_dev: float      # max |q̈(cξ*) − q̈(ξ*)| / max |q̈| over the same c
    hessian: np.ndarray         # (2, 2) d²loss/dα dβ at the origin (central differences)
    widths: dict                # quadratic and measured half-widths at loss = WIDTH_LEVEL
    minima: list                # grid_local_minima of loss2d, with (α, β)
    plane_minima: list          # of plane_loss, with (a, b)
    argmin: tuple               # (α, β) of the grid minimum of loss2d
    engine_check: float         # max |q̈ batched − model.acceleration| at ξ*
    extra: dict = field(default_factory=dict)


def library_slices(*, n_grid: int = 41, span: float = 1.0, n_line: int = 201, seed: int = 0, data=None,
                   model=None, max_samples: int = 1000) -> LibrarySlices:
    """Fit ``SparseLagrangian()`` to clean double-pendulum data (or use ``model``) and slice the
    relative q̈-loss through its optimum.  ``data``: the tuple of :func:`double_pendulum_data`."""
    import time

    from ..data import TrajectorySet
    from ..model import SparseLagrangian

    t, q, qd, qdd, ids, coords = data if data is not None else double_pendulum_data(seed=seed)
    t0 = time.time()
    if model is None:
        model = SparseLagrangian().fit(TrajectorySet.from_arrays(t, q, qdot=qd, coordinates=coords, traj=ids))
    fit_seconds = time.time() - t0
    ts: TermSet = model.termset_
    coef = np.asarray(model.coef_, float)
    step = max(1, len(q) // max_samples)
    T = lambda a: torch.as_tensor(np.asarray(a, float)[::step], dtype=DTYPE)
    Q, V, A = T(q), T(qd), T(qdd)
    Mc, fc = (x.detach() for x in ts.mass_force_columns(Q, V))
    loss = lambda X: relative_loss(Mc, fc, A, X)

    rng = np.random.default_rng(seed)
    d1 = filter_normalized_direction(coef, rng)
    d2 = filter_normalized_direction(coef, rng, avoid=(d1,))
    axis = np.linspace(-span, span, 2 * (n_grid // 2) + 1)
    aa, bb = np.meshgrid(axis, axis)
    X = coef + aa.reshape(-1, 1) * d1 + bb.reshape(-1, 1) * d2
    l2, p2 = loss(X)
    loss2d = np.where(p2, l2, np.nan).reshape(aa.shape)
    i, j = np.unravel_index(np.nanargmin(loss2d), loss2d.shape)
    minima = [(float(axis[c]), float(axis[r]), v, inner) for r, c, v, inner in grid_local_minima(loss2d)]

    pa = np.linspace(-1.5, 1.5, 2 * (n_grid // 2) + 1)
    pb = axis
    A2, B2 = np.meshgrid(pa, pb)
    lp, pp = loss((1 + A2.reshape(-1, 1)) * coef + B2.reshape(-1, 1) * d1)
    plane = np.where(pp, lp, np.nan).reshape(A2.shape)
    pmin = [(float(pa[c]), float(pb[r]), v, inner) for r, c, v, inner in grid_local_minima(plane)]

    line = np.linspace(-1.5, 1.5, 2 * (n_line // 2) + 1)
    s_loss, s_pd = loss((1 + line[:, None]) * coef)
    r_loss, r_pd = loss(coef + line[:, None] * d1)
    r_loss = np.where(r_pd, r_loss, np.nan)
    l0 = float(loss(coef[None])[0][0])
    nz = np.abs(1 + line) > 1e-12
    scale_dev = float(np.nanmax(np.abs(s_loss[nz] - l0)))
    cs = torch.as_tensor(1 + line[nz], dtype=DTYPE)
    qs = batched_qddot(Mc, fc, cs[:, None] * torch.as_tensor(coef, dtype=DTYPE))
    q1 = batched_qddot(Mc, fc, torch.as_tensor(coef, dtype=DTYPE)[None])
    qdd_dev = float((qs - q1).abs().max() / A.abs().max())

    # curvature of the minimum in the (α, β) slice: central differences, h small against the width
    h = 1e-3 * span
    off = np.array([[0, 0], [h, 0], [-h, 0], [0, h], [0, -h], [h, h], [-h, -h], [h, -h], [-h, h]])
    L9 = loss(coef + off[:, :1] * d1 + off[:, 1:] * d2)[0]
    H = np.empty((2, 2))
    H[0, 0] = (L9[1] - 2 * L9[0] + L9[2]) / h**2
    H[1, 1] = (L9[3] - 2 * L9[0] + L9[4]) / h**2
    H[0, 1] = H[1, 0] = (L9[5] + L9[6] - L9[7] - L9[8]) / (4 * h**2)
    ev = np.linalg.eigvalsh(H)
    widths = {"level": WIDTH_LEVEL, "hessian_eigenvalues": ev.tolist(),
              "quadratic_halfwidth_d1": math.sqrt(2 * WIDTH_LEVEL / H[0, 0]) if H[0, 0] > 0 else math.inf,
              "quadratic_halfwidth_d2": math.sqrt(2 * WIDTH_LEVEL / H[1, 1]) if H[1, 1] > 0 else math.inf,
              "measured_halfwidth_d1": _crossing(line, r_loss, WIDTH_LEVEL)}

    ref = model.acceleration(Q, V)
    check = float((ref - q1[0]).abs().max())
    return LibrarySlices(list(ts.names), coef, str(model.lagrangian()), model.normalization_, fit_seconds,
                         len(Q), d1, d2, {"d1_xi": relative_cos(d1, coef, coef), "d2_xi": relative_cos(d2, coef, coef),
                          "d1_d2": relative_cos(d1, d2, coef)},
                         span, axis, loss2d, float(1 - p2.mean()), pa, pb, plane, line, s_loss, s_pd, r_loss, l0,
                         scale_dev, qdd_dev, H, widths, minima, pmin, (float(axis[j]), float(axis[i])), check)


def _crossing(s: np.ndarray, y: np.ndarray, level: float) -> float:
    """Mean |s| at which y first rises above ``level`` on either side of s = 0 (linear interpolation)."""
    out = []
    mid = int(np.argmin(np.abs(s)))
    for rng_ in (range(mid, len(s) - 1), range(mid, 0, -1)):
        for k in rng_:
            k2 = k + 1 if rng_.step > 0 else k - 1
            if np.isfinite(y[k2]) and y[k] < level <= y[k2]:
                out.append(abs(s[k] + (level - y[k]) * (s[k2] - s[k]) / (y[k2] - y[k])))
                break
    return float(np.mean(out)) if out else math.nan


# ----------------------------------------------------------------------------------------
# 2. multi-start with and without stage 1; MLP seeds
# ----------------------------------------------------------------------------------------
def stage1_coefficients(q, qdot, qddot, terms, coordinates=("theta",), *, threshold: float = 1e-3) -> np.ndarray:
    """Stage 1 of the sparse fit on (q, q̇, q̈) (N, n): the Euler–Lagrange residual Θξ is linear in
    ξ, minimized under the normalization mean ∂²L/∂q̇₀² = 1 and thresholded (STLSQ at
    ``threshold`` on unit-norm columns) with ``discover.sparse``; (K,) coefficients, zeros off the support."""
    from ..sparse import constrained_fit, stlsq_path
    from ..symbolic import parse_lagrangian

    ts = TermSet([parse_lagrangian(s) if isinstance(s, str) else s for s in terms], list(coordinates))
    T = lambda a: torch.as_tensor(np.asarray(a, float), dtype=DTYPE)
    Q, V = T(q), T(qdot)
    K = len(ts)
    Theta = ts.el_columns(Q, V, T(qddot)).reshape(-1, K).detach().numpy()
    a = ts.velocity_hessian_mean(Q, V).detach().numpy()[0]
    scale = np.linalg.norm(Theta, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    paths = stlsq_path(Theta / scale, a / scale, list(range(K)), thresholds=[threshold])
    support = paths[0] if paths else tuple(range(K))
    x = constrained_fit(Theta / scale, a / scale, support)
    if x is None:
        raise RuntimeError("stage 1: the constrained least-squares fit failed on this library")
    return x / scale


def stage1_starts(coef: np.ndarray, n_starts: int, *, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """(n_starts, K) starts around the stage-1 solution: ξ₁ rescaled to the norm √K of a typical
    N(0, 1) start (the loss is scale-blind; this keeps Adam's step the same relative size), plus
    Gaussian noise of σ = ``noise`` per coefficient."""
    c = np.asarray(coef, float)
    c = c / np.linalg.norm(c) * math.sqrt(len(c))
    rng = np.random.default_rng(seed + 12345)
    return c + noise * rng.normal(size=(n_starts, len(c)))


def split_multistart(ms: MultiStart, idx) -> MultiStart:
    """The starts ``idx`` of a batched multi-start as a MultiStart of their own."""
    idx = np.asarray(idx)
    final, loss = ms.final[idx], ms.loss[idx]
    glob = reaches_global(final, loss, ms.truth)
    return MultiStart(ms.terms, ms.truth, ms.init[idx], final, loss, cluster_minima(final, loss),
                      float(glob.mean()), ms.engine_check, ms.steps, ms.lr)


def mlp_multistart(data, *, n_seeds: int = 8, hidden=(32, 32), epochs: int = 300, lr: float = 1e-2,
                   batch_size: int = 1024, structured: bool = True, seed: int = 0,
                   val_fraction: float = 0.25) -> dict:
    """``n_seeds`` MLP Lagrangians (one vmapped ``MLPEnsemble``, model i = seed + i) trained on the
    first trajectories' samples of ``data`` = (q, q̇, q̈) (N, 1); relative q̈ errors on the last
    ``val_fraction`` of the samples (held out, the same for every seed)."""
    import time

    from ..neural import MLPEnsemble

    q, qd, qdd = (np.asarray(a, float) for a in data)
    n_val = max(4, int(round(val_fraction * len(q))))
    tr, va = slice(0, len(q) - n_val), slice(len(q) - n_val, len(q))
    t0 = time.time()
    ens = MLPEnsemble(n_models=n_seeds, hidden=tuple(hidden), epochs=epochs, lr=lr, batch_size=batch_size,
                      structured=structured, patience=epochs, seed=seed).fit((q[tr], qd[tr], qdd[tr]), validation=(q[va], qd[va], qdd[va]))
    return {"val_errors": [float(e) for e in ens.val_errors_], "seconds": time.time() - t0, "n_seeds": n_seeds,
            "hidden": list(hidden), "epochs": epochs, "structured": structured, "lr": lr, "batch_size": batch_size,
            "best_epochs": [int(b) for b in ens.best_epoch_], "n_train": len(q) - n_val, "n_val": n_val}

