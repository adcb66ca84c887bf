"""Batched rollouts of Lagrangian dynamics: explicit Euler, RK4, and a variational integrator.

One entry point, solvers chosen by name (as in torchdiffeq)::

    out = rollout(L, q0, qdot0, t, method="rk4", substeps=10)
    out.q, out.qdot   # (T, ..., n)
    out.energy        # (T, ...)  (None when only an acceleration function is given)

Explicit methods integrate q̈ = f(q, q̇, t), with f from :func:`discover.mechanics.accelerations`
of ``L`` or given directly (``acceleration=``), or any first-order field (q', q̇') = F(q, q̇, t)
(``field=``); they are differentiable end to end.  ``"variational"`` discretizes the action
instead: with the discrete Lagrangian L_d(q₀, q₁) (midpoint rule by default,
``h·L((q₀+q₁)/2, (q₁−q₀)/h, t+h/2)``) it solves the discrete Euler–Lagrange equations in
position–momentum form,

    p_k = −∂L_d/∂q₀(q_k, q_{k+1}),   p_{k+1} = ∂L_d/∂q₁(q_k, q_{k+1}),

by a batched Newton iteration, derivatives by autograd (L vmapped by ``torch.func`` unless
it takes batches itself).  It is symplectic and momentum-preserving: energy errors stay bounded over long runs instead of drifting.
All samples advance together; Python loops run over time steps only.
"""
from __future__ import annotations

import inspect
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch.func import vmap

from .mechanics import SingularMassMatrixError, accelerations, energy, lagrangian_gradients
from .replay import Replayed

#: q̈ evaluations per step of the explicit methods, and the number of them from which a rollout
#: records the engine's derivative graph once and replays it (recording costs tens of milliseconds)
CALLS_PER_STEP = {"euler": 1, "rk4": 4}
REPLAY_CALLS = 64

__all__ = ["Rollout", "rollout", "METHODS", "Euler", "RK4", "Variational", "ConvergenceError"]


class Rollout(NamedTuple):
    """Result of :func:`rollout`: ``t`` (T,), ``q`` and ``qdot`` (T, ..., n), ``energy`` (T, ...)."""

    t: torch.Tensor
    q: torch.Tensor
    qdot: torch.Tensor
    energy: torch.Tensor | None


class ConvergenceError(RuntimeError):
    """The Newton iteration of an implicit step did not converge."""


Acceleration = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Field = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# ----------------------------------------------------------------------------------------
# solvers: each holds its state between steps; ``observe`` gives (q, qdot) at a step end
# ----------------------------------------------------------------------------------------
class Euler:
    """Explicit Euler on (q, q̇): first order.

    ``acceleration`` f(q, q̇, t) → q̈ integrates q' = q̇, q̇' = q̈; ``field`` F(q, q̇, t) → (q', q̇')
    integrates any first-order vector field on (q, q̇) instead."""

    order = 1
    needs_lagrangian = False

    def __init__(self, acceleration: Acceleration | None = None, *, field: Field | None = None, **_):
        if field is None:
            def field(q, v, t):
                return v, acceleration(q, v, t)
        self.field = field

    def init(self, q, qdot, t):
        return q, qdot

    def step(self, state, t, h):
        q, v = state
        dq, dv = self.field(q, v, t)
        return q + h * dq, v + h * dv

    def observe(self, state, t):
        return state


class RK4(Euler):
    """Classical fourth-order Runge–Kutta on (q, q̇)."""

    order = 4

    def step(self, state, t, h):
        F = self.field
        q, v = state
        k1 = F(q, v, t)
        q2, v2 = q + h / 2 * k1[0], v + h / 2 * k1[1]
        k2 = F(q2, v2, t + h / 2)
        q3, v3 = q + h / 2 * k2[0], v + h / 2 * k2[1]
        k3 = F(q3, v3, t + h / 2)
        q4, v4 = q + h * k3[0], v + h * k3[1]
        k4 = F(q4, v4, t + h)
        return (
            q + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
            v + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
        )


