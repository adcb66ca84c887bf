#!/usr/bin/env python
"""The MultiArm authors' identified model against the Lagrangian found by ``pipelines/discover.py``.

    python pipelines/multiarm_compare.py ../shared/data/multiarm_pendulum/ParameterEstimation/DoublePendulum \\
        results/multiarm_double_pendulum --data data/multiarm_double_pendulum/angles.csv \\
        --out results/multiarm_compare/double.md [--force]

AUTHORS is the folder with ``EstimatedParameters_*.mat`` (and ``*DataForParameterEstimation.mat``,
read only to count the authors' own validation pieces, which ``multiarm_to_csv.py`` writes last).
RESULTS is a ``discover.py`` results folder (its ``lagrangian.json``), ``--data`` the CSV it was
fitted on.  Writes OUT (markdown) and OUT with ``.json``.

The authors' model, written here from the physics of their ``*SymbolicCalculation.m``: n rigid
arms on a fixed pivot, absolute angles θᵢ (each measured from the same vertical, as in the CSV),
arm i with mass mᵢ, centre of mass at aᵢ from its joint, inertia Iᵢ about its centre of mass,
joint-to-joint length Lᵢ; centre of mass i at xᵢ = Σ_{j<i} L_j sin θ_j + aᵢ sin θᵢ,
yᵢ = Σ_{j<i} L_j cos θ_j + aᵢ cos θᵢ (height above the pivot: θ = 0 is upright, the hanging
rest is θ = π as in the recordings; their ODE files, which the identification integrated, use
this sign, while the double arm's symbolic file writes y with the opposite sign, which would make
θ = π the top; the sign is checked against the data below).  L = Σ ½ mᵢ |ṙᵢ|² + ½ Iᵢ θ̇ᵢ² − g Σ mᵢ yᵢ,
viscous joint friction R = ½ k₁ θ̇₁² + Σ_{i≥2} ½ kᵢ (θ̇ᵢ − θ̇ᵢ₋₁)² (relative joint rates).  The
parameter vector's order is that of the authors' objective functions (source repository,
``ObjectiveFuntion_*ParameterEstimation.m``): single [a₁ m₁ I₁ k₁ g], otherwise
[m₁…mₙ a₁…aₙ L₁…Lₙ₋₁ I₁…Iₙ k₁…kₙ g].

Both models are compared in the fit's normalization (data mean of ∂²L/∂θ̇₁² = 1,
:func:`discover.symbolic.normalize_blocks`): coefficients modulo gauge
(:func:`discover.evaluation.compare_to_truth`), small-oscillation frequencies about the hanging
equilibrium (eigenvalues of M⁻¹K), the energy friction takes out along the data, and held-out
q̈ errors and rollouts on the same prepared pieces as the fit (:func:`discover.prepare.prepare`,
same seed and fraction), on the authors' own validation pieces and on all pieces.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from pathlib import Path

# pipelines/ would shadow the installed discover package: run again in safe-path mode (-P)
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

import numpy as np  # noqa: E402
import sympy  # noqa: E402

#: rollout position error reported over this many seconds from the rollout's start
ROLL_SECONDS = 0.5


# ----------------------------------------------------------------------------------------
# the authors' model from the physics
# ----------------------------------------------------------------------------------------
def parameter_names(n: int) -> list[str]:
    """Names of the authors' parameter vector for n arms (their objective functions' order)."""
    if n == 1:
        return ["a1", "m1", "I1", "k1", "g"]
    r = range(1, n + 1)
    return ([f"m{i}" for i in r] + [f"a{i}" for i in r] + [f"L{i}" for i in range(1, n)]
            + [f"I{i}" for i in r] + [f"k{i}" for i in r] + ["g"])


def read_parameters(folder: Path) -> tuple[int, dict[str, float]]:
    from scipy.io import loadmat

    files = sorted(folder.glob("EstimatedParameters_*.mat"))
    if not files:
        raise ValueError(f"{folder}: no EstimatedParameters_*.mat")
    v = np.asarray(loadmat(files[0])["EstimatedParameters"], float).ravel()
    if len(v) % 5:
        raise ValueError(f"{files[0]}: {len(v)} parameters, not 5 per arm")
    n = len(v) // 5
    return n, dict(zip(parameter_names(n), map(float, v)))


def authors_validation_count(folder: Path) -> int:
    """How many of the authors' pieces were their validation set (``Y_vad``; written last)."""
    from scipy.io import loadmat

    files = sorted(folder.glob("*DataForParameterEstimation.mat"))
    return int(loadmat(files[0])["Y_vad"].shape[0]) if files else 0


