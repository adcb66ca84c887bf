"""The Euler–Lagrange engine (discover.mechanics) against physics.

Expected values come from closed forms, from equations of motion that SymPy derives on its
own (d/dt ∂L/∂q̇ − ∂L/∂q = 0 with q(t) as functions, solved for q̈), and from invariances.
"""
import functools

import numpy as np
import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discover.mechanics import (
    SingularMassMatrixError,
    accelerations,
    energy,
    euler_lagrange_residual,
    mass_matrix,
)
from discover.systems import SYSTEMS, get_system

import physics

torch.set_num_threads(1)


# ----------------------------------------------------------------------------------------
# equations of motion derived by SymPy alone
# ----------------------------------------------------------------------------------------
def sympy_eom(expr, coordinates):
    """numpy f(q, qdot, t) -> qddot from the textbook Euler–Lagrange equations."""
    t = sympy.Symbol("t")
    funcs = [sympy.Function(c)(t) for c in coordinates]
    q = [sympy.Symbol(c) for c in coordinates]
    v = [sympy.Symbol(c + "_dot") for c in coordinates]
    a = [sympy.Symbol(c + "_ddot") for c in coordinates]
    Lt = expr.subs({**dict(zip(v, [f.diff(t) for f in funcs])), **dict(zip(q, funcs))}, simultaneous=True)
    eqs = [sympy.diff(sympy.diff(Lt, f.diff(t)), t) - sympy.diff(Lt, f) for f in funcs]
    back = [
        dict(zip([f.diff(t, 2) for f in funcs], a)),
        dict(zip([f.diff(t) for f in funcs], v)),
        dict(zip(funcs, q)),
    ]
    for rep in back:
        eqs = [e.subs(rep) for e in eqs]
    A, b = sympy.linear_eq_to_matrix(eqs, a)
    sol = A.LUsolve(b)
    g = sympy.lambdify([*q, *v, t], list(sol), "numpy")

    def f(Q, V, T):
        out = g(*Q.T, *V.T, T)
        return np.stack([np.broadcast_to(np.asarray(x, float), T.shape) for x in out], -1)

    return f


CASES = sorted(SYSTEMS) + ["chain_varmass", "harmonic_5d"]


def make_system(name):
    if name == "chain_varmass":
        return get_system("chain", n=3, alpha=0.7)
    return get_system(name)


@functools.lru_cache(maxsize=None)
def eom_for(name):
    s = make_system(name)
    return sympy_eom(s.lagrangian(), s.coordinates)


@pytest.mark.parametrize("name", CASES)
def test_agrees_with_sympy_equations_of_motion(name):
    s = make_system(name)
    rng = np.random.default_rng(CASES.index(name))  # fixed per case (hash() of a str is salted per process)
    q, v = s.sample_initial_states(16, rng)
    t = rng.uniform(0, 10, 16)
    expected = eom_for(name)(q, v, t)
    tt = torch.tensor(t) if s.time_dependent else None
    got = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v), tt).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # the SymPy expression itself is accepted too
    got2 = accelerations(s.lagrangian(), torch.tensor(q), torch.tensor(v), tt, coordinates=s.coordinates)
    np.testing.assert_allclose(got2.numpy(), expected, rtol=1e-10, atol=1e-10)
    # and the Euler–Lagrange residual vanishes on the true accelerations
    res = euler_lagrange_residual(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v), torch.tensor(expected), tt)
    assert res.abs().max() < 1e-9


def banded_chain(n, band):
    """Chain whose mass matrix has lower bandwidth ``band`` and depends on the state:
    L = Σ ½(1 + ½xᵢ²)ẋᵢ² + Σ_{1≤d≤band} 0.15·cos(xᵢ − xᵢ₊d) ẋᵢẋᵢ₊d − ½Σ(xᵢ₊₁ − xᵢ)² − ½x₀²
    (diagonally dominant, so M stays positive definite)."""
    x = sympy.symbols(f"x0:{n}")
    v = sympy.symbols([f"x{i}_dot" for i in range(n)])
    T = sum((1 + x[i] ** 2 / 2) * v[i] ** 2 / 2 for i in range(n))
    T += sum(sympy.Rational(15, 100) * sympy.cos(x[i] - x[i + d]) * v[i] * v[i + d]
             for d in range(1, band + 1) for i in range(n - d))
    V = sum((x[i + 1] - x[i]) ** 2 / 2 for i in range(n - 1)) + x[0] ** 2 / 2
    return T - V, [str(c) for c in x]


