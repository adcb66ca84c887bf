"""Sparse solvers (discover/sparse.py) against brute force and linear algebra written out here:
KKT systems for the constrained least squares, exhaustive search for the greedy paths."""
from itertools import combinations

import numpy as np
import pytest

from discover.sparse import (
    backward_path,
    candidate_supports,
    constrained_fit,
    independent_blocks,
    reduce_gauge,
    small_supports,
    stlsq_path,
)


def kkt_fit(R, A, S):
    """min ‖R_S x‖² s.t. A_S x = 1 from the KKT system [[2RᵀR, Aᵀ], [A, 0]] [x; λ] = [0; 1]."""
    A = np.atleast_2d(A)
    RS, AS = R[:, S], A[:, S]
    s, m = len(S), len(A)
    K = np.block([[2 * RS.T @ RS, AS.T], [AS, np.zeros((m, m))]])
    sol = np.linalg.solve(K, np.r_[np.zeros(s), np.ones(m)])
    x = np.zeros(R.shape[1])
    x[list(S)] = sol[:s]
    return x


def residual(R, A, S):
    x = constrained_fit(R, A, S)
    return np.inf if x is None else float(np.linalg.norm(R @ x))


# ----------------------------------------------------------------------------------------
# constrained_fit
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2])
def test_constrained_fit_is_feasible_and_optimal(m):
    rng = np.random.default_rng(0)
    R = rng.normal(size=(40, 7))
    A = rng.normal(size=(m, 7))
    S = [0, 1, 3, 4, 6]
    x = constrained_fit(R, A if m > 1 else A[0], S)
    np.testing.assert_allclose(A @ x, 1.0, atol=1e-12)          # the constraint holds
    assert np.all(x[[2, 5]] == 0)                               # only the support is used
    np.testing.assert_allclose(x, kkt_fit(R, A, S), rtol=1e-9, atol=1e-12)
    # no feasible point does better: random feasible perturbations x + N z only increase ‖R x‖
    _, _, vt = np.linalg.svd(A[:, S])
    N = vt[m:].T
    best = np.linalg.norm(R @ x)
    for z in rng.normal(size=(200, len(S) - m)):
        y = x.copy()
        y[S] += N @ z * 1e-2
        np.testing.assert_allclose(A @ y, 1.0, atol=1e-12)
        assert np.linalg.norm(R @ y) >= best - 1e-12


def test_constrained_fit_finds_the_exact_null_vector():
    # exact data: R x* = 0 for a sparse x* with a·x* = 1; R_S is rank deficient, the fit is x*
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 6))
    xs = np.array([0.5, 0.0, -1.5, 0.0, 2.0, 0.0])
    X[:, 4] = -(X[:, 0] * 0.5 - 1.5 * X[:, 2]) / 2.0       # makes X x* = 0
    a = np.array([2.0, 0, 0, 0, 0, 0])                       # a·x* = 1
    x = constrained_fit(X, a, [0, 2, 4])
    np.testing.assert_allclose(x, xs, atol=1e-12)
    assert np.linalg.norm(X @ x) < 1e-12


def test_constrained_fit_refuses_what_it_cannot_fit():
    rng = np.random.default_rng(2)
    R = rng.normal(size=(20, 5))
    a = np.array([1.0, 0, 0, 0, 0])
    assert constrained_fit(R, a, []) is None
    assert constrained_fit(R, a, [1, 2]) is None               # no term carries the normalization
    assert constrained_fit(R, np.eye(5)[:2], [0]) is None      # two rows, one term
    # two exact models in one support: R_S has a 2-D null space, the fit is ambiguous
    Z = rng.normal(size=(20, 5))
    Z[:, 2] = Z[:, 0] + Z[:, 1]
    Z[:, 3] = Z[:, 0] - Z[:, 1]
    assert constrained_fit(Z, a, [0, 1, 2, 3]) is None
    assert constrained_fit(R[:3], a, [0, 1, 2, 3, 4]) is None  # 4 free unknowns, 3 rows


# ----------------------------------------------------------------------------------------
# backward elimination and the exhaustive small search, against brute force
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("m", [1, 2])
def test_backward_path_drops_the_cheapest_term_each_step(seed, m):
    rng = np.random.default_rng(seed)
    K = 7
    R = rng.normal(size=(30, K)) * rng.uniform(0.2, 3.0, K)   # unequal column norms
    A = rng.normal(size=(m, K))
    path = backward_path(R, A if m > 1 else A[0], list(range(K)))
    assert path[0] == tuple(range(K)) and len(path) == K - m + 1
    assert [len(s) for s in path] == list(range(K, m - 1, -1))
    for S, T in zip(path[:-1], path[1:]):
        assert set(T) < set(S)
        # brute force: the constrained residual of every single removal
        scores = {k: residual(R, A, [j for j in S if j != k]) for k in S}
        dropped = (set(S) - set(T)).pop()
        assert scores[dropped] == pytest.approx(min(scores.values()), rel=1e-9)


