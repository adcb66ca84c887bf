"""Shared metrics of a found Lagrangian: generic states, comparison with a known truth modulo
gauge and scale, rollout valid time and held-out rollout errors, and the monomial scoring of CLI
outputs (trust study: z-scores, a pendulum's small-angle ω²).  One formula per metric, used by
the fit, the pipelines and the studies."""
from __future__ import annotations

import math

import numpy as np
import sympy

__all__ = ["VALID_THRESHOLD", "ROLLOUT_START", "generic_states", "compare_to_truth", "valid_time",
           "relative_error", "rollout_metrics", "evaluate",
           "monomials", "kinetic_reference", "compare", "stderr_z", "format_monomials", "small_angle"]

#: a rollout is valid while ‖q_model − q_ref‖ ≤ VALID_THRESHOLD · ‖std q_ref‖ (per-coordinate stds)
VALID_THRESHOLD = 0.1

#: held-out rollouts start this many samples into the trajectory: smoothed derivatives are least
#: accurate at a trajectory's edge (measured: 1 % noisy damped pendulum, rollout valid for 0.18 s
#: from sample 0, 9.9 s from sample 8 or later)
ROLLOUT_START = 10


# ----------------------------------------------------------------------------------------
# generic states
# ----------------------------------------------------------------------------------------
def generic_states(q, qdot, rng: np.random.Generator, n_states: int, *, qddot=None, dtype=None):
    """Random states where only identities of the terms themselves make Euler–Lagrange columns
    vanish or depend on each other (gauge detection, comparison with a truth).

    q, qdot: ``(N, n)`` data states; q is drawn uniform over the data's box, q̇ uniform in
    ±max|q̇| per coordinate, q̈ normal (scaled by the std of ``qddot`` (N, n) when given), in
    that order from ``rng``.  Returns three ``(n_states, n)`` arrays, or torch tensors of
    ``dtype`` when it is given."""
    q, qdot = np.asarray(q, float), np.asarray(qdot, float)
    n = q.shape[1]
    lo, hi = q.min(0), q.max(0)
    vmax = np.abs(qdot).max(0) + 1e-12
    Q = rng.uniform(lo, hi, size=(n_states, n))
    V = rng.uniform(-vmax, vmax, size=(n_states, n))
    A = rng.normal(size=(n_states, n))
    if qddot is not None:
        A = A * (np.asarray(qddot, float).std(0) + 1e-12)
    if dtype is None:
        return Q, V, A
    import torch

    return tuple(torch.as_tensor(x, dtype=dtype) for x in (Q, V, A))


# ----------------------------------------------------------------------------------------
# comparison with a known truth, modulo gauge
# ----------------------------------------------------------------------------------------
def _terms_of(expr: sympy.Expr):
    """[(monomial, coefficient)] of an expanded expression, constants dropped."""
    out = []
    for term in sympy.Add.make_args(sympy.expand(expr)):
        c, m = term.as_coeff_Mul()
        if m.free_symbols:
            out.append((m, float(c)))
    return out