def symbols(n: int):
    q = sympy.symbols(" ".join(f"theta{i}" for i in range(1, n + 1)), seq=True)
    v = sympy.symbols(" ".join(f"theta{i}_dot" for i in range(1, n + 1)), seq=True)
    return list(q), list(v)


def authors_model(n: int, p: dict[str, float], *, upright_zero: bool = True) -> tuple[sympy.Expr, sympy.Expr]:
    """(L, R) in SI units, SymPy, coordinates theta1…thetan (absolute angles).

    Built from the centres of mass (positions → velocities by the chain rule) and then put in the
    cos(θᵢ − θⱼ) form; the two are checked to agree symbolically.  ``upright_zero=False`` flips
    the height (θ = 0 hanging), the other reading of the authors' files, for the sign check."""
    q, v = symbols(n)
    m = [p[f"m{i}"] for i in range(1, n + 1)]
    a = [p[f"a{i}"] for i in range(1, n + 1)]
    Ls = [p[f"L{i}"] for i in range(1, n)]
    I = [p[f"I{i}"] for i in range(1, n + 1)]  # noqa: E741
    k = [p[f"k{i}"] for i in range(1, n + 1)]
    g = p["g"]
    sign = 1 if upright_zero else -1
    T_raw, V = sympy.S.Zero, sympy.S.Zero
    lever = lambda i, j: Ls[j] if j < i else (a[i] if j == i else 0.0)  # noqa: E731
    for i in range(n):
        x = sum(lever(i, j) * sympy.sin(q[j]) for j in range(i + 1))
        y = sign * sum(lever(i, j) * sympy.cos(q[j]) for j in range(i + 1))
        xd = sum(sympy.diff(x, q[j]) * v[j] for j in range(n))
        yd = sum(sympy.diff(y, q[j]) * v[j] for j in range(n))
        T_raw += sympy.Rational(1, 2) * m[i] * (xd**2 + yd**2) + sympy.Rational(1, 2) * I[i] * v[i] ** 2
        V += m[i] * g * y
    # the same kinetic energy, collected: ṙᵢ·ṙᵢ = Σ_jk l_ij l_ik θ̇_j θ̇_k cos(θ_j − θ_k)
    T = sympy.S.Zero
    for j in range(n):
        for kk in range(j, n):
            c = sum(m[i] * lever(i, j) * lever(i, kk) for i in range(n))
            if j == kk:
                T += sympy.Float(0.5 * (c + I[j])) * v[j] ** 2
            else:
                T += sympy.Float(c) * v[j] * v[kk] * sympy.cos(q[j] - q[kk])
    check = sympy.simplify(sympy.expand_trig(sympy.expand(T_raw - T)))
    if check != 0 and not all(abs(float(t.as_coeff_Mul()[0])) < 1e-12 for t in sympy.Add.make_args(sympy.expand(check))):
        raise AssertionError(f"kinetic energy forms disagree: {check}")
    R = sympy.Float(0.5 * k[0]) * v[0] ** 2 + sum(sympy.Float(0.5 * k[i]) * (v[i] - v[i - 1]) ** 2 for i in range(1, n))
    return sympy.expand(T - V), sympy.expand(R)


