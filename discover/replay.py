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

from .definite import _max_condition, _planned_solve, _raise_singular, _solve_definite, _solve_plan
from .mechanics import DEFAULT_CHUNK, _force, _prepare, as_torch_lagrangian, mass_and_force

__all__ = ["record", "Replayed", "ReplayCache"]


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


def record(fn, *inputs, compile: str = "jit"):
    """``(result, replay)``: ``fn(*inputs)`` (tensors in, a tensor or tuple of tensors out) run
    once, and a function that replays its tensor operations on new inputs of the same shape,
    dtype and device.  Raises :class:`NotReplayable` when the operations depend on values.

    ``compile``: ``"jit"`` (``torch.jit.trace``: one TorchScript graph, milliseconds to build),
    ``"inductor"`` (``torch.compile``: the operations fused into generated C++ loops; seconds to
    minutes to build, needs a C++ compiler) or ``"none"`` (the operations replayed in Python)."""
    rec = _Recorder(inputs)
    with rec:
        result = fn(*inputs)
    flat_out, out_spec = tree_flatten(result)
    out_refs = [rec.ref(t) for t in flat_out]
    ops, consts = rec.ops, rec.consts
    if any(t.requires_grad for t in flat_out + consts if isinstance(t, torch.Tensor)):
        raise NotReplayable("the result depends on tensors that require grad (parameters of L)")

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

    if compile == "none":
        return result, replay
    if compile == "inductor":
        return result, torch.compile(replay, fullgraph=True, dynamic=False)
    if compile != "jit":
        raise ValueError(f"compile must be 'jit', 'inductor' or 'none', got {compile!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.trace(replay, tuple(inputs), check_trace=False)
    return result, compiled



def _close(a, b) -> bool:
    """Equal to rounding (a compiler that fuses operations reorders the arithmetic)."""
    if not a.is_floating_point():
        return torch.equal(a, b)
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-10, atol=1e-12 * scale))


class ReplayCache:
    """Recordings of functions keyed by the caller (batch shape, dtype, plan, …): the first call
    with a key records ``eager`` (:func:`record`) and checks the replay against it on the same
    inputs; later calls replay.  Where recording is refused or the replay differs, that key runs
    ``eager`` from then on.  Every tensor that changes between calls must be an input: anything
    captured from outside is recorded as a constant."""

    def __init__(self, compile: str = "jit"):
        self.compile = compile
        self._fns: dict = {}

    def __call__(self, key, eager, inputs):
        fn = self._fns.get(key, False)
        if fn is None:
            return eager(*inputs)
        if fn is not False:
            return fn(*inputs)
        try:
            result, compiled = record(eager, *inputs, compile=self.compile)
        except NotReplayable:
            self._fns[key] = None
            return eager(*inputs)
        # a graph to L's parameters cannot be replayed; the replay must give the engine's numbers
        flat = tree_flatten(result)[0]
        same = torch.equal if self.compile == "jit" else _close
        ok = not any(r.requires_grad for r in flat) and all(
            same(a, b) for a, b in zip(tree_flatten(compiled(*inputs))[0], flat))
        self._fns[key] = compiled if ok else None
        return result


