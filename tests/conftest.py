"""Shared pytest configuration."""


def pytest_configure(config):
    # a marked group that still runs by default (CI runs everything); deselect locally with
    # `-m "not slow"` when iterating
    config.addinivalue_line("markers", "slow: end-to-end discovery of coupled systems (tens of seconds)")
