"""Numerical differentiation: expected values come from calculus, never from the code."""
import numpy as np
import pytest

from discover.data import TrajectorySet
from discover.derivatives import (
    Auto,
    FiniteDifference,
    SavitzkyGolay,
    SmoothingSpline,
    estimate_noise,
    get_differentiator,
)

T = np.arange(0.0, 10.0, 0.01)  # dt = 0.01, N = 1000

# signal: (q, q̇, q̈) by hand
SIGNALS = {
    "sin": lambda t: (np.sin(t), np.cos(t), -np.sin(t)),
    "cubic": lambda t: (t**3 - 2 * t, 3 * t**2 - 2, 6 * t),
    "exp": lambda t: (np.exp(0.3 * t), 0.3 * np.exp(0.3 * t), 0.09 * np.exp(0.3 * t)),
}


def max_rel(est, exact):
    return np.max(np.abs(est - exact)) / np.max(np.abs(exact))


def rms_rel(est, exact):
    return np.sqrt(np.mean((est - exact) ** 2) / np.mean(exact**2))


# (differentiator, bound on max relative q̇ error, bound on max relative q̈ error) on clean
# data with dt = 0.01, ends included.
# FiniteDifference(2): the one-sided end stencil's truncation error is h²|q⁽³⁾|/3, i.e. 3.3e-5 of
# max|q̇| for sin (measured 1.7e-5): bound h² = 1e-4.
# FiniteDifference(8) (and Auto, which picks it on clean data): truncation is ~h⁸ = 1e-16; what
# is left is roundoff of the one-sided 10-point q̈ stencil, whose weights sum to Σ|c| ≈ 667 (solve
# the Vandermonde system for offsets 0…9): (n + 1)·ε·Σ|c|·max|q| / h² ≈ 11·2.2e-16·667·20/1e-4
# ≈ 3e-7 of max|q̈| for exp(0.3t) (measured 1e-8): bound 1e-6.
CLEAN_BOUNDS = [
    (lambda: FiniteDifference(order=2), 1e-4, 1e-3),
    (lambda: FiniteDifference(order=4), 1e-8, 1e-7),
    (lambda: FiniteDifference(order=8), 1e-10, 1e-6),
    (lambda: SavitzkyGolay(polyorder=5), 1e-9, 1e-7),
    (lambda: SavitzkyGolay(window=51, polyorder=5), 1e-5, 1e-3),
    (lambda: SmoothingSpline(), 1e-9, 1e-7),
    (lambda: Auto(), 1e-10, 1e-6),
]


@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("make,b1,b2", CLEAN_BOUNDS)
def test_clean_accuracy(make, b1, b2, signal):
    q, v, a = SIGNALS[signal](T)
    s, qdot, qddot = make().differentiate(T, q)
    assert s.shape == qdot.shape == qddot.shape == q.shape
    assert max_rel(qdot, v) < b1
    assert max_rel(qddot, a) < b2


def test_auto_clean_is_finite_differences_to_roundoff():
    q = np.column_stack([f(T)[0] for f in SIGNALS.values()])
    a = np.column_stack([f(T)[2] for f in SIGNALS.values()])
    d = Auto()
    _, _, qddot = d.differentiate(T, q)
    assert d.method_ == ["finite_difference"] * 3
    for j in range(3):
        assert max_rel(qddot[:, j], a[:, j]) < 1e-6  # roundoff of an 8th-order stencil (CLEAN_BOUNDS)
    assert "finite differences" in d.describe()


@pytest.mark.parametrize("order", [2, 4, 6])
def test_finite_difference_exact_on_polynomials(order):
    t = np.linspace(-1, 2, 40)
    q = 1 + t - 2 * t**2 + 0.5 * t**order  # degree order: exact for central and one-sided
    _, qdot, qddot = FiniteDifference(order=order).differentiate(t, q)
    assert np.allclose(qdot, 1 - 4 * t + 0.5 * order * t ** (order - 1), atol=1e-8)
    assert np.allclose(qddot, -4 + 0.5 * order * (order - 1) * t ** (order - 2), atol=1e-6)


@pytest.mark.parametrize("order", [2, 4])
def test_finite_difference_convergence_order(order):
    errs = []
    for h in (0.1, 0.05):
        t = np.arange(0, 3 + h / 2, h)
        _, _, qddot = FiniteDifference(order=order).differentiate(t, np.sin(t))
        inside = (t > 0.5) & (t < 2.5)
        errs.append(np.max(np.abs(qddot + np.sin(t))[inside]))
    assert np.log2(errs[0] / errs[1]) == pytest.approx(order, abs=0.2)


def test_finite_difference_uneven_grid():
    rng = np.random.default_rng(0)
    t = np.cumsum(0.01 * (1 + 0.6 * (rng.random(800) - 0.5)))
    q = np.sin(t)
    _, qdot, qddot = FiniteDifference(order=6).differentiate(t, q)
    assert max_rel(qdot, np.cos(t)) < 1e-8
    assert max_rel(qddot, -np.sin(t)) < 1e-5