def _rk4_step(acceleration, state, t, h):
    """One :class:`RK4` step of ``acceleration`` (what :meth:`Replayed.step` records)."""
    return RK4(acceleration).step(state, t, h)


class Variational:
    """Variational (discrete-Lagrangian) integrator: second order, symplectic.

    Args:
        lagrangian: ``L(q, qdot[, t])`` for one state; the derivatives of the discrete
            Lagrangian come from autograd, through the engine's batching.
        time_dependent: whether to pass ``t`` to L.
        rule: ``"midpoint"``: L_d = h L((q₀+q₁)/2, (q₁−q₀)/h, t+h/2); or ``"trapezoid"``:
            L_d = h/2 [L(q₀, v, t) + L(q₁, v, t+h)], v = (q₁−q₀)/h, which is Störmer–Verlet
            for L = ½ q̇ᵀMq̇ − V(q).
        max_iter: Newton iterations allowed per step.
        rtol: Newton stops when the residual is below ``rtol`` times its rounding scale
            (or the update below ``rtol·(1 + |q|)``); default 100 machine epsilons.

    The state between steps is (q, p, last difference quotient, the one before); velocities
    are recovered at output times only, from ∂L/∂q̇(q, q̇) = p.  The Newton iterations are
    not differentiated through: use ``"rk4"`` to back-propagate through a rollout.
    """

    order = 2
    needs_lagrangian = True

    def __init__(self, acceleration=None, *, lagrangian, time_dependent: bool,
                 rule: str = "midpoint", max_iter: int = 50,
                 rtol: float | None = None, **_):
        if rule not in ("midpoint", "trapezoid"):
            raise ValueError(f"variational: rule must be 'midpoint' or 'trapezoid', got {rule!r}")
        self.L, self.timed, self.rule, self.max_iter, self.rtol = lagrangian, time_dependent, rule, max_iter, rtol
        self.parts = _AutogradParts(lagrangian, time_dependent, rule)

    def _small(self, r, scale) -> torch.Tensor:
        """Whether, in every sample, max|r| ≤ rtol · max(scale) (a 0-d bool tensor)."""
        rtol = self.rtol if self.rtol is not None else 100 * torch.finfo(r.dtype).eps
        return (r.abs().amax(-1) <= rtol * scale.abs().amax(-1)).all()

    def init(self, q, qdot, t):
        tt = t if self.timed else None
        accelerations(self.L, q, qdot, tt)  # fails early, naming the state, if M is not definite
        _, p = lagrangian_gradients(self.L, q, qdot, tt)
        return q, p, qdot, qdot

    def step(self, state, t, h):
        q0, p0, v, v_prev = state
        t = torch.as_tensor(t, dtype=q0.dtype)
        h = torch.as_tensor(h, dtype=q0.dtype)
        newton = self.parts.newton
        q1 = q0 + h * (2 * v - v_prev)  # predictor: the last difference quotients, extrapolated
        # chord Newton: the Jacobian at the predictor is kept while the residual shrinks fast
        r, p1, d0, J = newton(q1, q0, p0, t, h, jacobian=True)
        for _ in range(self.max_iter):
            dq = _solve(J, -r, q0, "∂²L_d/∂q₀∂q₁ (≈ −M/h)")
            q1 = q1 + dq
            r_old = r
            r, p1, d0, _ = newton(q1, q0, p0, t, h, jacobian=False)
            # converged: the residual is at its rounding level, about eps·(|p₀| + |∂L_d/∂q₀|),
            # or the update no longer changes q₁
            if bool(self._small(r, p0.abs() + d0.abs())) or bool(self._small(dq, 1 + q1.abs())):
                return q1, p1, (q1 - q0) / h, v
            if bool((r.abs().amax(-1) > 0.1 * r_old.abs().amax(-1)).any()):
                r, p1, d0, J = newton(q1, q0, p0, t, h, jacobian=True)
        raise ConvergenceError(
            f"variational step at t={float(t):.6g} (h={float(h):.3g}): Newton did not converge in "
            f"{self.max_iter} iterations (last update {float(dq.abs().max()):.3g}); take a smaller "
            "step (more substeps) or check that the mass matrix is definite"
        )

    def observe(self, state, t):
        """(q, q̇) with q̇ solving ∂L/∂q̇(q, q̇) = p (Newton from the last difference quotient)."""
        q, p, v, _ = state
        t = torch.as_tensor(t, dtype=q.dtype)
        for _ in range(self.max_iter):
            M, r = self.parts.legendre(v, q, t, p)
            dv = _solve(M, -r, q, "the mass matrix ∂²L/∂q̇²")
            v = v + dv
            if bool(self._small(dv, 1 + v.abs())):
                return q, v
        raise ConvergenceError(
            f"variational: velocity from momentum did not converge at t={float(t):.6g} "
            f"(last update {float(dv.abs().max()):.3g}); is the mass matrix definite?"
        )


