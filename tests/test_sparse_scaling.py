"""Structure the support search uses at many coordinates (discover.sparse): the blockwise R
factor of row-sparse columns, the support cap and the normalization rows tried."""
import numpy as np

from discover.sparse import _blockwise_r, normalization_rows, scaled_factor, size_cap


def _row_sparse(rng, groups=10, rows=200, width=32, per_group=5):
    """Rows in ``groups`` interleaved groups, each nonzero on its own few columns."""
    X = np.zeros((groups * rows, width))
    for g in range(groups):
        cols = (np.arange(per_group) + 3 * g) % width
        X[g::groups, cols] = rng.normal(size=(rows, per_group))
    return X


def test_blockwise_factor_has_the_gram_matrix_of_the_columns():
    X = _row_sparse(np.random.default_rng(0))
    R = _blockwise_r(X)
    assert R is not None
    np.testing.assert_allclose(R.T @ R, X.T @ X, atol=1e-9 * np.abs(X.T @ X).max())


def test_dense_or_few_groups_keep_the_plain_factor():
    rng = np.random.default_rng(1)
    assert _blockwise_r(rng.normal(size=(300, 20))) is None  # one pattern: dense
    assert _blockwise_r(_row_sparse(rng, groups=4)) is None  # too few groups
    X = _row_sparse(rng, groups=10, width=12, per_group=6)  # half the columns per group: not sparse enough
    assert _blockwise_r(X) is None


def test_scaled_factor_blockwise_matches_the_scaled_gram_matrix():
    X = _row_sparse(np.random.default_rng(2)) * np.arange(1, 33)  # columns of different norms
    kept = list(range(32))
    R, scale = scaled_factor(X, kept)
    Xs = X / scale
    np.testing.assert_allclose(np.linalg.norm(Xs, axis=0), 1.0)
    np.testing.assert_allclose(R.T @ R, Xs.T @ Xs, atol=1e-9)


def test_size_cap_reaches_a_chain_of_springs():
    assert size_cap(2) == 40 and size_cap(10) == 40
    for n in (14, 16, 32, 64):  # n kinetic + n + (n − 1) potential terms
        assert size_cap(n) >= 3 * n - 1


def test_normalization_rows_all_up_to_eight_then_four_spread():
    A = np.ones((6, 5))
    A[2] = 0  # a coordinate without a kinetic term among the kept columns
    assert normalization_rows(A, [0, 1, 2, 3, 4]) == [0, 1, 3, 4, 5]
    rows = normalization_rows(np.ones((32, 3)), [0, 1, 2])
    assert len(rows) == 4 and rows[0] == 0 and rows[-1] == 31 and rows == sorted(set(rows))
    assert len(normalization_rows(np.ones((8, 3)), [0, 1, 2])) == 8
