#!/usr/bin/env python
"""Trust study: what the DEFAULT path of pipelines/discover.py returns on noisy data it was never
tuned on, scored against the known truth.

    python pipelines/trust_study.py --out results/trust [--force] [--cases duffing,pendulum] [--seeds 1]

Each case is a system with a closed-form Lagrangian (a SymPy string), simulated here (SymPy-derived
equations of motion, scipy DOP853 at rtol 1e-10), positions only with Gaussian noise, written to a
temporary CSV (columns traj,t,<coords>) and given to the CLI's ``main([...])`` in this process with
default options only (``--out``, ``--force``, ``--quiet``, ``--seed``); the double pendulum runs the
same CLI in a subprocess under ``--timeout`` seconds.  Whatever the defaults are when this runs is
what gets measured.

Scores (held out: 4 NEW clean trajectories of the true system from a different seed, never given
to the tool):

* q̈ error: ‖q̈_model − q̈_true‖ / ‖q̈_true‖ over all held-out samples (clean states, nothing
  trimmed); q̈_true from ``discover.accelerations`` on the SymPy truth (+ its friction);
* support exact: the found L's SymPy monomials (trig expanded, so cos(θ−θ₀) is a cos θ + sin θ
  pair) equal the truth's after both are divided by the coefficient of the first kinetic term
  (constants and total derivatives g(q_i) q̇_i dropped; q_j q̇_i (i<j) written −q_i q̇_j, which
  differs by d(q_i q_j)/dt);
* max coef error: max relative error of those normalized coefficients (exact supports only);
* friction: the "dissipation" coefficient of lagrangian.json in the truth's units (c × M_true/M_found)
  vs the true one;
* ω² (video pendulum): −∂q̈/∂θ at the model's equilibrium (central difference, h = 0.01 rad).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])
_HERE = Path(__file__).resolve().parent

import numpy as np
import sympy

from discover.evaluation import compare, format_monomials, small_angle, stderr_z  # noqa: E402

CLI = _HERE / "discover.py"
SEEDS = [101, 202, 303, 404, 505, 606, 707, 808, 909]
HELD_OUT_OFFSET = 5000  # held-out trajectories use seed + this
N_HELD_OUT = 4
G = 9.81


# ----------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    coords: list[str]
    L: str                      # true Lagrangian, SymPy
    friction: float             # force −c q̇ on every coordinate
    n_traj: int
    duration: float
    dt: float
    initial: callable           # (rng, n) -> (q0 (n, d), v0 (n, d))
    noise_rel: float = 0.0      # σ = noise_rel × std of each coordinate over the file
    noise_abs: float = 0.0      # absolute σ
    held_duration: float | None = None
    held_initial: callable | None = None
    subprocess: bool = False    # run the CLI in a subprocess with a timeout
    omega2: float | None = None  # report the model's small-angle ω² against this
    note: str = ""
    held_note: str = "held out: same initial-state distribution, seed + 5000"

    @property
    def noise_text(self) -> str:
        return f"{self.noise_rel:.0%} of std" if self.noise_rel else f"σ = {self.noise_abs:g} abs"


def _random_phase_1d(V, amp_lo, amp_hi, offset=0.0):
    """Initial states of a 1-DOF conservative system with amplitude A ~ U[lo, hi] about
    ``offset`` and a random phase: q0 = offset + A u, v0 = ±√(2 (V(A) − V(A u)))."""
    def sample(rng, n):
        A = rng.uniform(amp_lo, amp_hi, n)
        u = rng.uniform(-1, 1, n)
        v = np.sqrt(np.maximum(2 * (V(A) - V(A * u)), 0)) * rng.choice([-1.0, 1.0], n)
        return (offset + A * u)[:, None], v[:, None]
    return sample


def _uniform_2d(rng, n):
    return rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))


def _double_initial(rng, n):
    return rng.uniform(-1, 1, (n, 2)), np.zeros((n, 2))


def _spherical_initial(rng, n):
    """Tilted conical orbits: θ₀ ∈ [0.4, 1.2] rad, φ̇₀ 0.5–1.5 × the conical rate, either sense."""
    th = rng.uniform(0.4, 1.2, n)
    phid = np.sqrt(G / np.cos(th)) * rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
    return np.stack([th, rng.uniform(-np.pi, np.pi, n)], -1), np.stack([rng.uniform(-1, 1, n), phid], -1)


THETA0, OMEGA2 = 0.02, 39.5


def _video_initial(rng, n):  # the one recorded trajectory: released from θ₀ + 0.3 rad at rest
    return np.full((n, 1), THETA0 + 0.3), np.zeros((n, 1))


duffing_V = lambda x: 0.5 * x ** 2 + 0.25 * x ** 4
pendulum_V = lambda th: -G * np.cos(th)
video_V = lambda u: -OMEGA2 * np.cos(u)

CASES = {
    "duffing": Case("duffing", ["x"], "x_dot**2/2 - x**2/2 - x**4/4", 0.0, 12, 8.0, 0.02,
                    _random_phase_1d(duffing_V, 0.5, 1.5), noise_rel=0.02),
    "pendulum": Case("pendulum", ["theta"], f"theta_dot**2/2 + {G}*cos(theta)", 0.0, 14, 6.0, 0.01,
                     _random_phase_1d(pendulum_V, 0.3, 2.6), noise_rel=0.05),
    "magnetic3": Case("magnetic3", ["x", "y"], "(x_dot**2 + y_dot**2)/2 + (x*y_dot - y*x_dot)/2 - (x**2 + y**2)/2",
                      0.0, 12, 8.0, 0.02, _uniform_2d, noise_rel=0.03),
    "magnetic1": Case("magnetic1", ["x", "y"], "(x_dot**2 + y_dot**2)/2 + (x*y_dot - y*x_dot)/2 - (x**2 + y**2)/2",
                      0.0, 12, 8.0, 0.02, _uniform_2d, noise_rel=0.01),
    "damped": Case("damped", ["theta"], f"theta_dot**2/2 + {G}*cos(theta)", 0.2, 8, 10.0, 0.01,
                   _random_phase_1d(pendulum_V, 0.5, 2.0), noise_rel=0.02),
    "video": Case("video", ["theta"], f"theta_dot**2/2 + {OMEGA2}*cos(theta - {THETA0})", 0.05, 1, 140.0, 1 / 30,
                  _video_initial, noise_abs=0.003, held_initial=_random_phase_1d(video_V, 0.1, 0.3, THETA0),
                  omega2=OMEGA2, note="1 trajectory, 30 fps",
                  held_note="held out: 4 × 140 s at 30 fps, amplitudes U[0.1, 0.3] rad about θ₀, random phase"),
    "double": Case("double", ["theta1", "theta2"],
                   f"theta1_dot**2 + theta1_dot*theta2_dot*cos(theta1 - theta2) + theta2_dot**2/2"
                   f" + {2 * G}*cos(theta1) + {G}*cos(theta2)", 0.0, 40, 5.0, 0.01, _double_initial,
                   noise_abs=0.02, subprocess=True),
    "spherical": Case("spherical", ["theta", "phi"], f"(theta_dot**2 + sin(theta)**2*phi_dot**2)/2 + {G}*cos(theta)",
                      0.0, 8, 6.0, 0.01, _spherical_initial, noise_abs=0.01, note="σ = 0.01 rad on both angles"),
    # the project's usual noise model (σ = 2 % of each coordinate's std) on a winding angle: φ turns
    # through ~70 rad, so its σ is ≈ 0.3 rad (17°) — kept to show what the default says then
    "spherical_rel": Case("spherical_rel", ["theta", "phi"],
                          f"(theta_dot**2 + sin(theta)**2*phi_dot**2)/2 + {G}*cos(theta)",
                          0.0, 8, 6.0, 0.01, _spherical_initial, noise_rel=0.02,
                          note="2 % of std: ≈ 0.3 rad on the winding φ"),
}
ALIASES = {"magnetic": ["magnetic3", "magnetic1"]}
ORDER = list(CASES)


# ----------------------------------------------------------------------------------------
# truth: equations of motion and simulation
# ----------------------------------------------------------------------------------------
def _symbols(coords):
    return [sympy.Symbol(c) for c in coords], [sympy.Symbol(c + "_dot") for c in coords]


def truth_expr(case: Case) -> sympy.Expr:
    qs, vs = _symbols(case.coords)
    return sympy.sympify(case.L, locals={s.name: s for s in qs + vs})


def numpy_acceleration(case: Case):
    """q̈(q, v) of the truth (with friction) from SymPy: M q̈ = ∂L/∂q − (∂²L/∂q̇∂q) q̇ − c q̇."""
    qs, vs = _symbols(case.coords)
    L = truth_expr(case)
    p = sympy.Matrix([sympy.diff(L, v) for v in vs])
    M = p.jacobian(vs)
    rhs = sympy.Matrix([sympy.diff(L, q) for q in qs]) - p.jacobian(qs) * sympy.Matrix(vs) \
        - case.friction * sympy.Matrix(vs)
    acc = sympy.simplify(M.LUsolve(rhs))
    f = sympy.lambdify(qs + vs, list(acc), "numpy")
    n = len(qs)
    return lambda q, v: np.array([np.broadcast_to(a, np.shape(q)[:-1]) for a in
                                  f(*np.moveaxis(q, -1, 0), *np.moveaxis(v, -1, 0))]).T.reshape(np.shape(q)[:-1] + (n,))


def simulate(case: Case, q0, v0, t):
    """Clean positions and velocities (T, B, n) from DOP853."""
    from scipy.integrate import solve_ivp

    acc = numpy_acceleration(case)
    B, n = q0.shape

    def rhs(_, y):  # all trajectories at once: y = (q (B, n), v (B, n)) flattened
        q, v = y[: B * n].reshape(B, n), y[B * n:].reshape(B, n)
        return np.concatenate([v.ravel(), acc(q, v).ravel()])

    sol = solve_ivp(rhs, (t[0], t[-1]), np.concatenate([q0.ravel(), v0.ravel()]), method="DOP853",
                    t_eval=t, rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"{case.name}: integration failed: {sol.message}")
    y = sol.y.T  # (T, 2 B n)
    return y[:, : B * n].reshape(-1, B, n), y[:, B * n:].reshape(-1, B, n)


def true_acceleration(case: Case, q, v):
    """q̈ of the truth through the package's one Euler–Lagrange implementation."""
    import torch

    from discover import accelerations
    from discover.dissipation import rayleigh

    R = rayleigh([case.friction] * len(case.coords)) if case.friction else None
    out = accelerations(truth_expr(case), torch.as_tensor(q), torch.as_tensor(v),
                        coordinates=case.coords, dissipation=R)
    return out.detach().numpy()


