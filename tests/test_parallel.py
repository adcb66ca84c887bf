"""Sweeps on another backend give the same cells: the noise sweep on a local dask.distributed
cluster (loopback) against the default joblib processes; and the task runner's contract."""
import csv

import pytest

from discover.parallel import run_tasks


def _square_and_seed(x, seed):
    import numpy as np

    return x, float(np.random.default_rng(seed).normal()) + x * x


def test_run_tasks_same_results_in_process_and_in_workers():
    args = [(x, 100 + x) for x in range(6)]
    one = sorted(run_tasks(_square_and_seed, args, jobs=1))
    two = sorted(run_tasks(_square_and_seed, args, jobs=2))
    assert one == two and [x for x, _ in one] == list(range(6))
    with pytest.raises(ValueError, match="backend"):
        run_tasks(_square_and_seed, args, backend="ray?")


def test_noise_sweep_on_dask_gives_the_default_cells(tmp_path):
    pytest.importorskip("distributed")
    from discover.studies.noise import Cell, SweepConfig, run_sweep

    cfg = SweepConfig(n_traj=3, duration=6.0, horizon=1.0)
    cells = [Cell("harmonic_1d", "strong-savgol", lv, 0) for lv in (0.0, 1e-3)]
    rows = {}
    for backend in ("loky", "dask"):
        out = tmp_path / f"{backend}.csv"
        run_sweep(cells, cfg, str(out), jobs=2, backend=backend, progress=False)
        rows[backend] = sorted(csv.DictReader(open(out)), key=lambda r: float(r["noise"]))
    keep = lambda r: {k: v for k, v in r.items() if "seconds" not in k and k != "fit_time"}  # noqa: E731
    assert [keep(r) for r in rows["dask"]] == [keep(r) for r in rows["loky"]]
    assert len(rows["dask"]) == 2