def compare_to_truth(terms, coef, truth: sympy.Expr, coordinates, q, qdot, *, seed: int = 0,
                     n_states: int = 300) -> dict:
    """Support and coefficients of a fit against the true Lagrangian, modulo gauge.

    Fitted and true terms are put in one basis: the fit's terms (first) and the truth's
    monomials, reduced by :func:`discover.sparse.reduce_gauge` on their Euler–Lagrange columns
    at :func:`generic_states` (null terms and terms collinear with earlier ones dropped).  Both
    Lagrangians are then written in the kept basis by least squares (exact: both lie in its
    span), so −y ẋ in the truth becomes x ẏ when the fit used x ẏ (they differ by d(xy)/dt).

    terms, coef: the fit's SymPy terms and coefficients; truth: the true L, already in the fit's
    normalization (:func:`discover.symbolic.normalize_blocks`); q, qdot ``(N, n)``: data states
    whose ranges bound the generic states.  Returns ``success`` (same support), ``precision``,
    ``recall``, ``coef_rel_error`` (largest |ξ_fit − ξ_true| / |ξ_true| over the true support),
    ``span_residual`` (relative distance of the truth's Euler–Lagrange vector from the span of
    the fit's terms) and the two supports with their coefficients."""
    import torch

    from .library import TermSet
    from .sparse import reduce_gauge

    fit_terms = [sympy.expand(e) for e in terms]
    keys = {sympy.srepr(e): i for i, e in enumerate(fit_terms)}
    basis = list(fit_terms)
    true_c = np.zeros(len(basis))
    for m, c in _terms_of(truth):
        k = sympy.srepr(m)
        if k not in keys:
            keys[k] = len(basis)
            basis.append(m)
            true_c = np.append(true_c, 0.0)
        true_c[keys[k]] += c
    fit_c = np.zeros(len(basis))
    fit_c[: len(fit_terms)] = np.asarray(coef, float)
    Q, V, A = generic_states(q, qdot, np.random.default_rng(seed), n_states, dtype=torch.float64)
    ts = TermSet(basis, list(coordinates))
    cols = ts.el_columns(Q, V, A).reshape(-1, len(basis)).detach().numpy()
    gq, gv = ts.gradient_columns(Q, V)
    scales = (gq.reshape(-1, len(basis)).norm(dim=0) + gv.reshape(-1, len(basis)).norm(dim=0)).numpy()
    kept, _, _ = reduce_gauge(cols, list(range(len(basis))), scales=scales)
    K = cols[:, kept]

    def in_kept(c):
        x, *_ = np.linalg.lstsq(K, cols @ c, rcond=None)
        x[np.abs(x) <= 1e-9 * max(np.abs(x).max(), 1e-300)] = 0.0
        return x

    xt, xf = in_kept(true_c), in_kept(fit_c)
    St, Sf = set(np.flatnonzero(xt)), set(np.flatnonzero(xf))
    tp = len(St & Sf)
    rel = [abs(xf[i] - xt[i]) / abs(xt[i]) for i in sorted(St)]
    names = [str(basis[k]) for k in kept]
    target = cols @ true_c
    F = cols[:, : len(fit_terms)]
    proj = F @ np.linalg.lstsq(F, target, rcond=None)[0] if len(fit_terms) else np.zeros_like(target)
    return {
        "success": St == Sf,
        "precision": tp / len(Sf) if Sf else 0.0,
        "recall": tp / len(St) if St else 1.0,
        "coef_rel_error": float(np.max(rel)) if rel else math.nan,
        "span_residual": float(np.linalg.norm(proj - target) / max(np.linalg.norm(target), 1e-300)),
        "truth_terms": {names[i]: float(xt[i]) for i in sorted(St)},
        "fit_terms": {names[i]: float(xf[i]) for i in sorted(Sf)},
    }


# ----------------------------------------------------------------------------------------
# rollouts
# ----------------------------------------------------------------------------------------
def valid_time(q_model, q_ref, t, *, threshold: float = VALID_THRESHOLD, scale: float | None = None):
    """First time a rollout leaves the reference: ‖q_model − q_ref‖ > threshold · scale.

    q_model, q_ref: ``(T, ..., n)``; t ``(T,)``.  ``scale`` defaults to ‖std q_ref‖, the norm of
    the per-coordinate standard deviations over all times and trajectories (so the measure does
    not depend on where each coordinate's origin is).  A trajectory that never deviates counts
    the whole span t[-1] − t[0]; NaN counts as deviated.  Returns an array of shape ``(...)``
    (a float for one trajectory)."""
    q_model, q_ref, t = np.asarray(q_model, float), np.asarray(q_ref, float), np.asarray(t, float)
    if scale is None:
        scale = float(np.linalg.norm(q_ref.reshape(-1, q_ref.shape[-1]).std(0)))
    err = np.linalg.norm(q_model - q_ref, axis=-1) / max(scale, 1e-300)  # (T, ...)
    bad = ~(err <= threshold)
    first = np.where(bad.any(0), bad.argmax(0), len(t) - 1)
    out = t[first] - t[0]
    return float(out) if np.ndim(out) == 0 else out


