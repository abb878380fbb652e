"""Alerts and report deliveries as media-neutral messages.

A :class:`Message` holds plain, unescaped text: a title, labelled fields and an optional
link and attachment. Each sender escapes for its medium (Slack mrkdwn in
:func:`usage_assets.alerts.slack.slack_payload`, HTML in
:func:`usage_assets.alerts.email.email_message`), so a telemetry string (a version, a
partition, an error message quoting a field) can never become markup or a link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

#: Longest error message quoted in an alert, in characters (the run's page has the rest).
REASON_CHARS = 600


class AlertDeliveryError(RuntimeError):
    """A message could not be sent; the text says where (never the webhook URL or a password)."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail: its name, MIME type (``text/html``) and content."""

    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class Message:
    """``title`` (one line), ``fields`` (label, value) in order, ``link`` (URL, label) or
    None, ``attachments`` (e-mail only). All text is plain and unescaped."""

    title: str
    fields: list[tuple[str, str]]
    link: tuple[str, str] | None = None
    attachments: list[Attachment] = field(default_factory=list)

    def plain_text(self) -> str:
        """The message as plain text: title, ``label: value`` lines, the link."""
        lines = [self.title, "", *(f"{label}: {value}" for label, value in self.fields)]
        if self.link:
            lines += ["", f"{self.link[1]}: {self.link[0]}"]
        return "\n".join(lines) + "\n"


def plain_reason(message: str) -> str:
    """An error message without its trace, on one line, at most :data:`REASON_CHARS`.

    Keeps the lines before the first ``Traceback``/``Stack Trace`` line and joins them
    with spaces (whitespace collapsed); an empty message becomes ``"no message"``."""
    kept = []
    for line in message.splitlines():
        if line.strip().startswith(("Traceback (most recent call last)", "Stack Trace:")):
            break
        kept.append(line.strip())
    reason = " ".join(part for part in kept if part) or "no message"
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def run_url(ui_url: str | None, run_id: str) -> tuple[str, str] | None:
    """The link to run ``run_id`` in the Dagster UI at ``ui_url`` (None without one)."""
    return (f"{ui_url.rstrip('/')}/runs/{run_id}", "Open the run in Dagster") if ui_url else None


def run_failure(
    *, job: str | None, run_id: str, partition: str | None, assets: list[str], reason: str, ui_url: str | None
) -> Message:
    """The alert for a failed run: which asset(s) of which partition failed, and why.

    ``assets``: the failed assets (empty when the run failed before any step, e.g. its
    code location could not load); ``reason``: the failing step's error message
    (:func:`plain_reason` is applied); ``job``: the job's name, None for the UI's implicit
    asset jobs (whose internal names mean nothing to a reader)."""
    failed = ", ".join(assets) if assets else "(no step ran)"
    title = f"usage-assets: {assets[0] if assets else job or 'a run'} failed" + (
        f" for {partition}" if partition else ""
    )
    fields = [("Asset", failed), ("Partition", partition or "(not partitioned)"), ("Reason", plain_reason(reason))]
    return Message(
        title=title, fields=[*fields, *([("Job", job)] if job else []), ("Run", run_id)], link=run_url(ui_url, run_id)
    )


def check_failure(
    *,
    asset: str,
    check: str,
    partition: str | None,
    severity: str,
    description: str,
    run_id: str | None,
    ui_url: str | None,
) -> Message:
    """The alert for a failed asset check (one that did not fail its run, e.g. WARN)."""
    return Message(
        title=f"usage-assets: check {check} on {asset} failed" + (f" for {partition}" if partition else ""),
        fields=[
            ("Check", f"{asset} / {check} ({severity})"),
            ("Partition", partition or "(not partitioned)"),
            ("Reason", plain_reason(description)),
        ],
        link=run_url(ui_url, run_id) if run_id else None,
    )


def late_report(*, day: date, deadline: datetime, newest: date | None, ui_url: str | None) -> Message:
    """The alert for the report of ``day`` missing at ``deadline`` (UTC); ``newest``: the
    newest day whose report exists (None: none)."""
    return Message(
        title=f"usage-assets: the report for {day} is late",
        fields=[
            ("Report day", day.isoformat()),
            ("Due by", deadline.strftime("%Y-%m-%d %H:%M UTC")),
            ("Newest report", newest.isoformat() if newest else "none yet"),
            ("What to do", "check the daemon is running and the day's run in the Dagster UI"),
        ],
        link=(f"{ui_url.rstrip('/')}/runs", "Open the runs in Dagster") if ui_url else None,
    )
