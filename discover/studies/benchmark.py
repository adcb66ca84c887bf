"""Speed and accuracy of the Euler–Lagrange engine against hand-derived equations of motion.

The measurements of ``pipelines/benchmark.py``: q̈ throughput of ``discover.accelerations``
vs the engine's naive one-pass-per-row mode vs SymPy-derived, lambdified equations (the
hand-derived reference, a deliberate second derivation); the LNN MLP through the engine; RK4
rollout timing; convergence against exact solutions; energy drift.  Figures and the markdown
report are in :mod:`discover.reports.benchmark_report`.
"""
from __future__ import annotations

import math
import os
import subprocess
import time

import numpy as np


# ----------------------------------------------------------------------------------------
# load and timing helpers
# ----------------------------------------------------------------------------------------
def uptime_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # pragma: no cover
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def wait_for_load(max_load: float, retries: int, wait_s: float, log) -> dict:
    """Wait (up to ``retries`` × ``wait_s``) until the 1-min load average is ≤ max_load."""
    waited = 0
    for _ in range(retries):
        if os.getloadavg()[0] <= max_load:
            break
        log(f"load {os.getloadavg()[0]:.2f} > {max_load}: waiting {wait_s:.0f} s")
        time.sleep(wait_s)
        waited += wait_s
    return {"uptime": uptime_line(), "load1": os.getloadavg()[0], "waited_s": waited}