def test_backward_path_passes_through_the_true_support():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 8))
    xs = np.array([1.0, 0, -2.0, 0, 0, 0.7, 0, 0])
    X = X - np.outer(X @ xs, xs) / (xs @ xs)                  # now X x* = 0 exactly
    X += 1e-6 * rng.normal(size=X.shape)                      # a little noise
    a = np.array([1.0, 0, 0, 0, 0, 0, 0, 0])
    path = backward_path(X, a, list(range(8)))
    assert (0, 2, 5) in path
    x = constrained_fit(X, a, [0, 2, 5])
    np.testing.assert_allclose(x, xs, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_small_supports_are_the_best_of_each_size(seed):
    rng = np.random.default_rng(seed)
    K = 6
    R = rng.normal(size=(25, K))
    a = rng.normal(size=K)
    found = small_supports(R, a, list(range(K)), max_size=3, keep=2)
    for size in (1, 2, 3):
        ranked = sorted((residual(R, a, S), S) for S in combinations(range(K), size)
                        if np.isfinite(residual(R, a, S)))
        got = [S for S in found if len(S) == size]
        assert got == [S for _, S in ranked[:2]]


def test_stlsq_path_recovers_an_exact_sparse_model():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 10))
    xs = np.zeros(10)
    xs[[1, 4, 7]] = [1.0, 3.0, -0.5]
    X = X - np.outer(X @ xs, xs) / (xs @ xs)
    a = np.zeros(10)
    a[1] = 1.0
    path = stlsq_path(X, a, list(range(10)))
    assert (1, 4, 7) in path
    sup, Rs, scale = candidate_supports(X, a, list(range(10)))
    assert (1, 4, 7) in sup
    x = constrained_fit(Rs, a / scale, (1, 4, 7)) / scale     # coefficients of the original columns
    np.testing.assert_allclose(x, xs, atol=1e-9)


# ----------------------------------------------------------------------------------------
# gauge reduction: null and collinear columns, at the stated tolerances
# ----------------------------------------------------------------------------------------
def test_reduce_gauge_null_columns_at_the_tolerance():
    rng = np.random.default_rng(5)
    C = rng.normal(size=(50, 4))
    C[:, 1] *= 1e-10 / np.linalg.norm(C[:, 1])     # norm 1e-10 of a scale 1: below null_tol = 1e-9
    C[:, 2] *= 1e-8 / np.linalg.norm(C[:, 2])      # 1e-8: above it
    scales = np.ones(4)
    kept, null, coll = reduce_gauge(C, [0, 1, 2, 3], scales=scales)
    assert null == [1] and coll == [] and kept == [0, 2, 3]
    # the tolerance is relative to each term's scale
    kept, null, _ = reduce_gauge(C, [0, 1, 2, 3], scales=np.array([1, 1, 1e2, 1]))
    assert null == [1, 2]
    kept, null, _ = reduce_gauge(C, [0, 1, 2, 3], null_tol=1e-11, scales=scales)
    assert null == []


def test_reduce_gauge_collinear_columns_keep_the_simpler_term():
    rng = np.random.default_rng(6)
    C = rng.normal(size=(50, 5))
    e = rng.normal(size=50)
    Q, _ = np.linalg.qr(np.column_stack([C[:, :2], e]))
    perp = Q[:, 2]                                       # unit vector orthogonal to columns 0, 1
    C[:, 2] = C[:, 0] + 2 * C[:, 1]                      # exactly dependent (sin² + cos² = 1)
    C[:, 3] = C[:, 0] - C[:, 1]
    C[:, 3] += 1e-9 * np.linalg.norm(C[:, 3]) * perp     # relative 1e-9 off the span: below 1e-7
    C[:, 4] = C[:, 1] + 1e-5 * np.linalg.norm(C[:, 1]) * perp  # relative 1e-5: independent
    kept, null, coll = reduce_gauge(C, [0, 1, 2, 3, 4])
    assert kept == [0, 1, 4] and coll == [2, 3] and null == []
    # the order decides which of dependent terms stays: the first (simplest) ones
    kept, _, coll = reduce_gauge(C, [2, 3, 0, 1, 4])
    assert kept == [2, 3, 4] and sorted(coll) == [0, 1]
    # a looser tolerance merges column 4 too
    assert reduce_gauge(C, [0, 1, 2, 3, 4], collinear_tol=1e-4)[2] == [2, 3, 4]


def test_independent_blocks_detects_decoupled_blocks():
    # two decoupled blocks (terms 0–1 act on the x rows, 2–3 on the y rows), each with an exact
    # model; a coupled term 4 on both.  Normalization rows: A_x on term 0, A_y on term 2.
    rng = np.random.default_rng(7)
    n = 60
    X = np.zeros((2 * n, 5))
    u, w = rng.normal(size=(2, n))
    X[:n, 0], X[:n, 1] = u, -2 * u                      # block x: ξ₀ = 2ξ₁
    X[n:, 2], X[n:, 3] = w, -3 * w                      # block y: ξ₂ = 3ξ₃
    X[:, 4] = rng.normal(size=2 * n)
    X += 1e-8 * rng.normal(size=X.shape)
    A = np.zeros((2, 5))
    A[0, 0] = A[1, 2] = 1.0
    assert sorted(independent_blocks(X, A, [0, 1, 2, 3, 4], first=0)) == [0, 1]
    # one coupled model ξ₀ = 2ξ₁ over all rows: a second row ξ₁ = 1 contradicts ξ₀ = 1 and costs
    # the signal, not the noise, so only the first row is proposed
    Z = np.zeros((2 * n, 3))
    Z[:, 0] = np.r_[u, w]
    Z[:, 1] = -2 * np.r_[u, w]
    Z[:, 2] = rng.normal(size=2 * n)
    Z += 1e-8 * rng.normal(size=Z.shape)
    B = np.array([[1.0, 0, 0], [0, 1.0, 0]])             # ξ₀ = 1 and ξ₁ = 1 cannot both hold
    assert independent_blocks(Z, B, [0, 1, 2], first=0) == [0]
