"""The one Euler–Lagrange implementation: accelerations, residuals and energy from any L.

For L(q, q̇[, t]) the Euler–Lagrange equations d/dt ∂L/∂q̇ − ∂L/∂q = 0 read

    M q̈ = ∂L/∂q − C q̇ − ∂²L/∂q̇∂t,   M = ∂²L/∂q̇²,   C_ij = ∂²L/∂q̇_i∂q_j.

``L`` is written for ONE state (1-D tensors of length n → scalar tensor) or is a SymPy
expression.  Batching: L is evaluated on the whole batch (vmapped, or directly when it is
batch-capable like the lambdified SymPy forms) and summed; because samples are independent,
the gradient of the sum is the per-sample gradient, and the rows of every sample's M and C come
from one vectorized reverse pass over that gradient (reverse over reverse).  Inside torch.func
transforms (vmapped ensembles) the same derivatives are composed with ``torch.func`` instead.
The definite solve (Cholesky, with the singular-M check) lives in :mod:`discover.definite`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch.func import grad, jacrev, vmap

from .allocator import keep_freed_memory
from .definite import SingularMassMatrixError, _max_condition, _solve_definite, solve_accelerations

__all__ = [
    "SingularMassMatrixError",
    "as_torch_lagrangian",
    "accelerations",
    "euler_lagrange_residual",
    "energy",
    "lagrangian_gradients",
    "mass_matrix",
    "mass_and_force",
    "solve_accelerations",
]

Lagrangian = Callable[..., torch.Tensor]

#: default number of samples evaluated at once (bounds the memory of the Hessian blocks)
DEFAULT_CHUNK = 1 << 16


# ----------------------------------------------------------------------------------------
# Lagrangians given as SymPy expressions
# ----------------------------------------------------------------------------------------
def as_torch_lagrangian(
    L, *, coordinates: Sequence[str] | None = None
) -> tuple[Lagrangian, bool]:
    """Return ``(f, time_dependent)`` with f(q, qdot[, t]) → scalar tensor.

    A torch callable is returned unchanged (``time_dependent`` is then None: the caller
    decides from whether it passes ``t``).  A SymPy expression (or string) is lambdified;
    its coordinates are the symbols not ending in ``_dot`` other than ``t`` (sorted by name
    unless ``coordinates`` gives the order), velocities are ``<name>_dot``.
    """
    if callable(L) and not _is_sympy(L):
        return L, None
    from .symbolic import sympy_to_torch  # local import: SymPy is only needed here

    return sympy_to_torch(L, coordinates=coordinates)


def _is_sympy(obj) -> bool:
    try:
        import sympy
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, (sympy.Basic, str))


# ----------------------------------------------------------------------------------------
# core: first and second derivatives of L, batched
# ----------------------------------------------------------------------------------------
def _batched_derivatives(L, Q, Qd, T, *, second: bool, rows: str = "batched"):
    """Per-sample ∂L/∂q, ∂L/∂q̇ and, if ``second``, M, C and ∂²L/∂q̇∂t.

    Q, Qd: (B, n); T: (B,) or None.  Returns a dict of tensors with batch dim B first.
    Inside a torch.func transform (vmapped ensembles) the derivatives are torch.func
    compositions; elsewhere plain reverse-mode autograd on the summed L, which has less
    overhead per operation.  ``rows``: see :func:`mass_and_force` (autograd path only).
    """
    if torch._C._functorch.maybe_current_level() is not None:
        return _functorch_derivatives(L, Q, Qd, T, second=second)
    return _autograd_derivatives(L, Q, Qd, T, second=second, rows=rows)


def _batched(L):
    """L evaluated on a batch: directly when it says it can (``L.batched``), else vmapped."""
    return L if getattr(L, "batched", False) else vmap(L)


def _autograd_derivatives(L, Q, Qd, T, *, second: bool, rows: str = "batched"):
    timed = T is not None
    inputs = (Q, Qd) + ((T,) if timed else ())
    with torch.enable_grad():
        leaf = lambda x: x if x.requires_grad else x.detach().requires_grad_()
        args = tuple(leaf(x) for x in inputs)
        total = _batched(L)(*args).sum()
        # the result keeps a graph only when someone can differentiate it: inputs that require
        # grad, or parameters of L (training), and grad mode on
        keep_graph = torch.is_grad_enabled() and (
            any(x.requires_grad for x in inputs) or _has_other_leaves(total, args))
        zeros = lambda x: torch.zeros_like(x)
        if total.requires_grad:
            g = torch.autograd.grad(total, args[:2], create_graph=second or keep_graph, allow_unused=True)
        else:
            g = (None, None)
        gq, gqd = (zeros(a) if d is None else d for d, a in zip(g, args[:2]))
        out = {"dL_dq": gq, "dL_dqdot": gqd}
        if second:
            n = Q.shape[-1]
            if not gqd.requires_grad:  # ∂L/∂q̇ constant: M = C = 0
                r = [None] * len(args)
            elif rows == "loop":  # row i of C, M (and ∂p_i/∂t) from its own reverse pass
                g2 = [torch.autograd.grad(gqd[:, i].sum(), args, retain_graph=True, create_graph=keep_graph,
                                          allow_unused=True) for i in range(n)]
                r = [None if all(g[k] is None for g in g2)
                     else torch.stack([zeros(a) if g[k] is None else g[k] for g in g2], 1)
                     for k, a in enumerate(args)]
            else:  # rows i of C, M (and ∂p_i/∂t) for all i in one vectorized reverse pass
                eye = torch.eye(n, dtype=gqd.dtype, device=gqd.device)[:, None, :].expand(n, *gqd.shape)
                g2 = torch.autograd.grad(gqd, args, grad_outputs=eye, retain_graph=True, create_graph=keep_graph,
                                         allow_unused=True, is_grads_batched=True)
                r = [None if d is None else d.movedim(0, 1) for d in g2]
            rows_of = lambda k, a: (torch.zeros(a.shape[0], n, *a.shape[1:], dtype=a.dtype, device=a.device)
                                    if r[k] is None else r[k])
            out["C"] = rows_of(0, Q)
            out["M"] = rows_of(1, Q)
            if timed:
                out["dp_dt"] = rows_of(2, T)
    if not keep_graph:
        out = {k: v.detach() for k, v in out.items()}
    return out


def _has_other_leaves(y: torch.Tensor, inputs) -> bool:
    """Whether y's graph reaches a tensor requiring grad other than ``inputs`` (L's parameters)."""
    ids = {id(x) for x in inputs}
    seen, stack = set(), [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        var = getattr(node, "variable", None)
        if var is not None and id(var) not in ids:
            return True
        stack.extend(nxt for nxt, _ in node.next_functions)
    return False


def _functorch_derivatives(L, Q, Qd, T, *, second: bool):
    timed = T is not None
    args = (Q, Qd, T) if timed else (Q, Qd)
    Lb = _batched(L)

    def total(*a):
        return Lb(*a).sum()

    if not second:
        gq, gqd = grad(total, argnums=(0, 1))(*args)
        return {"dL_dq": gq, "dL_dqdot": gqd}

    def summed_momentum(*a):
        gq, gqd = grad(total, argnums=(0, 1))(*a)
        return gqd.sum(0), (gq, gqd)

    argnums = (0, 1, 2) if timed else (0, 1)
    jac, (gq, gqd) = jacrev(summed_momentum, argnums=argnums, has_aux=True)(*args)
    # jac[k] has shape (n, B, n) (or (n, B) for t): row i of sample b's block
    C = jac[0].permute(1, 0, 2)
    M = jac[1].permute(1, 0, 2)
    out = {"dL_dq": gq, "dL_dqdot": gqd, "M": M, "C": C}
    if timed:
        out["dp_dt"] = jac[2].permute(1, 0)
    return out


def _prepare(L, q, qdot, t, coordinates):
    """Resolve L, broadcast inputs and flatten the leading shape to one batch dim."""
    keep_freed_memory()
    f, timed = as_torch_lagrangian(L, coordinates=coordinates)
    if timed and t is None:
        raise ValueError("this Lagrangian depends on time t: pass t")
    if not isinstance(q, torch.Tensor):  # lists and NumPy arrays: float64, like NumPy
        q = torch.as_tensor(np.asarray(q, dtype=float))
    q = torch.as_tensor(q)
    qdot = torch.as_tensor(qdot, dtype=q.dtype, device=q.device)
    if not torch.is_floating_point(q):
        q, qdot = q.double(), qdot.double()
    if q.ndim == 0 or qdot.ndim == 0:
        raise ValueError("q and qdot need a last dimension of size n (the degrees of freedom)")
    if q.shape[-1] != qdot.shape[-1]:
        raise ValueError(
            f"q has {q.shape[-1]} coordinates but qdot has {qdot.shape[-1]}: they must match"
        )
    lead = torch.broadcast_shapes(q.shape[:-1], qdot.shape[:-1])
    if t is not None:
        t = torch.as_tensor(t, dtype=q.dtype, device=q.device)
        lead = torch.broadcast_shapes(lead, t.shape)
        t = t.expand(lead).reshape(-1)
    n = q.shape[-1]
    Q = q.expand(*lead, n).reshape(-1, n)
    Qd = qdot.expand(*lead, n).reshape(-1, n)
    return f, Q, Qd, t, lead


def _force(force, Q: torch.Tensor, lead) -> torch.Tensor | None:
    """A known applied force as a (B, n) tensor like the flattened states Q (None stays None)."""
    if force is None:
        return None
    F = torch.as_tensor(force, dtype=Q.dtype, device=Q.device)
    return torch.broadcast_to(F, (*lead, Q.shape[-1])).reshape(Q.shape)


def _chunks(B: int, chunk: int | None):
    step = B if not chunk or chunk >= B else chunk
    return [(i, min(i + step, B)) for i in range(0, max(B, 1), step)]


def _map_chunks(fn, Q, Qd, T, chunk, F=None):
    """fn on chunks of the batch; ``F`` (a known force, (B, n) or None) is chunked alongside."""
    if F is None:
        parts = [fn(Q[a:b], Qd[a:b], None if T is None else T[a:b]) for a, b in _chunks(Q.shape[0], chunk)]
    else:
        parts = [fn(Q[a:b], Qd[a:b], None if T is None else T[a:b], F[a:b]) for a, b in _chunks(Q.shape[0], chunk)]
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p, 0) for p in zip(*parts))
    return torch.cat(parts, 0)


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------
def mass_and_force(
    L, q, qdot, t=None, *, coordinates=None, chunk_size: int | None = DEFAULT_CHUNK, dissipation=None, force=None,
    rows: str = "batched",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M, f)`` with M = ∂²L/∂q̇² ``(..., n, n)`` and f = ∂L/∂q − C q̇ − ∂²L/∂q̇∂t ``(..., n)``.

    The Euler–Lagrange equations read M q̈ = f; both are linear in L, which the library fit
    uses to evaluate many candidate models from one pass over the terms.  With a Rayleigh
    dissipation function ``dissipation`` = R(q, q̇) (a callable for one state, like L), the
    equations are d/dt ∂L/∂q̇ − ∂L/∂q = −∂R/∂q̇ and f includes −∂R/∂q̇.  A known applied
    generalized force ``force`` (Q, broadcastable to ``(..., n)``: a motor torque, a shaker)
    joins the right-hand side: d/dt ∂L/∂q̇ − ∂L/∂q = Q (− ∂R/∂q̇).

    ``rows``: ``"batched"`` (default) gets the rows of M and C for all i from one vectorized
    reverse pass over ∂L/∂q̇; ``"loop"`` runs one reverse pass per row i (n passes), the naive
    way, kept so that the benchmark can time it against the default with the same formula.
    """
    if rows not in ("batched", "loop"):
        raise ValueError(f"rows must be 'batched' or 'loop', got {rows!r}")
    f_, Q, Qd, T, lead = _prepare(L, q, qdot, t, coordinates)
    R = None if dissipation is None else as_torch_lagrangian(dissipation, coordinates=coordinates)[0]
    F = _force(force, Q, lead)

    def one(Qc, Qdc, Tc, Fc=None):
        d = _batched_derivatives(f_, Qc, Qdc, Tc, second=True, rows=rows)
        rhs = d["dL_dq"] - (d["C"] * Qdc[:, None, :]).sum(-1)  # C q̇ (bmm is slow on tiny blocks)
        if Tc is not None:
            rhs = rhs - d["dp_dt"]
        if R is not None:
            rhs = rhs - _batched_derivatives(R, Qc, Qdc, None, second=False)["dL_dqdot"]
        if Fc is not None:
            rhs = rhs + Fc
        return d["M"], rhs

    M, f = _map_chunks(one, Q, Qd, T, chunk_size, F)
    n = Q.shape[-1]
    return M.reshape(*lead, n, n), f.reshape(*lead, n)