def test_spline_uneven_grid():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 6, 500))
    _, qdot, qddot = SmoothingSpline().differentiate(t, np.exp(0.3 * t))
    assert max_rel(qdot, 0.3 * np.exp(0.3 * t)) < 1e-6
    assert max_rel(qddot, 0.09 * np.exp(0.3 * t)) < 1e-4


def test_savgol_stable_at_high_order_and_long_window():
    # scipy's savgol coefficients lose digits here; a degree-7 polynomial must be exact
    t = np.linspace(-1, 1, 1001)
    q = t**7 - t**3
    _, qdot, qddot = SavitzkyGolay(window=401, polyorder=7).differentiate(t, q)
    assert np.allclose(qdot, 7 * t**6 - 3 * t**2, atol=1e-8)
    assert np.allclose(qddot, 42 * t**5 - 6 * t, atol=1e-6)


def test_savgol_bad_window():
    with pytest.raises(ValueError, match="odd"):
        SavitzkyGolay(window=10).differentiate(T, np.sin(T))
    with pytest.raises(ValueError, match="polyorder"):
        SavitzkyGolay(window=11, polyorder=1).differentiate(T, np.sin(T))


def test_savgol_window_longer_than_data_is_shortened():
    t = np.arange(9) * 0.1
    d = SavitzkyGolay(window=21, polyorder=3)
    _, qdot, _ = d.differentiate(t, t**3)
    assert d.window_ == [(9, 9, 9)]
    assert np.allclose(qdot, 3 * t**2, atol=1e-10)


# ------------------------------------------------------------------ noise
@pytest.mark.parametrize("sigma", [1e-3, 1e-2, 1e-1])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_estimate_within_factor_1_3(sigma, seed):
    rng = np.random.default_rng(seed)
    q = np.sin(T) + sigma * rng.standard_normal(T.shape)
    est = estimate_noise(T, q)
    assert est.shape == (1,)
    assert 1 / 1.3 < est[0] / sigma < 1.3


def test_noise_estimate_per_column_and_clean():
    rng = np.random.default_rng(3)
    q = np.column_stack([np.sin(T) + 0.02 * rng.standard_normal(T.shape),
                         np.cos(2 * T) + 0.001 * rng.standard_normal(T.shape),
                         np.exp(0.3 * T)])
    est = estimate_noise(T, q)
    assert 1 / 1.3 < est[0] / 0.02 < 1.3
    assert 1 / 1.3 < est[1] / 0.001 < 1.3
    assert est[2] < 1e-12 * np.max(q[:, 2])


def test_noise_estimate_groups_ignore_jumps_between_trajectories():
    rng = np.random.default_rng(4)
    t = np.r_[T[:300], T[:300]]
    q = np.r_[np.sin(T[:300]), 100 + np.sin(T[:300])] + 0.01 * rng.standard_normal(600)
    est = estimate_noise(t, q, groups=np.repeat([0, 1], 300))
    assert 1 / 1.3 < est[0] / 0.01 < 1.3


# ------------------------------------------------------------------ noisy data
def test_auto_smooths_noisy_data_far_better_than_finite_differences():
    rng = np.random.default_rng(5)
    q, v, a = SIGNALS["sin"](T)
    y = q + 0.01 * np.std(q) * rng.standard_normal(T.shape)  # 1 % noise
    d = Auto()
    s, qdot, qddot = d.differentiate(T, y)
    _, fd_qdot, fd_qddot = FiniteDifference(order=2).differentiate(T, y)
    assert d.method_ == ["savgol"]
    assert d.noise_[0] == pytest.approx(0.01 * np.std(q), rel=0.3)
    assert rms_rel(qddot, a) < 0.1
    assert rms_rel(qddot, a) < rms_rel(fd_qddot, a) / 100
    assert rms_rel(qdot, v) < rms_rel(fd_qdot, v) / 10
    assert rms_rel(s, q) < 0.01  # smoothed positions closer than the noise
    assert "Savitzky–Golay" in d.describe()


def test_auto_on_uneven_noisy_grid():
    rng = np.random.default_rng(6)
    t = np.cumsum(0.01 * (1 + 0.5 * (rng.random(1000) - 0.5)))
    y = np.sin(t) + 0.01 * rng.standard_normal(t.shape)
    d = Auto()
    _, qdot, qddot = d.differentiate(t, y)
    _, _, fd_qddot = FiniteDifference(order=2).differentiate(t, y)
    assert d.method_ == ["savgol"]
    assert rms_rel(qdot, np.cos(t)) < 0.02
    assert rms_rel(qddot, -np.sin(t)) < 0.15
    assert rms_rel(qddot, -np.sin(t)) < rms_rel(fd_qddot, -np.sin(t)) / 100


