"""A fitted model's inputs and outputs: the base class of the fitted models, and the one writer
and reader of their files.

:class:`FittedModel` (scikit-learn's estimator conventions: ``get_params``, ``set_params``, so
that ``sklearn.base.clone`` works) gives the sparse and the MLP models one numpy/torch adapter, one
not-fitted error (scikit-learn's ``NotFittedError``, saying to call ``fit`` first) and
``to_dict``/``save``/``load``.  scikit-learn itself is imported only to raise that error (importing
it costs about half a second, more than a small fit).

A saved model is a folder: ``lagrangian.json`` (the model's :meth:`FittedModel.to_dict`, plus
whatever a pipeline adds: metrics, command, warnings) and, for models without a closed form,
``config.json`` (arguments, normalization, history) and ``weights.pt`` (tensors only, read with
``weights_only=True``).  :func:`save` writes it, :func:`load` reads it back (and
:func:`read_fields` the fields alone); nothing else in the package writes or parses these files.

>>> save(model, "results/pendulum", command="...")
>>> load("results/pendulum").acceleration(q, qdot)

The base class and the files share this module so that ``load`` can return the base class and
``save`` can be a method without an import cycle; the concrete classes register themselves by
name (``class SparseLagrangian(FittedModel, kind="sparse")``), and ``load`` finds them there.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import torch

__all__ = ["FittedModel", "save", "load", "read_fields", "LAGRANGIAN_JSON"]

#: the model's fields, by the results contract of DESIGN.md
LAGRANGIAN_JSON = "lagrangian.json"
_CONFIG, _WEIGHTS = "config.json", "weights.pt"
_CLASSES: dict[str, type] = {}  # registered fitted-model classes, by name
_BY_KIND: dict[str, type] = {}  # the first class registered for each kind of lagrangian.json


def __getattr__(name):
    if name == "NotFittedError":  # scikit-learn's, imported when asked for
        from sklearn.exceptions import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FittedModel:
    """Base of the models users fit: ``__init__`` stores its arguments as given (so
    ``sklearn.base.clone`` and ``get_params`` work), ``fit`` sets attributes ending in ``_``.

    Subclasses set ``kind`` (the ``"model"`` field of lagrangian.json) with the class keyword,
    name in ``_fitted_attribute`` an attribute that exists only once fitted, and implement
    :meth:`to_dict` (and, when lagrangian.json alone does not rebuild them, :meth:`_state`);
    :meth:`_from_saved` rebuilds one from what :meth:`save` wrote.
    """

    kind: str = ""
    _fitted_attribute: str = ""

    def __init_subclass__(cls, *, kind: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind
            _CLASSES[cls.__name__] = cls
            _BY_KIND.setdefault(kind, cls)

    # -- scikit-learn's parameter conventions -------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """The arguments of ``__init__`` (each stored as an attribute of the same name)."""
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict:
        """The ``__init__`` arguments as stored; ``deep`` adds ``name__key`` entries for
        arguments that have parameters themselves."""
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params) -> "FittedModel":
        """Set ``__init__`` arguments (``name__key`` reaches into an argument's own)."""
        names = self._param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in names:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {names}")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name in self._param_names():
            value, default = getattr(self, name, None), defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except Exception:  # noqa: BLE001 - arrays and other values without one truth value
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- not fitted ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        """Raise scikit-learn's ``NotFittedError`` unless the model was fitted or loaded."""
        if not hasattr(self, self._fitted_attribute):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(data) first, "
                                 "or load a saved model with discover.load(DIR)")

    # -- arrays in and out -------------------------------------------------------------------
    def _numpy_or_torch(self, fn, *arrays, dtype: torch.dtype | None = None, device=None):
        """``fn`` called on tensors, its result (a tensor or a tuple of them) given back as the
        first argument came: numpy (or lists) in → float64 numpy out; torch in → torch out, on
        the input's device and, for floating results, in its dtype.  ``dtype``/``device``: where
        the model computes (None: numpy inputs in float64 on the CPU, tensors as given)."""
        self._check_fitted()
        first = arrays[0]
        if torch.is_tensor(first):
            def to(a):
                a = a if torch.is_tensor(a) else torch.as_tensor(np.asarray(a), dtype=first.dtype)
                return a.to(device=device or first.device, dtype=dtype or a.dtype)

            def back(x):
                keep = first.is_floating_point() and x.is_floating_point()
                return x.to(dtype=first.dtype if keep else x.dtype, device=first.device)
        else:
            def to(a):
                return torch.as_tensor(np.asarray(a, dtype=np.float64)).to(device=device or "cpu",
                                                                            dtype=dtype or torch.float64)

            def back(x):
                return x.detach().cpu().numpy().astype(np.float64)
        out = fn(*(to(a) for a in arrays))
        return tuple(back(x) for x in out) if isinstance(out, tuple) else back(out)

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fields of lagrangian.json (coordinates, lagrangian, model, terms, normalization, …)."""
        raise NotImplementedError

    def _state(self) -> tuple[dict, dict] | None:
        """(config, tensors) to save beside lagrangian.json, or None when it is enough."""
        return None

    @classmethod
    def _from_saved(cls, fields: dict | None, config: dict | None, tensors: dict | None) -> "FittedModel":
        """Rebuild from lagrangian.json's ``fields`` and, when saved, ``config``/``tensors``."""
        raise NotImplementedError

    def save(self, directory, **fields) -> Path:
        """Write this model into ``directory`` (see :func:`save`); returns the folder."""
        return save(self, directory, **fields)

    @classmethod
    def load(cls, directory) -> "FittedModel":
        """The model saved in ``directory`` (see :func:`load`)."""
        return load(directory)


