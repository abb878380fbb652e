"""GitHub figures: every answer GitHub can give becomes figures or a reason, never an exception.

The GitHub API cannot be reached from the test environment, so a small ``http.server`` on
127.0.0.1, in a thread, plays it: it serves hand-written JSON shaped like GitHub's answers
(the repository document and pages of the contributors list with ``Link`` headers) and
records every request it gets.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from usage_assets.enrichment.github_stats import NOT_CONFIGURED, fetch_github_stats, github_changes
from usage_assets_tests.prometheus_server import closed_port_url

REPO = "example-org/registry"
REPO_DOCUMENT = {
    "full_name": REPO,
    "stargazers_count": 412,
    "forks_count": 57,
    "subscribers_count": 19,
    "open_issues_count": 33,
}
CONTRIBUTORS = f"/repos/{REPO}/contributors?per_page=100&anon=1"
TOKEN = "ghp_TESTTOKEN0123456789"


def contributors(n: int) -> list[dict]:
    return [{"login": f"user{i}", "type": "User", "contributions": 1} for i in range(n)]


class FakeGitHub:
    """Answers GET requests from ``routes``: path with query -> list of (status, headers, JSON body);
    each request takes the next answer of its path, the last one repeats."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, dict, object]]] = {}
        self.requests: list[tuple[str, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                fake.requests.append((self.path, self.headers.get("Authorization")))
                answers = fake.routes.get(self.path, [(404, {}, {"message": "Not Found"})])
                status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value.replace("{base}", fake.url))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, path: str) -> int:
        return sum(1 for requested, _auth in self.requests if requested == path)


@pytest.fixture
def github():
    fake = FakeGitHub()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def serve_repository(fake: FakeGitHub, pages: list[int]) -> None:
    """The repository document and a contributors list of len(pages) pages, linked by ``Link: rel="next"``."""
    fake.routes[f"/repos/{REPO}"] = [(200, {}, REPO_DOCUMENT)]
    for number, size in enumerate(pages, start=1):
        path = CONTRIBUTORS + (f"&page={number}" if number > 1 else "")
        headers = {}
        if number < len(pages):
            headers["Link"] = (f'<{{base}}{CONTRIBUTORS}&page={number + 1}>; rel="next", '
                               f'<{{base}}{CONTRIBUTORS}&page={len(pages)}>; rel="last"')
        fake.routes[path] = [(200, headers, contributors(size))]


def test_figures_with_contributors_over_three_pages(github):
    serve_repository(github, [100, 100, 7])
    stats = fetch_github_stats(REPO, api_url=github.url, timeout_s=5)
    # contributors = 100 + 100 + 7 entries over the three linked pages.
    assert {key: value for key, value in stats.items() if key != "notes"} == {
        "available": True, "repo": REPO, "stars": 412, "forks": 57, "watchers": 19, "open_issues": 33,
        "contributors": 207,
    }
    assert "pull requests" in stats["notes"]
    assert [path for path, _auth in github.requests] == [
        f"/repos/{REPO}", CONTRIBUTORS, CONTRIBUTORS + "&page=2", CONTRIBUTORS + "&page=3",
    ]
    assert all(auth is None for _path, auth in github.requests)
    # Same answers, same bytes: nothing time-dependent in the document.
    assert json.dumps(fetch_github_stats(REPO, api_url=github.url, timeout_s=5)) == json.dumps(stats)


def test_token_is_sent_as_bearer_on_every_request(github):
    serve_repository(github, [2, 1])
    stats = fetch_github_stats(REPO, token=TOKEN, api_url=github.url + "/", timeout_s=5)
    assert stats["available"] and stats["contributors"] == 3
    assert [auth for _path, auth in github.requests] == [f"Bearer {TOKEN}"] * 3


def test_an_empty_contributors_list_counts_zero(github):
    github.routes[f"/repos/{REPO}"] = [(200, {}, REPO_DOCUMENT)]
    github.routes[CONTRIBUTORS] = [(204, {}, b"")]
    assert fetch_github_stats(REPO, api_url=github.url, timeout_s=5)["contributors"] == 0


def test_not_found_is_a_reason(github):
    stats = fetch_github_stats(REPO, api_url=github.url, timeout_s=5)
    assert stats == {
        "available": False, "repo": REPO, "reason": "repository not found, or private without a token (HTTP 404)",
    }
    assert github.count(f"/repos/{REPO}") == 1  # a 404 is not retried


def test_a_server_error_is_retried_then_succeeds(github):
    serve_repository(github, [5])
    github.routes[f"/repos/{REPO}"] = [(500, {}, {"message": "oops"}), (200, {}, REPO_DOCUMENT)]
    stats = fetch_github_stats(REPO, api_url=github.url, timeout_s=5)
    assert stats["available"] and stats["stars"] == 412 and stats["contributors"] == 5
    assert github.count(f"/repos/{REPO}") == 2