def test_savgol_uneven_grid_exact_on_polynomials():
    rng = np.random.default_rng(8)
    t = np.sort(rng.uniform(-1, 1, 200))
    q = 2 - t + 3 * t**2 - t**5
    _, qdot, qddot = SavitzkyGolay(window=31, polyorder=5).differentiate(t, q)
    assert np.allclose(qdot, -1 + 6 * t - 5 * t**4, atol=1e-8)
    assert np.allclose(qddot, 6 - 20 * t**3, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_spline_on_noisy_data(seed):
    # the error of a smoothing spline on noisy data is noise-limited and varies with the draw
    # (q̇: 3–5 % rms over 10 seeds): assert what the method is for, beating the noise
    # amplification of finite differences (σ/(√2 h) on q̇, √6 σ/h² on q̈; measured ≈ 20× and
    # ≈ 2000× better), with margins of 4× and 20×
    rng = np.random.default_rng(seed)
    y = np.sin(T) + 0.01 * rng.standard_normal(T.shape)
    d = SmoothingSpline()
    _, qdot, qddot = d.differentiate(T, y)
    _, fd_qdot, fd_qddot = FiniteDifference(order=2).differentiate(T, y)
    # the smoothing parameter is set from the noise, s = 2 N σ² (measured 0.8–1.14 of it over 10
    # seeds; the noise estimate alone is good to 30 %, test_noise_estimate_within_factor_1_3)
    assert d.smoothing_[0] == pytest.approx(2 * len(T) * 0.01**2, rel=0.7)
    assert rms_rel(qdot, np.cos(T)) < rms_rel(fd_qdot, np.cos(T)) / 5
    assert rms_rel(qddot, -np.sin(T)) < rms_rel(fd_qddot, -np.sin(T)) / 100


def test_savgol_window_chosen_from_noise():
    # more noise, longer windows (a window's variance falls with its length, its bias grows):
    # the chosen q̈ window grows with σ, and on each data set it is about as good as the best of
    # the windows chosen for the other noise levels (it is chosen from estimates, not the truth)
    windows, data = {}, {}
    for sigma in (1e-3, 1e-2, 1e-1):
        y = np.sin(T) + sigma * np.random.default_rng(7).standard_normal(T.shape)
        d = SavitzkyGolay(polyorder=3)
        _, _, qddot = d.differentiate(T, y)
        ((_, _, windows[sigma]),) = d.window_
        data[sigma] = (y, rms_rel(qddot, -np.sin(T)))
    w = [windows[s] for s in sorted(windows)]
    assert w[0] < w[1] < w[2] < len(T)
    for sigma, (y, err) in data.items():
        others = [rms_rel(SavitzkyGolay(window=windows[s], polyorder=3).differentiate(T, y)[2], -np.sin(T))
                  for s in windows if s != sigma]
        assert err < 1.5 * min(others), (sigma, err, others)


# ------------------------------------------------------------------ plumbing
def test_one_dimensional_input_gives_one_dimensional_output():
    out = FiniteDifference().differentiate(T, np.sin(T))
    assert all(o.shape == T.shape for o in out)


def test_get_differentiator():
    assert isinstance(get_differentiator(), Auto)
    assert isinstance(get_differentiator("fd"), FiniteDifference)
    assert isinstance(get_differentiator("finite_difference"), FiniteDifference)
    assert isinstance(get_differentiator("savgol"), SavitzkyGolay)
    assert isinstance(get_differentiator("spline"), SmoothingSpline)
    d = SavitzkyGolay(window=11)
    assert get_differentiator(d) is d
    with pytest.raises(ValueError, match="unknown differentiator"):
        get_differentiator("magic")


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        FiniteDifference().differentiate(T[::-1], np.sin(T))
    with pytest.raises(ValueError, match="finite"):
        FiniteDifference().differentiate(T, np.r_[np.nan, np.sin(T[1:])])


@pytest.mark.parametrize("method", ["fd", "savgol", "spline", "auto"])
def test_no_crossing_of_trajectory_boundaries(method):
    # two very different trajectories back to back: each must be differentiated alone
    t = np.arange(0, 3, 0.01)
    qa, qb = np.sin(t), 50 + np.cos(3 * t)
    ts = TrajectorySet.from_arrays(np.r_[t, t], np.r_[qa, qb], traj=np.repeat([0, 1], len(t)),
                                   coordinates=["x"])
    d = ts.with_derivatives(method, pool_noise=False)
    one = d.trajectories[1]
    alone = TrajectorySet.from_arrays(t, qb, coordinates=["x"]).with_derivatives(method)
    assert np.allclose(one.qddot, alone.trajectories[0].qddot, rtol=1e-9, atol=1e-9)
    a, b = d.trajectories
    tol = 1e-3 if method in ("fd", "auto", "spline") else 5e-2
    assert abs(a.qddot[-1, 0] + np.sin(t[-1])) < tol  # last sample of trajectory 0
    assert abs(b.qddot[0, 0] + 9 * np.cos(0.0)) < 9 * tol  # first sample of trajectory 1
    assert len(d.differentiators) == 2