@pytest.mark.parametrize("n, band", [(6, 0), (6, 1), (7, 2), (9, 3), (7, 4)])
def test_structured_mass_matrix_solves_agree_with_sympy(n, band):
    """Diagonal and banded M (tensor-arithmetic Cholesky) and a band too wide for it (LAPACK)."""
    expr, coords = banded_chain(n, band)
    rng = np.random.default_rng(n * 10 + band)
    q, v = rng.uniform(-1, 1, (2, 32, n))
    f = physics.sympy_eom(expr, coords)  # SymPy's M and right-hand side, solved by NumPy
    expected = np.stack([f(0.0, np.concatenate([a, b]))[n:] for a, b in zip(q, v)])
    M = mass_matrix(expr, torch.tensor(q), torch.tensor(v), coordinates=coords)
    i, j = torch.nonzero((M != 0).any(0), as_tuple=True)
    assert int((i - j).abs().max()) == band  # the structure the solver sees
    for structure in (True, False):
        got = accelerations(expr, torch.tensor(q), torch.tensor(v), coordinates=coords, structure=structure)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_indefinite_banded_mass_matrix_raises_at_the_right_sample():
    expr, coords = banded_chain(6, 1)
    x3 = sympy.Symbol("x3")
    bad = expr - x3 ** 2 * sympy.Symbol("x3_dot") ** 2  # M₃₃ = 1 − 1.5 x₃² < 0 at sample 1 only
    q = torch.tensor([[0.0] * 6, [0.1] * 3 + [3.0] + [0.1] * 2, [0.2] * 6], dtype=torch.float64)
    with pytest.raises(SingularMassMatrixError, match="indefinite at sample 1"):
        accelerations(bad, q, torch.ones_like(q), coordinates=coords)


def test_gradcheck_through_the_banded_solve():
    expr, coords = banded_chain(6, 2)
    from discover.symbolic import sympy_to_torch

    L, _ = sympy_to_torch(expr, coordinates=coords)
    rng = np.random.default_rng(3)
    q, v = (torch.tensor(a).requires_grad_(True) for a in rng.uniform(-1, 1, (2, 3, 6)))
    assert torch.autograd.gradcheck(lambda q, v: accelerations(L, q, v), (q, v), eps=1e-6, atol=1e-6, rtol=1e-5)


# ----------------------------------------------------------------------------------------
# closed forms
# ----------------------------------------------------------------------------------------
def test_harmonic_oscillator_closed_form():
    s = get_system("harmonic_3d", m_x=2.0, k_z=7.0)
    q, v = s.sample_initial_states(10, 0)
    m = np.array([s.params[f"m_{c}"] for c in "xyz"])
    k = np.array([s.params[f"k_{c}"] for c in "xyz"])
    got = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    np.testing.assert_allclose(got, -k / m * q, rtol=1e-12, atol=1e-14)


def test_harmonic_oscillator_energy():
    s = get_system("harmonic_3d")
    q, v = s.sample_initial_states(10, 1)
    m = np.array([s.params[f"m_{c}"] for c in "xyz"])
    k = np.array([s.params[f"k_{c}"] for c in "xyz"])
    E = energy(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    np.testing.assert_allclose(E, (m * v**2 / 2 + k * q**2 / 2).sum(-1), rtol=1e-13)


@pytest.mark.parametrize("dim", [2, 3])
def test_larmor_frequency_and_radius(dim):
    m, charge, B = 1.5, -0.5, 3.0
    s = get_system(f"magnetic_{dim}d", m=m, charge=charge, B=B)
    q, v = s.sample_initial_states(20, 2)
    a = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    w = charge * B / m
    # Lorentz force q v × B, B = B ẑ:  a = ω (ẏ, −ẋ, 0)
    np.testing.assert_allclose(a[:, 0], w * v[:, 1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[:, 1], -w * v[:, 0], rtol=1e-12, atol=1e-14)
    if dim == 3:
        np.testing.assert_allclose(a[:, 2], 0, atol=1e-14)
    vperp = np.hypot(v[:, 0], v[:, 1])
    aperp = np.hypot(a[:, 0], a[:, 1])
    # uniform circular motion: |a| = ω |v|, radius |v|²/|a| = |v|/|ω|
    np.testing.assert_allclose(aperp / vperp, abs(w), rtol=1e-12)
    np.testing.assert_allclose(vperp**2 / aperp, vperp / abs(w), rtol=1e-12)


def test_time_dependent_driven_oscillator_closed_form():
    s = get_system("driven_oscillator", m=2.0, k=3.0, F=0.7, Omega=1.3)
    q, v = s.sample_initial_states(12, 3)
    t = np.linspace(0, 9, 12)
    got = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v), torch.tensor(t)).numpy()
    np.testing.assert_allclose(got[:, 0], (-3.0 * q[:, 0] + 0.7 * np.cos(1.3 * t)) / 2.0, rtol=1e-12, atol=1e-14)


