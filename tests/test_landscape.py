"""Loss landscape: physics of the q̈-loss (expected values from q̈ = −(k/m) q)."""
import numpy as np
import pytest
import torch

from discover.studies.landscape import batched_qddot, cluster_minima, grid_loss, harmonic_data, multistart

M0, K0 = 1.0, 4.0


@pytest.fixture(scope="module")
def clean():
    return harmonic_data(M0, K0, n_traj=2, duration=4.0, dt=0.02)


def test_ho_grid_minimum_lies_on_valley(clean):
    m = np.linspace(0.3, 2.7, 25)
    k = np.linspace(0.0, 11.0, 23)          # k/m = 4 hits grid points, e.g. (0.5, 2), (1.5, 6)
    loss = grid_loss(*clean, m, k)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    assert abs(k[i] / m[j] - K0 / M0) < 1e-9
    assert loss[i, j] < 1e-20
    # on the analytic valley the loss vanishes for every m (projective degeneracy) ...
    for mm in (0.3, 1.0, 2.2):
        assert grid_loss(*clean, [mm], [K0 / M0 * mm])[0, 0] < 1e-20
    # ... and off it the loss is the analytic (k/m − k0/m0)² mean(q²)
    q = clean[0]
    expected = (6.0 / 1.0 - K0 / M0) ** 2 * np.mean(q**2)
    assert grid_loss(*clean, [1.0], [6.0])[0, 0] == pytest.approx(expected, rel=1e-9)


def test_ho_profile_m_fixed_has_unique_minimum_at_k0(clean):
    k = np.linspace(0.0, 8.0, 161)
    prof = grid_loss(*clean, [M0], k)[:, 0]
    assert k[np.argmin(prof)] == pytest.approx(K0)
    d = np.diff(prof)
    assert np.all(d[k[1:] <= K0] < 0) and np.all(d[k[:-1] >= K0] > 0)   # one minimum, convex


def test_batched_qddot_scale_invariant(clean):
    import sympy

    from discover.library import TermSet

    x, xd = sympy.symbols("x x_dot")
    ts = TermSet([xd**2 / 2, -x**2 / 2], ["x"])
    M, f = ts.mass_force_columns(torch.as_tensor(clean[0]), torch.as_tensor(clean[1]))
    xi = torch.tensor([[1.0, 4.0], [3.0, 12.0]], dtype=torch.float64)
    a = batched_qddot(M, f, xi)
    assert torch.allclose(a[0], a[1]) and torch.allclose(a[0], -4.0 * torch.as_tensor(clean[0]))


def test_multistart_small_runs_and_clusters():
    q = np.linspace(-1.5, 1.5, 60)[:, None]
    qd = np.cos(3 * q)
    qdd = -9.81 * np.sin(q)                       # pendulum: L = ½ θ̇² + 9.81 cos θ
    ms = multistart(n_starts=6, steps=30, data=(q, qd, qdd), seed=1)
    assert ms.final.shape == (6, 4) and ms.loss.shape == (6,)
    assert ms.engine_check < 1e-8
    assert ms.truth[0] == pytest.approx(0.5) and ms.truth[1] == pytest.approx(9.81)
    # the loss of each end point, by hand: terms θ̇², cos θ, θ², θ̇² cos θ have (∂²φ/∂θ̇², ∂φ/∂θ −
    # ∂²φ/∂θ̇∂θ θ̇) = (2, 0), (0, −sin θ), (0, 2θ), (2 cos θ, sin θ θ̇²); θ̈ = f/M, and an end point
    # whose normalized M is not positive at every sample is reported as inf with NaN coefficients
    th, thd = q[:, 0], qd[:, 0]
    Mk = np.stack([2 + 0 * th, 0 * th, 0 * th, 2 * np.cos(th)], -1)
    fk = np.stack([0 * th, -np.sin(th), 2 * th, np.sin(th) * thd**2], -1)
    finite = np.isfinite(ms.loss)
    assert 0 < finite.sum() < 6  # these starts include both kinds (3 end at inf)
    for x, loss in zip(ms.final[finite], ms.loss[finite]):
        assert np.all(Mk @ x > 0)
        pred = (fk @ x) / (Mk @ x)
        assert loss == pytest.approx(np.sum((pred - qdd[:, 0]) ** 2) / np.sum(qdd[:, 0] ** 2), rel=1e-9)
        assert np.mean(Mk @ x) == pytest.approx(1.0)  # normalized: data mean of ∂²L/∂θ̇² = 1
    assert np.isnan(ms.final[~finite]).all() and np.isinf(ms.loss[~finite]).all()
    # the clusters partition the finite end points, best first
    assert sum(c for _, _, c in ms.minima) == finite.sum()
    assert [l for l, _, _ in ms.minima] == sorted(l for l, _, _ in ms.minima)
    groups = cluster_minima(np.array([[1.0, 2.0], [1.0001, 2.0], [3.0, 1.0]]), np.array([0.1, 0.2, 0.3]))
    assert [g[2] for g in groups] == [2, 1]


# ----------------------------------------------------------------------------------------
# library models: batched loss with singular / indefinite M, slices, stage-1 starts, MLP seeds
# ----------------------------------------------------------------------------------------
from discover.studies import landscape_library as LL  # noqa: E402


