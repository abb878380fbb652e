"""The runner's error, in a module that imports nothing: ``usage-report`` catches it
without importing the pipeline, whose import reads the partitions' start, which the CLI
decides first from its options (:mod:`usage_assets.cli.main`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepFailure:
    """One failed step of a run, in plain words.

    ``assets``: the assets the step materializes (asset key strings); ``partition``:
    the run's partition key (a UTC day) or None; ``reason``: what failed, without Python
    class paths; ``next_step``: what to check or do next, when the error says; ``retries``:
    how many times the step was retried before it failed for good.
    """

    assets: list[str]
    partition: str | None
    reason: str
    next_step: str | None = None
    retries: int = 0

    def lines(self) -> list[str]:
        """The few lines ``usage-report`` prints for this failure."""
        label = "Asset:" if len(self.assets) == 1 else "Assets:"
        where = ", ".join(self.assets) + (f", partition {self.partition}" if self.partition else "")
        retried = (
            f" (gave up after {self.retries} {'retry' if self.retries == 1 else 'retries'})" if self.retries else ""
        )
        lines = [f"{label:<9}{where}", f"Reason:  {self.reason}{retried}"]
        if self.next_step:
            lines.append(f"Next:    {self.next_step}")
        return lines


class PipelineRunError(RuntimeError):
    """A run failed; the message names the day, the step and the underlying error.

    ``headline``: which run failed (``"daily_ingest for 2026-05-01 failed"``);
    ``failures``: the failed steps in plain words (empty when the run failed without a
    step failure); ``run_id``: the run in the Dagster instance, whose event log holds
    the full details.
    """

    def __init__(
        self,
        message: str,
        headline: str | None = None,
        failures: list[StepFailure] | None = None,
        run_id: str | None = None,
    ):
        super().__init__(message)
        self.headline = headline
        self.failures = list(failures or [])
        self.run_id = run_id

    def explain(self) -> str:
        """What ``usage-report`` prints: the headline, each failure's few lines, and where
        the details are; the message itself when no step failure was recorded."""
        if not self.failures:
            return str(self)
        lines = [line for failure in self.failures for line in failure.lines()]
        if self.run_id:
            lines.append(
                f"Details: run {self.run_id} in the Dagster UI (`usage-report ui`), or run again with --verbose"
            )
        return "\n".join([f"{self.headline or 'the run failed'}.", *(f"  {line}" for line in lines)])
