"""The optional GitHub resource: which repository's statistics the report shows."""

from __future__ import annotations

import os

import dagster as dg

from usage_assets.enrichment.github_stats import fetch_github_stats

#: Environment variable of the optional API token (read through dg.EnvVar, never logged).
GITHUB_TOKEN_VARIABLE = "USAGE_GITHUB_TOKEN"


class GitHubRepository(dg.ConfigurableResource):
    """GitHub REST API access for the ``github_stats`` asset.

    ``repo``: ``owner/name`` or None (the report says the section is not configured);
    ``api_url``: the API root; ``token``: optional, raises the rate limit from 60 to
    5,000 requests an hour. Unreachable or failing: the statistics say so, never zeros.
    """

    repo: str | None = None
    api_url: str = "https://api.github.com"
    token: str | None = None

    def stats(self) -> dict:
        """See :func:`usage_assets.enrichment.github_stats.fetch_github_stats`."""
        return fetch_github_stats(self.repo, token=self.token, api_url=self.api_url)


def github_repository_from_settings(settings, environ=None) -> GitHubRepository:
    """The resource for ``settings``; the token is a ``dg.EnvVar`` when its variable is set."""
    environ = os.environ if environ is None else environ
    return GitHubRepository(
        repo=settings.github.repo,
        api_url=settings.github.api_url,
        token=dg.EnvVar(GITHUB_TOKEN_VARIABLE) if environ.get(GITHUB_TOKEN_VARIABLE) else None,
    )
