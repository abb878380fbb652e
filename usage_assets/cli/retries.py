"""Retries the command line makes itself, with the ingest's policy, and how it says so.

Before any run, ``usage-report run`` and ``backfill`` read the source's coverage (its
first and last day). Through a bastion that read fails like an ingest step does (the
bastion restarting, a dropped connection), so it is retried with the same policy,
:data:`usage_assets.defs.ingest.retries.INGEST_RETRY_POLICY`; each retry, there and in a
run's steps (:mod:`usage_assets.cli.runner`), is told as one line by :func:`retry_line`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from usage_assets.defs.ingest.retries import INGEST_RETRY_POLICY
from usage_assets.sources.errors import SourceError

T = TypeVar("T")


def retry_line(seconds: float, reason: str) -> str:
    """``"retrying in 30 s: <reason>"`` (tenths of a second below 10 s)."""
    wait = f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"
    return f"retrying in {wait} s: {reason}"


def with_source_retries(
    read: Callable[[], T], notify: Callable[[str], None], sleep: Callable[[float], None] = time.sleep
) -> T:
    """``read()``, tried again after a transient :class:`SourceError` as the ingest step is:
    up to ``max_retries`` more times, waiting the policy's delay before each (told to
    ``notify`` as one :func:`retry_line`). Any other error, a non-transient SourceError,
    or the last attempt's SourceError is raised."""
    policy = INGEST_RETRY_POLICY
    for retry in range(1, policy.max_retries + 1):
        try:
            return read()
        except SourceError as error:
            if not error.transient:
                raise
            wait = max(0.0, policy.calculate_delay(retry))
            notify(retry_line(wait, error.what))
            sleep(wait)
    return read()