def test_relativistic_and_kepler_closed_forms():
    s = get_system("relativistic", m=2.0, g=0.3)
    q, v = s.sample_initial_states(10, 4)
    a = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    np.testing.assert_allclose(a, -0.3 * (1 - v**2) ** 1.5, rtol=1e-12)  # d(γ m v)/dt = −m g
    s = get_system("kepler", m=2.0, k=3.0)
    q, v = s.sample_initial_states(10, 5)
    a = accelerations(s.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    r = np.linalg.norm(q, axis=-1, keepdims=True)
    np.testing.assert_allclose(a, -3.0 / 2.0 * q / r**3, rtol=1e-12)


# ----------------------------------------------------------------------------------------
# invariances: L → cL and L → L + dF(q)/dt leave q̈ unchanged
# ----------------------------------------------------------------------------------------
INVARIANCE_SYSTEMS = ["pendulum", "double_pendulum", "magnetic_2d", "kepler", "relativistic", "driven_oscillator"]
nonzero = st.one_of(st.floats(-20.0, -0.05), st.floats(0.05, 20.0))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(name=st.sampled_from(INVARIANCE_SYSTEMS), c=nonzero, seed=st.integers(0, 2**31 - 1))
def test_scaling_the_lagrangian_changes_nothing(name, c, seed):
    s = get_system(name)
    q, v = (torch.tensor(x) for x in s.sample_initial_states(5, seed))
    L = s.torch_lagrangian()
    if s.time_dependent:
        t = torch.linspace(0, 3, 5, dtype=torch.float64)
        scaled = lambda q, v, t: c * L(q, v, t)  # noqa: E731
    else:
        t = None
        scaled = lambda q, v: c * L(q, v)  # noqa: E731
    np.testing.assert_allclose(accelerations(scaled, q, v, t), accelerations(L, q, v, t), rtol=1e-9, atol=1e-11)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    name=st.sampled_from(["double_pendulum", "magnetic_2d", "kepler", "pendulum", "driven_oscillator"]),
    coef=st.lists(st.floats(-3, 3), min_size=6, max_size=6),
    freq=st.floats(0.2, 3.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_adding_a_total_time_derivative_changes_nothing(name, coef, freq, seed):
    s = get_system(name)
    q, v, t = s.symbols()
    x = q[0]
    y = q[-1]
    # a random gauge function F(q) (and F may depend on t for the time-dependent system)
    F = coef[0] * x**2 * y + coef[1] * sympy.sin(freq * x + coef[2]) + coef[3] * sympy.exp(coef[4] * y / 4) * x
    if s.time_dependent:
        F = F + coef[5] * x * sympy.cos(freq * t)
    dF = sum(sympy.diff(F, qi) * vi for qi, vi in zip(q, v)) + sympy.diff(F, t)
    L2 = s.lagrangian() + dF
    Q, V = (torch.tensor(a) for a in s.sample_initial_states(5, seed))
    T = torch.linspace(0.5, 2, 5, dtype=torch.float64) if s.time_dependent else None
    ref = accelerations(s.torch_lagrangian(), Q, V, T)
    got = accelerations(L2, Q, V, T, coordinates=s.coordinates)
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8)


# ----------------------------------------------------------------------------------------
# differentiability
# ----------------------------------------------------------------------------------------
def _double_pendulum(m1, m2, l1, l2, g):
    def L(q, v):
        a, b = q[0], q[1]
        ad, bd = v[0], v[1]
        T = (m1 + m2) * l1**2 * ad**2 / 2 + m2 * l2**2 * bd**2 / 2 + m2 * l1 * l2 * ad * bd * torch.cos(a - b)
        return T + (m1 + m2) * g * l1 * torch.cos(a) + m2 * g * l2 * torch.cos(b)

    return L


def test_gradcheck_accelerations_wrt_lagrangian_parameters():
    params = tuple(torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (1.0, 0.7, 1.2, 0.9, 9.81))
    q, v = (torch.tensor(x) for x in get_system("double_pendulum").sample_initial_states(3, 6))

    def f(*p):
        return accelerations(_double_pendulum(*p), q, v)

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_accelerations_wrt_state():
    L = _double_pendulum(1.0, 0.7, 1.2, 0.9, 9.81)
    q, v = (torch.tensor(x).requires_grad_(True) for x in get_system("double_pendulum").sample_initial_states(3, 7))
    assert torch.autograd.gradcheck(lambda q, v: accelerations(L, q, v), (q, v), eps=1e-6, atol=1e-6, rtol=1e-5)


# ----------------------------------------------------------------------------------------
# mass matrix that does not determine q̈
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "L, what",
    [
        ("(x_dot + y_dot)**2/2 - x**2/2 - y**2/2", "singular"),  # M = [[1, 1], [1, 1]]
        ("x_dot**2/2 - y_dot**2/2 - x**2/2", "indefinite"),  # trace 0
        ("-x_dot**2 + y_dot**2/4 + x*y", "indefinite"),  # negative trace
        ("x*y_dot - y*x_dot - x**2 - y**2", "singular"),  # no kinetic term at all (M = 0)
    ],
)
def test_singular_or_indefinite_mass_matrix_raises(L, what):
    q = torch.tensor([[0.3, -0.2], [1.0, 0.5]], dtype=torch.float64)
    with pytest.raises(SingularMassMatrixError, match=what):
        accelerations(L, q, torch.ones_like(q), coordinates=["x", "y"])