# ----------------------------------------------------------------------------------------
# model helpers
# ----------------------------------------------------------------------------------------
def sparse_from_expr(L: sympy.Expr, R: sympy.Expr | None, coords):
    """A :class:`discover.model.SparseLagrangian` holding L's terms and the Rayleigh function R
    (any quadratic form in q̇: the authors' relative joint friction is not diagonal)."""
    from discover.evaluation import _terms_of
    from discover.model import SparseLagrangian
    from discover.symbolic import sympy_to_torch

    terms = _terms_of(L)
    m = SparseLagrangian.from_dict({"coordinates": list(coords),
                                    "terms": [{"term": str(t), "coefficient": c} for t, c in terms]})
    if R is not None and R != 0:
        m._R = sympy_to_torch(R, coordinates=list(coords))[0]
    return m


def small_oscillations(L: sympy.Expr, coords) -> dict:
    """Hanging equilibrium (minimum of V = −L(q, 0) started at θᵢ = π), M and K there, ω² =
    eigenvalues of M⁻¹K (ascending) and the periods."""
    from scipy.optimize import minimize

    q, v = symbols(len(coords))
    V = -L.subs({vi: 0 for vi in v})
    fV = sympy.lambdify([q], V, "numpy")
    fG = sympy.lambdify([q], [sympy.diff(V, qi) for qi in q], "numpy")
    res = minimize(lambda x: float(fV(x)), np.full(len(q), np.pi), jac=lambda x: np.asarray(fG(x), float),
                   method="BFGS", options={"gtol": 1e-12})
    x = res.x
    sub = dict(zip(q, x)) | {vi: 0 for vi in v}
    K = np.array([[float(sympy.diff(V, a, b).subs(sub)) for b in q] for a in q])
    M = np.array([[float(sympy.diff(L, a, b).subs(sub)) for b in v] for a in v])
    w2 = np.sort(np.linalg.eigvals(np.linalg.solve(M, K)).real)
    return {"equilibrium": x.tolist(), "M": M.tolist(), "K": K.tolist(), "omega2": w2.tolist(),
            "periods": [2 * math.pi / math.sqrt(w) if w > 0 else math.nan for w in w2]}


def potential_along(L: sympy.Expr, coords, i: int, at) -> tuple[sympy.Expr, sympy.Symbol]:
    """V restricted to coordinate i, the others at ``at`` (the equilibrium)."""
    q, v = symbols(len(coords))
    V = -L.subs({vi: 0 for vi in v})
    return V.subs({q[j]: at[j] for j in range(len(q)) if j != i}), q[i]


def potential_comparison(L_found, L_auth, coords, eq_auth, eq_found, q_data) -> list[dict]:
    """Per coordinate: the two potentials restricted to it, expanded about each one's own
    equilibrium (u = θᵢ − θᵢ,eq: coefficients of u², u⁴ and u⁶, in the cos form c(1 − cos u) they are
    c/2, −c/24, c/720), and the largest difference of their forces −∂V/∂θᵢ over the data's range of
    θᵢ relative to the largest authors' force there."""
    out = []
    for i, c in enumerate(coords):
        Vf, xf = potential_along(L_found, coords, i, eq_found)
        Va, xa = potential_along(L_auth, coords, i, eq_auth)
        u = sympy.Symbol("u")

        def taylor(V, x, x0):
            s = V.subs(x, x0 + u)
            return {k: float(sympy.diff(s, u, k).subs(u, 0) / math.factorial(k)) for k in (1, 2, 3, 4, 6)}

        lo, hi = float(np.min(q_data[:, i])), float(np.max(q_data[:, i]))
        grid = np.linspace(lo, hi, 401)
        ff = np.asarray(sympy.lambdify(xf, sympy.diff(Vf, xf), "numpy")(grid), float) * np.ones_like(grid)
        fa = np.asarray(sympy.lambdify(xa, sympy.diff(Va, xa), "numpy")(grid), float) * np.ones_like(grid)
        amp = np.abs(q_data[:, i] - eq_auth[i])
        out.append({"coordinate": c, "range": [lo, hi], "max_amplitude": float(amp.max()),
                    "p95_amplitude": float(np.quantile(amp, 0.95)), "rms_amplitude": float(np.sqrt(np.mean(amp ** 2))),
                    "taylor_found": taylor(Vf, xf, eq_found[i]), "taylor_authors": taylor(Va, xa, eq_auth[i]),
                    "max_force_difference": float(np.max(np.abs(ff - fa)) / np.max(np.abs(fa)))})
    return out


