"""Shared metrics: the rollout valid time from a closed-form drift."""
import numpy as np

from discover.evaluation import valid_time


def test_valid_time_of_a_linear_drift():
    """q_true = (sin t, cos t + 5) over whole periods has per-coordinate std 1/√2 each, so
    ‖std q‖ = 1; a model off by (c t, 0) leaves the 10 % band at t* = 0.1 / c, wherever the
    coordinates' origins are, and a model on the truth stays valid over the whole span."""
    t = np.linspace(0, 4 * np.pi, 4001)
    truth = np.stack([np.sin(t), np.cos(t) + 5.0], -1)
    c = 0.05
    model = truth + np.stack([c * t, 0 * t], -1)
    dt = t[1] - t[0]
    assert abs(valid_time(model, truth, t) - 0.1 / c) <= 2 * dt
    shifted = valid_time(model - [3.0, 0.0], truth - [3.0, 0.0], t)
    assert abs(shifted - 0.1 / c) <= 2 * dt
    both = valid_time(np.stack([model, truth], 1), np.stack([truth, truth], 1), t)  # (T, B, n) → (B,)
    assert both.shape == (2,) and abs(both[0] - 0.1 / c) <= 2 * dt and both[1] == t[-1]
