"""Bulk import files: how a file is cut into chunks, and how one line becomes a row to validate.

Pure functions, no AWS. A file is JSON Lines or CSV (a header line, then the same columns as the JSON
rows, flattened: `total_amount`/`total_currency` for `total`, `lots` as `points:expires_at;...`, and
`preferences`/`consents` as JSON text). Lines end with LF or CRLF (or CR alone, in a file with no LF);
they are numbered from 1 as an editor shows them (a CSV's header is line 1); blank lines are not rows.

Nothing in a file is trusted to be small: a line longer than MAX_LINE_BYTES is never held in memory (it
is counted as it streams by and reported as a bad row), a chunk holds at most MAX_CHUNK_BYTES, and a row
that cannot be read for any reason (bad encoding, CSV quoting, JSON nested too deep) is a bad row, never
an error of its chunk.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.domain.jsontext import MAX_DEPTH, loads_bounded

# Errors kept per chunk and shown per import: a file with many bad rows is a file to fix, not to read.
MAX_ERRORS = 100
# A line longer than this is a bad row, reported by the split without ever being held in memory.
MAX_LINE_BYTES = 1 << 20
# A chunk's bytes: with the line limit, what a worker holds of the file at once whatever its rows.
MAX_CHUNK_BYTES = 4 << 20
BOM = "\ufeff"
MEMBER_COLUMNS = ("member_id", "email", "name", "enrolled_at", "tier", "tier_since", "lots", "lifetime_earned",
                  "birthday", "phone", "locale", "preferences", "consents")
TRANSACTION_COLUMNS = ("member_id", "order_id", "occurred_at", "total_amount", "total_currency", "channel")
REQUIRED_COLUMNS = {"members": ("member_id", "email", "name", "enrolled_at"),
                    "transactions": ("member_id", "order_id", "occurred_at", "total_amount", "total_currency",
                                     "channel")}
_JSON_CELLS = ("preferences", "consents")
_INTEGER_CELLS = ("lifetime_earned",)


class BadRow(ValueError):
    """A line that is not a row of this kind: reported with its line and a code, then skipped."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class BadFile(ValueError):
    """A file that cannot be read at all (a CSV without its required columns, not UTF-8)."""


@dataclass(frozen=True)
class Chunk:
    """Lines [first_line, first_line + lines) of the file: bytes [start, end)."""

    index: int
    start: int
    end: int
    first_line: int
    rows: int


@dataclass(frozen=True)
class LongLine:
    """A line over MAX_LINE_BYTES, as the splitter saw it go by: only its length (separator included)."""

    length: int


@dataclass(frozen=True)
class BadLine:
    """A row the split reports itself (a line too long to read): in no chunk."""

    line: int
    code: str
    detail: str


def newline_of(first_block: bytes) -> bytes:
    """The file's line separator: LF (CRLF files end their lines with a CR that parsing ignores), or CR in a
    file that has CRs and no LF (old Mac exports)."""
    return b"\r" if b"\n" not in first_block and b"\r" in first_block else b"\n"


def split_lines(blocks: Iterable[bytes], newline: bytes = b"\n",
                max_line: int = MAX_LINE_BYTES) -> Iterator[bytes | LongLine]:
    """A stream of blocks as lines with their separator (so their lengths add up to byte offsets). A line
    past `max_line` is not kept: it comes out as a LongLine of its length once its end goes by."""
    pending = b""
    skipped = -1  # bytes of a too-long line seen so far (-1: none is going by)
    for block in blocks:
        start = 0
        while start < len(block):
            end = block.find(newline, start)
            piece = block[start:] if end < 0 else block[start:end + len(newline)]
            start = len(block) if end < 0 else end + len(newline)
            if skipped >= 0:
                skipped += len(piece)
            elif len(pending) + len(piece) > max_line:
                skipped, pending = len(pending) + len(piece), b""
            else:
                pending += piece
            if end < 0:
                continue
            if skipped >= 0:
                yield LongLine(skipped)
                skipped = -1
            else:
                yield pending
                pending = b""
    if skipped >= 0:
        yield LongLine(skipped)
    elif pending:
        yield pending


def plan_chunks(lines: Iterable[bytes | LongLine], rows_per_chunk: int, *, has_header: bool,
                max_bytes: int = MAX_CHUNK_BYTES) -> Iterator[Chunk | BadLine]:
    """Cut a file (its lines, separator included, in order) into chunks of at most `rows_per_chunk` rows
    and about `max_bytes` bytes, without holding more than one line: the splitter streams the object once
    and sends byte ranges. A line too long to read ends the chunk before it and comes out as a BadLine."""
    offset = 0
    line_number = 0
    index = 0
    chunk_start = chunk_first_line = 0
    rows = 0
    for line in lines:
        line_number += 1
        if isinstance(line, LongLine):
            if rows:
                yield Chunk(index, chunk_start, offset, chunk_first_line, rows)
                index += 1
                rows = 0
            offset += line.length
            yield BadLine(line_number, "invalid_row", f"the line is longer than {MAX_LINE_BYTES:,} bytes")
            continue
        length = len(line)
        if has_header and line_number == 1:
            offset += length
            continue
        if rows == 0:
            chunk_start, chunk_first_line = offset, line_number
        offset += length
        if line.strip():
            rows += 1
        if rows == rows_per_chunk or (rows and offset - chunk_start >= max_bytes):
            yield Chunk(index, chunk_start, offset, chunk_first_line, rows)
            index += 1
            rows = 0
    if rows:
        yield Chunk(index, chunk_start, offset, chunk_first_line, rows)


