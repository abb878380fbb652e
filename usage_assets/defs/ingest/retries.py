"""The retry policy for reading the telemetry source, declared once.

The ingest step (:mod:`usage_assets.defs.ingest.assets`) retries with it, and
``usage-report`` retries its first read of the source's coverage with the same
policy (:mod:`usage_assets.cli.retries`). In a module of its own, without the pipeline's
imports: the CLI needs it before it may import the partitions.
"""

import dagster as dg

from usage_assets.settings import Settings

# A flaky network (timeouts, a connection or SSH tunnel dropped mid-stream, a bastion
# restarting) is retried: 3 more attempts, USAGE_INGEST_RETRY_DELAY_S (default 30 s)
# before the first, then 3 and 7 times that (Dagster's exponential backoff), each
# give or take the delay (jitter).
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3,
    delay=Settings.from_env(need_source=False, lenient=True).ingest_retry_delay_s,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
