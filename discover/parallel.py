"""Independent tasks (sweep cells, bootstrap fits) run through joblib on a chosen backend.

- ``"loky"`` (default): local worker processes, ``jobs`` of them (``jobs=1``: in this process);
- ``"dask"``: a ``dask.distributed`` cluster — the user's, at ``scheduler`` (``"tcp://host:8786"``),
  or, without one, a local cluster of ``jobs`` single-threaded worker processes started for the
  session and shut down after it.  Needs the optional extra: ``pip install -e ".[cluster]"``.

Every task carries its own inputs and seed (nothing in globals), so the results do not depend on
the backend or on the order in which workers finish.

>>> with session(jobs=2) as run:
...     sorted(run(pow, [(2, 3), (3, 2)]))
[8, 9]
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

__all__ = ["BACKENDS", "session", "run_tasks"]

BACKENDS = ("loky", "dask")


@contextlib.contextmanager
def session(*, jobs: int = 1, backend: str = "loky", scheduler: str | None = None):
    """Yield ``run(fn, args)``, which calls ``fn(*a)`` for every tuple ``a`` of ``args`` and yields
    the results as they finish (in any order: return what identifies the task).  A dask session
    keeps one client (and its local cluster) for all the runs inside it.  Raises ValueError for
    an unknown backend and ImportError with the install command when dask is missing."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "dask":
        with _dask_client(jobs, scheduler):
            yield lambda fn, args: _joblib(fn, args, "dask", -1)
        return
    yield lambda fn, args: _joblib(fn, args, "loky", jobs)


def run_tasks(fn: Callable, args: Iterable[tuple], *, jobs: int = 1, backend: str = "loky",
              scheduler: str | None = None) -> list:
    """One batch of tasks in its own :func:`session`; the results as a list (finishing order)."""
    with session(jobs=jobs, backend=backend, scheduler=scheduler) as run:
        return list(run(fn, args))


def _joblib(fn: Callable, args: Iterable[tuple], backend: str, n_jobs: int) -> Iterator:
    args = list(args)
    if backend == "loky" and (n_jobs <= 1 or len(args) <= 1):
        yield from (fn(*a) for a in args)
        return
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend=backend):
        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(fn)(*a) for a in args)


@contextlib.contextmanager
def _dask_client(jobs: int, scheduler: str | None):
    """A distributed Client: on ``scheduler``, else on a local cluster of ``jobs`` single-threaded
    worker processes (loopback only, no dashboard)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError('the dask backend needs dask.distributed: pip install -e ".[cluster]"') from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
