"""The MLP estimators users fit: :class:`MLPLagrangian` (one network) and
:class:`MLPEnsemble` (k networks trained at once, model i equal to ``MLPLagrangian`` with
seed ``seed + i``), and :func:`load_mlp`."""
from __future__ import annotations

import torch

from ..io import load
from ..mechanics import energy
from .base import _MLPBase
from .network import LagrangianNet

_COMMON = dict(hidden=(128, 128), activation="softplus", structured=False, lr=1e-3, epochs=300,
               batch_size=256, weight_decay=0.0, patience=30, validation_fraction=0.1,
               mass_regularization=1e-2, mass_floor=1e-2, grad_clip=10.0, dtype="float32",
               device="cpu", seed=0, verbose=False)


class MLPLagrangian(_MLPBase, kind="mlp"):
    """Neural Lagrangian ``L_θ(q, q̇)`` trained on q̈ through the Euler–Lagrange equations.

    Args (keyword-only): ``hidden`` widths; ``activation`` (softplus, tanh, silu, gelu);
    ``structured`` (``½q̇ᵀM(q)q̇ − V(q)``, M = LLᵀ+εI) or plain MLP with a mass-matrix penalty
    (``mass_regularization`` weight, ``mass_floor`` minimum eigenvalue / mean diagonal);
    ``lr``, ``epochs``, ``batch_size``, ``weight_decay`` (Adam, cosine schedule);
    ``patience`` epochs without validation improvement before stopping;
    ``validation_fraction`` held out when ``fit`` gets no ``validation``; ``grad_clip``;
    ``dtype`` 'float32'/'float64'; ``device`` 'cpu'/'cuda'; ``seed``; ``verbose``.

    Fitted: ``module_`` (a :class:`LagrangianNet`, usable as L by the engine), ``history_``,
    ``val_error_`` (relative q̈ error on validation), ``best_epoch_``, ``n_epochs_``,
    ``normalization_``, ``n_dof_``.
    """

    def __init__(self, *, hidden=(128, 128), activation="softplus", structured=False, lr=1e-3,
                 epochs=300, batch_size=256, weight_decay=0.0, patience=30,
                 validation_fraction=0.1, mass_regularization=1e-2, mass_floor=1e-2,
                 grad_clip=10.0, dtype="float32", device="cpu", seed=0, verbose=False):
        args = locals()
        for k in _COMMON:
            setattr(self, k, args[k])

    @property
    def module_(self) -> LagrangianNet:
        return self.modules_[0]

    @property
    def val_error_(self) -> float:
        return self.val_errors_[0]

    def fit(self, data, *, validation=None) -> "MLPLagrangian":
        super().fit(data, validation=validation)
        self.best_epoch_ = self.best_epoch_[0]
        self.history_ = {k: [v[0] if isinstance(v, list) else v for v in vals]
                         for k, vals in self.history_.items()}
        return self

    def acceleration(self, q, qdot):
        """q̈ of shape ``(..., n)`` at ``q``, ``qdot`` ``(..., n)``; numpy in → numpy out,
        torch in → torch out.  Raises SingularMassMatrixError where M is singular."""
        return self._in_model(lambda Q, Qd: self._predict_each(Q, Qd)[0], q, qdot)

    def energy(self, q, qdot):
        """Learned energy ``q̇·∂L/∂q̇ − L``, shape ``(...)`` (up to L's scale and offset)."""
        return self._in_model(lambda Q, Qd: energy(self.module_, Q, Qd).detach(), q, qdot)


class MLPEnsemble(_MLPBase, kind="mlp"):
    """``n_models`` MLP Lagrangians trained at once (vmap over models); model i uses seed
    ``seed + i`` and equals ``MLPLagrangian(seed=seed + i)`` trained alone.  Other arguments
    as :class:`MLPLagrangian`.  Fitted: ``modules_``, ``val_errors_`` (per model),
    ``history_`` (per-epoch lists of per-model values), ``best_epoch_`` (per model)."""

    def __init__(self, *, n_models=5, hidden=(128, 128), activation="softplus",
                 structured=False, lr=1e-3, epochs=300, batch_size=256, weight_decay=0.0,
                 patience=30, validation_fraction=0.1, mass_regularization=1e-2,
                 mass_floor=1e-2, grad_clip=10.0, dtype="float32", device="cpu", seed=0,
                 verbose=False):
        args = locals()
        self.n_models = n_models
        for k in _COMMON:
            setattr(self, k, args[k])

    @property
    def _n_models(self):
        return int(self.n_models)

    def acceleration(self, q, qdot, *, return_std=False):
        """Ensemble-mean q̈ ``(..., n)`` (and the spread across models if ``return_std``)."""
        def predict(Q, Qd):
            each = self._predict_each(Q, Qd)
            return (each.mean(0), each.std(0, unbiased=False)) if return_std else each.mean(0)

        return self._in_model(predict, q, qdot)

    def energy(self, q, qdot):
        """Per-model learned energies, shape ``(n_models, ...)`` (each up to scale/offset)."""
        return self._in_model(lambda Q, Qd: torch.stack([energy(m, Q, Qd).detach() for m in self.modules_]),
                              q, qdot)


def load_mlp(directory):
    """Load an :class:`MLPLagrangian` or :class:`MLPEnsemble` saved in ``directory``."""
    model = load(directory)
    if not isinstance(model, _MLPBase):
        raise ValueError(f"{directory}: the saved model is a {type(model).__name__}, not an MLP model")
    return model