def stage1_supports(data, coords, found_terms, authors_terms, parsimony: float = 0.25) -> dict:
    """The default search's stage 1 (weak form, held-out weak acceleration error, the parsimony
    band) rerun, and the held-out error of given supports fitted by the same stage 1 with every
    term kept: the found support, the authors' and the authors' with sin θᵢ beside cos θᵢ
    (c cos(θᵢ + δᵢ): an encoder zero offset δᵢ ≈ s/c), one coordinate at a time and all.  Says
    whether each support's terms were among the default search's candidates (with or without friction)."""
    from discover.library import Custom
    from discover.model import SparseLagrangian
    from discover.selection import band

    key = lambda terms: frozenset(str(sympy.expand(sympy.sympify(str(e)))) for e in terms)  # noqa: E731
    m0 = SparseLagrangian(trajectory_fit=False, parsimony=parsimony).fit(data)
    limit = band(m0.candidates_, parsimony)
    proposed = {key(c.terms) for c in m0.candidates_}
    out = {"band": limit, "best": min(c.val_error for c in m0.candidates_),
           "chosen": {"n_terms": len(m0.terms_), "val_error": m0.metrics_["validation_weak_acceleration_error"],
                      "n_coefficients": len(m0.terms_) + int(np.count_nonzero(m0.damping_)) + int(np.count_nonzero(m0.coulomb_)),
                      "L": str(m0.lagrangian(digits=5))}, "supports": []}
    sin = [f"sin({c})" for c in coords]
    supports = [("found", [str(e) for e in found_terms]), ("authors'", list(authors_terms))]
    supports += [(f"authors' + sin({c})", list(authors_terms) + [sin[i]]) for i, c in enumerate(coords)]
    if len(coords) > 1:
        supports.append(("authors' + sin of every angle", list(authors_terms) + sin))
    for name, terms in supports:
        full = [c for diss in (False, "auto")
                for c in SparseLagrangian(Custom(terms), trajectory_fit=False, dissipation=diss,
                                          parsimony=parsimony).fit(data).candidates_ if len(c.terms) == len(terms)]
        if not full:
            out["supports"].append({"name": name, "n_terms": len(terms), "variants": {}})
            continue
        bare = [c for c in full if not np.any(c.damping) and not np.any(c.coulomb)]
        rubbed = [c for c in full if np.any(c.damping) or np.any(c.coulomb)]
        variants = {}
        for label, group in (("no_friction", bare), ("with_friction", rubbed)):
            if group:
                c = min(group, key=lambda c: c.val_error)
                coef = {str(e): float(x) for e, x in zip(c.terms, c.coef)}
                variants[label] = {"val_error": float(c.val_error), "n_coefficients": int(c.n_terms),
                                   "in_band": bool(c.val_error <= limit), "coefficients": coef,
                                   "offsets": {q: math.atan2(coef[f"sin({q})"], -coef[f"cos({q})"]) for q in coords
                                               if f"sin({q})" in coef and f"cos({q})" in coef}}
        first = variants.get("no_friction") or variants.get("with_friction")
        out["supports"].append({"name": name, "n_terms": len(terms), "variants": variants,
                                "proposed": key(terms) in proposed, "offsets": first["offsets"] if first else {}})
    return out


