"""Thin Dagster assets over the pure functions in :mod:`usage_assets.lib`."""
