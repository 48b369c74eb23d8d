"""Import files without AWS: chunks as byte ranges, CSV rows flattened as the JSON rows, bad lines."""

from __future__ import annotations

import pytest

from loyalty.domain import imports as rows


def lines_of(text: bytes) -> list[bytes]:
    return text.splitlines(keepends=True)


def test_chunks_are_byte_ranges_of_whole_rows_with_their_first_line() -> None:
    # Given a JSON Lines file of 5 rows with a blank line and no final newline
    content = b'{"a":1}\n{"a":2}\n\n{"a":3}\n{"a":4}\n{"a":5}'
    # When it is cut into chunks of 2 rows
    chunks = list(rows.plan_chunks(lines_of(content), 2, has_header=False))
    # Then each chunk's bytes are its lines (a blank line before a chunk's first row left out), numbered as an
    # editor numbers them
    assert [(chunk.first_line, chunk.rows) for chunk in chunks] == [(1, 2), (4, 2), (6, 1)]
    assert [content[chunk.start:chunk.end] for chunk in chunks] == [
        b'{"a":1}\n{"a":2}\n', b'{"a":3}\n{"a":4}\n', b'{"a":5}']
    assert [chunk.index for chunk in chunks] == [0, 1, 2]


def test_a_csv_header_is_line_1_and_in_no_chunk() -> None:
    # Given a CSV file of a header and 3 rows
    content = b"member_id,email\nm1,a@x.io\nm2,b@x.io\nm3,c@x.io\n"
    # When it is cut into chunks of 2 rows
    chunks = list(rows.plan_chunks(lines_of(content), 2, has_header=True))
    # Then the rows start on line 2
    assert [(chunk.first_line, chunk.rows, content[chunk.start:chunk.end]) for chunk in chunks] == [
        (2, 2, b"m1,a@x.io\nm2,b@x.io\n"), (4, 1, b"m3,c@x.io\n")]


def test_an_empty_file_has_no_chunk() -> None:
    assert list(rows.plan_chunks([], 10, has_header=False)) == []
    assert list(rows.plan_chunks([b"\n", b"  \n"], 10, has_header=False)) == []


def test_csv_cells_become_the_json_row() -> None:
    # Given the header of a members CSV and one of its lines
    header = rows.csv_header(b"member_id,email,name,enrolled_at,lots,preferences,lifetime_earned\n", "members")
    line = b'm1,a@x.io,Ann,2025-01-01T00:00:00Z,500:2027-03-31T00:00:00Z;20,"{""drink"": ""tea""}",900\n'
    # Then the row has lots as a list, preferences as JSON and lifetime_earned as a number; empty cells are absent
    assert rows.row_fields("members", line, header) == {
        "member_id": "m1", "email": "a@x.io", "name": "Ann", "enrolled_at": "2025-01-01T00:00:00Z",
        "lots": [{"points": 500, "expires_at": "2027-03-31T00:00:00Z"}, {"points": 20}],
        "preferences": {"drink": "tea"}, "lifetime_earned": 900}
    assert "lots" not in rows.row_fields("members", b"m2,b@x.io,Bo,2025-01-01T00:00:00Z,,,\n", header)


def test_a_transactions_csv_flattens_the_total() -> None:
    header = rows.csv_header(b"member_id,order_id,occurred_at,total_amount,total_currency,channel", "transactions")
    assert rows.row_fields("transactions", b"m1,o1,2026-01-01T00:00:00Z,12.50,USD,store", header)["total"] == {
        "amount": "12.50", "currency": "USD"}


@pytest.mark.parametrize(("header", "reason"), [
    (b"member_id,name,enrolled_at", "lacks email"),
    (b"member_id,email,name,enrolled_at,shoe_size", "unknown columns shoe_size"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_csv_header_must_name_the_required_columns_and_no_others(header: bytes, reason: str) -> None:
    with pytest.raises(rows.BadFile, match=reason):
        rows.csv_header(header, "members")


@pytest.mark.parametrize(("line", "detail"), [
    (b"[1, 2]", "not a JSON object"),
    (b"{nope", "not a JSON object"),
    (b'"\xff"', "not UTF-8"),
])
def test_a_jsonl_line_that_is_no_object_is_a_bad_row(line: bytes, detail: str) -> None:
    with pytest.raises(rows.BadRow, match=detail) as raised:
        rows.row_fields("members", line, None)
    assert raised.value.code == "invalid_row"


def test_bad_csv_cells_name_the_column() -> None:
    header = ["member_id", "email", "name", "enrolled_at", "lots", "lifetime_earned"]
    with pytest.raises(rows.BadRow, match="lots"):
        rows.row_fields("members", b"m,a@x.io,A,2025-01-01T00:00:00Z,many,", header)
    with pytest.raises(rows.BadRow, match="lifetime_earned"):
        rows.row_fields("members", b"m,a@x.io,A,2025-01-01T00:00:00Z,,lots", header)
    with pytest.raises(rows.BadRow, match="3 cells where the header has 6"):
        rows.row_fields("members", b"m,a@x.io,A", header)


def test_only_the_first_errors_by_line_are_kept() -> None:
    errors = [{"line": line, "code": "invalid_row", "detail": "x"} for line in range(300, 0, -1)]
    kept = rows.first_errors(errors)
    assert len(kept) == rows.MAX_ERRORS and [error["line"] for error in kept[:3]] == [1, 2, 3]
