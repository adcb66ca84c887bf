"""The trajectory fit's q̈ Jacobians from the terms' own Euler–Lagrange residuals (implicit
function theorem, ∂q̈/∂p = −M⁻¹ ∂r/∂p) against the engine's derivative of the solved q̈ itself
(reverse passes through M⁻¹f): two derivations of the same numbers."""
import numpy as np
import pytest
import sympy
import torch

from discover.library import TermSet
from discover.shooting import Shooting


def _both(terms, coords, *, fit_damping, fit_coulomb, force, seed=0, B=6):
    g = torch.Generator().manual_seed(seed)
    ts = TermSet(terms, coords)
    n, K = len(coords), len(ts)
    Z = torch.randn(K, K - 1, generator=g, dtype=torch.float64)
    sh = Shooting(ts, torch.zeros(K, dtype=torch.float64), Z, fit_damping, n, fit_coulomb,
                  torch.full((n,), 0.3, dtype=torch.float64))
    assert sh.local  # above SMALL_N coordinates the local derivation is the one the fit uses
    xi = torch.as_tensor(np.random.default_rng(seed).uniform(0.5, 1.5, K))
    q = 0.5 * torch.randn(B, n, generator=g, dtype=torch.float64)
    v = torch.randn(B, n, generator=g, dtype=torch.float64)
    c = torch.rand(n, generator=g, dtype=torch.float64).expand(B, n).contiguous()
    fc = torch.rand(n, generator=g, dtype=torch.float64).expand(B, n).contiguous()
    F = (torch.randn(B, n, generator=g, dtype=torch.float64),) if force else ()
    args = (True, fit_coulomb, q, v, xi.expand(B, K).contiguous(), c, fc, *F)
    return sh._acc_jac(*args), sh._acc_jac_local(*args)


def _chain(n):
    x = sympy.symbols(f"x1:{n + 1}")
    v = [sympy.Symbol(f"x{i}_dot") for i in range(1, n + 1)]
    terms = [d ** 2 for d in v] + [x[0] ** 2, x[-1] ** 2] + [(x[i + 1] - x[i]) ** 2 for i in range(n - 1)]
    return terms + [x[0] * x[1] * v[0] ** 2], [str(s) for s in x]  # and a position-dependent mass


def _links(n):
    th = sympy.symbols(f"theta1:{n + 1}")
    w = [sympy.Symbol(f"theta{i}_dot") for i in range(1, n + 1)]
    terms = [d ** 2 for d in w] + [w[i] * w[j] * sympy.cos(th[i] - th[j]) for i in range(n) for j in range(i + 1, n)]
    return terms + [sympy.cos(t) for t in th] + [sympy.sin(th[0])], [str(s) for s in th]


@pytest.mark.parametrize("system", [_chain(6), _links(5)], ids=["chain6", "links5"])
@pytest.mark.parametrize("fit_damping,fit_coulomb,force", [(False, False, False), (True, True, True), (True, False, False)])
def test_local_jacobians_are_the_engines(system, fit_damping, fit_coulomb, force):
    engine, local = _both(*system, fit_damping=fit_damping, fit_coulomb=fit_coulomb, force=force)
    assert len(engine) == len(local)
    for a, b in zip(engine, local):
        assert a.shape == b.shape
        if a.dtype == torch.bool:
            assert torch.equal(a, b)
        else:
            torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-10 * float(a.abs().max()))
