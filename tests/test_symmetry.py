"""Point symmetries and Noether charges: the textbook conserved quantities of systems with known
symmetries, and their conservation along motions simulated by the engine."""
import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

from discover.conserved import charge_series, charge_values, conserved_quantities
from discover.integrate import rollout
from discover.symmetry import energy_function, find_symmetries
from physics import sympy_eom

torch.set_num_threads(1)

S = sympy.Symbol
x, y, xd, yd = S("x"), S("y"), S("x_dot"), S("y_dot")
th, ph, thd, phd = S("theta"), S("phi"), S("theta_dot"), S("phi_dot")
half = sympy.Rational(1, 2)
B, K, G = 2, sympy.Rational(3, 2), sympy.Rational(981, 100)

TRAP = half * (xd**2 + yd**2) + B * half * (x * yd - y * xd) - K * half * (x**2 + y**2)
SPHERICAL = half * (thd**2 + sympy.sin(th) ** 2 * phd**2) + G * sympy.cos(th)
M_CART, M_POLE, L_POLE = 2, 1, sympy.Rational(1, 2)
CART_POLE = (half * (M_CART + M_POLE) * xd**2 + M_POLE * L_POLE * xd * thd * sympy.cos(th)
             + half * M_POLE * L_POLE**2 * thd**2 + M_POLE * G * L_POLE * sympy.cos(th))
x1, y1, x2, y2 = S("x1"), S("y1"), S("x2"), S("y2")
x1d, y1d, x2d, y2d = S("x1_dot"), S("y1_dot"), S("x2_dot"), S("y2_dot")
M1, M2, KS = 1, 2, 3
TWO_BODY = (half * M1 * (x1d**2 + y1d**2) + half * M2 * (x2d**2 + y2d**2)
            - half * KS * ((x1 - x2) ** 2 + (y1 - y2) ** 2))
a, b, ad, bd = S("theta1"), S("theta2"), S("theta1_dot"), S("theta2_dot")
DOUBLE = (ad**2 + half * bd**2 + ad * bd * sympy.cos(a - b) + 2 * G * sympy.cos(a) + G * sympy.cos(b))

# textbook conserved quantities besides the energy
L_TRAP = x * yd - y * xd + B * half * (x**2 + y**2)               # canonical angular momentum
P_PHI = sympy.sin(th) ** 2 * phd
P_CART = (M_CART + M_POLE) * xd + M_POLE * L_POLE * thd * sympy.cos(th)
PX, PY = M1 * x1d + M2 * x2d, M1 * y1d + M2 * y2d
L_TOTAL = M1 * (x1 * y1d - y1 * x1d) + M2 * (x2 * y2d - y2 * x2d)
# the centre of mass moves freely, so its own angular momentum R × P is conserved as well
R_X, R_Y = (M1 * x1 + M2 * x2) / (M1 + M2), (M1 * y1 + M2 * y2) / (M1 + M2)
L_CM = R_X * PY - R_Y * PX

SYSTEMS = {
    "magnetic trap": (TRAP, ["x", "y"], [L_TRAP]),
    "spherical pendulum": (SPHERICAL, ["theta", "phi"], [P_PHI]),
    "cart-pole": (CART_POLE, ["x", "theta"], [P_CART]),
    "two bodies": (TWO_BODY, ["x1", "y1", "x2", "y2"], [PX, PY, L_TOTAL, L_CM]),
    "double pendulum": (DOUBLE, ["theta1", "theta2"], []),
}
INITIAL = {
    "magnetic trap": ([0.7, -0.2], [0.3, 0.5]),
    "spherical pendulum": ([1.0, 0.3], [0.2, 1.1]),
    "cart-pole": ([0.1, 0.8], [0.4, -0.5]),
    "two bodies": ([0.0, 0.0, 1.0, 0.2], [0.1, 0.6, -0.3, 0.1]),
    "double pendulum": ([0.8, -0.4], [0.0, 0.6]),
}


def _values(exprs, coords, q, qd):
    qs, vs = [S(c) for c in coords], [S(c + "_dot") for c in coords]
    f = sympy.lambdify(qs + vs, list(exprs), "numpy")
    return np.stack([np.broadcast_to(np.asarray(v, float), (len(q),)) for v in f(*q.T, *qd.T)], 1)


def _span_residual(found, wanted, coords, rng):
    """Largest relative least-squares residual of each wanted charge in the span of the found
    ones, over random states (0: every wanted charge is a combination of the found ones)."""
    n = len(coords)
    q, qd = rng.uniform(-1.2, 1.2, (60, n)), rng.uniform(-1, 1, (60, n))
    F, W = _values(found, coords, q, qd), _values(wanted, coords, q, qd)
    coef = np.linalg.lstsq(F, W, rcond=None)[0]
    return float(np.max(np.linalg.norm(F @ coef - W, axis=0) / np.linalg.norm(W, axis=0)))