def interleaved_times(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Seconds of each call of each function: ``warmup`` calls each first, then ``repeats``
    rounds with the functions alternating, so that load from other processes hits all alike."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    return ts


def time_interleaved(fns: dict, repeats: int) -> dict:
    """Median seconds per call of each function; repeats interleaved so that load from other
    processes hits every method alike; one warm-up call each first."""
    return {k: float(np.median(v)) for k, v in interleaved_times(fns, repeats).items()}


# ----------------------------------------------------------------------------------------
# the three q̈ evaluators
# ----------------------------------------------------------------------------------------
#: how the three q̈ evaluators compute (for the report; ``{budget}``: --budget)
METHODS_TEXT = (
    "Methods: **engine** = `discover.accelerations` (reverse-mode autograd of the batch-summed L, all rows of M and C in one vectorized backward pass; "
    "the singular-M check on; a diagonal M divided, a band ≤ 3 wide or n ≤ 4 factored entry by entry "
    "over the batch, a wider one by LAPACK's Cholesky; the autograd graph rebuilt on every call); **replayed** = the same engine "
    "through `discover.replay.Replayed`: its operations (L, both reverse passes, the definite solve) recorded on the first "
    "call for this batch shape and replayed after as one TorchScript graph (`torch.jit.trace`), the singular-M check "
    "kept, the numbers bitwise the engine's (recording time: column *record s*, a one-off cost like SymPy's derivation); "
    "**naive** = baseline, the engine's `rows=\"loop\"` mode: one "
    "`torch.autograd.grad` per component for the rows of M and C, then `torch.linalg.solve`; **lambdified** = M, C, ∂L/∂q "
    "derived by SymPy from the system's Lagrangian, `lambdify(..., 'numpy', cse=True)`, structural "
    "zeros skipped, batched `np.linalg.solve` (the hand-derived reference; derivation time is a "
    "one-off cost listed separately).  Ratios are throughput / lambdified throughput "
    "(1 = as fast as hand-derived).  Chain: `chain` with alpha = 0.1 (mass m(1 + αx²)); the batch grows from 100 by 10× "
    "up to the requested size only while one call of the slowest method is predicted to stay under "
    "{budget:g} s (10 s for the double pendulum), so large n run at a smaller batch (column *batch*).  |Δq̈| = max abs difference to the SymPy q̈ (max |q̈| given for scale).\n")

_DERIVED: dict = {}


def sympy_equations(system):
    """NumPy q̈(Q, V) from M, C, ∂L/∂q derived by SymPy; returns (function, seconds to derive)."""
    key = repr(system)
    if key not in _DERIVED:
        _DERIVED[key] = _derive(system)
    return _DERIVED[key]


def _derive(system):
    import sympy

    t0 = time.perf_counter()
    L = system.lagrangian()
    q, v, _ = system.symbols()
    n = len(q)
    p = [sympy.diff(L, vi) for vi in v]
    M = [[sympy.diff(pi, vj) for vj in v] for pi in p]
    C = [[sympy.diff(pi, qj) for qj in q] for pi in p]
    G = [sympy.diff(L, qi) for qi in q]
    m_nz = [(i, j) for i in range(n) for j in range(n) if M[i][j] != 0]
    c_nz = [(i, j) for i in range(n) for j in range(n) if C[i][j] != 0]
    g_nz = [i for i in range(n) if G[i] != 0]
    f = sympy.lambdify(q + v, [[M[i][j] for i, j in m_nz], [C[i][j] for i, j in c_nz],
                               [G[i] for i in g_nz]], modules="numpy", cse=True)

    def qddot(Q: np.ndarray, V: np.ndarray) -> np.ndarray:
        B = Q.shape[0]
        m, c, g = f(*Q.T, *V.T)
        Mm = np.zeros((B, n, n), Q.dtype)
        rhs = np.zeros((B, n), Q.dtype)
        for (i, j), x in zip(m_nz, m):
            Mm[:, i, j] = x
        for i, x in zip(g_nz, g):
            rhs[:, i] += x
        for (i, j), x in zip(c_nz, c):  # rhs -= C q̇, entry by entry
            rhs[:, i] -= x * V[:, j]
        return np.linalg.solve(Mm, rhs[..., None])[..., 0]

    return qddot, time.perf_counter() - t0


def naive_accelerations(L, Q, V):
    """BASELINE: the engine's ``rows="loop"`` mode (one reverse pass per row of M and C, n passes,
    no chunking) and an unchecked ``torch.linalg.solve``."""
    import torch

    from discover.mechanics import mass_and_force

    M, f = mass_and_force(L, Q, V, chunk_size=None, rows="loop")
    return torch.linalg.solve(M, f).detach()


def bench_case(system, batch, dtype, repeats, budget_s, rng, log):
    """Throughput of engine / replayed / naive / lambdified on one system at (up to) ``batch``
    samples."""
    import torch

    from discover.mechanics import accelerations
    from discover.replay import Replayed

    L = system.torch_lagrangian()
    sym, derive_s = sympy_equations(system)
    q0, v0 = system.sample_initial_states(batch, rng)

    def make(b):
        Q = torch.tensor(q0[:b], dtype=dtype)
        V = torch.tensor(v0[:b], dtype=dtype)
        Qn, Vn = Q.numpy(), V.numpy()
        rep = Replayed(L)
        return Q, V, {
            "engine": lambda: accelerations(L, Q, V),
            "replayed": lambda: rep(Q, V),
            "naive": lambda: naive_accelerations(L, Q, V),
            "lambdified": lambda: sym(Qn, Vn),
        }

    # grow the batch from 100 by 10× while the next size's slowest call is predicted (10× the
    # current, an overestimate: small batches carry fixed overhead) to stay within budget_s
    used = min(batch, 100)
    while used < batch:
        _, _, fns = make(used)
        slowest = max(time_interleaved(fns, 1).values())
        if slowest * min(10, batch / used) > budget_s:
            break
        used = min(batch, used * 10)
    Q, V, fns = make(used)
    t0 = time.perf_counter()
    fns["replayed"]()  # the first call records
    record_s = time.perf_counter() - t0
    sec = time_interleaved(fns, repeats)
    a_eng = accelerations(L, Q, V).double().numpy()
    a_rep = fns["replayed"]().double().numpy()
    a_nai = naive_accelerations(L, Q, V).double().numpy()
    a_sym = sym(Q.numpy(), V.numpy()).astype(np.float64)
    scale = float(np.abs(a_sym).max())
    row = {
        "system": system.name, "n_dof": system.n_dof, "batch": used, "batch_requested": batch,
        "dtype": str(dtype).replace("torch.", ""), "threads": torch.get_num_threads(),
        "sympy_derive_s": derive_s,
        "max_abs_dqddot_engine_vs_sympy": float(np.abs(a_eng - a_sym).max()),
        "max_abs_dqddot_replayed_vs_engine": float(np.abs(a_rep - a_eng).max()), "record_s": record_s,
        "max_abs_dqddot_naive_vs_sympy": float(np.abs(a_nai - a_sym).max()),
        "max_abs_qddot": scale,
    }
    for k, s in sec.items():
        row[f"{k}_s"] = s
        row[f"{k}_samples_per_s"] = used / s
    row["ratio_engine_over_lambdified"] = sec["lambdified"] / sec["engine"]
    row["ratio_naive_over_lambdified"] = sec["lambdified"] / sec["naive"]
    row["ratio_replayed_over_lambdified"] = sec["lambdified"] / sec["replayed"]
    log(f"  {system.name:16s} B={used:<6d} {row['dtype']}: engine {used / sec['engine']:.3g}/s  "
        f"replayed {used / sec['replayed']:.3g}/s  "
        f"naive {used / sec['naive']:.3g}/s  lambdified {used / sec['lambdified']:.3g}/s  "
        f"|Δq̈| {row['max_abs_dqddot_engine_vs_sympy']:.2g}")
    return row


def bench_compiled(batch, repeats, rng, log):
    """Double pendulum, float64: the recorded operations compiled by ``torch.compile`` (inductor:
    fused C++ loops) against the TorchScript replay, the engine and the lambdified equations.
    Build time measured; agreement with the engine to rounding (fusion reorders arithmetic)."""
    import torch

    from discover.mechanics import accelerations
    from discover.replay import Replayed
    from discover.systems import get_system

    system = get_system("double_pendulum")
    L = system.torch_lagrangian()
    sym, _ = sympy_equations(system)
    q0, v0 = system.sample_initial_states(batch, rng)
    Q, V = torch.tensor(q0), torch.tensor(v0)
    Qn, Vn = Q.numpy(), V.numpy()
    rep, comp = Replayed(L), Replayed(L, compile="inductor")
    t0 = time.perf_counter()
    try:
        a_comp = comp(Q, V)
        comp(Q, V)
    except Exception as exc:  # noqa: BLE001 - no C++ compiler, or inductor unavailable: reported
        log(f"  compiled: failed ({exc})")
        return {"batch": batch, "error": " ".join(str(exc).split())[:300]}
    build = time.perf_counter() - t0
    sec = time_interleaved({"engine": lambda: accelerations(L, Q, V), "replayed": lambda: rep(Q, V),
                            "compiled": lambda: comp(Q, V), "lambdified": lambda: sym(Qn, Vn)}, repeats)
    out = {"batch": batch, "dtype": "float64", "threads": torch.get_num_threads(), "build_s": build,
           "max_abs_dqddot_compiled_vs_engine": float((a_comp - accelerations(L, Q, V)).abs().max())}
    for k, v in sec.items():
        out[f"{k}_s"] = v
        out[f"{k}_samples_per_s"] = batch / v
        out[f"ratio_{k}_over_lambdified"] = sec["lambdified"] / v
    log(f"  compiled B={batch}: build {build:.0f} s, " + ", ".join(f"{k} {batch / v:.3g}/s" for k, v in sec.items()))
    return out


def bench_lnn(batch, repeats, log):
    import torch

    from discover.mechanics import accelerations
    from discover.neural import LagrangianNet

    torch.manual_seed(0)
    net = LagrangianNet(2, (128, 128), activation="softplus").float()
    for prm in net.parameters():
        prm.requires_grad_(False)  # inference timing: no graph to the weights
    g = torch.Generator().manual_seed(0)
    Q = torch.randn(batch, 2, generator=g)
    V = torch.randn(batch, 2, generator=g)
    sec = time_interleaved({"engine": lambda: accelerations(net, Q, V, check=False),
                            "naive": lambda: naive_accelerations(net, Q, V)}, repeats)
    diff = float((accelerations(net, Q, V, check=False) - naive_accelerations(net, Q, V)).abs().max())
    out = {"batch": batch, "dtype": "float32", "hidden": [128, 128], "activation": "softplus",
           "engine_samples_per_s": batch / sec["engine"], "naive_samples_per_s": batch / sec["naive"],
           "engine_s": sec["engine"], "naive_s": sec["naive"], "max_abs_dqddot_engine_vs_naive": diff}
    log(f"  LNN MLP B={batch}: engine {out['engine_samples_per_s']:.3g}/s naive {out['naive_samples_per_s']:.3g}/s")
    return out


# ----------------------------------------------------------------------------------------
# (b) convergence against exact solutions, (c) energy drift
# ----------------------------------------------------------------------------------------
METHODS = ("euler", "rk4", "variational")


def loglog_slope(dts, errs, floor=1e-12):
    x = [math.log(d) for d, e in zip(dts, errs) if np.isfinite(e) and floor < e < 1.0]
    y = [math.log(e) for d, e in zip(dts, errs) if np.isfinite(e) and floor < e < 1.0]
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def convergence_study(dts, horizon, n_states, rng, log):
    import torch

    from discover.integrate import rollout
    from discover.systems import get_system

    cases = []
    osc = get_system("harmonic_1d")
    cases.append(("harmonic oscillator", osc, *osc.sample_initial_states(n_states, rng), osc.exact_solution))
    mag = get_system("magnetic_2d")
    cases.append(("Larmor circle (magnetic_2d)", mag, *mag.sample_initial_states(n_states, rng), mag.exact_solution))
    pen = get_system("pendulum")
    th0 = rng.uniform(-0.1, 0.1, (n_states, 1))
    cases.append(("pendulum, |θ₀| ≤ 0.1 (exact elliptic solution)", pen, th0, np.zeros_like(th0), pen.exact_solution))
    # how far the small-angle (linear) formula itself is from the exact motion, over the horizon
    tt = np.linspace(0, horizon, 200)
    small_gap = float(np.abs(pen.small_angle_solution(th0, np.zeros_like(th0), tt)[0]
                             - pen.exact_solution(th0, np.zeros_like(th0), tt)[0]).max())
    rows = []
    for label, system, q0, v0, exact in cases:
        for method in METHODS:
            errs, walls = [], []
            for dt in dts:
                steps = int(round(horizon / dt))
                t = np.arange(steps + 1) * dt
                t0 = time.perf_counter()
                out = rollout(system, torch.tensor(q0), torch.tensor(v0), torch.tensor(t),
                              method=method, compute_energy=False)
                walls.append(time.perf_counter() - t0)
                qe, _ = exact(q0, v0, t)
                errs.append(float(np.abs(out.q.numpy() - qe).max()))
            slope = loglog_slope(dts, errs)
            rows.append({"system": label, "method": method, "dt": list(dts), "max_abs_q_error": errs,
                         "order": slope, "wall_s": walls})
            log(f"  {label[:28]:28s} {method:11s} order {slope:.2f}  errors {['%.2g' % e for e in errs]}")
    return rows, small_gap


def energy_study(dt, steps, n_states, rng, log):
    import torch

    from discover.integrate import rollout
    from discover.systems import get_system

    out = []
    for name in ("pendulum", "double_pendulum"):
        system = get_system(name)
        p = system.params
        scale = (2 * p["m"] * p["g"] * p["l"] if name == "pendulum"
                 else 2 * p["g"] * ((p["m1"] + p["m2"]) * p["l1"] + p["m2"] * p["l2"]))
        q0, v0 = system.sample_initial_states(n_states, rng)
        sym, _ = sympy_equations(system)

        def acc(q, v, t, sym=sym):  # hand-derived q̈ for the explicit methods (integrator study)
            return torch.from_numpy(sym(q.numpy(), v.numpy()))

        t = torch.arange(steps + 1, dtype=torch.float64) * dt
        for method in METHODS:
            t0 = time.perf_counter()
            with np.errstate(all="ignore"):
                r = rollout(system, torch.tensor(q0), torch.tensor(v0), t, method=method,
                            acceleration=None if method == "variational" else acc)
            wall = time.perf_counter() - t0
            E = r.energy.numpy()
            rel = np.abs(E - E[0]) / scale  # (T, B)
            rel = np.where(np.isfinite(rel), rel, np.inf)
            med = np.median(rel, axis=1)
            k = max(1, steps // 10)
            out.append({"system": name, "method": method, "dt": dt, "steps": steps, "n_states": n_states,
                        "energy_scale": scale, "max_rel_energy_error": float(rel.max()),
                        "median_rel_energy_error_first_10pct": float(np.median(rel[1:k + 1])),
                        "median_rel_energy_error_last_10pct": float(np.median(rel[-k:])),
                        "wall_s": wall, "curve_t": t.numpy()[:: max(1, steps // 500)].tolist(),
                        "curve_median": med[:: max(1, steps // 500)].tolist()})
            log(f"  {name:16s} {method:11s} max |ΔE|/scale {rel.max():.3g}  ({wall:.1f} s)")
    return out


def rollout_timing(steps, batches, rng, log):
    """End-to-end RK4 wall time, double pendulum: q̈ from the engine vs from the lambdified EOM."""
    import torch

    from discover.integrate import rollout
    from discover.systems import get_system

    system = get_system("double_pendulum")
    sym, _ = sympy_equations(system)
    rows = []
    for B in batches:
        q0, v0 = system.sample_initial_states(B, rng)
        t = torch.arange(steps + 1, dtype=torch.float64) * 0.01
        Q, V = torch.tensor(q0), torch.tensor(v0)
        accel = {"engine": None,
                 "lambdified": lambda q, v, tt: torch.from_numpy(sym(q.numpy(), v.numpy()))}
        sec, qs = {}, {}
        for k, a in accel.items():
            rollout(system, Q, V, t[:3], method="rk4", compute_energy=False, acceleration=a)  # warm-up
            t0 = time.perf_counter()
            qs[k] = rollout(system, Q, V, t, method="rk4", compute_energy=False, acceleration=a).q.numpy()
            sec[k] = time.perf_counter() - t0
        rows.append({"batch": B, "steps": steps, "engine_s": sec["engine"], "lambdified_s": sec["lambdified"],
                     "ratio_engine_over_lambdified": sec["lambdified"] / sec["engine"],
                     "max_abs_q_diff": float(np.abs(qs["engine"] - qs["lambdified"]).max())})
        log(f"  RK4 {steps} steps B={B}: engine {sec['engine']:.2f} s, lambdified {sec['lambdified']:.2f} s")
    return rows


