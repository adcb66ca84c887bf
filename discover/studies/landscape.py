"""Loss landscapes of the q̈-loss: where its minima are, and why they are not points.

Two studies, both evaluated through the one Euler–Lagrange engine (``TermSet.mass_force_columns``
gives the per-term mass and force columns M_k, f_k; L = ξ·φ is linear in ξ, so for every parameter
vector ξ at once q̈(ξ) = (Σ ξ_k M_k)⁻¹ Σ ξ_k f_k — a grid or a batch of starts is one tensor op):

1. harmonic oscillator L = ½ m q̇² − ½ k q² on an (m, k) grid: the loss depends on k/m only, so
   its zero set is the ray k/m = k₀/m₀ (projective degeneracy, L and cL give the same motion);
   with m fixed the profile in k has one minimum; noise (derivatives estimated) moves/flattens it.
2. multi-start Adam fits of a small pendulum library (θ̇², cos θ, θ², θ̇² cos θ): histogram of final
   losses, distinct minima, fraction reaching the global one.

Numbers only; figures and markdown are drawn by :mod:`discover.reports.landscape_report`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..library import TermSet

__all__ = ["harmonic_data", "grid_loss", "batched_qddot", "ho_landscape", "pendulum_data", "multistart",
           "reaches_global", "cluster_minima"]

DTYPE = torch.float64


# ----------------------------------------------------------------------------------------
# harmonic oscillator
# ----------------------------------------------------------------------------------------
def harmonic_data(m0: float = 1.0, k0: float = 4.0, *, n_traj: int = 4, duration: float = 10.0,
                  dt: float = 0.01, noise: float = 0.0, differentiator: str = "savgol", seed: int = 0):
    """Samples (q, q̇, q̈), each (N, 1), of L = ½ m₀ q̇² − ½ k₀ q² (exact solution).

    ``noise`` > 0: Gaussian noise of σ = noise × std(q) on the positions, then q̇, q̈ are
    estimated with ``differentiator`` (discover.derivatives), edges trimmed.
    """
    from ..derivatives import get_differentiator
    from ..systems import get_system

    sys_ = get_system("harmonic_1d", m_x=m0, k_x=k0)
    rng = np.random.default_rng(seed)
    q0, v0 = sys_.sample_initial_states(n_traj, rng)
    t = np.arange(int(round(duration / dt)) + 1) * dt
    q, qd = sys_.exact_solution(q0, v0, t)  # (T, B, 1)
    qdd = -(k0 / m0) * q
    if noise <= 0:
        f = lambda a: a.transpose(1, 0, 2).reshape(-1, 1)
        return f(q), f(qd), f(qdd)
    sigma = noise * q.reshape(-1).std()
    qs, vs, as_ = [], [], []
    for b in range(q.shape[1]):
        qn = q[:, b] + rng.normal(size=q[:, b].shape) * sigma
        s, v, a = get_differentiator(differentiator).differentiate(t, qn)
        trim = slice(5, len(t) - 5)
        qs.append(s[trim]); vs.append(v[trim]); as_.append(a[trim])
    return np.concatenate(qs), np.concatenate(vs), np.concatenate(as_)


def _columns(terms, coords, q, qdot):
    ts = TermSet(terms, coords)
    T = lambda x: torch.as_tensor(np.asarray(x), dtype=DTYPE)
    M, f = ts.mass_force_columns(T(q), T(qdot))  # (N, n, n, K), (N, n, K)
    return M, f


def batched_qddot(M_cols, f_cols, xi, *, positive: bool = False):
    """q̈ for many parameter vectors at once.

    M_cols (N, n, n, K), f_cols (N, n, K), xi (G, K) → (G, N, n).  Samples where M = Σ ξ_k M_k
    is singular (or, with ``positive``, not positive definite) get NaN rows instead of an error.
    """
    M = torch.einsum("bijk,gk->gbij", M_cols, xi)
    f = torch.einsum("bik,gk->gbi", f_cols, xi)
    bad = (torch.linalg.cholesky_ex(M)[1] if positive else torch.linalg.lu_factor_ex(M)[2]) != 0
    if bool(bad.any()):
        eye = torch.eye(M.shape[-1], dtype=M.dtype, device=M.device)
        M = torch.where(bad[..., None, None], eye, M)
    out = torch.linalg.solve(M, f.unsqueeze(-1)).squeeze(-1)
    return out.masked_fill(bad[..., None], math.nan)


def grid_loss(q, qdot, qddot, m_grid, k_grid):
    """Mean q̈-loss Σᵢ‖q̈ᵢ − q̈(L)‖²/N of L = ½ m q̇² − ½ k q² for every (m, k) of the grid.

    q, qdot, qddot: (N, 1); m_grid (Gm,), k_grid (Gk,) → (Gk, Gm) array (rows: k).
    """
    import sympy

    x, xd = sympy.symbols("x x_dot")
    M, f = _columns([xd**2 / 2, -x**2 / 2], ["x"], q, qdot)
    mm, kk = np.meshgrid(np.asarray(m_grid, float), np.asarray(k_grid, float))
    xi = torch.as_tensor(np.stack([mm.ravel(), kk.ravel()], 1), dtype=DTYPE)
    pred = batched_qddot(M, f, xi)  # (G, N, 1)
    target = torch.as_tensor(np.asarray(qddot), dtype=DTYPE)
    loss = ((pred - target) ** 2).sum(-1).mean(-1)
    return loss.reshape(mm.shape).numpy()


@dataclass
class HOLandscape:
    m0: float
    k0: float
    m_grid: np.ndarray
    k_grid: np.ndarray
    loss: np.ndarray            # (Gk, Gm) clean data
    argmin: tuple               # (m, k) of the grid minimum
    valley_distance: float      # |k/m − k0/m0| at the grid minimum, in units of the grid's ratio step
    valley_max_loss: float      # largest loss on the analytic valley k = (k0/m0) m over the m grid
    profile_k: np.ndarray       # k values of the 1-D profile (m = m0)
    profiles: dict              # (differentiator, noise) → loss(k) with m = m0
    profile_min: dict           # (differentiator, noise) → (k̂, curvature d²loss/dk² at k̂, min loss)


def ho_landscape(m0: float = 1.0, k0: float = 4.0, *, noises=(0.0, 1e-2, 3e-2, 1e-1), n_grid: int = 121,
                 seed: int = 0, differentiators=("savgol", "fd")) -> HOLandscape:
    q, qd, qdd = harmonic_data(m0, k0, seed=seed)
    m_grid = np.linspace(0.25 * m0, 3.0 * m0, n_grid)
    k_grid = np.linspace(0.0, 3.0 * k0, n_grid)
    loss = grid_loss(q, qd, qdd, m_grid, k_grid)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    am, ak = m_grid[j], k_grid[i]
    # distance of the minimum from the analytic valley, compared with the ratio resolution there
    dratio = (k_grid[1] - k_grid[0]) / am
    # the analytic valley: every (m, k0/m0·m) has the same motion as (m0, k0)
    valley = np.array([grid_loss(q, qd, qdd, [m], [k0 / m0 * m])[0, 0] for m in m_grid[:: max(1, n_grid // 12)]])
    profile_k = np.linspace(0.0, 3.0 * k0, 601)
    profiles, pmin = {}, {}
    for d in differentiators:
        for s in noises:
            if s == 0 and d != differentiators[0]:
                continue
            data = (q, qd, qdd) if s == 0 else harmonic_data(m0, k0, noise=s, seed=seed, differentiator=d)
            prof = grid_loss(*data, [m0], profile_k)[:, 0]
            profiles[(d, s)] = prof
            b = int(np.argmin(prof))
            h = profile_k[1] - profile_k[0]
            b_ = min(max(b, 1), len(prof) - 2)
            curv = (prof[b_ + 1] - 2 * prof[b_] + prof[b_ - 1]) / h**2
            pmin[(d, s)] = (float(profile_k[b]), float(curv), float(prof[b]))
    return HOLandscape(m0, k0, m_grid, k_grid, loss, (float(am), float(ak)),
                       float(abs(ak / am - k0 / m0) / dratio), float(valley.max()),
                       profile_k, profiles, pmin)


# ----------------------------------------------------------------------------------------
# multi-start fits of a small pendulum library
# ----------------------------------------------------------------------------------------
#: an end point is "the global minimum" when its normalized coefficients are within this fraction
#: (of the largest true coefficient) of the truth
GLOBAL_TOL = 1e-2
PENDULUM_TERMS = ("theta_dot**2", "cos(theta)", "theta**2", "theta_dot**2*cos(theta)")


@dataclass
class MultiStart:
    terms: tuple
    truth: np.ndarray          # normalized true coefficients (mean ∂²L/∂θ̇² = 1)
    init: np.ndarray           # (S, K) initial coefficients
    final: np.ndarray          # (S, K) final coefficients, normalized (mean ∂²L/∂θ̇² = 1); nan if M ≤ 0
    loss: np.ndarray           # (S,) final relative q̈-loss Σ‖Δq̈‖²/Σ‖q̈‖² (inf: M not positive)
    minima: list               # [(loss, coefficients, count)] distinct minima, best first
    global_fraction: float     # fraction of starts ending in the global minimum (the truth)
    engine_check: float        # max |q̈ batched − discover.accelerations| at the best start
    steps: int
    lr: float


def pendulum_data(*, n_traj: int = 4, duration: float = 5.0, dt: float = 0.02, seed: int = 0):
    """Clean (θ, θ̇, θ̈) samples (N, 1) of the default pendulum (m = l = 1, g = 9.81): the closed-form
    (Jacobi elliptic) motion, θ̈ from the engine."""
    from ..mechanics import accelerations
    from ..systems import get_system

    sys_ = get_system("pendulum")
    q0, v0 = sys_.sample_initial_states(n_traj, np.random.default_rng(seed))
    t = np.arange(int(round(duration / dt)) + 1) * dt
    q, qd = sys_.exact_solution(q0, v0, t)
    q = torch.as_tensor(np.asarray(q, float).reshape(-1, 1))
    qd = torch.as_tensor(np.asarray(qd, float).reshape(-1, 1))
    qdd = accelerations(sys_.lagrangian(), q, qd, coordinates=["theta"])
    return q.numpy(), qd.numpy(), qdd.detach().numpy()


def multistart(*, n_starts: int = 100, steps: int = 5000, lr: float = 0.05, seed: int = 0,
               terms=PENDULUM_TERMS, data=None, init=None) -> MultiStart:
    """Adam on the relative q̈-loss from ``n_starts`` random ξ ~ N(0, 1)^K, all starts batched
    (``init`` (S, K): these starts instead).

    The loss is invariant to ξ → cξ, so coefficients are reported normalized to a data mean of
    ∂²L/∂θ̇² = 1; starts whose mass ∂²L/∂θ̇² is not positive on all data end with loss inf.
    """
    import sympy

    from ..mechanics import accelerations
    from ..symbolic import parse_lagrangian

    q, qd, qdd = data if data is not None else pendulum_data(seed=seed)
    exprs = [parse_lagrangian(s) for s in terms]
    M, f = _columns(exprs, ["theta"], q, qd)
    target = torch.as_tensor(qdd, dtype=DTYPE)
    denom = (target**2).sum()
    mass_mean = M[:, 0, 0, :].mean(0)  # (K,) normalization functional
    g = torch.Generator().manual_seed(seed)
    init = (torch.randn(n_starts, len(exprs), generator=g, dtype=DTYPE) if init is None
            else torch.as_tensor(np.asarray(init, float), dtype=DTYPE))
    xi = init.clone().requires_grad_(True)
    opt = torch.optim.Adam([xi], lr=lr)

    def losses(x):
        Mx = torch.einsum("bk,gk->gb", M[:, 0, 0, :], x)
        fx = torch.einsum("bk,gk->gb", f[:, 0, :], x)
        pred = fx / Mx
        return ((pred - target[:, 0]) ** 2).sum(-1) / denom, Mx

    for _ in range(steps):
        opt.zero_grad()
        ls, _ = losses(xi)
        # non-finite starts (M crossing zero) are frozen, not allowed to poison the batch
        ok = torch.isfinite(ls)
        ls[ok].sum().backward()
        xi.grad[~ok] = 0
        opt.step()
    with torch.no_grad():
        ls, Mx = losses(xi)
        x = xi.detach().clone()
        scale = x @ mass_mean
        x = x / scale[:, None]
        # after normalization M must be positive at every sample (M ∝ Mx / scale)
        pos = ((Mx / scale[:, None]) > 0).all(1) & torch.isfinite(ls)
        final = torch.where(pos[:, None], x, torch.full_like(x, math.nan)).numpy()
        loss = torch.where(pos, ls, torch.full_like(ls, math.inf)).numpy()
    truth_expr = sympy.Rational(1, 2) * exprs[0] + 9.81 * exprs[1]
    truth = np.array([0.5, 9.81, 0.0, 0.0])
    truth = truth / float(torch.as_tensor(truth) @ mass_mean)
    minima = cluster_minima(final, loss)
    ok = np.isfinite(loss)
    glob = reaches_global(final, loss, truth)
    # engine check: the batched formula against discover.accelerations at the best start
    best = int(np.nanargmin(np.where(ok, loss, np.nan))) if ok.any() else 0
    xb = torch.as_tensor(np.nan_to_num(final[best]), dtype=DTYPE)
    ts = TermSet(exprs, ["theta"])
    qt = torch.as_tensor(q, dtype=DTYPE); vt = torch.as_tensor(qd, dtype=DTYPE)
    ref = accelerations(ts.lagrangian(xb), qt, vt, check=False)
    mine = batched_qddot(M, f, xb[None])[0]
    check = float((ref - mine).abs().max())
    del truth_expr
    return MultiStart(tuple(terms), truth, init.numpy(), final, loss, minima,
                      float(glob.mean()), check, steps, lr)


def reaches_global(final: np.ndarray, loss: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(S,) bool: finite end points whose normalized coefficients are within GLOBAL_TOL (of the
    largest true coefficient) of the truth."""
    ok = np.isfinite(loss)
    return ok & (np.abs(np.nan_to_num(final) - truth).max(1) < GLOBAL_TOL * np.abs(truth).max())


def cluster_minima(final: np.ndarray, loss: np.ndarray, *, tol: float = 1e-2) -> list:
    """Group finite end points whose normalized coefficients agree within ``tol`` (max-norm,
    relative to the largest coefficient): [(best loss, mean coefficients, count)], best first."""
    idx = [i for i in np.argsort(loss) if np.isfinite(loss[i])]
    groups: list[list[int]] = []
    for i in idx:
        for gr in groups:
            c = final[gr[0]]
            if np.abs(final[i] - c).max() <= tol * max(np.abs(c).max(), 1e-12):
                gr.append(i)
                break
        else:
            groups.append([i])
    out = [(float(loss[gr].min()), final[gr].mean(0), len(gr)) for gr in groups]
    return sorted(out, key=lambda z: z[0])