def accelerations(
    L,
    q,
    qdot,
    t=None,
    *,
    coordinates: Sequence[str] | None = None,
    check: bool = True,
    max_condition: float | None = None,
    chunk_size: int | None = DEFAULT_CHUNK,
    structure: bool = True,
    dissipation=None,
    force=None,
) -> torch.Tensor:
    """q̈ from the Euler–Lagrange equations of ``L``.

    Args:
        L: callable ``L(q, qdot)`` (or ``L(q, qdot, t)`` when ``t`` is given) for ONE state,
            q and qdot 1-D of length n, returning a scalar tensor; or a SymPy expression/string.
        q, qdot: ``(..., n)`` tensors (or arrays); their dtype and device are kept.
        t: optional time, broadcastable to ``(...)``; L is then called with a scalar t.
        coordinates: order of the coordinates when L is SymPy.
        check: raise :class:`SingularMassMatrixError` where M is singular or indefinite.
        max_condition: condition number above which M counts as singular
            (default ``eps**-0.75``: 5e11 in float64, 1.6e5 in float32).
        chunk_size: samples per evaluation (bounds memory); None for one pass.
        structure: solve a diagonal or banded M (zero entries in every sample of a chunk)
            by tensor arithmetic; False always factors a dense M (n > 4) with LAPACK.
        dissipation: optional Rayleigh function R(q, q̇) for one state (e.g. ½ Σ cᵢ q̇ᵢ²):
            the generalized friction force −∂R/∂q̇ joins the right-hand side.
        force: optional known applied generalized force Q, broadcastable to ``(..., n)``:
            M q̈ = f + Q.

    Returns:
        ``(..., n)`` tensor of accelerations, differentiable w.r.t. any parameters of L.
    """
    f, Q, Qd, T, lead = _prepare(L, q, qdot, t, coordinates)
    mc = max_condition if max_condition is not None else _max_condition(Q.dtype)
    F = _force(force, Q, lead)

    def one(Qc, Qdc, Tc, Fc=None):
        M, rhs = mass_and_force(f, Qc, Qdc, Tc, chunk_size=None, dissipation=dissipation, force=Fc)
        return _solve_definite(M, rhs, Qc, Qdc, mc, check, structure)

    out = _map_chunks(one, Q, Qd, T, chunk_size, F)
    return out.reshape(*lead, Q.shape[-1])


