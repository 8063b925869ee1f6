"""Reading a council's published term dates from CSV: pure.

Columns: `start` and `end` (required), `name` (optional). Dates as `2026-09-03` or, as
councils publish them from spreadsheets, `03/09/2026` (day first). Rows are numbered from 2
like a spreadsheet, so an error names the row a person can find.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from pydantic import ValidationError

from notifications.council.schemas import CouncilTermIn
from services.errors import FieldError

REQUIRED_COLUMNS = ("start", "end")
# A council publishes a few years ahead: two terms with half terms are six rows a year.
MAX_ROWS = 60
_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def parse_date(raw: str) -> date | None:
    for fmt in _FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _row(number: int, record: dict[str, str]) -> tuple[CouncilTermIn | None, list[FieldError]]:
    errors: list[FieldError] = []
    values: dict[str, object] = {"name": (record.get("name") or "").strip() or None}
    for column in REQUIRED_COLUMNS:
        parsed = parse_date(record.get(column) or "")
        if parsed is None:
            errors.append(FieldError(path=f"row {number}.{column}", reason="not a date"))
        values[column] = parsed
    if errors:
        return None, errors
    try:
        return CouncilTermIn.model_validate(values), []
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return None, [FieldError(path=f"row {number}", reason=reason)]


def read_terms(text: str) -> tuple[list[CouncilTermIn], list[FieldError]]:
    """(terms, errors): any error means nothing is to be stored.

    Line ends as spreadsheets write them (LF, CRLF, or a bare CR from old Mac exports) are
    all read as rows; what the csv module cannot read at all (an over-long field, a stray
    quote across the end) is an error naming the row, never an exception.
    """
    try:
        return _read_terms(text)
    except csv.Error as exc:
        return [], [FieldError(path="csv", reason=f"not readable as CSV: {exc}")]


def _read_terms(text: str) -> tuple[list[CouncilTermIn], list[FieldError]]:
    # newline=None: universal newlines, so a bare CR ends a row like LF and CRLF do.
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=None))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [FieldError(path=c, reason="column missing") for c in missing]
    terms: list[CouncilTermIn] = []
    errors: list[FieldError] = []
    for number, record in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(FieldError(path=f"row {number}", reason=f"at most {MAX_ROWS} rows"))
            break
        term, problems = _row(number, record)
        errors += problems
        if term is not None:
            terms.append(term)
    return terms, errors