def friction_power(model, prepared) -> float:
    """Mean over the samples of q̇·∂R/∂q̇ (the power friction takes out, in L's normalized units)."""
    import torch

    from discover.mechanics import _batched_derivatives

    if model._R is None:
        return 0.0
    qd = torch.as_tensor(np.concatenate([p.qdot for p in prepared]), dtype=torch.float64)
    q = torch.as_tensor(np.concatenate([p.q for p in prepared]), dtype=torch.float64)
    dR = _batched_derivatives(model._R, q, qd, None, second=False)["dL_dqdot"]
    return float((qd * dR).sum(-1).mean())


def scores(model, pieces) -> dict:
    """q̈ errors (relative RMS and typical, as the fit reports them) and rollouts of ``model``."""
    from discover.evaluation import evaluate
    from discover.prepare import qddot_errors as _qddot_errors

    rms, typical = _qddot_errors(model, pieces)
    ev = evaluate(model, pieces)
    pos, whole = [], []
    for r in ev["rollouts"]:
        if "error" in r:
            pos.append(math.inf)
            whole.append(math.inf)
            continue
        keep = r["t"] - r["t"][0] <= ROLL_SECONDS + 1e-9
        pos.append(float(np.sqrt(np.mean((r["q"][keep] - r["q_obs"][keep]) ** 2))))
        whole.append(float(np.sqrt(np.mean((r["q"] - r["q_obs"]) ** 2))))
    return {"qddot_error": rms, "qddot_typical": typical, "rollout_valid_time": ev["rollout_valid_time"],
            "rollout_duration": ev["rollout_duration"], "rollout_position_rms": float(np.median(pos)),
            "rollout_position_rms_whole": float(np.median(whole)), "rollout_position_rms_each": pos}


