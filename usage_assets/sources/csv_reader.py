"""Read one export file tolerantly and in bounded memory: one physical line, one record.

The reference's exporter writes one event per line (``csv.DictWriter``), so a line is the
unit a broken export can lose. Each line is parsed on its own with Python's ``csv`` module
(strict quoting), so an unbalanced quote spoils its own line and never swallows the rest of
the file (``polars.read_csv`` fails on the whole file instead, naming no line). What
cannot be read whole is not dropped: it becomes a row with a ``record_problem``
(``validation.RECORD_PROBLEM``) and its ``record_origin`` (``"<file> line <n>"``):

* more fields than the header: the first fields are kept, the row is rejected;
* fewer fields than the header: the fields are kept, the row is rejected; on the last
  line of a file that does not end with a line break it is a cut row, and the file is
  marked as ending mid-row (see :class:`FileReading`);
* a line that is not valid CSV (an unbalanced quote): no field is kept; the line's text
  is kept in ``raw_record``.

Files may be gzip-compressed (recognised by their first bytes, whatever their name).
Rows come in batches of at most :data:`BATCH_ROWS`, and fields longer than
:data:`FIELD_CHARS` are cut, so memory does not grow with the file.
"""

from __future__ import annotations

import csv
import gzip
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import polars as pl

from usage_assets.ingest.validation import RECORD_ORIGIN, RECORD_PROBLEM
from usage_assets.sources import export_format as fmt

#: Rows per batch handed to the caller.
BATCH_ROWS = 50_000
#: Longest field kept as read (far above every limit of validation, which clears it).
FIELD_CHARS = 10_000
#: The raw text kept of a line that is not valid CSV.
RAW_RECORD_CHARS = 1_000
#: Column holding the text of a line that could not be parsed (null otherwise).
RAW_RECORD = "raw_record"

MORE_FIELDS = "record: more fields than the header"
FEWER_FIELDS = "record: fewer fields than the header"
CUT_SHORT = "record: cut short (the file ends inside it)"
UNBALANCED_QUOTE = "record: unbalanced quote"

_GZIP_MAGIC = b"\x1f\x8b"
# Fields are cut after parsing; the csv module's own limit (128 KiB) would otherwise make
# one 50 MB cell a malformed line.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def is_gzip(path: Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes."""
    with path.open("rb") as stream:
        return stream.read(2) == _GZIP_MAGIC


@contextmanager
def open_export(path: Path) -> Iterator[TextIO]:
    """``path`` as text (UTF-8, BOM removed, undecodable bytes replaced), gunzipped when
    compressed. Lines end at ``\\n`` only, so a stray ``\\r`` stays inside its line."""
    if is_gzip(path):
        stream = gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="\n")
    else:
        stream = path.open("r", encoding="utf-8-sig", errors="replace", newline="\n")
    with stream:
        yield stream


def _header_names(line: str) -> list[str]:
    try:
        names = next(csv.reader([line.rstrip("\r\n")]), [])
    except csv.Error:
        names = line.rstrip("\r\n").split(",")
    return [name.strip() for name in names]


def read_header(path: Path) -> list[str]:
    """The column names of a file's first line (surrounding spaces removed); ``[]`` for an
    empty file or a cut gzip stream. Raises ``OSError`` when the file cannot be opened."""
    try:
        with open_export(path) as stream:
            return _header_names(stream.readline())
    except (EOFError, zlib.error, gzip.BadGzipFile):
        return []


@dataclass
class FileReading:
    """What reading one file found, filled in while its batches are read.

    ``header``: the column names; ``ignored_columns``: header names that are not export
    columns (ignored); ``records``: data lines read (blank lines are not records);
    ``problems``: records with a ``record_problem``; ``ends_mid_row``: the file ends inside
    a record (no final line break and a cut last record, or a cut gzip stream);
    ``last_whole``: ``(event, ts)`` of the last record read whole, for the truncation rule.
    """

    header: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    records: int = 0
    problems: int = 0
    ends_mid_row: bool = False
    last_whole: tuple[str | None, str | None] | None = None


