"""The engine's derivative graph, recorded once and replayed.

:func:`discover.mechanics.accelerations` rebuilds the autograd graph of L on every call: for a
rollout (thousands of calls on the same model and batch shape) that per-call work dominates.
A model's structure is fixed, so the operations the engine runs — L, its gradient, the rows of
M and C, the right-hand side f — are the same on every call; only the input values change.
:func:`record` runs a function once under a dispatch mode that writes down every tensor
operation (the backward passes included: they dispatch the same way), checks that nothing in
the record depends on tensor values, and gives back a function that replays the operations on
new inputs of the same shape, compiled by ``torch.jit.trace`` into one TorchScript graph (no
autograd, no Python per operation).  :class:`Replayed` uses it for q̈: the derivatives
replayed, the definite solve (with the singular-M check) run as usual.  Same operations, same
numbers: the replay is checked against the engine on the recorded inputs and on fresh ones.
"""
from __future__ import annotations

import warnings

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from .definite import _max_condition, _solve_definite
from .mechanics import DEFAULT_CHUNK, _force, _prepare, as_torch_lagrangian, mass_and_force

__all__ = ["record", "Replayed"]


class _Ref:
    """A tensor in the record: input i, constant i, or output i of operation k."""

    __slots__ = ("kind", "k", "i")

    def __init__(self, kind: str, k: int, i: int = 0):
        self.kind, self.k, self.i = kind, k, i


class NotReplayable(RuntimeError):
    """The recorded function depends on tensor values (or mutates its inputs or constants)."""


_VALUE_OPS = {"_local_scalar_dense", "is_nonzero", "equal", "item", "nonzero", "allclose"}


class _Recorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in dynamo.disable unless told not to, which
        # imports torch._dynamo (seconds) on the first operation; nothing here is compiled
        return False

    def __init__(self, inputs):
        super().__init__()
        self.refs = {id(x): _Ref("in", i) for i, x in enumerate(inputs)}
        self.alive: list = list(inputs)  # keeps every seen tensor alive: ids stay unique
        self.consts: list = []
        self.ops: list = []

    def ref(self, x):
        if not isinstance(x, torch.Tensor):
            return x
        r = self.refs.get(id(x))
        if r is None:  # from outside the record (a coefficient captured by L): a constant
            r = self.refs[id(x)] = _Ref("const", len(self.consts))
            self.consts.append(x)
            self.alive.append(x)
        return r

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket.__name__ in _VALUE_OPS:
            raise NotReplayable(f"{func} reads tensor values")
        out = func(*args, **kwargs)
        a, kw = tree_map(self.ref, args), tree_map(self.ref, kwargs)
        if func._schema.is_mutable:
            for arg, r in zip(func._schema.arguments, list(a) + [kw.get(s.name) for s in func._schema.arguments[len(a):]]):
                if arg.alias_info is not None and arg.alias_info.is_write and isinstance(r, _Ref) and r.kind != "op":
                    raise NotReplayable(f"{func} writes to an input or a constant")
        flat, spec = tree_flatten(out)
        for i, t in enumerate(flat):
            if isinstance(t, torch.Tensor):
                self.refs[id(t)] = _Ref("op", len(self.ops), i)
                self.alive.append(t)
            elif not isinstance(t, (int, float, bool, type(None))):
                raise NotReplayable(f"{func} returns {type(t).__name__}")
        self.ops.append((func, a, kw))
        return out


def record(fn, *inputs):
    """``(result, replay)``: ``fn(*inputs)`` (tensors in, a tensor or tuple of tensors out) run
    once, and a function that replays its tensor operations on new inputs of the same shape,
    dtype and device.  Raises :class:`NotReplayable` when the operations depend on values."""
    rec = _Recorder(inputs)
    with rec:
        result = fn(*inputs)
    flat_out, out_spec = tree_flatten(result)
    out_refs = [rec.ref(t) for t in flat_out]
    ops, consts = rec.ops, rec.consts

    def replay(*xs):
        vals: list = []

        def get(r):
            if not isinstance(r, _Ref):
                return r
            if r.kind == "in":
                return xs[r.k]
            if r.kind == "const":
                return consts[r.k]
            return vals[r.k][r.i]

        for func, a, kw in ops:
            vals.append(tree_flatten(func(*tree_map(get, a), **tree_map(get, kw)))[0])
        return tree_unflatten([get(r) for r in out_refs], out_spec)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.trace(replay, tuple(inputs), check_trace=False)
    return result, compiled



class Replayed:
    """q̈ of a fixed ``L`` (and Rayleigh function ``dissipation``) like
    :func:`discover.mechanics.accelerations`, with the derivative graph recorded once per batch
    shape, dtype and device and replayed after (:func:`record`); the definite solve and its
    singular-M check run as usual.  For many calls on one model (rollouts).  The engine runs
    instead where a graph is needed (inputs or parameters of L that require grad), inside
    torch.func transforms, for batches above one engine chunk, or where L cannot be recorded.
    L must not change (its coefficients are recorded as constants)."""

    def __init__(self, L, *, coordinates=None, dissipation=None, check: bool = True,
                 max_condition: float | None = None, structure: bool = True):
        self.L = as_torch_lagrangian(L, coordinates=coordinates)[0]
        self.dissipation = None if dissipation is None else as_torch_lagrangian(dissipation, coordinates=coordinates)[0]
        self.check, self.max_condition, self.structure = check, max_condition, structure
        self._fns: dict = {}

    def mass_and_force(self, Q, Qd, T=None):
        """(M, f) on flattened (B, n) states (T: (B,) or None), replayed when possible."""
        key = (tuple(Q.shape), Q.dtype, Q.device, None if T is None else tuple(T.shape))
        fn = self._fns.get(key, False)
        eager = lambda *xs: mass_and_force(self.L, *xs, chunk_size=None,
                                           dissipation=self.dissipation)
        inputs = (Q, Qd) if T is None else (Q, Qd, T)
        needs_graph = torch.is_grad_enabled() and any(x.requires_grad for x in inputs)
        if needs_graph or torch._C._functorch.maybe_current_level() is not None or Q.shape[0] > DEFAULT_CHUNK:
            return eager(*inputs)
        if fn is False:
            try:
                result, compiled = record(eager, *inputs)
            except NotReplayable:
                self._fns[key] = None
                return eager(*inputs)
            # a graph to L's parameters cannot be replayed; the replay must give the engine's numbers
            ok = not any(r.requires_grad for r in result) and all(
                torch.equal(a, b) for a, b in zip(compiled(*inputs), result))
            self._fns[key] = compiled if ok else None
            return result
        return eager(*inputs) if fn is None else fn(*inputs)

    def __call__(self, q, qdot, t=None, force=None):
        _, Q, Qd, T, lead = _prepare(self.L, q, qdot, t, None)
        M, rhs = self.mass_and_force(Q, Qd, T)
        F = _force(force, Q, lead)
        if F is not None:
            rhs = rhs + F
        mc = self.max_condition if self.max_condition is not None else _max_condition(Q.dtype)
        return _solve_definite(M, rhs, Q, Qd, mc, self.check, self.structure).reshape(*lead, Q.shape[-1])