# ----------------------------------------------------------------------------------------
# the comparison
# ----------------------------------------------------------------------------------------
def compare(authors: Path, results: Path, csv: Path) -> dict:
    import torch

    from discover.data import read_csv
    from discover.evaluation import compare_to_truth
    from discover.model import SparseLagrangian
    from discover.prepare import prepare, qddot_noise_floor
    from discover.symbolic import normalize_blocks

    torch.set_num_threads(1)
    n, par = read_parameters(authors)
    n_vad = authors_validation_count(authors)
    d = json.loads((results / "lagrangian.json").read_text())
    found = SparseLagrangian.from_dict(d)
    coords = found.coordinates_
    if len(coords) != n:
        raise ValueError(f"{results}: {len(coords)} coordinates, the authors' model has {n} arms")
    data = read_csv(csv)
    prep = prepare(data, "auto", validation=0.25, seed=0)
    q_all = np.concatenate([p.q for p in prep.all])
    v_all = np.concatenate([p.qdot for p in prep.all])

    L_si, R_si = authors_model(n, par)
    L_n = normalize_blocks(L_si, coords, found.normalization_coordinates_, q_all, v_all)
    v1 = symbols(n)[1][0]
    scale = float(sympy.diff(L_si, v1, 2) / sympy.diff(L_n, v1, 2))  # ∂²L/∂θ̇₁² is constant here
    R_n = sympy.expand(R_si / scale)
    authors_m = sparse_from_expr(L_n, R_n, coords)
    L_flip, _ = authors_model(n, par, upright_zero=False)
    flipped_m = sparse_from_expr(sympy.expand(L_flip / scale), R_n, coords)
    L_found = found.lagrangian(digits=12)

    cmp = compare_to_truth(found.terms_, found.coef_, L_n, coords, q_all, v_all)
    stderr = {str(sympy.expand(t)): se for t, se in zip(found.terms_, [None] * len(found.terms_) if found.coef_stderr_ is None else found.coef_stderr_)}
    rows = []
    for name in sorted(set(cmp["truth_terms"]) | set(cmp["fit_terms"]), key=lambda s: -abs(cmp["truth_terms"].get(s, cmp["fit_terms"].get(s, 0)))):
        a, f = cmp["truth_terms"].get(name, 0.0), cmp["fit_terms"].get(name, 0.0)
        rows.append({"term": name, "authors": a, "found": f, "stderr": stderr.get(name),
                     "rel_difference": (f - a) / abs(a) if a else math.nan})

    osc_a, osc_f = small_oscillations(L_n, coords), small_oscillations(L_found, coords)
    pot = potential_comparison(L_found, L_n, coords, osc_a["equilibrium"], osc_f["equilibrium"], q_all)

    val_ids = {p.id for p in prep.validation}
    ids = sorted(p.id for p in prep.all)
    authors_val = ids[len(ids) - n_vad:] if n_vad else []
    sets = {"held out by the fit": prep.validation,
            "authors' validation pieces": [p for p in prep.all if p.id in authors_val],
            "all pieces": prep.all}
    models = {"authors": authors_m, "found": found}
    table = {}
    for sname, pieces in sets.items():
        table[sname] = {"noise_floor": qddot_noise_floor(pieces), "ids": [int(p.id) for p in pieces],
                        **{mname: scores(m, pieces) for mname, m in models.items()}}
    flip = scores(flipped_m, prep.validation)
    # which part makes the difference: each L with the other's friction, on the fit's held-out pieces
    from discover.symbolic import sympy_to_torch

    a_fR = sparse_from_expr(L_n, None, coords)
    a_fR._R = found._R
    f_aR = SparseLagrangian.from_dict(d)
    f_aR._R = sympy_to_torch(R_n, coordinates=list(coords))[0]
    crossed = {"authors' L, found friction": scores(a_fR, prep.validation),
               "found L, authors' friction": scores(f_aR, prep.validation)}
    power = {mname: friction_power(m, prep.validation) for mname, m in models.items()}
    from discover.evaluation import _terms_of

    stage1 = stage1_supports(data, coords, found.terms_, [str(t) for t, _ in _terms_of(L_n)])
    return {"n_arms": n, "parameters": par, "authors_L_SI": str(L_si), "authors_R_SI": str(R_si),
            "normalization_scale": scale, "authors_L": str(L_n), "authors_R": str(R_n),
            "found_L": str(found.lagrangian()), "found_R": str(found.rayleigh()),
            "coefficients": rows, "span_residual": cmp["span_residual"], "same_support": cmp["success"],
            "small_oscillations": {"authors": osc_a, "found": osc_f}, "potential_by_coordinate": pot,
            "friction_power_held_out": power, "stage1": stage1, "scores": table, "flipped_sign_held_out": flip, "crossed_held_out": crossed,
            "held_out_ids": sorted(int(i) for i in val_ids), "authors_validation_ids": [int(i) for i in authors_val],
            "n_pieces": len(ids)}


def fmt(x, d=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{d}g}"