def test_a_server_error_that_persists_gives_up_after_the_retries(github):
    github.routes[f"/repos/{REPO}"] = [(502, {}, {"message": "bad gateway"})]
    stats = fetch_github_stats(REPO, api_url=github.url, timeout_s=5)
    assert stats["reason"] == "GitHub API answered HTTP 502"
    assert github.count(f"/repos/{REPO}") == 3  # the first attempt and RETRIES = 2 retries


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((403, {"x-ratelimit-remaining": "0"}, {"message": "API rate limit exceeded"}), "GitHub API rate limit exceeded"),
        ((429, {"retry-after": "60"}, {"message": "secondary rate limit"}), "GitHub API rate limit exceeded"),
        ((401, {}, {"message": "Bad credentials"}), "GitHub API rejected the token (HTTP 401)"),
        ((403, {}, {"message": "Forbidden"}), "GitHub API answered HTTP 403"),
        ((200, {}, b"<html>a captive portal</html>"), "GitHub API answered with a body that is not JSON"),
        ((200, {}, {"stargazers_count": 1}), "answered a repository without a valid forks_count"),
        ((200, {}, [1, 2]), "answered with JSON that is not a repository"),
    ],
)
def test_error_answers_become_the_reason_without_the_token(github, answer, reason):
    github.routes[f"/repos/{REPO}"] = [answer]
    stats = fetch_github_stats(REPO, token=TOKEN, api_url=github.url, timeout_s=5)
    assert stats == {"available": False, "repo": REPO, "reason": reason}
    assert TOKEN not in json.dumps(stats)


def test_a_contributors_list_that_is_not_an_array(github):
    github.routes[f"/repos/{REPO}"] = [(200, {}, REPO_DOCUMENT)]
    github.routes[CONTRIBUTORS] = [(200, {}, {"message": "too large"})]
    stats = fetch_github_stats(REPO, api_url=github.url, timeout_s=5)
    assert stats["reason"] == "answered with a contributors list that is not a JSON array"


def test_pagination_does_not_follow_links_to_another_host(github):
    github.routes[f"/repos/{REPO}"] = [(200, {}, REPO_DOCUMENT)]
    github.routes[CONTRIBUTORS] = [(200, {"Link": '<http://collector.invalid/steal>; rel="next"'}, contributors(100))]
    stats = fetch_github_stats(REPO, token=TOKEN, api_url=github.url, timeout_s=5)
    assert stats["reason"] == "the contributors list links to another host"


def test_unreachable_api_is_unavailable_quickly_and_never_shows_the_token():
    started = time.monotonic()
    stats = fetch_github_stats(REPO, token=TOKEN, api_url=closed_port_url(), timeout_s=2)
    # Connection refused, retried twice with backoff 0 s and 1 s.
    assert time.monotonic() - started < 4
    assert stats == {"available": False, "repo": REPO, "reason": "GitHub API connection refused"}


def test_configuration_problems_are_reasons():
    assert fetch_github_stats(None) == {"available": False, "repo": None, "reason": NOT_CONFIGURED}
    for bad in ("registry", "a/b/c", "-org/x", "org/..", "org/na me", "https://github.com/org/x"):
        stats = fetch_github_stats(bad)
        assert not stats["available"] and "not a GitHub repository name" in stats["reason"], bad
    # A token with a line break would end up in the HTTP layer's error message: refused up front.
    stats = fetch_github_stats(REPO, token="ghp_abc\r\nX-Evil: 1")
    assert stats["reason"] == "the GitHub token has characters no token has (printable ASCII only)"
    assert "ghp_abc" not in json.dumps(stats)
    assert fetch_github_stats(REPO, api_url="ftp://example.org")["reason"] == "the GitHub API URL must be an http(s) URL"


def test_changes_only_between_two_available_days():
    today = {"available": True, "repo": REPO, "stars": 412, "forks": 57, "watchers": 19, "open_issues": 30,
             "contributors": 207}
    yesterday = {**today, "stars": 405, "forks": 57, "watchers": 20, "open_issues": 33, "contributors": 205}
    # 412-405, 57-57, 19-20, 30-33, 207-205
    assert github_changes(today, yesterday) == {
        "stars": 7, "forks": 0, "watchers": -1, "open_issues": -3, "contributors": 2,
    }
    failed = {"available": False, "repo": REPO, "reason": "GitHub API rate limit exceeded"}
    assert github_changes(today, failed) is None
    assert github_changes(failed, yesterday) is None
    assert github_changes(today, None) is None
    assert github_changes(today, {**yesterday, "repo": "other-org/registry"}) is None
    assert github_changes(today, {key: value for key, value in yesterday.items() if key != "contributors"}) == {
        "stars": 7, "forks": 0, "watchers": -1, "open_issues": -3,
    }


def test_figures_fetched_on_the_same_day_are_not_compared():
    # A backfill fetches D-1's and D's figures minutes apart: a change of 0 would be fake.
    figures = {"available": True, "repo": REPO, "stars": 10, "forks": 1, "watchers": 1, "open_issues": 0,
               "contributors": 2}
    today = {**figures, "stars": 12, "fetched_on": "2026-05-21"}
    assert github_changes(today, {**figures, "fetched_on": "2026-05-21"}) is None
    assert github_changes(today, {**figures, "fetched_on": "2026-05-20"})["stars"] == 2
    assert github_changes(today, {**figures, "fetched_on": "2026-05-14"}, days_apart=7)["stars"] == 2
    assert github_changes(today, {**figures, "fetched_on": "2026-05-14"}) is None