class _LineFeed:
    """Physical lines for ``csv.reader``, one record at a time.

    ``csv.reader`` asks for another line when a quoted field is still open at the end of
    one; the feed then ends the iteration, so the reader fails on that line alone (strict
    mode) and the next reader starts on the next line.
    """

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self.current: tuple[int, str, bool] | None = None  # (number, text, ended with a line break)
        self.number = 1  # the header
        self.exhausted = False
        self.cut_stream = False

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.current is not None:  # a record asking for a second line
            raise StopIteration
        while True:
            try:
                line = next(self._lines)
            except StopIteration:
                self.exhausted = True
                raise
            except (EOFError, zlib.error, gzip.BadGzipFile):
                self.exhausted = self.cut_stream = True
                raise StopIteration from None
            self.number += 1
            text = line.rstrip("\n").rstrip("\r")
            if text.strip():
                self.current = (self.number, text, line.endswith("\n"))
                return text

    def take(self) -> tuple[int, str, bool]:
        taken, self.current = self.current, None
        return taken


def _records(feed: _LineFeed) -> Iterator[tuple[int, str, bool, list[str] | None, str | None]]:
    """``(line number, text, ended with a line break, fields or None, csv error)`` per record."""
    while not feed.exhausted:
        reader = csv.reader(feed, strict=True)
        try:
            for fields in reader:
                yield *feed.take(), fields, None
        except csv.Error as error:
            if feed.current is not None:
                yield *feed.take(), None, str(error)


def _csv_problem(error: str | None) -> str:
    if error and "unexpected end of data" in error:
        return UNBALANCED_QUOTE
    return f"record: not valid CSV ({error})"


def read_batches(path: Path, name: str, reading: FileReading, batch_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """The records of the export file ``path`` in batches of at most ``batch_rows`` rows.

    ``name``: the file's name in ``record_origin``. Each batch has every export column
    (strings, stripped, empty -> None; columns the header lacks are None), plus
    ``record_problem``, ``record_origin`` and :data:`RAW_RECORD`. ``reading`` is filled in
    as the file is read (complete once the iterator is exhausted). Raises ``OSError``
    when the file cannot be opened.
    """
    with open_export(path) as stream:
        header = reading.header = _header_names(stream.readline())
        reading.ignored_columns = [h for h in header if h not in fmt.EXPORT_COLUMNS]
        width = len(header)
        positions = {name_: index for index, name_ in enumerate(header) if name_ in fmt.EXPORT_COLUMNS}
        event_at, ts_at = positions.get("event"), positions.get("ts")
        feed = _LineFeed(iter(stream))
        rows: list[list[str | None]] = []
        for number, text, ended, fields, error in _records(feed):
            reading.records += 1
            problem, raw = None, None
            if fields is None:
                problem, raw, fields = _csv_problem(error), text[:RAW_RECORD_CHARS], []
            elif len(fields) > width:
                problem, fields = MORE_FIELDS, fields[:width]
            elif len(fields) < width:
                problem = FEWER_FIELDS
            if (problem == FEWER_FIELDS or raw is not None) and not ended:
                problem = CUT_SHORT
                reading.ends_mid_row = True
            if problem:
                reading.problems += 1
            else:
                reading.last_whole = (
                    fields[event_at] if event_at is not None else None,
                    fields[ts_at] if ts_at is not None else None,
                )
            cells = [fields[i][:FIELD_CHARS] if i < len(fields) else None for i in positions.values()]
            rows.append([*cells, problem, f"{name} line {number}", raw])
            if len(rows) >= batch_rows:
                yield _frame(list(positions), rows)
                rows = []
        if feed.cut_stream:
            reading.ends_mid_row = True
        if rows:
            yield _frame(list(positions), rows)


def _frame(columns: list[str], rows: list[list[str | None]]) -> pl.DataFrame:
    names = [*columns, RECORD_PROBLEM, RECORD_ORIGIN, RAW_RECORD]
    frame = pl.DataFrame(list(zip(*rows, strict=True)), schema={n: pl.String for n in names}, orient="col")
    return pl.concat([fmt.conform_to_export(frame), frame.select(RECORD_PROBLEM, RECORD_ORIGIN, RAW_RECORD)],
                     how="horizontal")