def test_state_dependent_singularity_is_located():
    L = "x**2 * x_dot**2 / 2 - x**2 / 2"
    good = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    assert torch.isfinite(accelerations(L, good, torch.ones_like(good))).all()
    bad = torch.tensor([[1.0], [0.0], [2.0]], dtype=torch.float64)
    with pytest.raises(SingularMassMatrixError) as info:
        accelerations(L, bad, torch.ones_like(bad))
    assert float(info.value.q[0]) == 0.0


def test_negative_definite_mass_matrix_is_fine():
    s = get_system("pendulum")
    L = s.torch_lagrangian()
    q, v = (torch.tensor(x) for x in s.sample_initial_states(4, 8))
    M = mass_matrix(lambda q, v: -L(q, v), q, v)
    assert (M < 0).all()
    np.testing.assert_allclose(accelerations(lambda q, v: -L(q, v), q, v), -9.81 * torch.sin(q), rtol=1e-12)


# ----------------------------------------------------------------------------------------
# shapes, broadcasting, dtype
# ----------------------------------------------------------------------------------------
def test_leading_dimensions_and_broadcasting():
    s = get_system("double_pendulum")
    L = s.torch_lagrangian()
    q, v = (torch.tensor(x) for x in s.sample_initial_states(6, 9))
    flat = accelerations(L, q, v)
    assert flat.shape == (6, 2)
    np.testing.assert_allclose(accelerations(L, q.reshape(2, 3, 2), v.reshape(2, 3, 2)), flat.reshape(2, 3, 2), rtol=1e-13)
    # one q against many velocities
    many = accelerations(L, q[0], v)
    assert many.shape == (6, 2)
    np.testing.assert_allclose(many[2], accelerations(L, q[0], v[2]), rtol=1e-13)
    # a single state
    assert accelerations(L, q[0], v[0]).shape == (2,)


def test_time_broadcasts_against_states():
    s = get_system("driven_oscillator")
    L = s.torch_lagrangian()
    q = torch.tensor([[0.5]], dtype=torch.float64)
    v = torch.zeros(4, 1, dtype=torch.float64)
    t = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    a = accelerations(L, q, v, t)
    assert a.shape == (4, 1)
    F, W = s.params["F"], s.params["Omega"]
    np.testing.assert_allclose(a[:, 0], -0.5 + F * np.cos(W * t.numpy()), rtol=1e-12)
    assert accelerations(L, q, v, 1.0).shape == (4, 1)  # a scalar t


def test_float32_stays_float32():
    s = get_system("kepler")
    q, v = (torch.tensor(x, dtype=torch.float32) for x in s.sample_initial_states(5, 10))
    a = accelerations(s.torch_lagrangian(), q, v)
    assert a.dtype == torch.float32
    r = q.double().norm(dim=-1, keepdim=True)
    np.testing.assert_allclose(a.double(), -q.double() / r**3, rtol=1e-4)
    assert energy(s.torch_lagrangian(), q, v).dtype == torch.float32


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="coordinates"):
        accelerations("x_dot**2/2 - x**2/2", torch.zeros(3, 1), torch.zeros(3, 2))


def test_allocator_tuning_respects_the_opt_out(monkeypatch):
    from discover import allocator

    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setenv("DISCOVER_KEEP_MALLOC", "1")
    assert allocator.keep_freed_memory() is False
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.delenv("DISCOVER_KEEP_MALLOC")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")  # the user's own setting wins
    assert allocator.keep_freed_memory() is False
