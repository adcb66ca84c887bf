"""TermSet columns term by term in the coordinates each term touches: the same numbers as the
engine on all n coordinates, without the (B, n, n, K) mass columns where only M_k q̈ is needed."""
import pytest
import sympy
import torch

from discover.library import default_tiers
from discover.mechanics import lagrangian_gradients, mass_and_force
from discover.termset import TermSet, _symbols


def full_term(expr, coordinates):
    """φ_k as a function of all n coordinates (what the columns were built from before)."""
    q, v = _symbols(coordinates)
    g = sympy.lambdify(q + v, expr, modules="torch")

    def phi(qq, vv):
        val = g(*qq.unbind(-1), *vv.unbind(-1))
        return val + 0 * qq.sum(-1) if isinstance(val, torch.Tensor) else qq.new_tensor(float(val)) + 0 * qq.sum(-1)

    phi.batched = True
    return phi


@pytest.mark.parametrize("coordinates", [["x1", "x2", "x3"], ["theta1", "theta2"], ["x1", "y1", "x2", "y2"]])
def test_local_columns_equal_full_columns(coordinates):
    gen = torch.Generator().manual_seed(0)
    q, v, a = (torch.randn(40, len(coordinates), generator=gen, dtype=torch.float64) for _ in range(3))
    for _, lib in default_tiers(coordinates, max_terms=150):
        ts = lib.bind(coordinates)
        parts = [mass_and_force(full_term(e, coordinates), q, v) for e in ts.exprs]
        M0, f0 = torch.stack([p[0] for p in parts], -1), torch.stack([p[1] for p in parts], -1)
        grads = [lagrangian_gradients(full_term(e, coordinates), q, v) for e in ts.exprs]
        M, f = ts.mass_force_columns(q, v)
        assert torch.equal(M, M0) and torch.equal(f, f0)
        assert torch.equal(ts.el_columns(q, v, a), torch.einsum("bijk,bj->bik", M0, a) - f0)
        gq, gv = ts.gradient_columns(q, v)
        assert torch.equal(gq, torch.stack([g[0] for g in grads], -1))
        assert torch.equal(gv, torch.stack([g[1] for g in grads], -1))
        assert torch.equal(ts.velocity_hessian_mean(q, v), M0.diagonal(dim1=1, dim2=2).mean(0).T)


def test_term_touches_only_its_coordinates():
    x1, x2, x3, v2 = sympy.symbols("x1 x2 x3 x2_dot")
    ts = TermSet([x1 * v2, sympy.cos(x3 - x1), v2**2], ["x1", "x2", "x3"])
    assert [ts.local_term(k)[0] for k in range(3)] == [[0, 1], [0, 2], [1]]
    q, v = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    M, _ = ts.mass_force_columns(q, v, [2])
    assert torch.count_nonzero(M[:, [0, 2]]) == 0 and torch.allclose(M[:, 1, 1, 0], torch.full((5,), 2.0, dtype=q.dtype))


def test_groups_evaluate_every_term_once():
    from discover.library import Links, Local

    for lib, names in ((Local(), ["x1", "x2", "x3", "x4"]), (Links(), ["theta1", "theta2", "theta3"])):
        ts = lib.bind(names)
        q, v = torch.randn(7, len(names), dtype=torch.float64), torch.randn(7, len(names), dtype=torch.float64)
        vals = torch.zeros(7, len(ts), dtype=torch.float64)
        for f, I, ks in ts.groups():
            vals[:, ks] = f(q[:, I], v[:, I])
        assert sorted(k for _, _, ks in ts.groups() for k in ks.tolist()) == list(range(len(ts)))
        assert torch.allclose(vals, torch.stack([ts.term(k)(q, v) for k in range(len(ts))], -1), rtol=0, atol=1e-15)
        assert len(ts.groups()) <= 9  # shapes, not terms


def test_velocity_bandwidth_from_the_terms():
    from discover.library import Links, Local

    assert Local().bind(["x1", "x2", "x3", "x4", "x5"]).velocity_bandwidth() == 1
    assert Links().bind(["theta1", "theta2", "theta3", "theta4", "theta5"]).velocity_bandwidth() == 4
    x1, x3 = sympy.symbols("x1_dot x3_dot")
    assert TermSet([x1**2, x3**2], ["x1", "x2", "x3"]).velocity_bandwidth() == 0
