"""Local disk errors that trying again cannot fix, reported with the path being written.

A full disk, an exhausted quota or a read-only file system fails every attempt the same
way until someone acts, so the ingest's retry policy must not wait minutes retrying it as
if it were a network hiccup. Writes to the lake and the report folders go through
:func:`naming_disk_errors`, which turns such an error into a :class:`LocalDiskError`
saying what is wrong, where, and what to do.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: errno -> (what is wrong, what to do) for local-disk errors a retry cannot fix.
DISK_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "free space on that file system (`df -h` shows it)"),
    errno.EDQUOT: ("the disk quota is used up", "free space or raise the quota on that file system"),
    errno.EROFS: ("the file system is read-only", "remount it read-write, or point the setting at a writable folder"),
    errno.EFBIG: ("the file is larger than the file system allows", "write to another file system"),
    errno.EIO: ("the disk reported an I/O error", "check the disk (`dmesg` names the device)"),
    errno.EACCES: ("permission was denied", "check the folder's owner and permissions"),
    errno.EPERM: ("the operation is not permitted", "check the folder's owner and permissions"),
}

# Rust libraries (polars' Parquet writer) quote the errno in the text: "(os error 28)".
_QUOTED_ERRNO = re.compile(r"\(os error (\d+)\)")


def disk_errno(error: BaseException) -> int | None:
    """The errno of ``error`` when it is a local-disk error of :data:`DISK_ERRORS`, else None.

    Looks at ``OSError.errno``, at an errno quoted as ``(os error N)`` in the message (how
    polars reports I/O errors) and along the ``__cause__`` / ``__context__`` chain.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in DISK_ERRORS:
            return error.errno
        quoted = _QUOTED_ERRNO.search(str(error))
        if quoted and int(quoted.group(1)) in DISK_ERRORS:
            return int(quoted.group(1))
        error = error.__cause__ or error.__context__
    return None


def file_system_errno(path: Path | str) -> int | None:
    """``EROFS`` when the file system holding ``path`` (or its nearest existing folder) is
    mounted read-only, ``ENOSPC`` when it has no block left for ordinary users, else None
    (also where the system cannot tell)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        stats = os.statvfs(folder)
    except (AttributeError, OSError):  # no statvfs (Windows), or an unreadable folder
        return None
    if stats.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if stats.f_bavail == 0:
        return errno.ENOSPC
    return None


class LocalDiskError(OSError):
    """Writing ``path`` failed with a local-disk error a retry cannot fix.

    ``errno``: one of :data:`DISK_ERRORS`; ``filename``: the path. ``str(error)`` is one
    line: ``"cannot write <path>: the disk is full (No space left on device); free space
    on that file system (...), then run again"``.
    """

    def __init__(self, code: int, path: Path | str):
        what, fix = DISK_ERRORS[code]
        self.message = f"cannot write {path}: {what} ({os.strerror(code)}); {fix}, then run again"
        super().__init__(code, self.message, str(path))

    def __str__(self) -> str:
        return self.message


@contextmanager
def naming_disk_errors(path: Path | str) -> Iterator[None]:
    """Re-raise a local-disk error inside the block as a :class:`LocalDiskError` naming
    ``path``; other errors pass unchanged.

    A local-disk error is one :func:`disk_errno` recognizes, or any error raised while
    :func:`file_system_errno` finds the file system read-only or full (a library may
    lose the errno: polars reports a full disk while writing a Parquet footer as
    "Invalid thrift: transport error").
    """
    try:
        yield
    except LocalDiskError:
        raise
    except Exception as error:
        code = disk_errno(error) or file_system_errno(path)
        if code is None:
            raise
        raise LocalDiskError(code, path) from error
