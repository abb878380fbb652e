"""An exclusive lock between processes on one machine (``fcntl.flock``).

It guards local folders only: objects in S3 have no lock, and what holds there instead
(one writer per partition through Dagster, the last manifest winning for a report
folder) is in :mod:`usage_assets.storage.s3`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block, waiting while another holds it.

    ``path``: an existing folder (locked through its own descriptor, so no lock file is
    left in it) or a file (created when missing). The kernel releases the lock when the
    block ends or the holding process dies, so a killed process never leaves it taken.
    Locks between processes, and between threads that each enter the block.
    """
    flags = os.O_RDONLY if path.is_dir() else os.O_RDWR | os.O_CREAT
    descriptor = os.open(path, flags, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock
