"""Maximum-likelihood trajectory fitting by multiple shooting.

The weak form fits L = Σ ξ_k φ_k to smoothed derivatives, which biases the coefficients on noisy
data (errors in variables).  Here the coefficients (and linear friction c_i, Coulomb friction F_c,i)
are fitted together
with one initial state (q, q̇) per segment so that the simulated positions match the measured ones
in least squares; under Gaussian position noise this is the maximum-likelihood estimate.

* All segments (of all trajectories) are integrated at once by :class:`discover.integrate.RK4`
  with the data's time step; q̈ comes from :func:`discover.mechanics.accelerations` (the one
  Euler–Lagrange implementation), with a known applied force (``forces``) taken at the samples
  and linearly between them, for all segments at once.
* Jacobian: forward sensitivities.  RK4 applied to the state augmented by its tangents is exactly
  the derivative of the RK4 map, so each stage needs only ∂q̈/∂(q, q̇, ξ, c): one batched
  reverse pass through the engine's q̈ (per-sample leaves for ξ and c).  Tangent directions: the
  free parameters and the 2n state components (segments are independent, so one direction per
  state component serves every segment).  About 2× a plain rollout; forward-mode autodiff through the
  same rollout measured 4-5× slower than this (identical Jacobian to 1e-14).
* Normalization A ξ = 1 (m rows): m pivot coefficients (QR with column pivoting of A) are
  eliminated, ξ = x₀ + Z θ; the pinned ones get their stderr from Z cov(θ) Zᵀ (0 when pinned alone).
* Levenberg–Marquardt on the normal equations, the per-segment states eliminated by a Schur
  complement (batched 2n×2n Cholesky); a failed rollout (non-finite, singular or indefinite M)
  counts as an infinite cost: the step is rejected and the damping raised.
* Tracking drift (``offsets=True``): each segment also gets an observation offset b_s (n,), y = q(t) + b_s, eliminated
  with the segment's state, so a slow additive drift of the positions (a camera tracker's creep,
  time scale ≫ the segment) is absorbed instead of biasing ξ.  Only where identifiable: a
  coordinate the model's q̈ does not depend on gets none, and where a common shift of q_i is
  absorbed by the coefficients (cos θ and sin θ together, a linear term beside x²) the first
  segment's offset is pinned to 0 (the frame of the angle's zero).
* Continuation over segment lengths (1 s → 2 s by default): each stage starts from the previous
  coefficients and its fitted states at the new segment starts.  First-stage states come from a
  Savitzky–Golay fit of the data (positions and velocities at the segment start).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.stats
import torch

from .derivatives import SavitzkyGolay, estimate_noise
from .library import TermSet
from .mechanics import SingularMassMatrixError
from .shooting import RolloutFailed, Shooting, segment_forces, segment_times, segments_of

__all__ = ["fit_trajectories", "TrajectoryFitResult", "likelihood_ratio"]


@dataclass
class TrajectoryFitResult:
    terms: list            # term names
    coef: np.ndarray       # (K,)
    coef_stderr: np.ndarray
    damping: np.ndarray    # (n,) friction c_i (force −c_i q̇_i), in L's normalization
    damping_stderr: np.ndarray
    chi2: float            # Σ (residual / σ)²
    dof: int               # observations − parameters (coefficients, friction, segment states)
    sigma: np.ndarray      # (n,) σ used (given, or estimated from the residuals)
    sigma_estimated: bool
    reduced_chi2: float
    rms: np.ndarray        # (n,) position residual RMS per coordinate
    ssr: np.ndarray        # (n,) sums of squared residuals (for likelihood ratios)
    n_params: int          # free coefficients + fitted friction (segment states not counted)
    n_obs: int
    segment_seconds: float
    n_segments: int
    iterations: int
    converged: bool
    seconds: float
    message: str = ""
    stages: list = field(default_factory=list)
    covariance: np.ndarray | None = None   # of (ξ, c, F_c) (K + 2n)
    coulomb: np.ndarray | None = None          # (n,) Coulomb friction F_c,i (force −F_c,i tanh(q̇_i/ε_i))
    coulomb_stderr: np.ndarray | None = None
    offsets: np.ndarray | None = None      # (segments, n) observation offsets b_s (0 where not fitted)
    offset_segments: list = field(default_factory=list)  # (trajectory, start, length) of each segment


def _solve_lm(r, J, P, lam, w):
    """LM step (δθ, δs) for the weighted residuals, the segment states eliminated by a Schur
    complement; also that complement (with lam = 0 its inverse is cov(θ))."""
    Jw = (J * w[:, None]).reshape(J.shape[0], -1, J.shape[-1])
    rw = (r * w).reshape(r.shape[0], -1)
    H = Jw.transpose(1, 2) @ Jw                         # (S, D, D)
    g = (Jw.transpose(1, 2) @ rw[..., None])[..., 0]    # (S, D)
    A, B, Dm = H[:, :P, :P].sum(0), H[:, :P, P:], H[:, P:, P:]
    gg, gl = g[:, :P].sum(0), g[:, P:]
    dA, dD = A.diagonal(), Dm.diagonal(dim1=1, dim2=2)
    if P:
        A = A + lam * torch.diag(dA.clamp_min(1e-12 * float(dA.max())))
    Dm = Dm + torch.diag_embed(lam * dD + 1e-12 * dD.amax(-1, keepdim=True))
    Lc = torch.linalg.cholesky(Dm)
    DiBt = torch.cholesky_solve(B.transpose(1, 2), Lc)   # (S, 2n, P)
    Dig = torch.cholesky_solve(gl[..., None], Lc)        # (S, 2n, 1)
    Sc = A - (B @ DiBt).sum(0)
    dg = torch.linalg.solve(Sc, -gg + (B @ Dig)[..., 0].sum(0)) if P else gg  # P = 0: all pinned, states only
    dl = -(Dig[..., 0] + (DiBt @ dg))
    return dg, dl, Sc


def fit_trajectories(terms, coordinates, coef0, norm_rows, trajectories, *, damping0=None,
                     fit_damping=False, forces=None, coulomb0=None, fit_coulomb=False, coulomb_epsilon=None,
                     segment_seconds: Sequence[float] = (1.0, 2.0), max_iter: int = 30,
                     sigma=None, tol: float = 1e-2, offsets: bool = False, device="cpu", threads: int | None = 1,
                     verbose=False) -> TrajectoryFitResult:
    """Fit ξ (and friction c) with per-segment initial states to measured positions.

    Args:
        terms: SymPy terms φ_k; coordinates: their coordinate names.
        coef0: start coefficients (e.g. the weak fit); A ξ = 1 is restored exactly (a single row:
            by rescaling ξ and c, a symmetry of the motion; several rows: through the pivots).
        norm_rows: (m, K) matrix A of the normalization A ξ = 1; m = 0 (no rows) with a known
            force, which fixes L's scale.
        trajectories: list of (t (N,), q (N, n)) with uniform steps (measured positions).
        damping0: start friction (n,), force −c_i q̇_i; fixed unless ``fit_damping``.
        forces: the known applied generalized force of each trajectory, a list of (N, n) arrays
            at its samples (linear in between), or None.
        coulomb0: start Coulomb friction F_c (n,), force −F_c,i tanh(q̇_i/ε_i); fixed unless
            ``fit_coulomb``.  coulomb_epsilon: ε (n,) (:func:`discover.dissipation.coulomb_epsilon`
            of the data's velocities when None).
        segment_seconds: segment lengths of the continuation stages.
        max_iter: LM iterations per stage.  tol: stop when χ² drops by less (final stage;
            earlier stages stop at Δχ² < 1).
        sigma: position noise σ (scalar or (n,)); None: estimated from the final residuals.
        offsets: fit a per-segment observation offset (a slow tracking drift) where identifiable
            (each costs precision where the offset is nearly collinear with the segment's motion:
            whether the data need them is a model choice, :mod:`discover.formulations.trajectory`).
        device: torch device.  threads: torch CPU threads during the fit (restored after; the
            ops are small, so one thread is faster than two that contend); None: leave as is.
    """
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _fit(terms, coordinates, coef0, norm_rows, trajectories, damping0, fit_damping,
                    segment_seconds, max_iter, sigma, tol, device, verbose,
                    forces=forces, coulomb0=coulomb0, fit_coulomb=fit_coulomb, epsilon=coulomb_epsilon,
                    offsets=offsets)
    finally:
        torch.set_num_threads(old)


def _offset_modes(prob, g, fixed, fitted, n, dtype, device) -> np.ndarray:
    """Per coordinate: 0 no offset (q̈ does not depend on q_i), 1 offsets on every segment,
    2 offsets with the first segment's pinned (a common shift of q_i is absorbed by the
    coefficients: ∂q̈/∂q_i lies in the span of ∂q̈/∂(θ, c) at the data's states)."""
    states = np.concatenate(fitted)
    states = states[np.linspace(0, len(states) - 1, min(len(states), 2000)).astype(int)]
    X = torch.as_tensor(states, dtype=dtype, device=device)
    xi, c, fc = prob.split(g, *fixed)
    try:
        _, Jq, _, G = prob.acc_jac(xi, c, fc, X[:, :n], X[:, n:])
    except SingularMassMatrixError:
        return np.ones(n, int)
    Jq, G = Jq.cpu().numpy(), G.reshape(-1, G.shape[-1]).cpu().numpy()
    scale = np.linalg.norm(Jq)
    modes = np.ones(n, int)
    for i in range(n):
        col = Jq[:, :, i].reshape(-1)
        norm = np.linalg.norm(col)
        if norm <= 1e-9 * scale:
            modes[i] = 0
        elif G.shape[1] and np.linalg.norm(col - G @ np.linalg.lstsq(G, col, rcond=None)[0]) <= 1e-6 * norm:
            modes[i] = 2
    return modes


def _fit(terms, coordinates, coef0, norm_rows, trajectories, damping0, fit_damping, segment_seconds,
         max_iter, sigma, tol, device, verbose, *, forces=None, coulomb0=None, fit_coulomb=False, epsilon=None,
         offsets=False):
    t_start = time.perf_counter()
    dt = torch.float64
    ts = TermSet(list(terms), list(coordinates))
    n, K = len(coordinates), len(ts)
    trajs = [(np.asarray(t, float), np.asarray(q, float).reshape(len(t), n)) for t, q in trajectories]
    for t, _ in trajs:  # RK4 steps from sample to sample: a recording's clock may jitter
        if len(t) < 4 or not np.all(np.diff(t) > 0):
            raise ValueError("fit_trajectories needs trajectories of ≥ 4 samples at increasing times")
    A = np.asarray(norm_rows, float).reshape(-1, K)
    xi0 = np.asarray(coef0, float).copy()
    c0 = np.zeros(n) if damping0 is None else np.asarray(damping0, float).copy()
    fc0 = np.zeros(n) if coulomb0 is None else np.asarray(coulomb0, float).copy()
    if not (np.all(np.isfinite(xi0)) and np.all(np.isfinite(c0)) and np.all(np.isfinite(fc0))):
        raise ValueError("coef0, damping0 and coulomb0 must be finite")
    if forces is not None and len(forces) != len(trajs):
        raise ValueError(f"forces: {len(forces)} arrays for {len(trajs)} trajectories")
    if epsilon is None:
        from .dissipation import coulomb_epsilon
        epsilon = coulomb_epsilon(np.concatenate([np.gradient(q, t, axis=0) for t, q in trajs]))
    m = A.shape[0]
    piv = scipy.linalg.qr(A, pivoting=True, mode="r")[1] if m else np.arange(K)
    bset, fset = list(piv[:m]), sorted(piv[m:])
    AB_inv = np.linalg.inv(A[:, bset]) if m else np.zeros((0, 0))
    if m == 1 and abs(A[0] @ xi0 - 1) > 1e-12 and A[0] @ xi0 != 0:
        s_ = 1.0 / (A[0] @ xi0)
        xi0, c0, fc0 = xi0 * s_, c0 * s_, fc0 * s_
    x0, Z = np.zeros(K), np.zeros((K, len(fset)))
    x0[bset] = AB_inv @ np.ones(m)
    Z[fset, range(len(fset))] = 1.0
    Z[bset] = -AB_inv @ A[:, fset]
    T_ = lambda x: torch.as_tensor(np.asarray(x, float), dtype=dt, device=device)
    prob = Shooting(ts, T_(x0), T_(Z), fit_damping, n, fit_coulomb, T_(np.broadcast_to(epsilon, (n,)).copy()))
    g = T_(np.concatenate([xi0[fset], c0 if fit_damping else [], fc0 if fit_coulomb else []]))
    fixed = (T_(c0), T_(fc0))
    # noise level: weights during the fit (given, or a first estimate from the data)
    if sigma is not None:
        sig = np.broadcast_to(np.asarray(sigma, float), (n,)).copy()
    else:
        sig = estimate_noise(np.concatenate([t for t, _ in trajs]), np.concatenate([q for _, q in trajs]),
                             groups=np.concatenate([np.full(len(t), i) for i, (t, _) in enumerate(trajs)]))
        sig = np.where(sig > 0, sig, 1e-3 * np.concatenate([q for _, q in trajs]).std(0) + 1e-12)
    w = T_(1.0 / sig)
    # first-stage states: Savitzky–Golay positions and velocities of the data
    fitted = []
    for t, q in trajs:
        qs, qd, _ = SavitzkyGolay(polyorder=4).differentiate(t, q)
        fitted.append(np.hstack([qs.reshape(-1, n), qd.reshape(-1, n), np.zeros((len(t), n))]))
    modes = (_offset_modes(prob, g, fixed, [f[:, :2 * n] for f in fitted], n, dt, device) if offsets
             else np.zeros(n, int))

    stages, total_it, converged, message, last = [], 0, False, "", None
    for si, seconds in enumerate(segment_seconds):
        segs = segments_of(trajs, seconds)
        S, T = len(segs), max(L for _, _, L in segs)
        obs, mask = np.zeros((S, T, n)), np.zeros((S, T, 1))
        for j, (i, a, L) in enumerate(segs):
            obs[j, :L], mask[j, :L] = trajs[i][1][a:a + L], 1.0
        obs, mask = T_(obs), T_(mask)
        h = T_(np.diff(segment_times(trajs, segs, T), axis=1))  # (S, T − 1) steps
        s = T_(np.stack([fitted[i][a] for i, a, _ in segs]))
        Fseg = None if forces is None else T_(segment_forces(forces, trajs, segs, T))
        # which offsets are free: (S, n) 0/1; a fixed one keeps a zero Jacobian column (no step)
        om = np.broadcast_to(modes > 0, (S, n)).astype(float)
        om[0, modes == 2] = 0.0
        s[:, 2 * n:] *= T_(om)
        obs_cols = T_(om)[:, None, :, None] * torch.eye(n, dtype=dt, device=device)  # (S, 1, n, n)
        stol = tol if si == len(segment_seconds) - 1 else max(tol, 1.0)

        def evaluate(g_, s_):
            Q, V, Jt = prob.rollout(g_, fixed, s_[:, :2 * n], h, T, jac=True, force=Fseg)
            r = (Q + s_[:, None, 2 * n:] - obs) * mask
            Jt = torch.cat([Jt, obs_cols.expand(-1, T, -1, -1)], -1)
            return r, Jt * mask[..., None], Q, V, float(((r * w) ** 2).sum())

        try:
            cur = evaluate(g, s)
        except RolloutFailed as e:
            message = f"{seconds:g} s segments: the start could not be simulated ({e})"
            converged = False
            break
        lam, it, ok = 1e-3, 0, False
        while it < max_iter and not ok:
            it += 1
            try:
                dg, dl, _ = _solve_lm(cur[0], cur[1], prob.P, lam, w)
                # decrease of χ² the linearized model predicts: none left → converged
                rl = cur[0] + (cur[1][..., :prob.P] @ dg) + (cur[1][..., prob.P:] @ dl[:, None, :, None])[..., 0]
                pred = cur[4] - float(((rl * w) ** 2).sum())
                if lam < 1 and pred < 0.1 * stol:
                    ok = True
                    break
                new = evaluate(g + dg, s + dl)
            except (RolloutFailed, RuntimeError):  # diverged, singular M, or a failed factorization
                new = None
            if new is not None and new[4] < cur[4]:
                drop = cur[4] - new[4]
                g, s, cur = g + dg, s + dl, new
                ok = (drop < stol and lam < 1) or drop < 1e-12 * cur[4]  # not a tiny step of a large λ
                lam = max(lam / 3, 1e-9)
            else:
                lam *= 6
                if lam > 1e10:
                    message = f"{seconds:g} s segments: LM damping exhausted (no decrease in χ²)"
                    break
        total_it += it
        if verbose:
            print(f"[trajectory_fit] {seconds:g} s × {S} segments: χ² {cur[4]:.6g}, {it} iterations")
        last = dict(seconds=seconds, S=S, cur=cur, g=g.clone(), mask=mask, b=s[:, 2 * n:].cpu().numpy(),
                    segs=segs, n_off=int(om.sum()))
        stages.append({"segment_seconds": seconds, "segments": S, "iterations": it, "chi2": cur[4],
                       "converged": ok, "seconds": time.perf_counter() - t_start})
        converged = ok
        if not ok:
            message = message or f"{seconds:g} s segments: no convergence in {max_iter} iterations"
            break
        Qf, Vf = cur[2].cpu().numpy(), cur[3].cpu().numpy()  # fitted states start the next stage
        b = s[:, 2 * n:].cpu().numpy()
        for j, (i, a, L) in enumerate(segs):
            fitted[i][a:a + L] = np.hstack([Qf[j, :L], Vf[j, :L], np.broadcast_to(b[j], (L, n))])

    res = dict(terms=list(ts.names), sigma=sig, sigma_estimated=sigma is None, n_params=prob.P,
               iterations=total_it, converged=converged, message=message, stages=stages)
    if last is None:  # not even the first stage could start: the (finite) start is returned
        nan = np.full(n, np.nan)
        return TrajectoryFitResult(
            coef=xi0, coef_stderr=np.full(K, np.inf), damping=c0, damping_stderr=np.full(n, np.inf),
            coulomb=fc0, coulomb_stderr=np.full(n, np.inf),
            chi2=math.nan, dof=0, reduced_chi2=math.nan, rms=nan, ssr=nan, n_obs=0,
            segment_seconds=float(segment_seconds[0]), n_segments=0, seconds=time.perf_counter() - t_start, **res)
    r, J, mask = last["cur"][0], last["cur"][1], last["mask"]
    xi_t, c_t, fc_t = (x.cpu().numpy() for x in prob.split(last["g"], *fixed))
    ssr = (r ** 2).sum((0, 1)).cpu().numpy()
    n_obs_c = float(mask.sum())
    n_par = prob.P + 2 * n * last["S"] + last["n_off"]
    if sigma is None:  # σ² = SSR / (observations − parameters), parameters shared by coordinate
        res["sigma"] = sig = np.sqrt(ssr / max(n_obs_c - n_par / n, 1.0))
        w = T_(1.0 / sig)
    try:  # Gauss–Newton curvature at the optimum, segment states eliminated
        cov_g = torch.linalg.inv(_solve_lm(r, J, prob.P, 0.0, w)[2]).cpu().numpy() if prob.P else np.zeros((0, 0))
    except RuntimeError:
        cov_g = np.full((prob.P, prob.P), np.inf)
    nz = Z.shape[1]
    T_map = np.zeros((K + 2 * n, prob.P))  # (ξ, c, F_c) = const + T_map · (θ, c fitted, F_c fitted)
    T_map[:K, :nz] = Z
    if fit_damping:
        T_map[K:K + n, nz:nz + n] = np.eye(n)
    if fit_coulomb:
        T_map[K + n:, prob.P - n:] = np.eye(n)
    cov = T_map @ cov_g @ T_map.T if np.all(np.isfinite(cov_g)) else np.full((K + 2 * n, K + 2 * n), np.inf)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    chi2, dof = float((ssr / sig ** 2).sum()), int(round(n_obs_c * n - n_par))
    return TrajectoryFitResult(
        coef=xi_t, coef_stderr=se[:K], damping=c_t, damping_stderr=se[K:K + n], coulomb=fc_t,
        coulomb_stderr=se[K + n:], chi2=chi2, dof=dof,
        reduced_chi2=chi2 / dof if dof > 0 else math.nan, rms=np.sqrt(ssr / n_obs_c), ssr=ssr,
        n_obs=int(n_obs_c * n), segment_seconds=float(last["seconds"]), n_segments=last["S"],
        seconds=time.perf_counter() - t_start, covariance=cov, offsets=last["b"], offset_segments=last["segs"],
        **res)


def likelihood_ratio(small: TrajectoryFitResult, large: TrajectoryFitResult, sigma=None) -> dict:
    """Compare two supports fitted to the same data with the same segments: Δχ² = (SSR_small −
    SSR_large)/σ² (σ: given, else the larger model's), charged for the extra parameters
    (p-value of χ²(Δp) under the smaller model)."""
    if (small.n_obs, small.n_segments) != (large.n_obs, large.n_segments):
        raise ValueError("likelihood_ratio: fits on different data or segments")
    sig = large.sigma if sigma is None else np.broadcast_to(np.asarray(sigma, float), large.sigma.shape)
    d_chi2 = float(((small.ssr - large.ssr) / sig ** 2).sum())
    d_p = large.n_params - small.n_params
    p = float(scipy.stats.chi2.sf(d_chi2, d_p)) if d_p > 0 else math.nan
    return {"delta_chi2": d_chi2, "delta_params": d_p, "p_value": p, "aic_difference": d_chi2 - 2 * d_p}