def make_data(case: Case, seed: int, path: Path) -> dict:
    rng = np.random.default_rng(seed)
    q0, v0 = case.initial(rng, case.n_traj)
    n_steps = int(round(case.duration / case.dt))
    t = np.arange(n_steps + 1) * case.dt
    q, _ = simulate(case, q0, v0, t)
    sigma = np.hypot(case.noise_abs, case.noise_rel * q.reshape(-1, q.shape[-1]).std(0))
    qn = q + rng.normal(size=q.shape) * sigma
    T, B, n = q.shape
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["traj", "t"] + case.coords)
        for b in range(B):
            for k in range(T):
                w.writerow([b, f"{t[k]:.10g}"] + [f"{x:.10g}" for x in qn[k, b]])
    return {"samples": T * B, "sigma": sigma.tolist()}


def held_out(case: Case, seed: int):
    """N_HELD_OUT clean trajectories: states (S, n), velocities, true q̈ (package and SymPy)."""
    rng = np.random.default_rng(seed + HELD_OUT_OFFSET)
    sampler = case.held_initial or case.initial
    q0, v0 = sampler(rng, N_HELD_OUT)
    dur = case.held_duration or case.duration
    t = np.arange(int(round(dur / case.dt)) + 1) * case.dt
    q, v = simulate(case, q0, v0, t)
    q, v = q.reshape(-1, q.shape[-1]), v.reshape(-1, v.shape[-1])
    a = true_acceleration(case, q, v)
    a_sym = numpy_acceleration(case)(q, v)
    check = float(np.linalg.norm(a - a_sym) / np.linalg.norm(a))
    if not check < 1e-8:
        raise RuntimeError(f"{case.name}: package and SymPy truths disagree ({check:.2e})")
    return q, v, a


