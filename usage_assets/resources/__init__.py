"""Dagster resources: where telemetry comes from and where outputs go."""
