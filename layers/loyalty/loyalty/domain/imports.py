"""Bulk import files: how a file is cut into chunks, and how one line becomes a row to validate.

Pure functions, no AWS. A file is JSON Lines or CSV (a header line, then the same columns as the JSON
rows, flattened: `total_amount`/`total_currency` for `total`, `lots` as `points:expires_at;...`, and
`preferences`/`consents` as JSON text). Lines are numbered from 1 as an editor shows them (a CSV's
header is line 1); blank lines are not rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Errors kept per chunk and shown per import: a file with many bad rows is a file to fix, not to read.
MAX_ERRORS = 100
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


def plan_chunks(lines: Iterable[bytes], rows_per_chunk: int, *, has_header: bool) -> Iterator[Chunk]:
    """Cut a file (its lines, newline included, in order) into chunks of `rows_per_chunk` rows, without
    holding more than one line: the splitter streams the object once and sends byte ranges."""
    offset = 0
    line_number = 0
    index = 0
    chunk_start = chunk_first_line = 0
    rows = 0
    for line in lines:
        line_number += 1
        length = len(line)
        if has_header and line_number == 1:
            offset += length
            continue
        if rows == 0:
            chunk_start, chunk_first_line = offset, line_number
        offset += length
        if line.strip():
            rows += 1
        if rows == rows_per_chunk:
            yield Chunk(index, chunk_start, offset, chunk_first_line, rows)
            index += 1
            rows = 0
    if rows:
        yield Chunk(index, chunk_start, offset, chunk_first_line, rows)


def csv_header(first_line: bytes, kind: str) -> list[str]:
    """The columns a CSV file names (BadFile when a required one is missing or one is unknown)."""
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile("the file is not UTF-8") from exc
    header = [name.strip() for name in next(csv.reader([text]), [])]
    known = MEMBER_COLUMNS if kind == "members" else TRANSACTION_COLUMNS
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in header]
    unknown = [name for name in header if name not in known]
    if missing or unknown:
        raise BadFile("the CSV header " + "; ".join(
            part for part in (f"lacks {', '.join(missing)}" if missing else "",
                              f"has unknown columns {', '.join(unknown)}" if unknown else "") if part))
    return header


def row_fields(kind: str, line: bytes, header: list[str] | None) -> dict[str, Any]:
    """The fields of one line as the JSON row would have them (BadRow when the line cannot be read)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRow("invalid_row", "the line is not UTF-8") from exc
    if header is None:
        try:
            fields = json.loads(text)
        except ValueError as exc:
            raise BadRow("invalid_row", f"not a JSON object: {exc}") from exc
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
                fields[name] = json.loads(fields[name])
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
