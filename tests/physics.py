"""Test data from physics alone: SymPy-derived equations of motion integrated by SciPy.

Independent of the code under test (no discover.mechanics, no discover.integrate).
"""
import numpy as np
import sympy
from scipy.integrate import solve_ivp


def sympy_eom(L: sympy.Expr, coordinates):
    """f(y) = [q̇, q̈] for scipy, from M q̈ = ∂L/∂q − C q̇ derived by SymPy."""
    q = [sympy.Symbol(c) for c in coordinates]
    v = [sympy.Symbol(c + "_dot") for c in coordinates]
    n = len(q)
    p = [sympy.diff(L, vi) for vi in v]
    M = sympy.Matrix(n, n, lambda i, j: sympy.diff(p[i], v[j]))
    rhs = sympy.Matrix([sympy.diff(L, q[i]) - sum(sympy.diff(p[i], q[j]) * v[j] for j in range(n))
                        for i in range(n)])
    fM = sympy.lambdify(q + v, M, "numpy")
    fr = sympy.lambdify(q + v, rhs, "numpy")

    def f(_, y):
        M_ = np.array(fM(*y), float)
        r = np.array(fr(*y), float).ravel()
        return np.concatenate([y[n:], np.linalg.solve(M_, r)])

    return f


def trajectories(L, coordinates, q0s, v0s, t):
    """Positions (B, T, n) from the given initial states, to ~1e-11."""
    f = sympy_eom(sympy.sympify(L), coordinates)
    out = []
    for q0, v0 in zip(q0s, v0s):
        sol = solve_ivp(f, (t[0], t[-1]), np.concatenate([q0, v0]), t_eval=t, method="DOP853",
                        rtol=1e-12, atol=1e-12)
        out.append(sol.y[: len(coordinates)].T)
    return np.stack(out)
