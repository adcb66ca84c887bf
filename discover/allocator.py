"""Keep large freed buffers in the process instead of returning them to the OS (glibc only).

glibc serves every allocation above its mmap threshold (32 MiB at most, by default) with a fresh
``mmap`` and unmaps it on free, so each batched tensor operation on such a buffer pays for page
faults on all of its pages again.  The engine's second-derivative blocks are that large at
moderate sizes (n = 32 coordinates, batch 10⁴, float32: 41 MB), and the page faults cost more than
the arithmetic: measured in ``pipelines/benchmark_jax.py`` (chain n = 32: 378 → 112 ms per call).

:func:`keep_freed_memory` raises the mmap and trim thresholds with ``mallopt`` once per process,
on the first engine call.  The price: up to :data:`TRIM_THRESHOLD` bytes of freed memory stay in
the process.  Nothing is done where the C library is not glibc, where the user has set
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` themselves, or where
``DISCOVER_KEEP_MALLOC=1`` asks to leave the allocator alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["keep_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: allocations up to this size come from the heap instead of a fresh mmap
MMAP_THRESHOLD = 256 << 20
#: freed memory at the top of the heap is given back to the OS only above this size
TRIM_THRESHOLD = 512 << 20

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap/trim thresholds once; returns whether they are raised in this process."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("DISCOVER_KEEP_MALLOC") == "1":
        return _done
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return _done
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # pragma: no cover - a C library without mallopt
        _done = False
    return _done