class _AutogradParts:
    """Discrete Euler–Lagrange pieces of a torch L by autograd (L vmapped over the batch)."""

    def __init__(self, L, timed, rule):
        self.L, self.timed = L, timed

        def Ld(q0, q1, t0, h):
            v = (q1 - q0) / h
            if rule == "midpoint":
                return h * self._L((q0 + q1) / 2, v, t0 + h / 2)
            return h / 2 * (self._L(q0, v, t0) + self._L(q1, v, t0 + h))

        # samples are independent: the gradient of the batch sum is the per-sample gradient;
        # a batch-capable L (lambdified SymPy forms) needs no vmap
        direct = getattr(L, "batched", False)
        self._Ld = Ld if direct else _batched(Ld, in_dims=(0, 0, None, None))
        self._L_batch = self._L if direct else _batched(self._L, in_dims=(0, 0, None))

    def _L(self, q, v, t):
        return self.L(q, v, t) if self.timed else self.L(q, v)

    def newton(self, q1, q0, p0, t, h, *, jacobian: bool):
        """r = p₀ + ∂L_d/∂q₀, p₁ = ∂L_d/∂q₁, ∂L_d/∂q₀ (each (B, n)) and, if asked, ∂r/∂q₁ (B, n, n)."""
        with torch.enable_grad():
            a = q0.detach().requires_grad_(True)
            b = q1.detach().requires_grad_(True)
            d0, d1 = torch.autograd.grad(self._Ld(a, b, t, h).sum(), (a, b), create_graph=jacobian)
            r = p0 + d0
            J = _batched_jacobian(r, b) if jacobian else None
        return r.detach(), d1.detach(), d0.detach(), J

    def legendre(self, v, q, t, p):
        """∂L/∂q̇(q, v) − p (B, n) and its Jacobian, the mass matrix (B, n, n)."""
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            (mom,) = torch.autograd.grad(self._L_batch(q.detach(), v, t).sum(), v, create_graph=True)
            M = _batched_jacobian(mom, v)
        return M, (mom - p).detach()


def _columns(values, like):
    """Stack per-coordinate results (tensors (B,) or numbers) into a (B, n) tensor like ``like``."""
    B = like.shape[0]
    return torch.stack(
        [x if isinstance(x, torch.Tensor) and x.shape == (B,)
         else torch.as_tensor(x, dtype=like.dtype, device=like.device).expand(B) for x in values],
        -1,
    )


def _matrix(rows, like):
    return torch.stack([_columns(r, like) for r in rows], -2)


def _solve(A, b, q, what):
    """Batched A x = b; a singular A becomes a SingularMassMatrixError naming the sample."""
    x, info = torch.linalg.solve_ex(A, b)
    if bool((info != 0).any()) or not bool(torch.isfinite(x).all()):
        bad = (info != 0) | ~torch.isfinite(x).all(-1)
        i = int(torch.nonzero(bad)[0])
        raise SingularMassMatrixError(
            f"variational: {what} is singular at sample {i} (q={q[i].tolist()}): "
            "q̈ is not determined by this L", q=q[i].detach()
        )
    return x


