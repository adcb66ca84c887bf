"""Speed of the autograd Euler–Lagrange engine against jit-compiled JAX: the measurements of
``pipelines/benchmark_jax.py`` (report and figure in :mod:`discover.reports.benchmark_jax_report`).

JAX is an optional extra (``bench``): it is imported only inside the functions that use it, and
the caller fixes the thread counts before the first of them runs.
"""
from __future__ import annotations

import time

import numpy as np

from .benchmark import interleaved_times

LNN_HIDDEN = (128, 128)
CHAIN = {"m": 1.0, "k": 1.0, "alpha": 0.1}


# ----------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------
def time_interleaved(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Seconds per call of each function: ``warmup`` calls each (JIT compilation), then
    ``repeats`` rounds with the functions alternating, so that load from other processes hits
    all alike.  Each function must return only when its result is ready."""
    return {k: {"median_s": float(np.median(v)), "all_s": v}
            for k, v in interleaved_times(fns, repeats, warmup).items()}


def one_thread(fn):
    """``fn`` run with ONE torch thread (sensitivity check: OpenMP under a shared CPU)."""
    import torch

    def run():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(before)

    return run


# ----------------------------------------------------------------------------------------
# the JAX side (imported lazily: JAX is an optional extra)
# ----------------------------------------------------------------------------------------
def jax_qddot(L, form: str = "paper"):
    """Per-state q̈(q, q̇) of the LNN formula for ``L(q, qdot)`` (JAX, one state).

    ``form="paper"``: M = jax.hessian(L, 1), C = jax.jacobian(jax.jacobian(L, 1), 0), as in the
    LNN paper's code (with ``jnp.linalg.solve`` instead of ``pinv``); ``form="fwd"``: M and C
    from one forward-over-reverse Jacobian of ∂L/∂q̇."""
    import jax
    import jax.numpy as jnp

    def qdd(q, v):
        if form == "paper":
            M = jax.hessian(L, 1)(q, v)
            C = jax.jacobian(jax.jacobian(L, 1), 0)(q, v)
        else:
            C, M = jax.jacfwd(jax.grad(L, 1), argnums=(0, 1))(q, v)
        return jnp.linalg.solve(M, jax.grad(L, 0)(q, v) - C @ v)

    return qdd


def lnn_params_to_jax(net) -> dict:
    """The weights and normalization buffers of a plain ``LagrangianNet`` as JAX arrays."""
    import jax.numpy as jnp
    from torch import nn

    layers = [m for m in net.net if isinstance(m, nn.Linear)]
    arr = lambda t: jnp.asarray(t.detach().cpu().numpy())
    return {"layers": [(arr(m.weight), arr(m.bias)) for m in layers],
            "q_mean": arr(net.q_mean), "q_scale": arr(net.q_scale), "v_scale": arr(net.v_scale)}


def lnn_lagrangian_jax(params, q, v):
    """``LagrangianNet.forward`` in JAX: MLP(q̃, ṽ) + ½‖ṽ‖² for ONE state."""
    import jax
    import jax.numpy as jnp

    x = (q - params["q_mean"]) / params["q_scale"]
    vt = v / params["v_scale"]
    h = jnp.concatenate([x, vt])
    layers = params["layers"]
    for W, b in layers[:-1]:
        h = jax.nn.softplus(W @ h + b)
    W, b = layers[-1]
    return (W @ h + b)[0] + 0.5 * (vt @ vt)


def lnn_qddot_jax(form: str = "paper"):
    """jit(vmap(q̈)) of the LNN: ``f(params, Q, V) -> (B, n)``; the weights are arguments (not
    constants XLA could fold)."""
    import jax

    def per_state(params, q, v):
        return jax_qddot(lambda a, b: lnn_lagrangian_jax(params, a, b), form)(q, v)

    return jax.jit(jax.vmap(per_state, in_axes=(None, 0, 0)))


def chain_lagrangian_jax(q, v, m=CHAIN["m"], k=CHAIN["k"], alpha=CHAIN["alpha"]):
    import jax.numpy as jnp

    kinetic = 0.5 * m * jnp.sum((1 + alpha * q ** 2) * v ** 2)
    ends = jnp.pad(q, 1)  # fixed walls at x = 0 on both sides
    return kinetic - 0.5 * k * jnp.sum((ends[1:] - ends[:-1]) ** 2)


def chain_lagrangian_torch(m=CHAIN["m"], k=CHAIN["k"], alpha=CHAIN["alpha"]):
    """The same chain Lagrangian as a torch callable for ONE state (q, qdot 1-D)."""
    import torch

    def L(q, v):
        kinetic = 0.5 * m * torch.sum((1 + alpha * q ** 2) * v ** 2)
        wall = q.new_zeros(1)
        ends = torch.cat([wall, q, wall])
        return kinetic - 0.5 * k * torch.sum((ends[1:] - ends[:-1]) ** 2)

    return L


def pendulum_chain_lagrangian_jax(q, v, g=9.81):
    """n-link pendulum, unit masses and lengths, angles from the downward vertical: M is dense
    (M_ij = Σ_{k ≥ max(i, j)} cos(θ_i − θ_j)) and depends on the state."""
    import jax.numpy as jnp

    xd = jnp.cumsum(jnp.cos(q) * v)  # bob velocities
    yd = jnp.cumsum(jnp.sin(q) * v)
    y = -jnp.cumsum(jnp.cos(q))  # bob heights
    return 0.5 * jnp.sum(xd ** 2 + yd ** 2) - g * jnp.sum(y)


def pendulum_chain_lagrangian_torch(g=9.81):
    """The same n-link pendulum as a torch callable for ONE state."""
    import torch

    def L(q, v):
        xd = torch.cumsum(torch.cos(q) * v, -1)
        yd = torch.cumsum(torch.sin(q) * v, -1)
        y = -torch.cumsum(torch.cos(q), -1)
        return 0.5 * torch.sum(xd ** 2 + yd ** 2) - g * torch.sum(y)

    return L


#: the systems of the cost-vs-dof curves: (torch Lagrangian factory, JAX Lagrangian, state range)
SYSTEMS = {"chain": (chain_lagrangian_torch, chain_lagrangian_jax, 0.5),
           "pendulum_chain": (pendulum_chain_lagrangian_torch, pendulum_chain_lagrangian_jax, 0.5)}


# ----------------------------------------------------------------------------------------
# the measurements
# ----------------------------------------------------------------------------------------
def make_lnn(seed: int = 0):
    import torch

    from discover.neural import LagrangianNet

    torch.manual_seed(seed)
    return LagrangianNet(2, LNN_HIDDEN, activation="softplus").float()


def bench_lnn(batch, repeats, lr, log):
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations

    net = make_lnn()
    g = torch.Generator().manual_seed(0)
    Q = torch.randn(batch, 2, generator=g)
    V = torch.randn(batch, 2, generator=g)
    Qj, Vj = jnp.asarray(Q.numpy()), jnp.asarray(V.numpy())
    params = lnn_params_to_jax(net)
    jfn = {form: lnn_qddot_jax(form) for form in ("paper", "fwd")}

    # --- inference: weights frozen (no graph to them) -------------------------------------
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        qdd_t = accelerations(net, Q, V)
    qdd_j = {f: np.asarray(fn(params, Qj, Vj)) for f, fn in jfn.items()}
    scale = float(qdd_t.abs().max())
    diff = {f: float(np.abs(qdd_t.numpy() - a).max()) for f, a in qdd_j.items()}
    fns = {"torch": lambda: accelerations(net, Q, V),
           "torch_1thread": one_thread(lambda: accelerations(net, Q, V)),
           "jax_paper": lambda: jfn["paper"](params, Qj, Vj).block_until_ready(),
           "jax_fwd": lambda: jfn["fwd"](params, Qj, Vj).block_until_ready()}
    sec = time_interleaved(fns, repeats)
    out = {"batch": batch, "dtype": "float32", "net": "LagrangianNet(2, (128, 128), softplus): "
           "MLP 4→128→128→1 + ½‖q̇‖²", "inference": sec,
           "qddot_per_s": {k: batch / v["median_s"] for k, v in sec.items()},
           "max_abs_dqddot": diff, "max_abs_qddot": scale}
    log("  LNN inference: " + "  ".join(f"{k} {v:.3g}/s" for k, v in out["qddot_per_s"].items())
        + f"  |Δq̈| {max(diff.values()):.2g}")

    # --- one training step ------------------------------------------------------------------
    for p in net.parameters():
        p.requires_grad_(True)
    target = torch.randn(batch, 2, generator=g)
    Tj = jnp.asarray(target.numpy())

    def loss_t():
        return ((accelerations(net, Q, V) - target) ** 2).sum(-1).mean()

    # consistency first: the same loss and weight gradient before any update
    net.zero_grad(set_to_none=True)
    lt = loss_t()
    lt.backward()
    # (the last bias does not enter q̈: its gradient is None in torch, zero in JAX)
    grads_t = [np.zeros(tuple(p.shape), np.float32) if p.grad is None else p.grad.detach().numpy().copy()
               for m in net.net if hasattr(m, "weight") for p in (m.weight, m.bias)]
    net.zero_grad(set_to_none=True)

    def make_loss_j(form):
        qdd = lnn_qddot_jax(form)

        def loss_j(prm, Qb, Vb, Tb):
            return jnp.mean(jnp.sum((qdd(prm, Qb, Vb) - Tb) ** 2, -1))

        return loss_j

    steps, loss0, gdiff = {}, {}, {}
    for form in ("paper", "fwd"):
        loss_j = make_loss_j(form)
        lj, gj = jax.value_and_grad(loss_j)(params, Qj, Vj, Tj)
        flat = [np.asarray(a) for W, b in gj["layers"] for a in (W, b)]
        loss0[form] = float(lj)
        gdiff[form] = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) for a, b in zip(flat, grads_t))

        def step(prm, Qb, Vb, Tb, loss_j=loss_j):
            val, grd = jax.value_and_grad(loss_j)(prm, Qb, Vb, Tb)
            new = jax.tree_util.tree_map(lambda p_, g_: p_ - lr * g_, prm, grd)
            return new, val

        steps[form] = jax.jit(step)

    opt = torch.optim.SGD(net.parameters(), lr=lr)
    state = {"paper": params, "fwd": params}

    def torch_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_t()
        loss.backward()
        opt.step()

    def jax_step(form):
        def run():
            new, val = steps[form](state[form], Qj, Vj, Tj)
            jax.block_until_ready(new)
            state[form] = new
        return run

    sec_tr = time_interleaved({"torch": torch_step, "jax_paper": jax_step("paper"),
                               "jax_fwd": jax_step("fwd")}, repeats)
    out["training_step"] = {"timings": sec_tr, "lr": lr, "optimizer": "SGD (torch.optim.SGD / p - lr·g)",
                            "loss_torch": float(lt.detach()), "loss_jax": loss0,
                            "max_rel_dgrad_weights": gdiff,
                            "steps_per_s": {k: 1.0 / v["median_s"] for k, v in sec_tr.items()}}
    log("  LNN training step: " + "  ".join(f"{k} {v['median_s'] * 1e3:.1f} ms" for k, v in sec_tr.items())
        + f"  max rel |Δgrad| {max(gdiff.values()):.2g}")
    return out


def bench_chain(n, batch, repeats, max_call_s, seed, log, system="chain"):
    """One point of a cost-vs-dof curve.  For the chain (diagonal M) the engine is timed twice:
    with its defaults (the diagonal M is found and divided) and with ``structure=False`` (dense
    Cholesky, the work JAX's ``jnp.linalg.solve`` does)."""
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations

    make_t, L_j, span = SYSTEMS[system]
    L_t = make_t()
    jfn = {form: jax.jit(jax.vmap(jax_qddot(L_j, form))) for form in ("paper", "fwd")}
    rng = np.random.default_rng(seed + n)

    def data(b):
        q = rng.uniform(-span, span, (b, n)).astype(np.float32)
        v = rng.uniform(-span, span, (b, n)).astype(np.float32)
        return torch.from_numpy(q), torch.from_numpy(v), jnp.asarray(q), jnp.asarray(v)

    used = batch
    Q, V, Qj, Vj = data(used)
    t0 = time.perf_counter()
    qdd_t = accelerations(L_t, Q, V)
    if time.perf_counter() - t0 > max_call_s and batch > 1000:  # keep the run short: smaller batch
        used = 1000
        Q, V, Qj, Vj = data(used)
        qdd_t = accelerations(L_t, Q, V)
    qdd_j = {f: np.asarray(fn(Qj, Vj)) for f, fn in jfn.items()}
    diff = {f: float(np.abs(qdd_t.numpy() - a).max()) for f, a in qdd_j.items()}
    fns = {"torch": lambda: accelerations(L_t, Q, V),
           "torch_1thread": one_thread(lambda: accelerations(L_t, Q, V)),
           "jax_paper": lambda: jfn["paper"](Qj, Vj).block_until_ready(),
           "jax_fwd": lambda: jfn["fwd"](Qj, Vj).block_until_ready()}
    if system == "chain":
        fns["torch_dense"] = lambda: accelerations(L_t, Q, V, structure=False)
    sec = time_interleaved(fns, repeats)
    row = {"system": system, "n": n, "batch": used, "timings": sec,
           "qddot_per_s": {k: used / v["median_s"] for k, v in sec.items()},
           "max_abs_dqddot": diff, "max_abs_qddot": float(qdd_t.abs().max())}
    log(f"  {system} n={n:3d} B={used}: " + "  ".join(f"{k} {v:.3g}/s" for k, v in row["qddot_per_s"].items())
        + f"  |Δq̈| {max(diff.values()):.2g}")
    return row


def ratios(qps: dict) -> dict:
    """torch/JAX throughput ratios: against each JAX form and against the faster one."""
    best = max(qps["jax_paper"], qps["jax_fwd"])
    out = {"vs_jax_paper": qps["torch"] / qps["jax_paper"], "vs_jax_fwd": qps["torch"] / qps["jax_fwd"],
           "vs_best_jax": qps["torch"] / best, "torch_1thread_vs_best_jax": qps["torch_1thread"] / best}
    if "torch_dense" in qps:
        out["dense_vs_best_jax"] = qps["torch_dense"] / best
    return out
