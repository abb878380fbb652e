"""Source errors: their two parts survive a trip through a text (Dagster's event log)."""

import pytest

from usage_assets.sources.errors import SourceError, split_message


@pytest.mark.parametrize(
    "error",
    [
        SourceError(
            "the bastion could not reach the database at docdb.internal:27017 (the bastion answered: Connect "
            "failed) while connecting to docdb.internal:27017/telemetry",
            "Check USAGE_DOCDB_HOST/USAGE_DOCDB_PORT.",
            stage="connect",
            transient=True,
        ),
        # A library text in parentheses may hold ". Capital" without ending the reason.
        SourceError(
            "the database failed while reading x (OperationFailure: bad. Really bad. Timeout: 1.5s)",
            "Try again; if it persists, run `usage-report check-source`.",
            stage="query",
        ),
        SourceError("the SSH key /home/u/.ssh/id.Ed25519 could not be read", "Check it.", stage="config"),
    ],
)
def test_what_and_next_step_are_found_again_in_the_text(error):
    assert split_message(str(error)) == (error.what, error.next_step)


def test_a_text_of_one_sentence_is_all_reason():
    assert split_message("ValueError: 2026-05-05 is not over yet (UTC).") == (
        "ValueError: 2026-05-05 is not over yet (UTC)",
        None,
    )