def euler_lagrange_residual(
    L, q, qdot, qddot, t=None, *, coordinates=None, chunk_size: int | None = DEFAULT_CHUNK, dissipation=None,
    force=None,
) -> torch.Tensor:
    """``M q̈ + C q̇ + ∂²L/∂q̇∂t − ∂L/∂q`` (+ ``∂R/∂q̇`` with a Rayleigh function ``dissipation``,
    − Q with a known applied ``force``; zero on true motion), shape ``(..., n)``.

    Linear in L: the residual of Σ ξ_k φ_k is Σ ξ_k (residual of φ_k), which is what the
    library regression uses.  Needs no inverse of M.
    """
    M, f = mass_and_force(L, q, qdot, t, coordinates=coordinates, chunk_size=chunk_size, dissipation=dissipation,
                          force=force)
    qddot = torch.as_tensor(qddot, dtype=M.dtype, device=M.device)
    return torch.einsum("...ij,...j->...i", M, qddot) - f


def lagrangian_gradients(L, q, qdot, t=None, *, coordinates=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(∂L/∂q, ∂L/∂q̇)``, each ``(..., n)`` (the weak form needs only these)."""
    f, Q, Qd, T, lead = _prepare(L, q, qdot, t, coordinates)
    d = _batched_derivatives(f, Q, Qd, T, second=False)
    n = Q.shape[-1]
    return d["dL_dq"].reshape(*lead, n), d["dL_dqdot"].reshape(*lead, n)


def mass_matrix(L, q, qdot, t=None, *, coordinates=None) -> torch.Tensor:
    """∂²L/∂q̇², shape ``(..., n, n)``."""
    f, Q, Qd, T, lead = _prepare(L, q, qdot, t, coordinates)
    d = _batched_derivatives(f, Q, Qd, T, second=True)
    n = Q.shape[-1]
    return d["M"].reshape(*lead, n, n)


def energy(L, q, qdot, t=None, *, coordinates=None) -> torch.Tensor:
    """Energy function ``E = q̇·∂L/∂q̇ − L``, shape ``(...)``."""
    f, Q, Qd, T, lead = _prepare(L, q, qdot, t, coordinates)
    args = (Q, Qd) if T is None else (Q, Qd, T)
    Lval = vmap(f)(*args)
    _, p = lagrangian_gradients(f, Q, Qd, T)
    return ((Qd * p).sum(-1) - Lval).reshape(lead)