def save(model: FittedModel, directory, **fields) -> Path:
    """Write ``model`` into ``directory`` (created if needed): lagrangian.json holds
    ``model.to_dict()`` updated with ``fields`` (e.g. metrics, command, warnings; a field the
    model has keeps its place), and config.json/weights.pt the state lagrangian.json cannot
    carry.  Callers wanting all-or-nothing write into a temporary folder and move it
    (``discover.reports.atomic_results_dir``).  Returns the folder."""
    record = model.to_dict() | fields  # first: an unfitted model raises before anything is written
    state = model._state()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if state is not None:
        config, tensors = state
        torch.save(tensors, d / _WEIGHTS)
        (d / _CONFIG).write_text(json.dumps(config, indent=1))
    (d / LAGRANGIAN_JSON).write_text(json.dumps(record, indent=2))
    return d


def read_fields(path) -> dict:
    """The fields of a lagrangian.json (a results folder or the file), as :func:`save` wrote them."""
    p = Path(path)
    return json.loads((p / LAGRANGIAN_JSON if p.is_dir() else p).read_text())


def load(path) -> FittedModel:
    """A fitted model from a folder written by :func:`save` (or its lagrangian.json): a
    :class:`~discover.model.SparseLagrangian` for ``"model": "sparse"``, the MLP model named in
    config.json for ``"model": "mlp"`` (a folder with config.json and weights.pt only, as
    written before lagrangian.json was saved with them, loads too)."""
    p = Path(path)
    d = p if p.is_dir() else p.parent
    f = d / LAGRANGIAN_JSON if p.is_dir() else p
    fields = read_fields(f) if f.exists() else None
    has_state = (d / _CONFIG).exists() and (fields is None or fields.get("model") != "sparse")
    config = json.loads((d / _CONFIG).read_text()) if has_state else None
    if fields is None and config is None:
        raise FileNotFoundError(f"{d}: no {LAGRANGIAN_JSON} (nor {_CONFIG}): not a saved model")
    cls = _CLASSES.get(config.get("class")) if config is not None else _BY_KIND.get(fields.get("model", "sparse"))
    if cls is None:
        what = f"class {config.get('class')!r}" if config is not None else f"model {fields.get('model')!r}"
        raise ValueError(f"{d}: the saved {what} is not a known fitted model ({', '.join(sorted(_CLASSES))})")
    tensors = None
    if config is not None:
        tensors = torch.load(d / _WEIGHTS, weights_only=True, map_location=config["params"].get("device", "cpu"))
    return cls._from_saved(fields, config, tensors)
