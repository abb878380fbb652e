"""usage-assets: product telemetry to a daily usage report, as partitioned Dagster assets."""