def relative_error(pred, true) -> float:
    """‖pred − true‖ / ‖true‖ over all entries (arrays or tensors of one shape)."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    return float(np.linalg.norm(pred - true) / np.linalg.norm(true))


def rollout_metrics(model, trajs, *, start: int = ROLLOUT_START, max_points: int = 1000) -> list[dict]:
    """Roll ``model`` out from a (smoothed) early state of each held-out trajectory in ``trajs``
    (prepared trajectories with ``t``, ``q``, ``qdot``, ``q_obs``, and ``force`` when the data
    carry a known applied force) and compare with the observed positions: valid time
    (:func:`valid_time`), the error curve, the energy drift of the rollout.  Pieces on the same
    relative time grid roll out together, one engine call per step for all of them.  A rollout
    that fails is reported (``error``), not raised."""
    pieces = []
    for p in trajs:
        k = min(start, len(p.t) // 10)
        p = p.slice(k, len(p.t), p.id)
        pieces.append((p, min(len(p.t), max_points)))
    out: list[dict] = [{} for _ in pieces]
    for group in _same_grid(pieces):
        t = pieces[group[0]][0].t[: pieces[group[0]][1]]
        t = t - t[0]
        ps = [pieces[g][0] for g in group]
        n = len(t)
        q0 = np.stack([p.q[0] for p in ps])
        qd0 = np.stack([p.qdot[0] for p in ps])
        kw = {} if ps[0].force is None else {"force": _interpolated_force([p.force[:n] for p in ps], t)}
        try:
            q, qd = model.simulate(q0, qd0, t, **kw)  # (n, B, d)
        except Exception as exc:  # a rollout that blows up is reported, not fatal
            for g in group:
                out[g] = {"error": f"rollout failed: {exc}"}
            continue
        for b, (g, p) in enumerate(zip(group, ps)):
            out[g] = _one_rollout(model, p, p.t[:n], q[:, b], qd[:, b])
    return out


def _same_grid(pieces) -> list[list[int]]:
    """Indices of the pieces grouped by their relative time grid (equal within 1e-9 of a step)."""
    groups: list[list[int]] = []
    for i, (p, n) in enumerate(pieces):
        rel = p.t[:n] - p.t[0]
        for g in groups:
            q, m = pieces[g[0]]
            other = q.t[:m] - q.t[0]
            if m == n and (n < 2 or np.allclose(rel, other, rtol=0, atol=1e-9 * (other[1] - other[0]))):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _interpolated_force(forces, t):
    """Q(τ) on the common relative grid ``t`` by linear interpolation: a callable returning
    (B, n) for a scalar time τ (the RK4 stages fall between samples)."""
    import torch

    F = np.stack(forces)  # (B, N, n)

    def force(tau):
        s = float(tau)
        i = int(np.clip(np.searchsorted(t, s, side="right") - 1, 0, len(t) - 2))
        w = (s - t[i]) / (t[i + 1] - t[i])
        return torch.as_tensor((1 - w) * F[:, i] + w * F[:, i + 1])

    return force


def _one_rollout(model, p, t, q, qd) -> dict:
    q_obs = p.q_obs[: len(t)]
    scale = max(float(np.linalg.norm(q_obs.std(0))), 1e-12)
    err = np.linalg.norm(q - q_obs, axis=-1) / scale
    E = np.asarray(model.energy(q, qd))
    E_scale = max(float(np.abs(np.asarray(model.energy(p.q[: len(t)], p.qdot[: len(t)]))).max()), 1e-12)
    drift = float(np.nanmax(np.abs(E - E[0])) / E_scale) if np.all(np.isfinite(E)) else math.inf
    return {"t": t, "q": q, "q_obs": q_obs, "energy": E, "rel_error": err,
            "valid_time": valid_time(q, q_obs, t, scale=scale), "duration": float(t[-1] - t[0]),
            "final_rel_error": float(err[-1]), "energy_drift": drift}


def evaluate(model, validation) -> dict:
    """Rollouts of held-out trajectories (:func:`rollout_metrics`, medians over them) and the
    relative variation of the model's energy along the held-out data itself."""
    rolls = rollout_metrics(model, validation)
    data_drift = []
    for p in validation:
        E = np.asarray(model.energy(p.q[3:-3], p.qdot[3:-3]))
        data_drift.append(float((E.max() - E.min()) / max(np.abs(E).max(), 1e-12)))
    ok = [r for r in rolls if "error" not in r]
    return {
        "rollouts": rolls,
        "rollout_valid_time": float(np.median([r["valid_time"] for r in ok])) if ok else 0.0,
        "rollout_duration": float(np.median([r["duration"] for r in ok])) if ok else 0.0,
        "rollout_energy_drift": float(np.median([r["energy_drift"] for r in ok])) if ok else math.inf,
        "energy_variation_on_data": float(np.median(data_drift)) if data_drift else math.nan,
    }


# ----------------------------------------------------------------------------------------
# monomial scoring of CLI outputs (trust study)
# ----------------------------------------------------------------------------------------
def _symbols(coords):
    return [sympy.Symbol(c) for c in coords], [sympy.Symbol(c + "_dot") for c in coords]


