"""Read one export file tolerantly and in bounded memory: one physical line, one record.

The reference's exporter writes one event per line (``csv.DictWriter``), so a line is the
unit a broken export can lose. Python's ``csv`` module judges each line on its own (strict
quoting), so an unbalanced quote spoils its own line and never swallows the rest of the
file (``polars.read_csv`` fails on the whole file instead, naming no line); the lines read
whole are then parsed together by polars. What cannot be read whole is not dropped: it
becomes a row with a ``record_problem`` (``validation.RECORD_PROBLEM``) and its
``record_origin`` (``"<file> line <n>"``):

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
import io
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


def _lines(stream: TextIO, reading: FileReading) -> Iterator[tuple[int, str, bool]]:
    """``(line number, text, ended with a line break)`` of each non-blank line after the
    header; a gzip stream cut short ends the lines and marks ``reading.ends_mid_row``."""
    number = 1
    try:
        for line in stream:
            number += 1
            text = line.rstrip("\n").rstrip("\r")
            if text.strip():
                yield number, text, line.endswith("\n")
    except (EOFError, zlib.error, gzip.BadGzipFile):
        reading.ends_mid_row = True


def _fields(text: str) -> tuple[list[str] | None, str | None]:
    """The fields of one line on its own, or ``(None, why)`` when it is not valid CSV (a
    quoted field still open at its end is an unbalanced quote: it never takes the next line)."""
    try:
        return next(csv.reader((text,), strict=True), []), None
    except csv.Error as error:
        return None, UNBALANCED_QUOTE if "unexpected end of data" in str(error) else f"record: not valid CSV ({error})"


def read_batches(path: Path, name: str, reading: FileReading, batch_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """The records of the export file ``path`` in batches of at most ``batch_rows`` rows.

    ``name``: the file's name in ``record_origin``. Each batch has every export column
    (strings, stripped, empty -> None, cut at :data:`FIELD_CHARS`; columns the header lacks
    are None), plus ``record_problem``, ``record_origin`` and :data:`RAW_RECORD`, in line
    order. ``reading`` is filled in as the file is read (complete once the iterator is
    exhausted). Raises ``OSError`` when the file cannot be opened.

    The csv module judges each line (a line without quotes and with the header's number of
    commas needs no parse); the lines read whole are then parsed together by polars.
    """
    with open_export(path) as stream:
        header = reading.header = _header_names(stream.readline())
        reading.ignored_columns = [h for h in header if h not in fmt.EXPORT_COLUMNS]
        batch = _Batch(header, name)
        last_whole = None
        for number, text, ended in _lines(stream, reading):
            reading.records += 1
            if '"' not in text and text.count(",") == len(header) - 1:
                fields, problem = None, None
            else:
                fields, problem = _fields(text)
                if fields is not None and len(fields) != len(header):
                    problem = MORE_FIELDS if len(fields) > len(header) else FEWER_FIELDS
            if problem is None:
                batch.whole(number, text)
                last_whole = text
            else:
                if (problem == FEWER_FIELDS or fields is None) and not ended:
                    problem = CUT_SHORT
                    reading.ends_mid_row = True
                reading.problems += 1
                batch.broken(number, fields or [], problem, None if fields is not None else text[:RAW_RECORD_CHARS])
            if len(batch) >= batch_rows:
                yield batch.frame()
                batch = _Batch(header, name)
        if len(batch):
            yield batch.frame()
        if last_whole is not None:
            fields = _fields(last_whole)[0] or []
            position = {name_: index for index, name_ in enumerate(header)}
            reading.last_whole = tuple(
                fields[position[column]] if column in position and position[column] < len(fields) else None
                for column in ("event", "ts")
            )


class _Batch:
    """The rows of one batch: lines read whole (parsed together) and broken records."""

    def __init__(self, header: list[str], name: str):
        self.header, self.name = header, name
        self.lines: list[str] = []
        self.numbers: list[int] = []
        self.broken_rows: list[tuple[int, list[str], str, str | None]] = []

    def __len__(self) -> int:
        return len(self.lines) + len(self.broken_rows)

    def whole(self, number: int, text: str) -> None:
        self.lines.append(text)
        self.numbers.append(number)

    def broken(self, number: int, fields: list[str], problem: str, raw: str | None) -> None:
        self.broken_rows.append((number, fields[: len(self.header)], problem, raw))

    def _whole_frame(self) -> pl.DataFrame:
        positional = [f"_{index}" for index in range(len(self.header))]
        try:
            frame = pl.read_csv(io.BytesIO("\n".join(self.lines).encode()), has_header=False, new_columns=positional,
                                infer_schema=False, quote_char='"')
            if frame.shape != (len(self.lines), len(positional)):
                raise ValueError("polars split the lines differently")
        except (pl.exceptions.PolarsError, ValueError):
            # The csv module accepted every line: parse them one by one the same way.
            rows = [_fields(text)[0] for text in self.lines]
            frame = pl.DataFrame(rows, schema=positional, orient="row")
        return frame.with_columns(pl.Series("_line", self.numbers, dtype=pl.Int64))

    def frame(self) -> pl.DataFrame:
        """The batch as export columns plus the record columns, in line order."""
        positional = [f"_{index}" for index in range(len(self.header))]
        broken = pl.DataFrame(
            {
                **{column: [row[1][index] if index < len(row[1]) else None for row in self.broken_rows]
                   for index, column in enumerate(positional)},
                "_line": [row[0] for row in self.broken_rows],
                RECORD_PROBLEM: [row[2] for row in self.broken_rows],
                RAW_RECORD: [row[3] for row in self.broken_rows],
            },
            schema={**{column: pl.String for column in positional}, "_line": pl.Int64,
                    RECORD_PROBLEM: pl.String, RAW_RECORD: pl.String},
        )
        rows = pl.concat([self._whole_frame(), broken], how="diagonal")
        if self.broken_rows:
            # The lines read whole are in line order; the broken ones are sorted in among them.
            rows = rows.sort("_line")
        named = rows.select(
            *[pl.col(f"_{index}").alias(column) for index, column in enumerate(self.header) if column in fmt.EXPORT_COLUMNS
              and self.header.index(column) == index],
        )
        export = fmt.conform_to_export(named, longest=FIELD_CHARS)
        origin = pl.lit(f"{self.name} line ") + pl.col("_line").cast(pl.String)
        return pl.concat([export, rows.select(pl.col(RECORD_PROBLEM), origin.alias(RECORD_ORIGIN), pl.col(RAW_RECORD))],
                         how="horizontal")