class Replayed:
    """q̈ of a fixed ``L`` (and Rayleigh function ``dissipation``) like
    :func:`discover.mechanics.accelerations`, with the derivative graph and the definite solve
    recorded once per batch shape, dtype and device (and per plan of the solve: the band of M
    and its sign, read off every call's M as the engine does) and replayed after
    (:func:`record`); the singular-M check as in the engine.  For many calls on one model
    (rollouts, benchmarks).  The engine runs instead where a graph is needed (inputs or
    parameters of L that require grad), inside torch.func transforms, for batches above one
    engine chunk, or where L cannot be recorded.  L must not change (its coefficients are
    recorded as constants).  ``compile``: see :func:`record`."""

    def __init__(self, L, *, coordinates=None, dissipation=None, check: bool = True,
                 max_condition: float | None = None, structure: bool = True, compile: str = "jit"):
        self.L = as_torch_lagrangian(L, coordinates=coordinates)[0]
        self.dissipation = None if dissipation is None else as_torch_lagrangian(dissipation, coordinates=coordinates)[0]
        self.check, self.max_condition, self.structure, self.compile = check, max_condition, structure, compile
        self._cache = ReplayCache(compile)
        self._band = None  # the solve's band, fixed when a whole step is recorded (:meth:`step`)

    def _replayed(self, key, eager, inputs):
        """eager(*inputs), from its recording when there is one (made on the first call)."""
        return self._cache(key, eager, inputs)

    def _direct(self, inputs) -> bool:
        """Whether the engine must run as is: a graph is needed, a transform is active, or the
        batch is above one engine chunk."""
        return ((torch.is_grad_enabled() and any(x.requires_grad for x in inputs))
                or torch._C._functorch.maybe_current_level() is not None or inputs[0].shape[0] > DEFAULT_CHUNK)

    def mass_and_force(self, Q, Qd, T=None):
        """(M, f) on flattened (B, n) states (T: (B,) or None), replayed when possible."""
        inputs = (Q, Qd) if T is None else (Q, Qd, T)
        eager = lambda *xs: mass_and_force(self.L, *xs, chunk_size=None, dissipation=self.dissipation)
        if self._direct(inputs):
            return eager(*inputs)
        key = ("mf", tuple(Q.shape), Q.dtype, Q.device, None if T is None else tuple(T.shape))
        return self._replayed(key, eager, inputs)

    def __call__(self, q, qdot, t=None, force=None):
        _, Q, Qd, T, lead = _prepare(self.L, q, qdot, t, None)
        M, rhs = self.mass_and_force(Q, Qd, T)
        F = _force(force, Q, lead)
        if F is not None:
            rhs = rhs + F
        mc = self.max_condition if self.max_condition is not None else _max_condition(Q.dtype)
        if self._direct((M, rhs)):
            x = _solve_definite(M, rhs, Q, Qd, mc, self.check, self.structure)
        else:
            flip, k = _solve_plan(M, self.structure)
            key = ("solve", tuple(M.shape), M.dtype, M.device, flip, k)
            x, bad = self._replayed(key, lambda A, b: _planned_solve(A, b, flip, k, mc), (M, rhs))
            if self.check and bool(bad.any()):
                _raise_singular(M, Q, Qd, int(torch.nonzero(bad)[0]))
        return x.reshape(*lead, Q.shape[-1])

    def step(self, step, state, t, h, *, timed: bool = False):
        """One step ``step(acceleration, (Q, V), t, h) -> (Q, V)`` of an explicit solver on flat
        ``(B, n)`` states (``t``, ``h``: 0-d tensors), recorded whole (every q̈ evaluation of the
        step and the solver's arithmetic in one graph: no Python between its stages) and replayed
        on later steps.  The solve's plan (band of M) is fixed when recording; each replay also
        returns whether some M left that band or was singular, and then, like where the step
        cannot be recorded or a graph is needed, this returns None: the caller runs the step the
        usual way (which re-plans, or raises :class:`SingularMassMatrixError`).  ``timed``: L takes
        t (the stage times are passed to it)."""
        Q, V = state
        inputs = (Q, V, t, h)
        if self._direct(inputs):
            return None
        if self._band is None:
            M, _ = self.mass_and_force(Q, V, None if not timed else t.expand(Q.shape[0]))
            self._band = _solve_plan(M, self.structure)[1]
        k, mc = self._band, (self.max_condition if self.max_condition is not None else _max_condition(Q.dtype))
        outside = _outside_band(Q.shape[-1], k, Q)

        def eager(q, v, tt, hh):
            flags = []

            def acceleration(qs, vs, ts):
                T = ts.expand(qs.shape[0]) if timed else None
                M, rhs = mass_and_force(self.L, qs, vs, T, chunk_size=None, dissipation=self.dissipation)
                x, bad = _planned_solve(M, rhs, True, k, mc)
                flags.append(bad | ((M.abs() * outside).sum((-2, -1)) != 0))
                return x

            q1, v1 = step(acceleration, (q, v), tt, hh)
            return q1, v1, torch.stack(flags).any()

        key = ("step", step, tuple(Q.shape), Q.dtype, Q.device, k)
        q1, v1, flag = self._replayed(key, eager, inputs)
        if bool(flag):
            self._band = Q.shape[-1] - 1  # a wider band from now on; this step the usual way
            return None
        return q1, v1


def _outside_band(n: int, k: int, like):
    """(n, n) 0/1 mask of the entries more than k off the diagonal (dtype and device of ``like``)."""
    i = torch.arange(n, device=like.device)
    return ((i[:, None] - i[None, :]).abs() > k).to(like.dtype)