def monomials(expr: sympy.Expr, coords) -> dict:
    """{monomial: coefficient} of expr, trig expanded, constants and total derivatives dropped,
    q_j q̇_i (i < j) written −q_i q̇_j."""
    qs, vs = _symbols(coords)
    e = sympy.expand(sympy.expand_trig(sympy.expand(expr)))
    out: dict = {}
    for term, c in e.as_coefficients_dict().items():
        c = float(c)
        if term == 1 or c == 0:
            continue
        vel = [v for v in vs if term.has(v)]
        if len(vel) == 1 and sympy.degree(term, vel[0]) == 1:
            i = vs.index(vel[0])
            rest = sympy.simplify(term / vel[0])
            if not (rest.free_symbols - {qs[i]}):      # g(q_i) q̇_i = d G(q_i)/dt
                continue
            if rest in qs and qs.index(rest) < i:       # q_j q̇_i with j < i: canonical already
                pass
            elif rest in qs:                            # q_j q̇_i with j > i → −q_i q̇_j
                j = qs.index(rest)
                term, c = qs[i] * vs[j], -c
        out[term] = out.get(term, 0.0) + c
    scale = max((abs(c) for c in out.values()), default=0.0)
    return {k: c for k, c in out.items() if abs(c) > 1e-9 * scale}


def kinetic_reference(truth_m: dict, coords):
    """The first kinetic term: the first coordinate's q̇² monomial."""
    _, vs = _symbols(coords)
    key = vs[0] ** 2
    assert key in truth_m, (key, truth_m)
    return key


def compare(found_expr, truth, coords):
    tm = monomials(truth, coords)
    fm = monomials(found_expr, coords)
    ref = kinetic_reference(tm, coords)
    if ref not in fm:
        return False, math.nan, None, fm, tm
    tn = {k: c / tm[ref] for k, c in tm.items()}
    fn = {k: c / fm[ref] for k, c in fm.items()}
    exact = set(tn) == set(fn)
    err = max(abs(fn[k] - tn[k]) / abs(tn[k]) for k in tn) if exact else math.nan
    return exact, err, fm[ref] / tm[ref], fn, tn


def stderr_z(terms: list[dict], truth, coords) -> list[float]:
    """z = (found − true) / stderr for every monomial of the truth that exactly one found term
    carries (coefficients and stderrs normalized like :func:`compare`; the pinned normalization
    term, stderr 0, is skipped).  Empty when the tool gave no standard errors."""
    if not terms or any("stderr" not in t for t in terms):
        return []
    qs, vs = _symbols(coords)
    loc = {x.name: x for x in qs + vs}
    per_term = [monomials(sympy.sympify(t["term"], locals=loc), coords) for t in terms]
    found: dict = {}
    carriers: dict = {}
    for t, mono in zip(terms, per_term):
        for m, a in mono.items():
            found[m] = found.get(m, 0.0) + float(t["coefficient"]) * a
            carriers.setdefault(m, []).append(float(t["stderr"]) * abs(a))
    tm = monomials(truth, coords)
    ref = kinetic_reference(tm, coords)
    if ref not in found or len(carriers.get(ref, [])) != 1:
        return []
    z = []
    for m, tv in tm.items():
        if m == ref or m not in found or len(carriers[m]) != 1 or carriers[m][0] == 0:
            continue
        fn, tn = found[m] / found[ref], tv / tm[ref]
        se = carriers[m][0] / abs(found[ref])
        z.append((fn - tn) / se)
    return z


def format_monomials(m: dict, limit=8) -> str:
    items = sorted(m.items(), key=lambda kv: -abs(kv[1]))
    s = " + ".join(f"{c:.4g}·{k}" for k, c in items[:limit])
    return s + (f" + … ({len(items) - limit} more)" if len(items) > limit else "")


def small_angle(model) -> dict:
    """Equilibrium θ_eq (root of q̈(θ, 0) near 0) and ω² = −∂q̈/∂θ there."""
    from scipy.optimize import brentq

    a = lambda th: float(np.asarray(model.acceleration(np.array([[th]]), np.zeros((1, 1))))[0, 0])
    grid = np.linspace(-0.25, 0.25, 51)
    vals = np.array([a(g) for g in grid])
    idx = [i for i in range(len(grid) - 1) if np.sign(vals[i]) != np.sign(vals[i + 1]) and vals[i] > vals[i + 1]]
    if not idx:
        return {"theta_eq": math.nan, "omega2": math.nan}
    i = min(idx, key=lambda i: abs(grid[i]))
    th = brentq(a, grid[i], grid[i + 1], xtol=1e-10)
    h = 0.01
    return {"theta_eq": th, "omega2": -(a(th + h) - a(th - h)) / (2 * h)}
