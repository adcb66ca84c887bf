"""Timing the engine on an MLP Lagrangian: q̈ throughput and training-step times."""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch.func import stack_module_state, vmap

from ..mechanics import accelerations
from .estimators import MLPEnsemble
from .network import LagrangianNet


def measure_speed(*, n_dof=2, hidden=(128, 128), batch=10_000, train_batch=256, n_models=4,
                  dtype=torch.float32, device="cpu", repeats=5) -> dict:
    """Median timings of the engine on an MLP Lagrangian (the LNN paper's double-pendulum
    model is n_dof=2, hidden=(128, 128), softplus, float32): q̈ samples/s at ``batch``;
    one Adam training step at ``train_batch`` for one model (without and with the mass-matrix
    penalty) and for ``n_models`` at once."""
    def timed(fn):
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            if device == "cuda":
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    g = torch.Generator().manual_seed(0)
    Q = torch.randn(batch, n_dof, generator=g).to(device, dtype)
    Qd = torch.randn(batch, n_dof, generator=g).to(device, dtype)
    A = torch.randn(batch, n_dof, generator=g).to(device, dtype)
    net = LagrangianNet(n_dof, hidden).to(device, dtype)
    with torch.no_grad():
        t_fwd = timed(lambda: accelerations(net, Q, Qd))
    out = {"qddot_samples_per_s": batch / t_fwd, "qddot_batch_s": t_fwd}
    for k, penalty in ((1, False), (1, True), (n_models, False)):
        est = MLPEnsemble(n_models=k, hidden=hidden, epochs=0, dtype=str(dtype).split(".")[1],
                          device=device, validation_fraction=0)
        mods = [LagrangianNet(n_dof, hidden).to(device, dtype) for _ in range(k)]
        params, buffers = stack_module_state(mods)
        base = copy.deepcopy(mods[0]).to("meta")
        one = torch.ones(n_dof, dtype=dtype, device=device)
        step = vmap(est._per_model_loss(base, one, one, penalty))
        opt = torch.optim.Adam(list(params.values()))
        idx = torch.stack([torch.randperm(batch, generator=g)[:train_batch] for _ in range(k)])

        def train_step():
            total, _ = step(params, buffers, Q[idx], Qd[idx], A[idx])
            opt.zero_grad()
            total.sum().backward()
            opt.step()

        out[f"train_step_s_{k}_models" + ("_with_mass_penalty" if penalty else "")] = timed(train_step)
    return out