def _batched(fn, in_dims):
    """fn vmapped over dim 0 of the batched arguments; a batch of one calls fn directly."""
    vfn = vmap(fn, in_dims=in_dims)

    def call(*args):
        if args[0].shape[0] != 1:
            return vfn(*args)
        one = [a[0] if d == 0 else a for a, d in zip(args, in_dims)]
        return fn(*one).unsqueeze(0)

    return call


def _batched_jacobian(y, x):
    """(B, m, n) blocks ∂y_b/∂x_b of a per-sample map y (B, m) of x (B, n): m backward passes."""
    rows = [
        torch.autograd.grad(y[:, i].sum(), x, retain_graph=True, allow_unused=True)[0]
        for i in range(y.shape[1])
    ]
    rows = [torch.zeros_like(x) if r is None else r for r in rows]
    return torch.stack(rows, 1).detach()


#: solvers by name
METHODS: dict[str, type] = {"euler": Euler, "rk4": RK4, "variational": Variational}


# ----------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------
def _resolve_lagrangian(L, coordinates, time_dependent):
    """(torch callable or None, time_dependent) from a System, SymPy, string or callable."""
    if L is None:
        return None, bool(time_dependent)
    if hasattr(L, "torch_lagrangian"):  # a discover.systems.System
        timed = L.time_dependent if time_dependent is None else time_dependent
        return L.torch_lagrangian(), bool(timed)
    if isinstance(L, str) or not callable(L):
        from .symbolic import sympy_to_torch

        f, timed = sympy_to_torch(L, coordinates=coordinates)
        return f, bool(timed if time_dependent is None else time_dependent)
    if time_dependent is None:
        time_dependent = _takes_time(L)
    return L, bool(time_dependent)


