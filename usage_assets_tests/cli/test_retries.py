"""The command line's own retries of the source (the coverage read before any run)."""

import pytest

from usage_assets.cli.retries import retry_line, with_source_retries
from usage_assets.defs.ingest.retries import INGEST_RETRY_POLICY
from usage_assets.sources.errors import SourceError


def flaky(failures: list[SourceError], answer="coverage"):
    """A read that raises each of ``failures`` in turn, then returns ``answer``."""
    calls = []

    def read():
        calls.append(len(calls))
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return answer

    return read, calls


RESTARTING = SourceError(
    "the bastion 10.0.0.5:22 refused the connection", "Check USAGE_BASTION_PORT.", stage="tunnel", transient=True
)


def test_a_transient_error_is_retried_with_the_ingest_policy_and_each_retry_is_told():
    read, calls = flaky([RESTARTING, RESTARTING])
    told, slept = [], []
    assert with_source_retries(read, told.append, sleep=slept.append) == "coverage"
    assert len(calls) == 3 and len(slept) == 2
    assert told == [retry_line(wait, "the bastion 10.0.0.5:22 refused the connection") for wait in slept]
    # USAGE_INGEST_RETRY_DELAY_S (0.2 s in the tests), exponential: 1 then 3 times it, give or take 0.2 s.
    delay = INGEST_RETRY_POLICY.delay
    assert 0 <= slept[0] <= 2 * delay and 2 * delay <= slept[1] <= 4 * delay


def test_the_last_attempts_error_is_raised_after_max_retries():
    read, calls = flaky([RESTARTING] * 10)
    told = []
    with pytest.raises(SourceError, match="refused the connection"):
        with_source_retries(read, told.append, sleep=lambda _: None)
    assert len(calls) == INGEST_RETRY_POLICY.max_retries + 1 == 4 and len(told) == 3


def test_an_error_a_retry_cannot_fix_is_raised_at_once():
    wrong_key = SourceError("the bastion rejected the SSH key", "Check USAGE_BASTION_USER.", stage="tunnel")
    read, calls = flaky([wrong_key])
    told = []
    with pytest.raises(SourceError, match="rejected the SSH key"):
        with_source_retries(read, told.append, sleep=lambda _: None)
    assert len(calls) == 1 and not told


def test_retry_lines_round_the_wait():
    assert retry_line(31.74, "x") == "retrying in 32 s: x"
    assert retry_line(0.26, "y") == "retrying in 0.3 s: y"
