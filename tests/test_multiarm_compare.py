"""pipelines/multiarm_compare.py: the MultiArm authors' model written from the physics."""
import importlib.util
import math
import os

import numpy as np
import sympy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "pipelines", "multiarm_compare.py")


def load():
    spec = importlib.util.spec_from_file_location("multiarm_compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parameter_order_has_five_per_arm():
    mc = load()
    assert mc.parameter_names(1) == ["a1", "m1", "I1", "k1", "g"]
    assert mc.parameter_names(2) == ["m1", "m2", "a1", "a2", "L1", "I1", "I2", "k1", "k2", "g"]
    assert len(mc.parameter_names(3)) == 15 and mc.parameter_names(3)[6:8] == ["L1", "L2"]


def test_point_mass_double_pendulum_is_the_textbook_one():
    """I = 0 and a = L: the textbook double pendulum, hanging at θ = π (θ = 0 upright)."""
    mc = load()
    m1, m2, l1, l2, g = 0.7, 0.4, 1.3, 0.9, 9.81
    p = {"m1": m1, "m2": m2, "a1": l1, "a2": l2, "L1": l1, "I1": 0.0, "I2": 0.0, "k1": 0.1, "k2": 0.05, "g": g}
    L, R = mc.authors_model(2, p)
    t1, t2, v1, v2 = sympy.symbols("theta1 theta2 theta1_dot theta2_dot")
    textbook = (0.5 * (m1 + m2) * l1**2 * v1**2 + 0.5 * m2 * l2**2 * v2**2 + m2 * l1 * l2 * v1 * v2 * sympy.cos(t1 - t2)
                - (m1 + m2) * g * l1 * sympy.cos(t1) - m2 * g * l2 * sympy.cos(t2))
    f = sympy.lambdify([t1, t2, v1, v2], L - textbook)
    rng = np.random.default_rng(0)
    for x in rng.normal(size=(20, 4)) * 2:
        assert abs(f(*x)) < 1e-12
    # relative joint friction: ½ k1 θ̇1² + ½ k2 (θ̇2 − θ̇1)²
    assert abs(float(R.coeff(v1 * v2)) + 0.05) < 1e-15 and abs(float(R.coeff(v1**2)) - 0.5 * 0.15) < 1e-15
    # flipped height: θ = 0 hanging
    Lf, _ = mc.authors_model(2, p, upright_zero=False)
    assert float(Lf.coeff(sympy.cos(t1))) > 0 > float(L.coeff(sympy.cos(t1)))


def test_single_arm_frequency_is_mga_over_inertia():
    mc = load()
    a, m, I, g = 0.15, 0.15, 1.1e-4, 9.81
    L, _ = mc.authors_model(1, {"a1": a, "m1": m, "I1": I, "k1": 0.0, "g": g})
    osc = mc.small_oscillations(L, ["theta1"])
    assert abs(osc["equilibrium"][0] - math.pi) < 1e-8
    assert abs(osc["omega2"][0] / (m * g * a / (I + m * a**2)) - 1) < 1e-9


def test_triple_arm_mass_matrix_matches_the_collected_form():
    """M(q) from the centres of mass equals Σ_i m_i l_ij l_ik cos(θ_j − θ_k) + I_j δ_jk."""
    mc = load()
    rng = np.random.default_rng(1)
    p = dict(zip(mc.parameter_names(3), rng.uniform(0.1, 0.5, 15)))
    L, _ = mc.authors_model(3, p)
    q, v = mc.symbols(3)
    x = rng.normal(size=3)
    M = np.array([[float(sympy.diff(L, a, b).subs(dict(zip(q, x)))) for b in v] for a in v])
    m = [p["m1"], p["m2"], p["m3"]]
    lever = [[p["a1"], 0, 0], [p["L1"], p["a2"], 0], [p["L1"], p["L2"], p["a3"]]]
    want = np.diag([p["I1"], p["I2"], p["I3"]]).astype(float)
    for j in range(3):
        for k in range(3):
            want[j, k] += sum(m[i] * lever[i][j] * lever[i][k] for i in range(3)) * math.cos(x[j] - x[k])
    np.testing.assert_allclose(M, want, rtol=1e-12)
