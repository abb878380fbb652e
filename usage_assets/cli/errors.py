"""The runner's error, in a module that imports nothing: ``usage-report`` catches it
without importing the pipeline, whose import reads the partitions' start, which the CLI
decides first from its options (:mod:`usage_assets.cli.main`)."""


class PipelineRunError(RuntimeError):
    """A run failed; the message names the day, the step and the underlying error."""