def _takes_time(f) -> bool:
    """Whether a callable accepts a third positional argument (t)."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return False
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def rollout(
    L,
    q0,
    qdot0,
    t,
    *,
    method: str = "rk4",
    substeps: int = 1,
    acceleration: Acceleration | None = None,
    field: Field | None = None,
    coordinates=None,
    time_dependent: bool | None = None,
    compute_energy: bool = True,
    options: dict | None = None,
    dissipation=None,
) -> Rollout:
    """Integrate the motion of ``L`` from ``(q0, qdot0)`` and report it at times ``t``.

    Args:
        L: ``L(q, qdot[, t])`` for ONE state (1-D tensors → scalar), a SymPy expression or
            string, a :class:`discover.systems.System`, or None when ``acceleration`` is given.
        q0, qdot0: ``(..., n)`` initial state at ``t[0]`` (tensors, arrays or lists; the dtype
            of ``q0`` is kept, lists and integers become float64).
        t: ``(T,)`` strictly monotonic output times; ``t[0]`` is the initial time.
        method: ``"euler"``, ``"rk4"`` or ``"variational"`` (see :data:`METHODS`).
        substeps: integration steps per output interval (the step is ``Δt / substeps``).
        acceleration: ``f(q, qdot, t) -> qddot`` on ``(B, n)`` batches with scalar tensor ``t``;
            replaces the Euler–Lagrange accelerations of L (explicit methods only).
        field: ``F(q, qdot, t) -> (q', qdot')`` on ``(B, n)`` batches: a first-order vector
            field on (q, q̇) integrated instead of q' = q̇, q̇' = q̈, for models whose q' is not
            q̇ (e.g. an HNN in non-canonical coordinates); explicit methods only, no L needed.
        coordinates: coordinate order when L is SymPy.
        time_dependent: pass ``t`` to L; default: from the System/SymPy expression, or, for a
            callable, whether it accepts a third positional argument.
        compute_energy: also return E = q̇·∂L/∂q̇ − L along the rollout (needs L).
        options: extra solver options, e.g. ``{"rule": "trapezoid", "max_iter": 20}``.
        dissipation: a Rayleigh function R(q, q̇) (callable like L, or SymPy) whose friction
            −∂R/∂q̇ joins the Euler–Lagrange accelerations of L (explicit methods; the energy
            reported is still that of L).

    Returns:
        :class:`Rollout` with ``q``, ``qdot`` of shape ``(T, ..., n)`` and ``energy`` ``(T, ...)``
        (None without L or with ``compute_energy=False``).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    if int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be a positive integer, got {substeps!r}")
    if acceleration is not None and field is not None:
        raise ValueError("give acceleration= or field=, not both")
    if dissipation is not None and (acceleration is not None or field is not None or METHODS[method].needs_lagrangian):
        raise ValueError(f"dissipation= joins the Euler–Lagrange accelerations of L: not with acceleration=, "
                         f"field= or method {method!r}")
    f, timed = _resolve_lagrangian(L, coordinates, time_dependent)
    solver_cls = METHODS[method]
    given = acceleration is not None or field is not None
    if (f is None and not given) or (solver_cls.needs_lagrangian and (f is None or field is not None)):
        raise ValueError(
            f"method {method!r} needs a Lagrangian L" if given
            else "give a Lagrangian L or an acceleration function (acceleration=...)"
        )

    if not isinstance(q0, torch.Tensor):
        q0 = torch.as_tensor(np.asarray(q0))  # Python floats are float64
    if not torch.is_floating_point(q0):
        q0 = q0.double()
    qdot0 = torch.as_tensor(qdot0, dtype=q0.dtype, device=q0.device)
    if q0.ndim == 0 or q0.shape[-1] != qdot0.shape[-1]:
        raise ValueError(f"q0 and qdot0 must be (..., n) with the same n, got {tuple(q0.shape)} and {tuple(qdot0.shape)}")
    lead = torch.broadcast_shapes(q0.shape[:-1], qdot0.shape[:-1])
    n = q0.shape[-1]
    Q = q0.expand(*lead, n).reshape(-1, n)
    V = qdot0.expand(*lead, n).reshape(-1, n)
    t = torch.as_tensor(t, dtype=q0.dtype, device=q0.device)
    if t.ndim != 1 or t.numel() < 1:
        raise ValueError(f"t must be a 1-D tensor of output times, got shape {tuple(t.shape)}")
    dt = t.diff()
    if dt.numel() and not (bool((dt > 0).all()) or bool((dt < 0).all())):
        raise ValueError("t must be strictly increasing (or strictly decreasing)")

    engine = None
    if acceleration is None and f is not None:
        # many calls on one model and batch shape: the engine's derivative graph is recorded once
        # and replayed (same operations, same numbers; the engine itself where that cannot be done)
        many = (t.numel() - 1) * substeps * CALLS_PER_STEP.get(method, 0) >= REPLAY_CALLS
        engine = Replayed(f, coordinates=coordinates, dissipation=dissipation) if many else None

        def acceleration(q, qd, tt):
            if engine is not None:
                return engine(q, qd, tt if timed else None)
            return accelerations(f, q, qd, tt if timed else None, coordinates=coordinates, dissipation=dissipation)

    solver = solver_cls(acceleration, field=field, lagrangian=f, time_dependent=timed, **(options or {}))
    # an RK4 step of the engine's q̈ is recorded whole and replayed (no Python between its stages)
    whole = engine is not None and solver_cls is RK4 and field is None and not given
    state = solver.init(Q, V, t[0])
    qs, vs = [Q], [V]
    for k in range(t.numel() - 1):
        h = dt[k] / substeps
        for s in range(substeps):
            new = engine.step(_rk4_step, state, t[k] + s * h, h, timed=timed) if whole else None
            state = new if new is not None else solver.step(state, t[k] + s * h, h)
        qk, vk = solver.observe(state, t[k + 1])
        qs.append(qk)
        vs.append(vk)
    q = torch.stack(qs).reshape(t.numel(), *lead, n)
    qdot = torch.stack(vs).reshape(t.numel(), *lead, n)
    E = None
    if compute_energy and f is not None:
        tt = t.reshape(-1, *([1] * len(lead))).expand(t.numel(), *lead) if timed else None
        E = energy(f, q, qdot, tt)
    return Rollout(t, q, qdot, E)