def test_batched_qddot_marks_singular_and_indefinite_mass(clean):
    import sympy

    from discover.library import TermSet

    x, xd = sympy.symbols("x x_dot")
    M, f = TermSet([xd**2 / 2, -x**2 / 2], ["x"]).mass_force_columns(torch.as_tensor(clean[0]), torch.as_tensor(clean[1]))
    xi = torch.tensor([[1.0, 4.0], [0.0, 4.0], [-1.0, -4.0]], dtype=torch.float64)
    a = batched_qddot(M, f, xi)                                  # M = 0 is singular: NaN, no error
    assert torch.isnan(a[1]).all() and torch.allclose(a[2], a[0])   # −L has the same motion
    b = batched_qddot(M, f, xi, positive=True)                  # M = −1 is not positive definite
    assert torch.isnan(b[1]).all() and torch.isnan(b[2]).all() and torch.allclose(b[0], a[0])
    target = torch.as_tensor(clean[2])
    loss, pos = LL.relative_loss(M, f, target, xi.numpy())
    assert loss[0] < 1e-25 and np.isnan(loss[1]) and loss[2] < 1e-25
    assert pos.tolist() == [True, False, False]


class _TrueModel:
    """The exact double-pendulum Lagrangian as a fitted library model (the optimum of clean data)."""

    def __init__(self, coords):
        from discover.library import TermSet
        from discover.symbolic import parse_lagrangian

        t1, t2 = coords
        terms = [f"{t1}_dot**2", f"{t1}_dot*{t2}_dot*cos({t1} - {t2})", f"{t2}_dot**2", f"cos({t1})", f"cos({t2})"]
        self.termset_ = TermSet([parse_lagrangian(s) for s in terms], list(coords))
        self.coef_ = np.array([1.0, 1.0, 0.5, 19.62, 9.81])     # m1 = m2 = l1 = l2 = 1, g = 9.81
        self.normalization_ = "none (exact)"

    def acceleration(self, q, qdot):
        from discover.mechanics import accelerations
        return accelerations(self.termset_.lagrangian(torch.as_tensor(self.coef_)), q, qdot).detach()

    def lagrangian(self):
        return "exact"


@pytest.fixture(scope="module")
def dp_slices():
    data = LL.double_pendulum_data(n_traj=2, duration=1.0, dt=0.02, substeps=1)
    return LL.library_slices(n_grid=9, span=1.0, n_line=21, data=data, model=_TrueModel(data[5]))


def test_slices_minimum_at_the_optimum_for_clean_data(dp_slices):
    sl = dp_slices
    assert sl.engine_check < 1e-9
    assert sl.loss_opt < 1e-20
    assert sl.argmin == (0.0, 0.0)
    assert np.all(np.linalg.eigvalsh(sl.hessian) > 0)             # a strict minimum within the slice
    # filter normalization: every coefficient of a direction has the optimum's magnitude
    assert np.allclose(np.abs(sl.d1), np.abs(sl.coef)) and np.allclose(np.abs(sl.d2), np.abs(sl.coef))
    finite = np.isfinite(sl.loss2d)
    assert np.all(sl.loss2d[finite] >= sl.loss_opt)
    assert not np.isfinite(sl.loss2d).all() or sl.frac_not_pd == 0.0


def test_loss_along_scale_direction_equals_loss_at_optimum(dp_slices):
    sl = dp_slices
    c = 1 + sl.line
    nz = np.abs(c) > 1e-12
    assert np.all(np.abs(sl.scale_loss[nz] - sl.loss_opt) < 1e-20)   # L and cL: same motion, c ≠ 0
    assert sl.scale_qddot_dev < 1e-12
    assert np.isnan(sl.scale_loss[~nz]).all()                         # c = 0: M = 0, marked not raised
    assert not sl.scale_pd[c < 0].any() and sl.scale_pd[c > 0].all()  # −L: M negative definite
    # a random direction of the same length is not flat
    far = np.abs(sl.line) >= 0.2
    assert np.nanmin(sl.rand_loss[far]) > 1e-6


def test_grid_local_minima_of_a_double_well():
    x = np.linspace(-2, 2, 41)
    X, Y = np.meshgrid(x, x)
    Z = (X**2 - 1) ** 2 + Y**2
    Z[:3, :3] = np.nan
    mins = LL.grid_local_minima(Z)
    inner = sorted((x[c], x[r]) for r, c, v, i in mins if i)
    assert inner == [(-1.0, 0.0), (1.0, 0.0)]


def test_stage1_recovers_pendulum_and_its_starts_reach_the_global_minimum():
    from discover.studies.landscape import PENDULUM_TERMS

    q = np.linspace(-1.5, 1.5, 60)[:, None]
    qd = np.cos(3 * q)
    qdd = -9.81 * np.sin(q)
    s1 = LL.stage1_coefficients(q, qd, qdd, PENDULUM_TERMS)
    assert np.allclose(s1, [0.5, 9.81, 0.0, 0.0], atol=1e-8)        # ½θ̇² + g cos θ, mean ∂²L/∂θ̇² = 1
    starts = LL.stage1_starts(s1, 4, noise=1e-4)
    assert np.allclose(np.linalg.norm(starts, axis=1), 2.0, atol=1e-2)   # norm √K
    rand = np.random.default_rng(0).normal(size=(3, 4))
    ms = multistart(steps=20, lr=1e-4, data=(q, qd, qdd), init=np.concatenate([rand, starts]))
    s = LL.split_multistart(ms, np.arange(3, 7))
    assert len(s.loss) == 4 and s.global_fraction == 1.0
    assert len(LL.split_multistart(ms, np.arange(3)).loss) == 3


def test_mlp_multistart_tiny():
    q = np.linspace(-1.5, 1.5, 40)[:, None]
    qd = np.cos(3 * q)
    out = LL.mlp_multistart((q, qd, -9.81 * np.sin(q)), n_seeds=2, hidden=(8,), epochs=2)
    assert len(out["val_errors"]) == 2 and np.all(np.isfinite(out["val_errors"]))
