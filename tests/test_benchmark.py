"""pipelines/benchmark.py smoke test: a trivially small run writes its report, and the engine's
q̈ agrees with the SymPy-derived equations of motion (never a timing assertion)."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "pipelines" / "benchmark.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_report(benchmark, tmp_path):
    out = tmp_path / "bench"
    args = ["--quick", "--no-plots", "--threads", "1", "--out", str(out)]
    assert benchmark.main(args) == 0
    report = (out / "report.md").read_text()
    assert report.startswith("# Benchmark")
    assert "Command: `python pipelines/benchmark.py --quick" in report
    assert (out / "timings.csv").exists()
    res = json.loads((out / "results.json").read_text())
    rows = [r for r in res["throughput"] if r["dtype"] == "float64"]
    assert rows
    for r in rows:
        assert r["max_abs_dqddot_engine_vs_sympy"] < 1e-9
        assert r["max_abs_dqddot_naive_vs_sympy"] < 1e-9
    # an existing output directory is not overwritten without --force
    with pytest.raises(SystemExit):
        benchmark.main(args)


def test_benchmark_pendulum_chain_of_two_is_the_double_pendulum():
    """The n-link pendulum of the JAX comparison, at n = 2, has the textbook double pendulum's q̈."""
    import torch

    from discover import accelerations
    from discover.studies.speed import pendulum_chain_lagrangian_torch
    from discover.systems import get_system

    s = get_system("double_pendulum")  # unit masses and lengths, g = 9.81
    q, v = (torch.tensor(a) for a in s.sample_initial_states(16, 5))
    expected = accelerations(s.lagrangian(), q, v, coordinates=s.coordinates)
    got = accelerations(pendulum_chain_lagrangian_torch(), q, v)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
