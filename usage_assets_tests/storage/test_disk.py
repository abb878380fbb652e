"""Local disk errors are recognized, whoever raises them, and named with their path."""

import errno
import os
from pathlib import Path

import polars as pl
import pytest

from usage_assets.storage.disk import LocalDiskError, disk_errno, file_system_errno, naming_disk_errors


def polars_onto_a_full_disk() -> Exception:
    """The error polars raises when the disk is full (``/dev/full`` always is)."""
    try:
        pl.DataFrame({"a": list(range(10_000))}).write_parquet("/dev/full")
    except Exception as error:  # noqa: BLE001
        return error
    raise AssertionError("writing to /dev/full succeeded")


def test_disk_errors_are_recognized_from_oserror_polars_and_the_cause_chain():
    assert disk_errno(OSError(errno.ENOSPC, "No space left on device")) == errno.ENOSPC
    assert disk_errno(polars_onto_a_full_disk()) == errno.ENOSPC
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError as error:
            raise RuntimeError("while writing") from error
    except RuntimeError as wrapped:
        assert disk_errno(wrapped) == errno.EROFS
    # The network, and errors that are no error of the disk, are not disk errors.
    assert disk_errno(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")) is None
    assert disk_errno(TimeoutError("timed out")) is None
    assert disk_errno(ValueError("bad value")) is None


@pytest.mark.parametrize(("code", "says"), [
    (errno.ENOSPC, "the disk is full (No space left on device)"),
    (errno.EROFS, "the file system is read-only (Read-only file system)"),
    (errno.EDQUOT, "the disk quota is used up"),
])
def test_a_disk_error_in_a_write_names_the_path_and_what_to_do(tmp_path, code, says):
    target = tmp_path / "data" / "part-0.parquet"
    with pytest.raises(LocalDiskError) as caught, naming_disk_errors(target):
        raise OSError(code, "from the kernel")
    message = str(caught.value)
    assert message.startswith(f"cannot write {target}: {says}") and message.endswith(", then run again")
    assert "\n" not in message and caught.value.errno == code and caught.value.filename == str(target)


def test_other_errors_pass_unchanged(tmp_path):
    with pytest.raises(ConnectionResetError), naming_disk_errors(Path(tmp_path)):
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")


def statvfs_reporting(monkeypatch, *, free_blocks: int, flags: int) -> None:
    statvfs = os.statvfs

    def reported(path):
        real = statvfs(path)
        return os.statvfs_result((*real[:3], free_blocks, free_blocks, *real[5:8], flags, real[9]))

    monkeypatch.setattr(os, "statvfs", reported)


def test_an_error_without_errno_is_a_disk_error_when_the_file_system_is_full_or_read_only(tmp_path, monkeypatch):
    target = tmp_path / "not-yet" / "part-0.parquet"  # its folder need not exist
    assert file_system_errno(target) is None
    # polars loses the errno when the Parquet footer hits the full disk.
    lost = pl.exceptions.ComputeError("parquet: File out of specification: Invalid thrift: transport error")
    statvfs_reporting(monkeypatch, free_blocks=0, flags=0)
    assert file_system_errno(target) == errno.ENOSPC
    with pytest.raises(LocalDiskError, match="the disk is full"), naming_disk_errors(target):
        raise lost
    statvfs_reporting(monkeypatch, free_blocks=1000, flags=os.ST_RDONLY)
    assert file_system_errno(target) == errno.EROFS
    statvfs_reporting(monkeypatch, free_blocks=1000, flags=0)
    with pytest.raises(pl.exceptions.ComputeError), naming_disk_errors(target):
        raise lost
