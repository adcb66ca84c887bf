"""Multiple shooting for the trajectory fit (:mod:`discover.trajectory_fit`): the segments of
the recordings, and the parameterized dynamics — q̈ of L = Σ ξ_k φ_k with friction and a known
force, its Jacobians (recorded once per fit and replayed) and batched RK4 rollouts of all
segments with their tangents."""
from __future__ import annotations

import numpy as np
import torch

from .definite import SMALL_N, _max_condition, _planned_solve
from .dissipation import dissipation_function
from .integrate import RK4
from .library import TermSet
from .mechanics import DEFAULT_CHUNK, SingularMassMatrixError, accelerations, mass_and_force
from .replay import ReplayCache

__all__ = ["Shooting", "RolloutFailed", "segments_of", "segment_times", "segment_forces"]


class RolloutFailed(Exception):
    """A rollout that diverged or met a singular/indefinite mass matrix."""


class Shooting:
    def __init__(self, ts: TermSet, x0, Z, fit_damping, n, fit_coulomb=False, epsilon=None):
        # x[..., I] as x @ P with a 0/1 matrix P: its derivatives are matrix products, batched
        # as they are (advanced indexing falls back to a loop per row inside the batched
        # Jacobians: 1000 gathers per q̈ call at n = 32)
        eye = lambda m: torch.eye(m, dtype=x0.dtype, device=x0.device)  # noqa: E731
        self.groups = [(f, eye(n)[:, I.reshape(-1)], eye(len(ts))[:, ks], I.shape)
                       for f, I, ks in ts.groups()]
        # above SMALL_N coordinates the Jacobians come group by group of terms (:meth:`_acc_jac_local`):
        # where each group's entries go in the flattened (n, n) blocks and (n, K) residual columns
        self.local = n > SMALL_N
        self.flat = [tuple(x.reshape(-1).to(x0.device)
                           for x in (I[:, :, None] * n + I[:, None, :], I, I * len(ts) + ks[:, None]))
                     for _, I, ks in ts.groups()]
        # the solve's plan is fixed in advance (the graph is replayed): the band of M that the
        # terms allow (a diagonal M for a chain of masses, not a dense LAPACK Cholesky of n × n);
        # up to SMALL_N coordinates the full band, factored by tensor arithmetic anyway
        self.band = ts.velocity_bandwidth() if n > SMALL_N else n - 1
        self.x0, self.Z, self.fit_damping, self.n = x0, Z, fit_damping, n
        self.fit_coulomb, self.epsilon = fit_coulomb, epsilon
        self.P = Z.shape[1] + (n if fit_damping else 0) + (n if fit_coulomb else 0)  # global parameters
        self._replay = ReplayCache()

    def L(self, xi):
        """L = Σ ξ_k φ_k, one vectorized evaluation per group of terms of one shape
        (:meth:`discover.termset.TermSet.groups`)."""
        groups = self.groups
        L = lambda q, v: sum((xi @ Pk * f((q @ P).unflatten(-1, s), (v @ P).unflatten(-1, s))).sum(-1)
                             for f, P, Pk, s in groups)
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
        jac = self._acc_jac_local if self.local else self._acc_jac
        eager = lambda *xs: jac(viscous, coulomb, *xs)  # noqa: E731
        if B > DEFAULT_CHUNK:
            out = eager(*inputs)
        else:
            out = self._replay((tuple(q.shape), q.dtype, q.device, F is None, viscous, coulomb), eager, inputs)
        a, Jq, Jv, Jx, *rest, bad = out
        if bool(bad.any()):
            raise SingularMassMatrixError("mass matrix ∂²L/∂q̇² is singular or indefinite at some state")
        # no matrix product on tiny blocks (slow there); above SMALL_N coordinates the broadcast
        # products would hold B·n·K·P numbers (45 MB per RK4 stage for a chain of 32)
        JZ = Jx @ self.Z if n > SMALL_N else (Jx[..., None] * self.Z).sum(-2)
        G = torch.cat([JZ] + rest, -1)
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
            a, bad = _planned_solve(M, f, True, self.band, _max_condition(M.dtype))
            leaves = (Q, V, X) + ((C,) if self.fit_damping else ()) + ((Fc,) if self.fit_coulomb else ())
            eye = torch.eye(n, dtype=a.dtype, device=a.device)[:, None, :].expand(n, B, n)
            rows = torch.autograd.grad(a, leaves, grad_outputs=eye, is_grads_batched=True, allow_unused=True)
        J = [x.new_zeros(B, n, *x.shape[1:]) if r is None else r.movedim(0, 1)
             for r, x in zip(rows, leaves)]
        return (a.detach(), *J, bad)

    def _acc_jac_local(self, viscous, coulomb, q, v, X, C, Fc, F=None):
        """What :meth:`_acc_jac` returns, from the terms' own Euler–Lagrange residuals.  L = Σ ξ_k φ_k
        is linear in ξ: with r = M q̈ − f (+ ∂R/∂q̇ − Q) at q̈ held fixed, the implicit function
        theorem gives ∂q̈/∂p = −M⁻¹ ∂r/∂p for every parameter p, where ∂r/∂ξ_k = r_k (term k's
        residual) and ∂r/∂q, ∂r/∂q̇ are sums of the terms' blocks in the few coordinates each
        touches.  The engine differentiates each group of same-shape terms in its s coordinates
        (2 for θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ)) instead of the whole L through n reverse passes over per-sample
        leaves for all K coefficients; the friction function is a sum of functions of one q̇ᵢ
        each, so its blocks are diagonals.  One factorization of M serves every column."""
        B, n = q.shape
        K = X.shape[1]
        xi = X[0]
        Mflat, f = q.new_zeros(B, n * n), q.new_zeros(B, n)
        blocks = []
        with torch.enable_grad():
            for (phi, P01, Pk, (G, s)), (at_M, at_f, at_x) in zip(self.groups, self.flat):
                qs, vs = ((x @ P01).reshape(B * G, s).detach().requires_grad_() for x in (q, v))
                Me, fe = mass_and_force(phi, qs, vs, chunk_size=None)  # (BG, s, s), (BG, s)
                w = (xi @ Pk)[None, :, None]  # (1, G, 1): the group's coefficients
                Mflat = Mflat.index_add(1, at_M, (Me.detach().reshape(B, G, s * s) * w).reshape(B, -1))
                f = f.index_add(1, at_f, (fe.detach().reshape(B, G, s) * w).reshape(B, -1))
                blocks.append((P01, qs, vs, Me, fe, w, at_M, at_x, G, s))
            V = v.detach().requires_grad_()
            Cl = C.detach().requires_grad_() if self.fit_damping else C
            Fl = Fc.detach().requires_grad_() if self.fit_coulomb else Fc
            R = (dissipation_function(Cl if viscous else None, Fl if coulomb else None, self.epsilon)
                 if viscous or coulomb else None)
            dR = None if R is None else torch.autograd.grad(R(q, V).sum(), V, create_graph=True)[0]
            M = Mflat.reshape(B, n, n)
            rhs = f - (0 if dR is None else dR.detach()) + (0 if F is None else F)
            a, bad = _planned_solve(M, rhs, True, self.band, _max_condition(M.dtype))
            a = a.detach()
            dstate, theta = [q.new_zeros(B, n * n), q.new_zeros(B, n * n)], q.new_zeros(B, n * K)  # ∂r/∂q, ∂r/∂q̇
            for P01, qs, vs, Me, fe, w, at_M, at_x, G, s in blocks:
                re = torch.einsum("eij,ej->ei", Me, (a @ P01).reshape(B * G, s)) - fe  # (BG, s)
                theta = theta.index_add(1, at_x, re.detach().reshape(B, -1))
                if not re.requires_grad:  # constant mass, no force: no dependence on the state
                    continue
                eye = torch.eye(s, dtype=a.dtype, device=a.device)[:, None, :].expand(s, B * G, s)
                grads = torch.autograd.grad(re, (qs, vs), grad_outputs=eye, is_grads_batched=True, allow_unused=True)
                for i, g in enumerate(grads):
                    if g is not None:  # g[j, e, l] = ∂r_j/∂x_l of element e
                        block = (g.permute(1, 0, 2).reshape(B, G, s, s) * w[..., None]).reshape(B, -1)
                        dstate[i] = dstate[i].index_add(1, at_M, block)
            diag = []
            if dR is not None:  # ∂(∂R/∂q̇ᵢ)/∂q̇ᵢ, ∂/∂cᵢ, ∂/∂F_c,i: diagonals, one reverse pass each
                leaves = (V,) + ((Cl,) if self.fit_damping else ()) + ((Fl,) if self.fit_coulomb else ())
                diag = [q.new_zeros(B, n) if d is None else d for d in
                        torch.autograd.grad(dR.sum(), leaves, allow_unused=True)]
        Jv = dstate[1].reshape(B, n, n) + (torch.diag_embed(diag[0]) if diag else 0)
        Jr = torch.cat([dstate[0].reshape(B, n, n), Jv, theta.reshape(B, n, K)]
                       + [torch.diag_embed(d) for d in diag[1:]], -1)
        sign = torch.where(M.diagonal(dim1=-2, dim2=-1).sum(-1) < 0, -1.0, 1.0).to(M.dtype)[:, None, None]
        Ms = M * sign
        if self.band == 0:
            J = -(Jr * sign) / Ms.diagonal(dim1=-2, dim2=-1)[..., None]
        else:
            J = -torch.cholesky_solve(Jr * sign, torch.linalg.cholesky_ex(Ms)[0])
        rest = [J[..., 2 * n + K + n * i:2 * n + K + n * (i + 1)] for i in range(len(diag) - 1)]
        return (a, J[..., :n], J[..., n:2 * n], J[..., 2 * n:2 * n + K], *rest, bad)

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
                if n > SMALL_N:
                    ta = Jq @ qa[..., 1:] + Jv @ va[..., 1:]
                else:
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
            raise RolloutFailed(str(e).split(":")[0]) from None
        Q, V = torch.stack(qs, 1), torch.stack(vs, 1)
        if not bool(torch.isfinite(Q).all()) or not bool(torch.isfinite(V).all()):
            raise RolloutFailed("rollout diverged (non-finite states)")
        if jac:
            return Q[..., 0], V[..., 0], Q[..., 1:]
        return Q, V, None


