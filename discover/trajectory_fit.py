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
from .integrate import RK4
from .library import TermSet
from .dissipation import dissipation_function
from .definite import _max_condition, _planned_solve
from .mechanics import DEFAULT_CHUNK, SingularMassMatrixError, accelerations, mass_and_force
from .replay import ReplayCache

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


class _Fail(Exception):
    """A rollout that diverged or met a singular/indefinite mass matrix."""


class _Problem:
    def __init__(self, ts: TermSet, x0, Z, fit_damping, n, fit_coulomb=False, epsilon=None):
        self.fns = [ts.term(k) for k in range(len(ts))]
        self.x0, self.Z, self.fit_damping, self.n = x0, Z, fit_damping, n
        self.fit_coulomb, self.epsilon = fit_coulomb, epsilon
        self.P = Z.shape[1] + (n if fit_damping else 0) + (n if fit_coulomb else 0)  # global parameters
        self._replay = ReplayCache()

    def L(self, xi):
        fns = self.fns
        L = lambda q, v: sum(xi[..., k] * f(q, v) for k, f in enumerate(fns))
        L.batched = True
        return L

    def split(self, g, c_fixed, fc_fixed):
        """(ξ, c, F_c) from the free parameters g = (θ, fitted c, fitted F_c)."""
        nz, n = self.Z.shape[1], self.n
        xi = self.x0 + self.Z @ g[:nz]
        c = g[nz:nz + n] if self.fit_damping else c_fixed
        k = nz + (n if self.fit_damping else 0)
        return xi, c, (g[k:k + n] if self.fit_coulomb else fc_fixed)

    def acc(self, xi, c, fc, q, v, F=None):
        viscous = self.fit_damping or bool((c != 0).any())
        coulomb = self.fit_coulomb or bool((fc != 0).any())
        R = (dissipation_function(c if viscous else None, fc if coulomb else None, self.epsilon)
             if viscous or coulomb else None)
        return accelerations(self.L(xi), q, v, dissipation=R, force=F)

    def acc_jac(self, xi, c, fc, q, v, F=None):
        """q̈ (B, n) and ∂q̈/∂q, ∂q̈/∂q̇ (B, n, n), ∂q̈/∂(θ, c, F_c) (B, n, P).

        The same operations on every call of a fit (one model structure, one batch of segments):
        their graph is recorded on the first call and replayed after (:class:`discover.replay.
        ReplayCache`), the engine's numbers without rebuilding the autograd graph per RK4 stage."""
        B, n = q.shape
        viscous = self.fit_damping or bool((c != 0).any())
        coulomb = self.fit_coulomb or bool((fc != 0).any())
        inputs = (q.detach(), v.detach(), xi.detach().expand(B, -1).contiguous(),
                  c.detach().expand(B, n).contiguous(), fc.detach().expand(B, n).contiguous())
        inputs += () if F is None else (F.detach().expand(B, n).contiguous(),)
        eager = lambda *xs: self._acc_jac(viscous, coulomb, *xs)  # noqa: E731
        if B > DEFAULT_CHUNK:
            out = eager(*inputs)
        else:
            out = self._replay((tuple(q.shape), q.dtype, q.device, F is None, viscous, coulomb), eager, inputs)
        a, Jq, Jv, Jx, *rest, bad = out
        if bool(bad.any()):
            raise SingularMassMatrixError("mass matrix ∂²L/∂q̇² is singular or indefinite at some state")
        G = torch.cat([(Jx[..., None] * self.Z).sum(-2)] + rest, -1)  # no bmm: slow on tiny blocks
        return a, Jq, Jv, G

    def _acc_jac(self, viscous, coulomb, q, v, X, C, Fc, F=None):
        """(q̈, ∂q̈/∂q, ∂q̈/∂q̇, ∂q̈/∂ξ, [∂q̈/∂c], [∂q̈/∂F_c], singular) for per-sample parameters,
        through the engine; the definite solve with a plan fixed in advance (sign per sample, full
        band), so that nothing depends on the values and the graph can be replayed."""
        B, n = q.shape
        with torch.enable_grad():
            Q, V, X = (x.detach().requires_grad_() for x in (q, v, X))
            C = C.detach().requires_grad_() if self.fit_damping else C
            Fc = Fc.detach().requires_grad_() if self.fit_coulomb else Fc
            R = (dissipation_function(C if viscous else None, Fc if coulomb else None, self.epsilon)
                 if viscous or coulomb else None)
            M, f = mass_and_force(self.L(X), Q, V, dissipation=R, force=F, chunk_size=None)
            a, bad = _planned_solve(M, f, True, n - 1, _max_condition(M.dtype))
            leaves = (Q, V, X) + ((C,) if self.fit_damping else ()) + ((Fc,) if self.fit_coulomb else ())
            eye = torch.eye(n, dtype=a.dtype, device=a.device)[:, None, :].expand(n, B, n)
            rows = torch.autograd.grad(a, leaves, grad_outputs=eye, is_grads_batched=True, allow_unused=True)
        J = [x.new_zeros(B, n, *x.shape[1:]) if r is None else r.movedim(0, 1)
             for r, x in zip(rows, leaves)]
        return (a.detach(), *J, bad)

    def rollout(self, g, fixed, s, h, T, jac, force=None):
        """Positions and velocities (S, T, n) of all segments from states s (S, 2n), RK4 steps h
        (S, T − 1) from sample to sample; with ``jac`` also their tangents (S, T, n, P + 2n)
        (θ, c, F_c, then the segment's own q₀, q̇₀).
        ``fixed``: (c, F_c) used where not fitted; ``force``: the known applied force of each
        segment at its samples (S, T, n) or None, linear between samples (RK4's half steps take
        the mean of the two neighbours), as in the rollouts of :mod:`discover.evaluation`."""
        n, P = self.n, self.P
        xi, c, fc = self.split(g, *fixed)

        step = [0]

        def applied(t):  # t = {0, ½, 1} · h of the current step: the force then, all segments at once
            if force is None:
                return None
            k = step[0]
            u2 = int(round(2 * float(t.reshape(-1)[0] / h[0, k])))
            return force[:, k + u2 // 2] if u2 % 2 == 0 else 0.5 * (force[:, k] + force[:, k + 1])
        S = s.shape[0]
        q, v = s[:, :n], s[:, n:]
        if jac:
            D = P + 2 * n
            eye = torch.eye(n, dtype=s.dtype, device=s.device)
            Tq = s.new_zeros(S, n, D)
            Tv = s.new_zeros(S, n, D)
            Tq[:, :, P:P + n] = eye
            Tv[:, :, P + n:] = eye

            def f(qa, va, t):
                a, Jq, Jv, G = self.acc_jac(xi, c, fc, qa[..., 0], va[..., 0], applied(t))
                ta = (Jq[..., None] * qa[:, None, :, 1:] + Jv[..., None] * va[:, None, :, 1:]).sum(2)
                ta[..., :P] += G
                return torch.cat([a[..., None], ta], -1)

            state = (torch.cat([q[..., None], Tq], -1), torch.cat([v[..., None], Tv], -1))
            hh = h[:, None, None, :]
        else:
            f = lambda qq, vv, t: self.acc(xi, c, fc, qq, vv, applied(t))  # noqa: E731
            state, hh = (q, v), h[:, None, :]
        solver = RK4(f)
        qs, vs = [state[0]], [state[1]]
        try:
            with torch.no_grad():
                for k in range(T - 1):
                    step[0] = k
                    state = solver.step(state, 0.0 * hh[..., k], hh[..., k])
                    qs.append(state[0])
                    vs.append(state[1])
        except SingularMassMatrixError as e:
            raise _Fail(str(e).split(":")[0]) from None
        Q, V = torch.stack(qs, 1), torch.stack(vs, 1)
        if not bool(torch.isfinite(Q).all()) or not bool(torch.isfinite(V).all()):
            raise _Fail("rollout diverged (non-finite states)")
        if jac:
            return Q[..., 0], V[..., 0], Q[..., 1:]
        return Q, V, None


def _segments(trajs, seconds):
    """(traj index, start, length) of each segment: ``seconds`` long, a remainder under half a
    segment joins the last one."""
    out = []
    for i, (t, _) in enumerate(trajs):
        N, h = len(t), float((t[-1] - t[0]) / (len(t) - 1))
        m = max(3, int(round(seconds / h)))
        starts = list(range(0, N, m))
        if len(starts) > 1 and N - starts[-1] < m / 2:
            starts.pop()
        ends = starts[1:] + [N]
        out += [(i, a, b - a) for a, b in zip(starts, ends)]
    return out


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


def _segment_index(trajs, segs, T):
    """(S, T) indices into the concatenated samples of all trajectories, one row per segment,
    the segment's last sample repeated past its end."""
    offset = np.cumsum([0] + [len(t) for t, _ in trajs])[:-1]
    start = np.array([offset[i] + a for i, a, _ in segs])
    length = np.array([L for _, _, L in segs])
    return start[:, None] + np.minimum(np.arange(T)[None, :], length[:, None] - 1), length


def _segment_times(trajs, segs, T):
    """(S, T) sample times of each segment, continued past its end with its mean step (those
    steps are masked)."""
    idx, length = _segment_index(trajs, segs, T)
    t = np.concatenate([t for t, _ in trajs])[idx]
    h = (t[:, -1] - t[:, 0]) / np.maximum(length - 1, 1)
    past = np.maximum(np.arange(T)[None, :] - (length[:, None] - 1), 0)
    return t + past * h[:, None]


def _segment_forces(forces, trajs, segs, T):
    """(S, T, n) known force of each segment at its samples, the last sample repeated past the
    segment's end (those steps are masked); one gather over all trajectories."""
    F = np.concatenate([np.asarray(f, float).reshape(len(t), -1) for f, (t, _) in zip(forces, trajs)])
    return F[_segment_index(trajs, segs, T)[0]]


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
    prob = _Problem(ts, T_(x0), T_(Z), fit_damping, n, fit_coulomb, T_(np.broadcast_to(epsilon, (n,)).copy()))
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
        segs = _segments(trajs, seconds)
        S, T = len(segs), max(L for _, _, L in segs)
        obs, mask = np.zeros((S, T, n)), np.zeros((S, T, 1))
        for j, (i, a, L) in enumerate(segs):
            obs[j, :L], mask[j, :L] = trajs[i][1][a:a + L], 1.0
        obs, mask = T_(obs), T_(mask)
        h = T_(np.diff(_segment_times(trajs, segs, T), axis=1))  # (S, T − 1) steps
        s = T_(np.stack([fitted[i][a] for i, a, _ in segs]))
        Fseg = None if forces is None else T_(_segment_forces(forces, trajs, segs, T))
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
        except _Fail as e:
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
            except (_Fail, RuntimeError):  # diverged, singular M, or a failed factorization
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