def markdown(r: dict, command: str) -> str:
    n = r["n_arms"]
    L = [f"# MultiArm {['', 'single', 'double', 'triple'][n] if n <= 3 else n} pendulum: the authors' model against the found one", "",
         f"Command: `{command}`", "",
         "## The authors' identified parameters (SI)", "",
         "| " + " | ".join(r["parameters"]) + " |", "|" + "---|" * len(r["parameters"]),
         "| " + " | ".join(f"{v:.5g}" for v in r["parameters"].values()) + " |", "",
         "Their model written from the physics (absolute angles, θ = π hanging; `pipelines/multiarm_compare.py`):", "",
         f"```\nL = {r['authors_L_SI']}\nR = {r['authors_R_SI']}\n```", "",
         f"Normalized as the fit normalizes (divided by ∂²L/∂θ̇₁² = {r['normalization_scale']:.6g} kg m²):", "",
         f"```\nL = {r['authors_L']}\nR = {r['authors_R']}\n```", "",
         "Found by the default `pipelines/discover.py`:", "",
         f"```\nL = {r['found_L']}\nR = {r['found_R']}\n```", "",
         "## Coefficients (common gauge-reduced basis)", "",
         f"Same support: {r['same_support']}; the authors' Euler–Lagrange vector lies "
         f"{r['span_residual']:.2g} (relative) from the span of the found terms.", "",
         "| term | authors | found | ± stderr | (found − authors)/|authors| |", "|---|---|---|---|---|"]
    for row in r["coefficients"]:
        rel = row["rel_difference"]
        rel = f"{rel:+.2%}" if math.isfinite(rel) else "–"
        L.append(f"| `{row['term']}` | {fmt(row['authors'], 6)} | {fmt(row['found'], 6)} | {fmt(row['stderr'], 2)} | {rel} |")
    oa, of = r["small_oscillations"]["authors"], r["small_oscillations"]["found"]
    L += ["", "## Small oscillations about the hanging equilibrium (eigenvalues of M⁻¹K)", "",
          "| | equilibrium θ | ω² | periods (s) |", "|---|---|---|---|",
          f"| authors | {', '.join(f'{x:.4f}' for x in oa['equilibrium'])} | {', '.join(f'{x:.4f}' for x in oa['omega2'])} | "
          f"{', '.join(f'{x:.4f}' for x in oa['periods'])} |",
          f"| found | {', '.join(f'{x:.4f}' for x in of['equilibrium'])} | {', '.join(f'{x:.4f}' for x in of['omega2'])} | "
          f"{', '.join(f'{x:.4f}' for x in of['periods'])} |",
          "| found / authors − 1 | | " + ", ".join(f"{f / a - 1:+.2%}" for f, a in zip(of["omega2"], oa["omega2"])) + " | |", "",
          "## Each coordinate's potential (the others at equilibrium), and the data's amplitude", "",
          "u = θᵢ − θᵢ,eq; a potential c(1 − cos u) has the u², u⁴, u⁶ coefficients c/2, −c/24, c/720. Force "
          "difference: max over the data's range of θᵢ of |∂V_found/∂θᵢ − ∂V_authors/∂θᵢ| / max |∂V_authors/∂θᵢ|.", "",
          "| coordinate | range in the data | max / p95 / RMS amplitude about π | u² auth / found | u⁴ auth / found | "
          "u⁶ auth / found | force difference |", "|---|---|---|---|---|---|---|"]
    for p in r["potential_by_coordinate"]:
        ta, tf = p["taylor_authors"], p["taylor_found"]
        L.append(f"| {p['coordinate']} | {p['range'][0]:.3f} … {p['range'][1]:.3f} | {p['max_amplitude']:.3f} / "
                 f"{p['p95_amplitude']:.3f} / {p['rms_amplitude']:.3f} rad | {ta[2]:.4g} / {tf[2]:.4g} | "
                 f"{ta[4]:.4g} / {tf[4]:.4g} | {ta[6]:.3g} / {tf[6]:.3g} | {p['max_force_difference']:.2%} |")
    pw = r["friction_power_held_out"]
    L += ["", f"Power taken out by friction along the held-out pieces (mean q̇·∂R/∂q̇, normalized units): "
          f"authors {pw['authors']:.4g}, found {pw['found']:.4g}.", "",
          "## Held-out q̈ error and rollouts (same prepared pieces, same derivative estimates)", "",
          f"q̈ error: relative RMS (the fit's held-out measure) and typical (median relative); rollouts from the "
          f"smoothed state at sample 10 of each piece, RK4 at the data step: median valid time (error ≤ 10 % of "
          f"the piece's spread) and median position RMS over the first {ROLL_SECONDS:g} s.", "",
          "| pieces | model | q̈ error (RMS) | q̈ typical | noise floor | valid time (s) of | position RMS (rad), "
          f"first {ROLL_SECONDS:g} s / whole |", "|---|---|---|---|---|---|---|"]
    for sname, s in r["scores"].items():
        for mname in ("authors", "found"):
            m = s[mname]
            L.append(f"| {sname} ({len(s['ids'])}) | {mname} | {m['qddot_error']:.4f} | {m['qddot_typical']:.4f} | "
                     f"{s['noise_floor']:.4f} | {m['rollout_valid_time']:.2f} of {m['rollout_duration']:.2f} | "
                     f"{m['rollout_position_rms']:.4f} / {m['rollout_position_rms_whole']:.4f} |")
    s = r["scores"]["held out by the fit"]
    for mname, m in r["crossed_held_out"].items():
        L.append(f"| held out by the fit ({len(s['ids'])}) | {mname} | {m['qddot_error']:.4f} | {m['qddot_typical']:.4f} | "
                 f"{s['noise_floor']:.4f} | {m['rollout_valid_time']:.2f} of {m['rollout_duration']:.2f} | "
                 f"{m['rollout_position_rms']:.4f} / {m['rollout_position_rms_whole']:.4f} |")
    st = r["stage1"]
    L += ["", "## Stage 1 of the default search: which supports were in reach", "",
          f"The default search rerun without its stage 2 (held-out weak acceleration error; best {st['best']:.5f}, "
          f"parsimony band ≤ {st['band']:.5f}) chose {st['chosen']['n_terms']} terms, {st['chosen']['n_coefficients']} "
          f"coefficients with friction, at {st['chosen']['val_error']:.5f}; the rule: the fewest coefficients (terms and "
          "friction) inside the band. Each support below fitted by the same stage 1 with every term kept, without friction "
          "and with the best friction variant; 'proposed': these terms were among the default search's candidates.", "",
          "| support | terms | no friction: error (coefficients) | with friction: error (coefficients) | proposed | "
          "offset δ (rad) of c cos(θ + δ), no friction | cos θ coefficients, no friction |", "|---|---|---|---|---|---|---|"]
    def cos_coefs(var):
        c = (var.get("no_friction") or {}).get("coefficients", {})
        return ", ".join(f"{k}: {v:.4g}" for k, v in sorted(c.items()) if k.startswith("cos(theta") and "-" not in k) or "–"

    for sp in st["supports"]:
        off = ", ".join(f"{c}: {d:+.2e}" for c, d in sp.get("offsets", {}).items()) or "–"
        cell = lambda v: "–" if v is None else f"{v['val_error']:.5f} ({v['n_coefficients']}){' in band' if v['in_band'] else ''}"  # noqa: E731
        var = sp.get("variants", {})
        L.append(f"| {sp['name']} | {sp['n_terms']} | {cell(var.get('no_friction'))} | {cell(var.get('with_friction'))} | "
                 f"{'yes' if sp.get('proposed') else 'no'} | {off} | {cos_coefs(var)} |")
    fl = r["flipped_sign_held_out"]
    L += ["", f"Held out by the fit: pieces {r['held_out_ids']} of 0–{r['n_pieces'] - 1}; the authors' validation "
          f"pieces: {r['authors_validation_ids']} (the authors fitted on the others, so on the fit's held-out pieces "
          "the authors' model has seen those not in their validation list).", "",
          f"Sign check: the authors' L with the opposite height sign (θ = 0 hanging) gives a held-out q̈ error of "
          f"{fl['qddot_error']:.3g} (valid rollout {fl['rollout_valid_time']:.2f} s): the recordings hang at θ = π.", ""]
    return "\n".join(L)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("authors", type=Path, help="folder with EstimatedParameters_*.mat")
    p.add_argument("results", type=Path, help="a discover.py results folder")
    p.add_argument("--data", type=Path, required=True, help="the CSV the results were fitted on")
    p.add_argument("--out", type=Path, required=True, help="markdown report (and .json beside it)")
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"error: {args.out} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    try:
        r = compare(args.authors, args.results, args.data)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    command = "python pipelines/multiarm_compare.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(r, command))
    args.out.with_suffix(".json").write_text(json.dumps(r, indent=1, default=float))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