def csv_header(first_line: bytes | LongLine, kind: str) -> list[str]:
    """The columns a CSV file names (BadFile when a required one is missing or one is unknown)."""
    if isinstance(first_line, LongLine):
        raise BadFile(f"the header line is longer than {MAX_LINE_BYTES:,} bytes")
    try:
        text = first_line.decode("utf-8-sig")
        header = [name.strip() for name in next(csv.reader([_without_separator(text)]), [])]
    except UnicodeDecodeError as exc:
        raise BadFile("the file is not UTF-8") from exc
    except csv.Error as exc:
        raise BadFile(f"the CSV header cannot be read: {exc}") from exc
    known = MEMBER_COLUMNS if kind == "members" else TRANSACTION_COLUMNS
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in header]
    unknown = [name for name in header if name not in known]
    if missing or unknown:
        raise BadFile("the CSV header " + "; ".join(
            part for part in (f"lacks {', '.join(missing)}" if missing else "",
                              f"has unknown columns {', '.join(unknown)}" if unknown else "") if part))
    return header


def _without_separator(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\n", "\r")) else text


def row_fields(kind: str, line: bytes, header: list[str] | None) -> dict[str, Any]:
    """The fields of one line as the JSON row would have them (BadRow when the line cannot be read, for
    whatever reason: every way a line can fail to parse is a bad row, never an error of its chunk)."""
    if len(line) > MAX_LINE_BYTES:
        raise BadRow("invalid_row", f"the line is longer than {MAX_LINE_BYTES:,} bytes")
    try:
        text = _without_separator(line.decode("utf-8")).removeprefix(BOM)
    except UnicodeDecodeError as exc:
        raise BadRow("invalid_row", "the line is not UTF-8") from exc
    try:
        return _fields(kind, text, header)
    except BadRow:
        raise
    except (ValueError, csv.Error, RecursionError, TypeError) as exc:
        raise BadRow("invalid_row", f"the line cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from exc


def _fields(kind: str, text: str, header: list[str] | None) -> dict[str, Any]:
    if header is None:
        try:
            fields = loads_bounded(text)
        except ValueError as exc:
            raise BadRow("invalid_row", f"not a JSON object: {str(exc)[:200]}") from exc
        if not isinstance(fields, dict):
            raise BadRow("invalid_row", "not a JSON object")
        return fields
    cells = next(csv.reader([text]), [])
    if len(cells) != len(header):
        raise BadRow("invalid_row", f"{len(cells)} cells where the header has {len(header)}")
    return _unflatten(kind, {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""})


def _unflatten(kind: str, cells: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = dict(cells)
    if kind == "transactions":
        amount, currency = fields.pop("total_amount", None), fields.pop("total_currency", None)
        fields["total"] = {"amount": amount, "currency": currency}
        return fields
    for name in _JSON_CELLS:
        if name in fields:
            try:
                fields[name] = loads_bounded(fields[name], MAX_DEPTH)
            except ValueError as exc:
                raise BadRow("invalid_row", f"{name} is not JSON: {exc}") from exc
    for name in _INTEGER_CELLS:
        if name in fields:
            try:
                fields[name] = int(fields[name])
            except ValueError as exc:
                raise BadRow("invalid_row", f"{name} is not an integer") from exc
    if "lots" in fields:
        fields["lots"] = parse_lots(fields["lots"])
    return fields


def parse_lots(cell: str) -> list[dict[str, Any]]:
    """`500:2027-03-31T23:59:59Z;200` -> [{points: 500, expires_at: ...}, {points: 200}]."""
    lots: list[dict[str, Any]] = []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        points, _, expires_at = part.partition(":")
        try:
            lot: dict[str, Any] = {"points": int(points)}
        except ValueError as exc:
            raise BadRow("invalid_row", f"lots: {part!r} is not points:expires_at") from exc
        if expires_at:
            lot["expires_at"] = expires_at
        lots.append(lot)
    return lots


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """pydantic's errors as one line: `field: message; ...`."""
    return "; ".join(f"{'.'.join(str(part) for part in error.get('loc', ())) or 'row'}: {error.get('msg')}"
                     for error in errors[:5])


def first_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first MAX_ERRORS errors by line."""
    return sorted(errors, key=lambda error: int(error["line"]))[:MAX_ERRORS]
