"""GitHub repository figures for the report's GitHub section (reference 6.15).

:func:`fetch_github_stats` reads two endpoints of the GitHub REST API:
``/repos/{owner}/{name}`` (stars, forks, watchers, open issues) and
``/repos/{owner}/{name}/contributors`` (contributors, every page). It never raises: any
failure - no repository configured, an invalid name, DNS, refused connection, timeout,
an HTTP error, the rate limit, a body that is not the documented JSON - gives
``{"available": False, "repo": ..., "reason": ...}`` with a short reason that never
contains the token. :func:`github_changes` compares two such documents.

Differences from the reference, and why:

* A failed fetch is reported as unavailable, never as zeros; :func:`github_changes` gives
  no deltas unless both days are available (fixes quirk 23).
* ``contributors`` counts the entries of the contributors list with ``anon=1``, so
  contributors without a GitHub account (listed by e-mail) count too; the reference counts
  unique logins. The figure is stored every day, so its day-over-day delta is real (the
  reference fixes that delta at 0).
* The output holds no timestamp, so re-materializing a day gives the same bytes as long
  as GitHub answers the same.

Transient failures (connection errors, HTTP 500/502/503/504) are retried by urllib3's
``Retry`` with exponential backoff; a timed-out answer and the rate limit are not retried
(a hanging server tends to keep hanging, and the rate limit resets up to an hour later).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from usage_assets.common.formatting import printable
from usage_assets.enrichment.prometheus_client import connection_reason

GITHUB_API_URL = "https://api.github.com"
NOT_CONFIGURED = "not configured (set USAGE_GITHUB_REPO)"
#: Figures of an available document, in report order; each is a non-negative int.
FIELDS = ("stars", "forks", "watchers", "open_issues", "contributors")
#: What two figures mean, stored with them so the report can say it.
NOTES = (
    "open_issues is GitHub's open_issues_count, which counts open pull requests as well as open issues; "
    "contributors counts the entries of the contributors list, anonymous (e-mail only) contributors included"
)
#: Retries after the first attempt for a connection error or a 5xx answer.
RETRIES = 2
#: urllib3 waits 0 s before the first retry and backoff_factor * 2**(n-1) s before the n-th.
BACKOFF_FACTOR = 0.5
RETRY_STATUSES = (500, 502, 503, 504)
#: 100 contributors per page: 50 pages are 5,000 contributors, far beyond any expected repository.
MAX_CONTRIBUTOR_PAGES = 50
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_REPO = re.compile(rf"{_OWNER}/{_NAME}")
# Anything else would make the HTTP layer fail with the header value, i.e. the token, in its message.
_TOKEN = re.compile(r"[\x21-\x7e]*")
# The repository document's keys for each figure (the contributors come from their own list).
_REPO_KEYS = {
    "stars": "stargazers_count",
    "forks": "forks_count",
    "watchers": "subscribers_count",
    "open_issues": "open_issues_count",
}


class _Unavailable(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def valid_repo(repo: str) -> bool:
    """Whether ``repo`` is an ``owner/name`` GitHub repository name."""
    name = repo.partition("/")[2]
    return bool(_REPO.fullmatch(repo)) and name not in (".", "..")


def fetch_github_stats(
    repo: str | None,
    token: str | None = None,
    api_url: str = GITHUB_API_URL,
    timeout_s: float = 10.0,
) -> dict:
    """Stars, forks, watchers, open issues and contributors of ``repo`` (``owner/name``).

    ``token`` (optional) is sent as ``Authorization: Bearer``; without it GitHub allows 60
    requests an hour per IP address. ``timeout_s`` bounds connecting and each answer;
    connection errors and 5xx answers are retried :data:`RETRIES` times with backoff.

    Returns ``{"available": True, "repo", "stars", "forks", "watchers", "open_issues",
    "contributors", "notes"}`` (figures are ints, ``notes`` = :data:`NOTES`), or
    ``{"available": False, "repo": repo, "reason": str}``; ``repo`` None gives the reason
    :data:`NOT_CONFIGURED`. Never raises.
    """
    if repo is None:
        return {"available": False, "repo": None, "reason": NOT_CONFIGURED}
    if not valid_repo(repo):
        return _unavailable(repo, f"{printable(repo, 60)!r} is not a GitHub repository name (owner/name)")
    if token is not None and not _TOKEN.fullmatch(token):
        return _unavailable(repo, "the GitHub token has characters no token has (printable ASCII only)")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _unavailable(repo, "the GitHub API URL must be an http(s) URL")
    base = api_url.rstrip("/")
    try:
        with _session(token) as session:
            document = _get_json(session, f"{base}/repos/{repo}", timeout_s)[0]
            if not isinstance(document, dict):
                raise _Unavailable("answered with JSON that is not a repository")
            figures = {field: _count(document, key) for field, key in _REPO_KEYS.items()}
            figures["contributors"] = _count_contributors(session, base, repo, timeout_s)
    except _Unavailable as failure:
        return _unavailable(repo, failure.reason)
    return {"available": True, "repo": repo, **figures, "notes": NOTES}


def github_changes(current: Mapping, previous: Mapping | None, days_apart: int = 1) -> dict[str, int] | None:
    """Per-figure change ``current - previous`` (``{"stars": 3, ...}``, :data:`FIELDS` order).

    None unless both documents are available and are about the same repository: a day
    GitHub could not be read has no figures, and zeros would fake a drop. When both carry
    ``fetched_on`` (the UTC date the asset fetched them; GitHub keeps no history, so a
    backfill fetches every day's figures at once), they must be ``days_apart`` days apart,
    or the change would be a fake 0. A figure missing from either document is left out.
    """
    if previous is None or not current.get("available") or not previous.get("available"):
        return None
    if current.get("repo") != previous.get("repo"):
        return None
    if current.get("fetched_on") and previous.get("fetched_on"):
        gap = date.fromisoformat(current["fetched_on"]) - date.fromisoformat(previous["fetched_on"])
        if gap.days != days_apart:
            return None
    return {
        field: current[field] - previous[field]
        for field in FIELDS
        if _is_count(current.get(field)) and _is_count(previous.get(field))
    }


def _unavailable(repo: str | None, reason: str) -> dict:
    return {"available": False, "repo": repo, "reason": reason}


def _session(token: str | None) -> requests.Session:
    retry = Retry(
        total=RETRIES,
        read=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        backoff_factor=BACKOFF_FACTOR,
        raise_on_status=False,
        # A Retry-After on a 503 could hold the daily run for minutes; the backoff is bounded.
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "usage-assets"}
    )
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _get_json(session: requests.Session, url: str, timeout_s: float) -> tuple[object, str | None]:
    """(decoded JSON body, URL of the next page or None) of a GET; raises :class:`_Unavailable`."""
    try:
        response = session.get(url, timeout=(timeout_s, timeout_s))
    except requests.Timeout:
        raise _Unavailable(f"GitHub API timed out after {timeout_s:g} s") from None
    except requests.RequestException as error:
        raise _Unavailable(f"GitHub API {connection_reason(error)}") from None
    # Primary limit: 403/429 with no requests left; secondary limit: 403/429 with Retry-After.
    if response.status_code in (403, 429) and (
        response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
    ):
        raise _Unavailable("GitHub API rate limit exceeded")
    if response.status_code == 401:
        raise _Unavailable("GitHub API rejected the token (HTTP 401)")
    if response.status_code == 404:
        raise _Unavailable("repository not found, or private without a token (HTTP 404)")
    if response.status_code == 204:
        return [], None
    if response.status_code >= 400:
        raise _Unavailable(f"GitHub API answered HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        raise _Unavailable("GitHub API answered with a body that is not JSON") from None
    return payload, response.links.get("next", {}).get("url")


def _count_contributors(session: requests.Session, base: str, repo: str, timeout_s: float) -> int:
    origin = urlsplit(base)[:2]
    url: str | None = f"{base}/repos/{repo}/contributors?per_page=100&anon=1"
    count = 0
    for _page in range(MAX_CONTRIBUTOR_PAGES):
        entries, url = _get_json(session, url, timeout_s)
        if not isinstance(entries, list):
            raise _Unavailable("answered with a contributors list that is not a JSON array")
        count += len(entries)
        if url is None:
            return count
        # The token goes with every request of the session: follow only links to the same API host.
        if urlsplit(url)[:2] != origin:
            raise _Unavailable("the contributors list links to another host")
    raise _Unavailable(f"the contributors list is longer than {MAX_CONTRIBUTOR_PAGES} pages")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _count(document: Mapping, key: str) -> int:
    value = document.get(key)
    if not _is_count(value):
        raise _Unavailable(f"answered a repository without a valid {key}")
    return value
