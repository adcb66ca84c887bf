"""Reports written by the pipelines, and the one way they write a results folder."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_results_dir"]


@contextlib.contextmanager
def atomic_results_dir(out):
    """Yield a temporary sibling folder of ``out``; when the block succeeds it replaces ``out``
    (an existing one is removed: callers check ``--force`` first), otherwise it is deleted, so a
    failed run never leaves a half-written results folder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.resolve().parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
