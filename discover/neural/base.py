"""Fitting, prediction and persistence shared by the MLP estimators.  k models train at once
with ``torch.func`` (stacked parameters, ``vmap`` over models), every per-model quantity
(initialization, split, shuffling, Adam state, gradient clipping, early stopping) as in a
separate run with the same seed; the loss is the q̈ error over the per-coordinate RMS of q̈,
plus for plain networks a penalty keeping the mass matrix positive definite.  The arrays in
and out and the files are those of every fitted model (:class:`discover.io.FittedModel`)."""
from __future__ import annotations

import copy
import inspect
import math
import time

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from ..io import FittedModel
from ..mechanics import _max_condition, accelerations, mass_and_force, solve_accelerations
from .network import LagrangianNet

_MAX_BAD_STEPS = 25       # consecutive non-finite steps of one model before it has diverged
_EXPLODE = 1e3            # validation loss above _EXPLODE × max(initial, 1): diverged
_FORMAT = 1


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite or exploding losses; no model is returned."""


def _as_arrays(data, what: str = "data"):
    """(q, qdot, qddot) float64 arrays (N, n) from a tuple, from prepared data (its training
    trajectories, :class:`discover.prepare.PreparedData`), or from a TrajectorySet — whose
    missing derivatives are estimated by the one preparation path, :func:`discover.prepare.prepare`."""
    from ..prepare import PreparedData, prepare, stack

    if hasattr(data, "trajectories") and not getattr(data, "has_derivatives", True):
        data = prepare(data).all  # a TrajectorySet of positions: every trajectory, differentiated
    if isinstance(data, PreparedData):
        data = data.train
    if isinstance(data, list):
        data = tuple(stack(data, k) for k in ("q", "qdot", "qddot"))
    elif hasattr(data, "stack"):
        d = data.stack()
        missing = [k for k in ("qdot", "qddot") if d.get(k) is None]
        if missing:
            raise ValueError(f"{what} has no {' or '.join(missing)}; pass a TrajectorySet (its derivatives are "
                             "then estimated) or (q, qdot, qddot) arrays")
        data = (d["q"], d["qdot"], d["qddot"])
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(f"{what} must be (q, qdot, qddot) arrays of shape (N, n) or an object "
                         "with .stack() returning q, qdot, qddot")
    out = []
    for name, a in zip(("q", "qdot", "qddot"), data):
        a = np.asarray(a.detach().cpu() if torch.is_tensor(a) else a, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{what}: {name} has shape {a.shape}; expected (N, n)")
        bad = ~np.isfinite(a).all(axis=1)
        if bad.any():
            raise ValueError(f"{what}: {name} has {int(bad.sum())} rows with NaN or inf "
                             f"(first at row {int(np.argmax(bad))}); drop or repair them before fitting")
        out.append(a)
    if not (out[0].shape == out[1].shape == out[2].shape):
        raise ValueError(f"{what}: q, qdot, qddot shapes differ: {[a.shape for a in out]}")
    if out[0].shape[0] < 4:
        raise ValueError(f"{what}: {out[0].shape[0]} samples are too few to train on")
    return tuple(out)


def _scale(x: np.ndarray, rms: bool) -> np.ndarray:
    s = np.sqrt((x ** 2).mean(0)) if rms else x.std(0)
    big = s.max() if s.size and s.max() > 0 else 1.0
    return np.where(s > 1e-12 * big, s, big)


def _dtype(name) -> torch.dtype:
    dt = getattr(torch, str(name).replace("torch.", ""), None)
    if dt not in (torch.float32, torch.float64):
        raise ValueError(f"dtype {name!r}: use 'float32' or 'float64'")
    return dt


class _MLPBase(FittedModel):
    """Shared fitting, prediction and persistence; subclasses fix the number of models."""

    _n_models = 1
    _fitted_attribute = "modules_"

    # -- training ----------------------------------------------------------------------
    def _seeds(self):
        return [int(self.seed) + i for i in range(self._n_models)]

    def fit(self, data, *, validation=None):
        """Train on ``data`` = (q, qdot, qddot), each ``(N, n)``, or a TrajectorySet.

        ``validation`` (same forms) is used for early stopping; without it each model holds
        out ``validation_fraction`` of the samples, drawn with its own seed.
        """
        q, qd, qdd = _as_arrays(data)
        n_train, n = q.shape
        if validation is not None:
            vq, vqd, vqdd = _as_arrays(validation, "validation")
            if vq.shape[1] != n:
                raise ValueError(f"validation has {vq.shape[1]} coordinates, data has {n}")
            q, qd, qdd = (np.concatenate(p) for p in ((q, vq), (qd, vqd), (qdd, vqdd)))
        dtype, device = _dtype(self.dtype), torch.device(self.device)
        stats = {"q_mean": q.mean(0), "q_scale": _scale(q, rms=False),
                 "v_scale": _scale(qd, rms=True), "a_scale": _scale(qdd, rms=True)}
        T = lambda a: torch.as_tensor(a, dtype=dtype, device=device)
        Q, Qd, A = T(q), T(qd), T(qdd)
        seeds = self._seeds()
        gens, train_idx, val_idx, modules = [], [], [], []
        for s in seeds:
            g = torch.Generator().manual_seed(s)
            if validation is not None:
                tr, va = torch.arange(n_train), torch.arange(n_train, q.shape[0])
            else:
                frac = float(self.validation_fraction)
                n_val = min(max(1, round(frac * n_train)), n_train - 2) if frac > 0 else 0
                perm = torch.randperm(n_train, generator=g)
                va, tr = (perm[:n_val], perm[n_val:]) if n_val else (perm[:0], perm)
            train_idx.append(tr), val_idx.append(va), gens.append(g)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)
                m = LagrangianNet(n, tuple(self.hidden), self.activation, bool(self.structured))
            for name in ("q_mean", "q_scale", "v_scale"):
                getattr(m, name).copy_(torch.as_tensor(stats[name]))
            modules.append(m.to(device=device, dtype=dtype))
        if val_idx[0].numel() == 0:  # no validation: early-stop on the training set
            val_idx = train_idx
        self.n_dof_ = n
        self.coordinates_ = (list(data.coordinates) if hasattr(data, "coordinates")
                             else [f"q{j}" for j in range(n)])
        self.normalization_ = {key: v.tolist() for key, v in stats.items()}
        self._train(modules, gens, Q, Qd, A, torch.stack(train_idx).to(device),
                    torch.stack(val_idx).to(device), T(stats["a_scale"]), T(stats["v_scale"]))
        return self

    def _per_model_loss(self, base, a_scale, v_scale, with_penalty):
        """Loss of one model's parameters on a batch: (total, q̈ fit).  The penalty keeps the
        smallest eigenvalue of M (normalized units) above ``mass_floor`` times its mean
        diagonal; M comes with q̈ from :func:`discover.mechanics.mass_and_force`, so it costs
        no extra derivatives."""
        floor = float(self.mass_floor)

        def loss(p, b, q, qd, a):
            L = lambda q_, qd_: functional_call(base, (p, b), (q_, qd_))
            M, force = mass_and_force(L, q, qd, chunk_size=None)
            pred = solve_accelerations(M, force, check=False)
            fit = (((pred - a) / a_scale) ** 2).mean()
            if not with_penalty:
                return fit, fit
            M = M * (v_scale[:, None] * v_scale[None, :])  # normalized units
            lam = torch.linalg.eigvalsh(M)[:, 0]
            mean_diag = M.diagonal(dim1=-2, dim2=-1).mean().abs().clamp_min(1e-12)
            pen = torch.relu(floor - lam / mean_diag).pow(2).mean()
            return fit + float(self.mass_regularization) * pen, fit

        return loss

    def _train(self, modules, gens, Q, Qd, A, train_idx, val_idx, a_scale, v_scale):
        k, n_tr = train_idx.shape
        params, buffers = stack_module_state(modules)
        base = copy.deepcopy(modules[0]).to("meta")
        penalty = not self.structured and float(self.mass_regularization) > 0
        step_loss = vmap(self._per_model_loss(base, a_scale, v_scale, penalty))
        eval_loss = vmap(self._per_model_loss(base, a_scale, v_scale, False))
        opt = torch.optim.Adam(list(params.values()), lr=float(self.lr),
                               weight_decay=float(self.weight_decay))
        epochs, bs = int(self.epochs), min(int(self.batch_size), n_tr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1),
                                                           eta_min=float(self.lr) * 1e-2)

        def validate():
            tot = torch.zeros(k, dtype=Q.dtype, device=Q.device)
            for a in range(0, val_idx.shape[1], 4096):
                i = val_idx[:, a:a + 4096]
                with torch.no_grad():
                    tot += eval_loss(params, buffers, Q[i], Qd[i], A[i])[1].detach() * i.shape[1]
            return tot / val_idx.shape[1]

        initial = validate()  # non-finite at initialization (indefinite M somewhere): no reference
        initial = torch.where(torch.isfinite(initial), initial, torch.full_like(initial, math.inf))
        ref = torch.where(torch.isfinite(initial), initial.clamp_min(1.0), torch.ones_like(initial))
        best = initial.tolist()
        best_params = {name: p.detach().clone() for name, p in params.items()}
        best_epoch, wait = [0] * k, [0] * k
        active, bad_run = [True] * k, [0] * k
        hist = {"train_loss": [], "val_loss": [], "lr": []}
        t0 = time.perf_counter()
        for epoch in range(1, epochs + 1):
            order = torch.stack([torch.randperm(n_tr, generator=g) for g in gens]).to(Q.device)
            order = torch.gather(train_idx, 1, order)
            ep_loss, ep_n = torch.zeros(k, dtype=Q.dtype, device=Q.device), 0
            for a in range(0, n_tr, bs):
                i = order[:, a:a + bs]
                total, fit = step_loss(params, buffers, Q[i], Qd[i], A[i])
                opt.zero_grad(set_to_none=False)
                total.sum().backward()
                self._clean_and_clip(params, total, bad_run, active, epoch)
                opt.step()
                ep_loss += torch.nan_to_num(fit.detach(), nan=0.0) * i.shape[1]
                ep_n += i.shape[1]
            sched.step()
            val = validate()
            hist["train_loss"].append((ep_loss / ep_n).tolist())
            hist["val_loss"].append(val.tolist())
            hist["lr"].append(opt.param_groups[0]["lr"])
            for m in range(k):
                if not active[m]:
                    continue
                v = float(val[m])
                if not math.isfinite(v) or v > _EXPLODE * float(ref[m]):
                    raise TrainingDivergedError(
                        f"model {m} (seed {self._seeds()[m]}) diverged at epoch {epoch}: validation "
                        f"loss {v:.3g} (initial {float(ref[m]):.3g}); lower lr (now {self.lr}) or "
                        "use float64 / structured=True")
                if v < best[m]:
                    best[m], best_epoch[m], wait[m] = v, epoch, 0
                    for name, p in params.items():
                        best_params[name][m] = p.detach()[m]
                else:
                    wait[m] += 1
                    active[m] = wait[m] < int(self.patience)
            if self.verbose:
                print(f"epoch {epoch}: train {hist['train_loss'][-1]} val {hist['val_loss'][-1]}")
            if not any(active):
                break
        self.history_ = hist
        self.best_epoch_ = best_epoch
        self.n_epochs_ = epoch if epochs else 0
        self.fit_time_ = time.perf_counter() - t0
        self._set_models(best_params, buffers, modules)
        errors = []
        for m, mod in enumerate(modules):  # each model on its own validation samples
            i = val_idx[m]
            with torch.no_grad():
                pred = accelerations(mod, Q[i], Qd[i], check=False)
            if not torch.isfinite(pred).all():
                raise TrainingDivergedError(
                    f"model {m} (seed {self._seeds()[m]}) predicts non-finite q̈ on its validation "
                    "data after training; lower lr or use structured=True")
            errors.append(float(torch.linalg.norm(pred - A[i]) / torch.linalg.norm(A[i]).clamp_min(1e-300)))
        self.val_errors_ = errors

    def _clean_and_clip(self, params, total, bad_run, active, epoch):
        """Per model: drop non-finite gradients (that step), clip the gradient norm."""
        k = total.shape[0]
        for p in params.values():  # e.g. the output bias: a constant in L never reaches q̈
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        sq = sum(p.grad.reshape(k, -1).pow(2).sum(1) for p in params.values())
        ok = torch.isfinite(sq) & torch.isfinite(total.detach())
        for m in torch.nonzero(~ok).flatten().tolist():
            bad_run[m] += 1
            if active[m] and bad_run[m] > _MAX_BAD_STEPS:
                raise TrainingDivergedError(
                    f"model {m} (seed {self._seeds()[m]}): {bad_run[m]} consecutive steps with "
                    f"non-finite loss or gradient (epoch {epoch}); lower lr (now {self.lr})")
        for m in torch.nonzero(ok).flatten().tolist():
            bad_run[m] = 0
        clip = float(self.grad_clip) if self.grad_clip else float("inf")
        factor = torch.where(ok, torch.clamp(clip / (sq.sqrt() + 1e-12), max=1.0),
                             torch.zeros_like(sq))
        for p in params.values():
            g = torch.nan_to_num(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
            p.grad.copy_(g * factor.view(k, *[1] * (p.ndim - 1)))

    def _set_models(self, stacked, buffers, modules):
        for m, mod in enumerate(modules):
            with torch.no_grad():
                for name, p in mod.named_parameters():
                    p.copy_(stacked[name][m])
            mod.eval().requires_grad_(False)
        self.modules_ = modules

    # -- prediction ----------------------------------------------------------------------
    def _max_condition(self, dtype):
        v = torch.as_tensor(self.normalization_["v_scale"])
        return _max_condition(dtype) * float(v.max() / v.min()) ** 2

    def _predict_each(self, Q, Qd, *, check=True):
        mc = self._max_condition(Q.dtype)
        return torch.stack([accelerations(m, Q, Qd, check=check, max_condition=mc)
                            for m in self.modules_])

    def _in_model(self, fn, *arrays):
        """``fn`` on tensors in the model's dtype and device, its result given back as the input
        came (:meth:`discover.io.FittedModel._numpy_or_torch`)."""
        self._check_fitted()
        p = next(self.modules_[0].parameters())
        return self._numpy_or_torch(fn, *arrays, dtype=p.dtype, device=p.device)

    def lagrangian(self):
        """No closed form for an MLP: None (the contract of ``discover.load``)."""
        self._check_fitted()
        return None

    def score(self, data) -> float:
        """Relative q̈ error ‖q̈_pred − q̈‖ / ‖q̈‖ on ``data`` (lower is better)."""
        q, qd, qdd = _as_arrays(data)
        pred = self.acceleration(q, qd)
        return float(np.linalg.norm(pred - qdd) / max(np.linalg.norm(qdd), 1e-300))

    def simulate(self, q0, qdot0, t, *, method: str = "rk4", substeps: int = 1):
        """Roll out from ``q0``, ``qdot0`` ``(..., n)`` at times ``t`` ``(T,)`` with
        :func:`discover.integrate.rollout` (q̈ of the model; ensemble mean for ensembles).
        Returns ``(q, qdot)``, each ``(T, ..., n)``, numpy or torch as the input."""
        from ..integrate import rollout

        self._check_fitted()
        L = self.modules_[0] if method == "variational" and len(self.modules_) == 1 else None

        def roll(Q0, Qd0, ts):
            with torch.no_grad():
                out = rollout(L, Q0, Qd0, ts, method=method, substeps=substeps, compute_energy=False,
                              acceleration=None if L is not None else
                              (lambda q, qd, tt: self._mean_acceleration(q, qd)))
            return out.q, out.qdot

        return self._in_model(roll, q0, qdot0, t)

    def _mean_acceleration(self, Q, Qd):
        return self._predict_each(Q, Qd).mean(0)

    # -- persistence (the files: discover.io) ---------------------------------------------
    def to_dict(self) -> dict:
        """The fields of lagrangian.json: no closed form, no terms."""
        self._check_fitted()
        return {"coordinates": list(self.coordinates_), "lagrangian": None, "model": "mlp", "terms": [],
                "normalization": "none (MLP; L is determined up to scale and total derivatives)"}

    def _state(self):
        """config.json (arguments, normalization, history) and the tensors of weights.pt."""
        given = self.get_params(deep=False)  # in the signature's order, as written before
        params = {k: given[k] for k in inspect.signature(type(self).__init__).parameters if k in given}
        params["hidden"] = list(self.hidden)
        cfg = {"class": type(self).__name__, "format": _FORMAT, "params": params,
               "n_dof": self.n_dof_, "normalization": self.normalization_,
               "history": self.history_, "best_epoch": self.best_epoch_,
               "val_errors": self.val_errors_}
        state = {f"{m}.{k}": v.cpu() for m, mod in enumerate(self.modules_)
                 for k, v in mod.state_dict().items()}
        return cfg, state

    @classmethod
    def _from_saved(cls, fields, config, tensors):
        """Rebuild from :meth:`_state`'s config and tensors (coordinates from lagrangian.json)."""
        if config is None or tensors is None:
            raise FileNotFoundError("an MLP model needs config.json and weights.pt beside lagrangian.json")
        est = cls(**config["params"])
        dtype = _dtype(est.dtype)
        mods = []
        for m in range(est._n_models):
            mod = LagrangianNet(config["n_dof"], tuple(est.hidden), est.activation, bool(est.structured))
            mod = mod.to(device=est.device, dtype=dtype)  # before loading: keep every bit
            mod.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items()
                                 if k.split(".", 1)[0] == str(m)})
            mods.append(mod.eval().requires_grad_(False))
        est.modules_, est.n_dof_ = mods, config["n_dof"]
        est.coordinates_ = (list(fields["coordinates"]) if fields and "coordinates" in fields
                            else [f"q{j}" for j in range(est.n_dof_)])
        est.normalization_, est.history_ = config["normalization"], config["history"]
        est.best_epoch_, est.val_errors_ = config["best_epoch"], config["val_errors"]
        return est
