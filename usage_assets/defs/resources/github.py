"""The optional GitHub resource: which repository's statistics the report shows."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from usage_assets.enrichment.github_stats import fetch_github_stats
from usage_assets.settings import GitHubSettings


class GitHubRepository(GitHubSettings, dg.ConfigurableResource):
    """GitHub REST API access for the ``github_stats`` asset.

    The settings of :class:`usage_assets.settings.GitHubSettings` (``repo``, ``api_url``,
    ``token``); ``token`` is ``dg.EnvVar(...)`` (or None). Unreachable or failing: the
    statistics say so, never zeros.
    """

    token: str | None = Field(default=None, repr=False)

    def stats(self) -> dict:
        """See :func:`usage_assets.enrichment.github_stats.fetch_github_stats`."""
        return fetch_github_stats(self.repo, token=self.token, api_url=self.api_url)
