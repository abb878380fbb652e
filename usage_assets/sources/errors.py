"""Errors a telemetry source raises, the secret scrubbing they go through, and check steps.

A source that cannot be read raises :class:`SourceError`. Its message is meant for the
person running the pipeline: what failed, in plain words, then what to check next. It
never contains a secret: every text taken from a library error passes through
:func:`redact` first, and the library exception is not chained (``raise ... from None``),
so neither Dagster's event log nor a traceback can carry its unscrubbed text.

``transient`` tells the ingest asset whether Dagster's retry policy should try again
(timeouts, dropped connections, an unreachable bastion) or fail at once (a rejected host
key, wrong credentials, a missing CA file: retrying cannot fix those).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Replaces every secret in scrubbed text.
REDACTED = "***"

#: Longest library detail quoted in a message (pymongo's topology dumps are long).
MAX_DETAIL_CHARS = 300


class SourceError(RuntimeError):
    """A telemetry source could not be read.

    ``what``: what failed, in plain words; ``next_step``: what to check or do next;
    ``stage``: which part failed (``config``, ``tunnel``, ``connect``, ``tls``, ``auth``,
    ``query``); ``transient``: True when trying again later may succeed. ``str(error)``
    is ``"<what>. <next_step>"``: ``what`` starts in lower case and quotes library texts
    in parentheses only, ``next_step`` starts with a capital, so :func:`split_message`
    finds both again in a text that went through Dagster's event log.
    """

    def __init__(self, what: str, next_step: str, *, stage: str, transient: bool = False):
        self.what = what.rstrip(". ")
        self.next_step = next_step
        self.stage = stage
        self.transient = transient
        super().__init__(f"{self.what}. {next_step}")


def split_message(text: str) -> tuple[str, str | None]:
    """``(what, next_step)`` of a :class:`SourceError`'s text, ``(text, None)`` for a
    text of one sentence.

    The first ``". "`` followed by a capital letter outside parentheses ends ``what``
    (see :class:`SourceError`); for other texts the first sentence is the reason and the
    rest the next step, which reads well enough.
    """
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(". ", index) and text[index + 2:index + 3].isupper():
            return text[:index], text[index + 2:].strip() or None
    return text.rstrip(". "), None


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by :data:`REDACTED`.

    Secrets shorter than 4 characters are replaced too (a password is a password);
    the longest secrets are replaced first so one secret inside another is covered.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def library_detail(error: BaseException, secrets: Iterable[str | None]) -> str:
    """A short, scrubbed ``"<ExceptionType>: <message>"`` for quoting in a SourceError."""
    # Redact before reshaping: folding white space or cutting the text could split a
    # secret so that the replacement no longer finds it.
    message = " ".join(redact(str(error), secrets).split()) or "no details"
    if len(message) > MAX_DETAIL_CHARS:
        message = message[: MAX_DETAIL_CHARS - 1] + "…"
    return f"{type(error).__name__}: {message}"


@dataclass(frozen=True)
class SourceCheckStep:
    """One step of ``usage-report check-source``.

    ``name``: what was tested (e.g. "SSH tunnel to the bastion"); ``ok``: whether it
    worked; ``detail``: what was found, or, on failure, what failed and what to check next.
    """

    name: str
    ok: bool
    detail: str