# ----------------------------------------------------------------------------------------
# running the CLI
# ----------------------------------------------------------------------------------------
_cli_module = None


def cli():
    global _cli_module
    if _cli_module is None:
        spec = importlib.util.spec_from_file_location("discover_cli_trust", CLI)
        _cli_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_cli_module)
    return _cli_module


def run_cli(argv, *, in_process: bool, timeout: float):
    """(exit code or "timeout", last stderr line, seconds)."""
    t0 = time.time()
    if in_process:
        err = io.StringIO()
        code = 0
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = cli().main(list(argv))
                code = 0 if rc is None else int(rc)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if not isinstance(exc.code, int) and exc.code is not None:
                    print(exc.code, file=err)
            except Exception as exc:  # a crash of the tool is a result, not a crash of the study
                code = f"exception {type(exc).__name__}"
                print(f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=err)
        lines = [l for l in err.getvalue().splitlines() if l.strip()]
        return code, (lines[-1] if lines else ""), time.time() - t0
    proc = subprocess.Popen([sys.executable, str(CLI)] + list(argv), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group of the process started just above
        proc.communicate()
        return "timeout", f"no result within {timeout:g} s", time.time() - t0
    lines = [l for l in (err or "").splitlines() if l.strip()]
    return code, (lines[-1] if lines else ""), time.time() - t0


def _short(text: str, n=110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_case(case: Case, seed: int, work: Path, runs_dir: Path, timeout: float) -> dict:
    import discover

    row = {"case": case.name, "seed": seed, "coords": ",".join(case.coords), "noise": case.noise_text,
           "n_traj": case.n_traj, "duration": case.duration, "dt": round(case.dt, 6),
           "true_L": case.L, "true_friction": case.friction}
    data = work / f"{case.name}_s{seed}.csv"
    info = make_data(case, seed, data)
    row["samples"] = info["samples"]
    out = work / f"{case.name}_s{seed}_out"
    argv = [str(data), "--out", str(out), "--force", "--quiet", "--seed", str(seed)]
    row["cli_args"] = "--out DIR --force --quiet --seed " + str(seed)
    code, last, secs = run_cli(argv, in_process=not case.subprocess, timeout=timeout)
    row.update(exit=code, wall_s=round(secs, 1), stderr=_short(last, 300))
    res = out / "lagrangian.json"
    if code != 0 or not res.exists():
        row["model"] = "timeout" if code == "timeout" else "failed"
        return row
    d = json.loads(res.read_text())
    keep = runs_dir / f"{case.name}_s{seed}"
    keep.mkdir(parents=True, exist_ok=True)
    for f in ("lagrangian.json", "report.md"):
        if (out / f).exists():
            shutil.copy(out / f, keep / f)
    row["model"] = d.get("model", "?")
    row["found_L"] = d.get("lagrangian") or ""
    row["warnings"] = " | ".join(_short(w, 140) for w in d.get("warnings", []))
    row["n_warnings"] = len(d.get("warnings", []))
    row["tool_validation_error"] = (d.get("metrics") or {}).get("validation_weak_acceleration_error")
    # held-out q̈ error
    qh, vh, ah = held_out(case, seed)
    row["held_out_samples"] = len(qh)
    try:
        model = discover.load(out)
        pred = np.asarray(model.acceleration(qh, vh), float)
        row["qddot_rel_error"] = float(np.linalg.norm(pred - ah) / np.linalg.norm(ah))
    except Exception as exc:
        model = None
        row["qddot_rel_error"] = math.nan
        row["score_error"] = _short(f"{type(exc).__name__}: {exc}", 200)
    # support, coefficients, friction
    truth = truth_expr(case)
    kin_ratio = None
    if row["model"] == "sparse":
        qs, vs = _symbols(case.coords)
        loc = {s.name: s for s in qs + vs}
        found = sympy.Add(*[float(t["coefficient"]) * sympy.sympify(t["term"], locals=loc) for t in d["terms"]])
        exact, err, kin_ratio, fn, tn = compare(found, truth, case.coords)
        row.update(support_exact=exact, max_coef_rel_error=err, found_normalized=format_monomials(fn),
                   truth_normalized=format_monomials(tn), n_terms=len(d["terms"]))
        z = stderr_z(d["terms"], truth, case.coords) if exact else []
        if z:
            row.update(stderr_within_2=sum(abs(x) <= 2 for x in z), stderr_n=len(z),
                       stderr_max_abs_z=float(max(abs(x) for x in z)))
    diss = (d.get("dissipation") or {}).get("coefficients")
    if diss:
        c = np.array([float(diss.get(k, 0.0)) for k in case.coords])
        # the coefficients carry the found L's normalization: back to the truth's mass scale
        row["friction_found"] = ",".join(f"{x:.4g}" for x in (c / kin_ratio if kin_ratio else c))
    else:
        row["friction_found"] = "none"
    if case.omega2 is not None and model is not None:
        row.update(small_angle(model))
    return row


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------
FIELDS = ["case", "seed", "coords", "noise", "n_traj", "duration", "dt", "samples", "cli_args", "exit", "model",
          "wall_s", "qddot_rel_error", "held_out_samples", "support_exact", "max_coef_rel_error", "n_terms",
          "friction_found", "true_friction", "omega2", "theta_eq", "tool_validation_error", "true_L", "found_L",
          "found_normalized", "truth_normalized", "n_warnings", "warnings", "stderr", "score_error",
          "stderr_within_2", "stderr_n", "stderr_max_abs_z"]


def _num(x, fmt=".3g"):
    if x is None or x == "":
        return "—"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "—" if not math.isfinite(x) else format(x, fmt)


def _coverage(r) -> str:
    n = r.get("stderr_n")
    if n in (None, "", 0):
        return "—"
    return f"{int(r['stderr_within_2'])}/{int(n)} (max |z| {float(r['stderr_max_abs_z']):.2g})"


def write_report(path: Path, rows, command: str, seconds: float, timeout: float, code: str = ""):
    lines = ["# Trust study: the default `pipelines/discover.py` on noisy data it was never tuned on", "",
             f"Command: `{command}`", "", f"Code measured: {code}", "",
             f"Total runtime: {seconds:.0f} s (2 CPU cores). Each case: positions only, Gaussian noise, the CLI "
             "called with default options (`DATA.csv --out DIR --force --quiet --seed S`); the double pendulum in a "
             f"subprocess limited to {timeout:g} s. q̈ error: on {N_HELD_OUT} new clean trajectories of the true "
             "system (seed + 5000), never given to the tool. Support/coefficients: SymPy monomials (trig expanded) "
             "divided by the first kinetic term's coefficient; friction in the truth's units.", "",
             "| case | seed | noise | model | exit | q̈ err (held-out) | support exact | max coef err | within ±2 stderr | friction found / true | ω² (true 39.5) | wall [s] | warnings |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sup = r.get("support_exact")
        sup = "—" if sup is None or sup == "" else ("yes" if sup else "NO")
        om = _num(r.get("omega2"), ".4g") if r["case"] == "video" else ""
        if r["case"] == "video" and r.get("theta_eq") not in (None, ""):
            om += f" (θ_eq {_num(r.get('theta_eq'), '.3g')})"
        fr = f"{r.get('friction_found', '—')} / {r['true_friction']:g}"
        warn = r.get("warnings") or ("" if r.get("exit") == 0 else r.get("stderr", ""))
        lines.append(f"| {r['case']} | {r['seed']} | {r['noise']} | {r.get('model', '?')} | {r.get('exit')} | "
                     f"{_num(r.get('qddot_rel_error'))} | {sup} | {_num(r.get('max_coef_rel_error'))} | "
                     f"{_coverage(r)} | {fr} | "
                     f"{om} | {r.get('wall_s', '—')} | {_short(warn, 160).replace('|', '/')} |")
    lines += ["", "Found Lagrangians (monomials divided by the coefficient of the first kinetic term, which becomes 1):", ""]
    for r in rows:
        if r.get("found_normalized"):
            lines.append(f"- {r['case']} (seed {r['seed']}): `{r['found_normalized']}`; truth `{r['truth_normalized']}`")
        elif r.get("model") == "mlp":
            lines.append(f"- {r['case']} (seed {r['seed']}): MLP (no closed form)")
        else:
            lines.append(f"- {r['case']} (seed {r['seed']}): no result ({_short(r.get('stderr', ''), 200)})")
    lines += ["", "Cases:", ""]
    for c in CASES.values():
        lines.append(f"- {c.name}: L = `{c.L}`" + (f", friction −{c.friction:g} q̇" if c.friction else "")
                     + f"; {c.n_traj} × {c.duration:g} s, dt {c.dt:.4g}, noise {c.noise_text}"
                     + (f" ({c.note})" if c.note else "") + f"; {c.held_note}")
    path.write_text("\n".join(lines) + "\n")


def code_state() -> str:
    """The measured code: git HEAD (read only) and a hash of discover/**/*.py + pipelines/discover.py."""
    import hashlib

    root = _HERE.parent
    h = hashlib.sha256()
    for f in sorted((root / "discover").rglob("*.py")) + [CLI]:
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "discover", str(CLI)], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
        dirty = [l[3:] for l in dirty if l.strip()]
    except (OSError, subprocess.SubprocessError):
        head, dirty = "?", []
    return f"git {head}" + (f" + uncommitted {', '.join(dirty)}" if dirty else "") + f"; code hash {h.hexdigest()[:12]}"


def _preload():
    """Import the CLI and every package module now, so the in-process cases all measure one
    snapshot of the code even while it is being edited."""
    import pkgutil

    import discover

    cli()
    for m in pkgutil.walk_packages(discover.__path__, "discover."):
        with contextlib.suppress(Exception):
            importlib.import_module(m.name)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="results folder (must not exist unless --force)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--cases", default=",".join(ORDER),
                   help=f"comma-separated subset of {', '.join(ORDER)} (magnetic = magnetic3,magnetic1)")
    p.add_argument("--seeds", type=int, default=1, help=f"seeds per case, taken from {SEEDS[:3]}… (1)")
    p.add_argument("--timeout", type=float, default=600.0, help="limit for the subprocess cases (600 s)")
    p.add_argument("--n-traj", type=int, default=None,
                   help="override every selected case's number of trajectories (data size scaling)")
    p.add_argument("--sigma", type=float, default=None,
                   help="override every selected case's noise by an absolute σ on each coordinate")
    return p, p.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, args = parse_args(argv)
    cases = []
    for name in [s.strip() for s in args.cases.split(",") if s.strip()]:
        for n in ALIASES.get(name, [name]):
            if n not in CASES:
                parser.error(f"unknown case {n!r}; choose from {', '.join(ORDER)} or magnetic")
            if n not in cases:
                cases.append(n)
    if not 1 <= args.seeds <= len(SEEDS):
        parser.error(f"--seeds must be 1..{len(SEEDS)}")
    out = Path(args.out)
    if out.exists() and not args.force:
        parser.error(f"{out} exists; pass --force to overwrite it")
    import torch

    from discover.reports import atomic_results_dir

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    command = "python pipelines/trust_study.py " + " ".join(shlex.quote(a) for a in argv)
    t0 = time.time()
    code_before = code_state()
    _preload()
    rows = []
    with atomic_results_dir(out) as tmp, tempfile.TemporaryDirectory(prefix="trust-") as work:
        for name in cases:
            for seed in SEEDS[: args.seeds]:
                c0 = time.time()
                try:
                    case = CASES[name] if args.n_traj is None else replace(CASES[name], n_traj=args.n_traj)
                    if args.sigma is not None:
                        case = replace(case, noise_abs=args.sigma, noise_rel=0.0)
                    row = run_case(case, seed, Path(work), tmp / "runs", args.timeout)
                except Exception as exc:  # a bug in the scoring: keep the other cases
                    row = {"case": name, "seed": seed, "noise": CASES[name].noise_text, "model": "study error",
                           "true_friction": CASES[name].friction, "stderr": _short(f"{type(exc).__name__}: {exc}", 300)}
                print(f"{name:10s} seed {seed}: model={row.get('model')} exit={row.get('exit')} "
                      f"q̈ err={_num(row.get('qddot_rel_error'))} exact={row.get('support_exact', '—')} "
                      f"coef err={_num(row.get('max_coef_rel_error'))} friction={row.get('friction_found', '—')} "
                      f"ω²={_num(row.get('omega2'), '.4g')} tool {row.get('wall_s', '—')} s, case {time.time() - c0:.0f} s"
                      + (f"  [{row.get('stderr')}]" if row.get("exit") not in (0, None) or row.get("model") == "study error" else ""),
                      flush=True)
                rows.append(row)
                with open(tmp / "trust.csv", "w", newline="") as fh:  # kept up to date case by case
                    w = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
                    w.writeheader()
                    w.writerows(rows)
        code_after = code_state()
        code = code_before if code_after == code_before else \
            f"CHANGED DURING THE RUN: at start {code_before}; at end {code_after}"
        write_report(tmp / "trust.md", rows, command, time.time() - t0, args.timeout, code)
    print(f"results: {out}/trust.md ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
