"""The non-Lagrangian baselines the MLP Lagrangian is compared with (the LNN paper's): a black-box
MLP q̈ = f(q, q̇) and an HNN on (q, q̇), with their training loop.  They do not go through the
Euler–Lagrange engine; each gives a first-order field (q', q̇') for
``discover.integrate.rollout(field=...)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import grad, vmap

__all__ = ["BlackBox", "HNN", "train_baseline"]


class _Normalized(nn.Module):
    """An MLP on (q, q̇) normalized by the training data's statistics (q, v, a: ``(N, n)``)."""

    def __init__(self, q, v, a, n_out, hidden):
        super().__init__()
        n = q.shape[1]
        for name, x in (("q_mean", q.mean(0)), ("q_scale", q.std(0)), ("v_scale", v.pow(2).mean(0).sqrt()),
                        ("a_scale", a.pow(2).mean(0).sqrt())):
            self.register_buffer(name, x.clone())
        layers, w = [], 2 * n
        for h in hidden:
            layers += [nn.Linear(w, h), nn.Softplus()]
            w = h
        self.net = nn.Sequential(*layers, nn.Linear(w, n_out))

    def features(self, q, v):
        """Normalized network input (q − μ)/σ_q, q̇/σ_q̇: ``(B, 2n)``."""
        return torch.cat([(q - self.q_mean) / self.q_scale, v / self.v_scale], -1)


class BlackBox(_Normalized):
    """q̈ = f(q, q̇) by an MLP."""

    def __init__(self, q, v, a, hidden):
        super().__init__(q, v, a, q.shape[1], hidden)

    def field(self, q, v, t=None):
        """(q', q̇') = (q̇, f(q, q̇)) for ``(B, n)`` batches (``t`` unused)."""
        return v, self.net(self.features(q, v)) * self.a_scale


class HNN(_Normalized):
    """H(q, q̇) by an MLP, with Hamilton's equations as if q̇ were the canonical momentum."""

    def __init__(self, q, v, a, hidden):
        super().__init__(q, v, a, 1, hidden)

    def _H(self, x, w):  # normalized coordinates x = (q − μ)/σ_q, w = q̇/σ_q̇
        return self.net(torch.cat([x, w]))[0]

    def field(self, q, v, t=None):
        """(q', q̇') from Hamilton's equations of H for ``(B, n)`` batches (``t`` unused)."""
        x, w = (q - self.q_mean) / self.q_scale, v / self.v_scale
        dHdx, dHdw = vmap(grad(self._H, argnums=(0, 1)))(x, w)
        # Hamilton's equations in (x, w): x' = ∂H/∂w, w' = −∂H/∂x
        return dHdw * self.q_scale, -dHdx * self.v_scale


def train_baseline(model, train, val, *, epochs, batch_size, lr, seed):
    """Adam + cosine; loss on (q', q̇') in units of the data's RMS; best validation state."""
    q, v, a = train
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=lr * 1e-2)
    g = torch.Generator().manual_seed(seed)

    def loss(qb, vb, ab):
        dq, dv = model.field(qb, vb)
        return (((dq - vb) / model.v_scale) ** 2 + ((dv - ab) / model.a_scale) ** 2).mean()

    best, best_state = math.inf, None
    for _ in range(epochs):
        for i in torch.randperm(q.shape[0], generator=g).split(batch_size):
            opt.zero_grad()
            loss(q[i], v[i], a[i]).backward()
            opt.step()
        sched.step()
        with torch.no_grad():
            lv = float(loss(*val))
        if lv < best:
            best, best_state = lv, {k: x.clone() for k, x in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model.eval().requires_grad_(False)