def _simulate(L, coords, q0, v0, *, t_end=4.0, damping=None):
    """(t, q, q̇) from SymPy-derived equations of motion (tests/physics.py) integrated by SciPy to
    ~1e-12, with the friction force −c q̇ (M = 1) when ``damping`` is given."""
    f = sympy_eom(L, coords)
    n = len(coords)
    c = np.zeros(n) if damping is None else np.asarray(damping, float)
    rhs = lambda s, z: f(s, z) - np.concatenate([np.zeros(n), c * z[n:]])
    t = np.linspace(0, t_end, 401)
    sol = solve_ivp(rhs, (0, t_end), np.concatenate([q0, v0]), t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
    return t, sol.y[:n].T, sol.y[n:].T


def test_charges_are_conserved_by_the_engine_rollout():
    """Along the engine's own RK4 rollout of the magnetic trap the canonical angular momentum and
    the energy vary only by the integration error: it falls ~2⁴ = 16-fold when the step halves."""
    coords = ["x", "y"]
    t = np.linspace(0, 2.0, 41)
    worst = []
    for substeps in (2, 4):
        q0, v0 = torch.tensor([[0.7, -0.2]], dtype=torch.float64), torch.tensor([[0.3, 0.5]], dtype=torch.float64)
        out = rollout(TRAP, q0, v0, torch.tensor(t), substeps=substeps, coordinates=coords, compute_energy=False)
        entries = conserved_quantities(TRAP, coords, [(t, out.q[:, 0].numpy(), out.qdot[:, 0].numpy())])
        assert [e["symmetry"] for e in entries] == ["time translation", "rotation in (x, y)"]
        worst.append(np.array([e["variation_on_data"] for e in entries]))
    assert np.all(worst[1] < 1e-5)
    assert np.all(worst[0] / worst[1] > 10), worst


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_textbook_charges_and_their_conservation(name):
    L, coords, textbook = SYSTEMS[name]
    found = find_symmetries(L, coords, rtol=1e-9)
    assert len(found) == len(textbook)  # exactly the independent ones, none that is not
    assert all(s.exact for s in found)
    if textbook:
        rng = np.random.default_rng(1)
        # found charges and textbook ones span the same space (each up to scale when alone)
        assert _span_residual([s.charge for s in found], textbook, coords, rng) < 1e-10
        assert _span_residual(textbook, [s.charge for s in found], coords, rng) < 1e-10
    if len(textbook) == 1:
        ratio = sympy.simplify(found[0].charge / textbook[0])
        assert ratio.is_number and ratio != 0
    t, q, qd = _simulate(L, coords, *INITIAL[name])
    entries = conserved_quantities(L, coords, [(t, q, qd)])
    assert [e["name"] for e in entries][0] == "energy"
    assert len(entries) == 1 + len(textbook)
    for e in entries:  # DOP853 at rtol 1e-12
        assert e["variation_on_data"] < 1e-9, e


def test_energy_is_the_textbook_energy():
    assert sympy.simplify(energy_function(TRAP, ["x", "y"]) - (half * (xd**2 + yd**2) + K * half * (x**2 + y**2))) == 0
    assert sympy.simplify(energy_function(SPHERICAL, ["theta", "phi"])
                          - (half * (thd**2 + sympy.sin(th) ** 2 * phd**2) - G * sympy.cos(th))) == 0


def test_names_and_generators_of_the_textbook_symmetries():
    (rot,) = find_symmetries(TRAP, ["x", "y"])
    assert rot.kind == "rotation" and rot.description == "rotation in (x, y)"
    assert rot.xi == (-y, x) and rot.gauge == 0
    assert sympy.expand(rot.charge - L_TRAP) == 0  # ξ = (−y, x): exactly the canonical L_z
    (shift,) = find_symmetries(SPHERICAL, ["theta", "phi"])
    assert shift.description == "shift of phi (cyclic coordinate)" and shift.xi == (0, 1)
    assert sympy.expand(shift.charge - P_PHI) == 0


def test_magnetic_translations_carry_a_gauge_term():
    """Without the trap, translations are symmetries only up to dF/dt (L changes by (B/2)ẏ for
    a shift in x): the conserved momenta are ẋ − B y and ẏ + B x."""
    free = half * (xd**2 + yd**2) + B * half * (x * yd - y * xd)
    found = find_symmetries(free, ["x", "y"], rtol=1e-9)
    charges = {s.description: s for s in found}
    assert set(charges) == {"translation of x", "translation of y", "rotation in (x, y)"}
    assert sympy.expand(charges["translation of x"].charge - (xd - B * y)) == 0
    assert sympy.expand(charges["translation of y"].charge - (yd + B * x)) == 0
    assert sympy.expand(charges["translation of x"].gauge - B * half * y) == 0


def test_fitted_float_coefficients_within_tolerance():
    L = sympy.sympify("0.49999997*x_dot**2 + 0.5000000*y_dot**2 + 1.00000002*(x*y_dot - y*x_dot)"
                      " - 0.74999996*x**2 - 0.75*y**2")
    (rot,) = find_symmetries(L, ["x", "y"])
    assert rot.description == "rotation in (x, y)" and rot.exact is None
    assert rot.violation < 1e-6
    rng = np.random.default_rng(0)
    q, qd = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    got, want = _values([rot.charge], ["x", "y"], q, qd), _values([L_TRAP], ["x", "y"], q, qd)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert find_symmetries(L, ["x", "y"], rtol=1e-12) == []  # demanding exactness: broken at 1e-8


def test_a_symmetry_breaking_term_removes_the_rotation():
    coords = ["x", "y"]
    assert find_symmetries(TRAP - sympy.Float(0.3) * x**2, coords) == []  # anisotropic trap
    # a linear term only moves the trap's centre to c = (0.3/k, 0): the rotation about c survives,
    # with a gauge term from the magnetic potential; the rotation about the origin is gone
    shifted = TRAP + sympy.Float(0.3) * x
    (rot,) = find_symmetries(shifted, coords)
    c = 0.3 / float(K)
    assert rot.description == f"rotation in (x, y) about ({c:.4g}, 0)"
    assert rot.xi[0] == -y and sympy.expand(rot.xi[1] - (x - sympy.Rational(1, 5))) == 0
    t, q, qd = _simulate(shifted, coords, [0.7, -0.2], [0.3, 0.5])
    Q, size = charge_values(rot.charge, coords, q, qd)
    assert np.ptp(Q) < 1e-7 * np.sqrt(np.mean(size**2))
    Q0, size0 = charge_values(L_TRAP, coords, q, qd)  # the angular momentum about the origin is not conserved
    assert np.ptp(Q0) > 1e-2 * np.sqrt(np.mean(size0**2))


def test_contract_entries_are_evaluable_by_a_user():
    t, q, qd = _simulate(TWO_BODY, ["x1", "y1", "x2", "y2"], *INITIAL["two bodies"], t_end=1.0)
    entries = conserved_quantities(TWO_BODY, ["x1", "y1", "x2", "y2"], [(t, q, qd)])
    names = {c: S(c) for c in ["x1", "y1", "x2", "y2", "x1_dot", "y1_dot", "x2_dot", "y2_dot"]}
    for e in entries:
        assert {"name", "expression", "symmetry", "variation_on_data"} <= set(e)
        expr = sympy.sympify(e["expression"], locals=names)
        assert expr.free_symbols <= set(names.values())
    energy = sympy.sympify(entries[0]["expression"], locals=names)
    true_energy = TWO_BODY - 2 * TWO_BODY.subs({k: 0 for k in (x1d, y1d, x2d, y2d)})  # T + V
    assert sympy.expand(energy - true_energy) == 0
    series = charge_series(entries, ["x1", "y1", "x2", "y2"], [(t, q, qd)])
    assert len(series) == len(entries) and np.max(np.abs(series[0]["relative"][0])) < 1e-7


def test_friction_decay_is_reported_and_explained():
    """With R = ½ c Σ q̇², dE/dt = −c|q̇|² and dL_z/dt = −c (x ẏ − y ẋ): both decay, and adding back
    the predicted loss restores conservation."""
    coords, c = ["x", "y"], [0.2, 0.2]
    t, q, qd = _simulate(TRAP, coords, [0.7, -0.2], [0.3, 0.5], damping=c)
    entries = conserved_quantities(TRAP, coords, [(t, q, qd)], friction=c)
    assert len(entries) == 2
    for e in entries:
        assert e["variation_on_data"] > 0.05
        assert e["variation_after_friction"] < 1e-4  # trapezoid rule on 400 samples


def test_time_dependent_lagrangian_is_refused():
    driven = half * xd**2 - x * sympy.cos(S("t"))
    with pytest.raises(ValueError, match="time"):
        find_symmetries(driven, ["x"])
    assert conserved_quantities(driven, ["x"], [(np.zeros(5), np.zeros((5, 1)), np.ones((5, 1)))]) == []
    with pytest.raises(ValueError, match="MLP"):
        conserved_quantities(None, ["x"], [])