def segments_of(trajs, seconds):
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


def _segment_index(trajs, segs, T):
    """(S, T) indices into the concatenated samples of all trajectories, one row per segment,
    the segment's last sample repeated past its end."""
    offset = np.cumsum([0] + [len(t) for t, _ in trajs])[:-1]
    start = np.array([offset[i] + a for i, a, _ in segs])
    length = np.array([L for _, _, L in segs])
    return start[:, None] + np.minimum(np.arange(T)[None, :], length[:, None] - 1), length


def segment_times(trajs, segs, T):
    """(S, T) sample times of each segment, continued past its end with its mean step (those
    steps are masked)."""
    idx, length = _segment_index(trajs, segs, T)
    t = np.concatenate([t for t, _ in trajs])[idx]
    h = (t[:, -1] - t[:, 0]) / np.maximum(length - 1, 1)
    past = np.maximum(np.arange(T)[None, :] - (length[:, None] - 1), 0)
    return t + past * h[:, None]


def segment_forces(forces, trajs, segs, T):
    """(S, T, n) known force of each segment at its samples, the last sample repeated past the
    segment's end (those steps are masked); one gather over all trajectories."""
    F = np.concatenate([np.asarray(f, float).reshape(len(t), -1) for f, (t, _) in zip(forces, trajs)])
    return F[_segment_index(trajs, segs, T)[0]]
