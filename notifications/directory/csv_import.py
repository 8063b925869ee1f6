"""Reading the national schools register's CSV (Get Information about Schools): pure.

Columns used: `URN`, `EstablishmentName`, `PhaseOfEducation (name)`, `Postcode`, and when
present `EstablishmentStatus (name)` (closed establishments are skipped). Other columns are
ignored, so a full register extract can be uploaded as it is.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from services.identifiers import check_postcode
from services.types import single_line

REQUIRED_COLUMNS = ("URN", "EstablishmentName")
PHASE_COLUMNS = ("PhaseOfEducation (name)", "PhaseOfEducation")
STATUS_COLUMNS = ("EstablishmentStatus (name)", "EstablishmentStatus")
# The register's exports are a few thousand rows per council; a national one ~50,000.
MAX_ROWS = 60_000
_URN = re.compile(r"^\d{6,7}$")


@dataclass
class ParsedRow:
    row: int
    urn: str | None
    name: str | None = None
    phase: str | None = None
    postcode: str | None = None
    closed: bool = False
    reasons: list[str] = field(default_factory=list)


def _first(record: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = (record.get(name) or "").strip()
        if value:
            return value
    return None


def missing_columns(header: list[str]) -> list[str]:
    return [c for c in REQUIRED_COLUMNS if c not in header]


def parse_row(number: int, record: dict[str, str]) -> ParsedRow:
    urn = (record.get("URN") or "").strip() or None
    out = ParsedRow(row=number, urn=urn)
    if urn is None or not _URN.fullmatch(urn):
        out.reasons.append("URN: must be 6 or 7 digits")
    out.name = (record.get("EstablishmentName") or "").strip() or None
    if out.name is None:
        out.reasons.append("EstablishmentName: required")
    elif len(out.name) > 200:
        out.reasons.append("EstablishmentName: at most 200 characters")
    elif not _printable(out.name):
        out.reasons.append("EstablishmentName: contains control characters")
    out.phase = _first(record, PHASE_COLUMNS)
    if out.phase is not None and not (len(out.phase) <= 64 and _printable(out.phase)):
        out.reasons.append("PhaseOfEducation: at most 64 printable characters")
    raw_postcode = (record.get("Postcode") or "").strip()
    if raw_postcode:
        try:
            out.postcode = check_postcode(raw_postcode)
        except ValueError:
            out.reasons.append("Postcode: not a valid UK postcode")
    status = _first(record, STATUS_COLUMNS) or ""
    out.closed = status.lower().startswith("closed")
    return out


def _printable(value: str) -> bool:
    try:
        single_line(value)
    except ValueError:
        return False
    return True


class CsvUnreadable(ValueError):
    """The text is not CSV the reader can parse (the message names the line, no content)."""


def read_csv(text: str) -> tuple[list[str], list[ParsedRow]]:
    """(missing required columns, parsed rows); rows are numbered from 2 like a spreadsheet.

    Lines may end in LF, CRLF or a bare CR (old spreadsheet exports): `newline=""` hands the
    reader the text untranslated, as the csv module requires, so it reads all three.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = missing_columns(header)
        if missing:
            return missing, []
        rows: list[ParsedRow] = []
        for number, record in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                break
            rows.append(parse_row(number, record))
    except csv.Error as exc:
        raise CsvUnreadable(f"The CSV cannot be read at line {reader.line_num}.") from exc
    return [], rows
