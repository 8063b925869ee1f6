"""The Children in Need census return for referrals (pure): codes, rules, CSV and XML.

A collection year N runs from 1 April of N-1 to 31 March of N (the DfE names the census by
the year it ends: `<Year>2026</Year>`, reference date 2026-03-31). One CINdetails per
referral, grouped under the child it is about. The DfE's validator refuses a return that
breaks its rules; the rules below are the ones that can be decided from a referral, checked
before anything is exported, every failure named by the child's record (contact reference
and the child's position on it), never by a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from xml.sax.saxutils import escape

from services.contracts.codes import CIN_ETHNICITY, REFERRAL_SOURCE_NAMES
from services.identifiers import check_upn

REFERRAL_SOURCES = frozenset(REFERRAL_SOURCE_NAMES)
PRIMARY_NEED_CODES = frozenset({f"N{i}" for i in range(10)})
GENDER_CODES = frozenset({"0", "1", "2", "9"})
ETHNICITY_CODES = frozenset(CIN_ETHNICITY)
# Written when no ethnicity is recorded (the census's "information not yet obtained").
ETHNICITY_NOT_OBTAINED = "NOBT"
# UPNunknown when no UPN is held: UN7 for a child whose every referral in the return is NFA
# ("referral with no further action"); otherwise UN1 for a child under 6 (or unborn), not yet
# at school; UN5 otherwise (the sources the front door collates the UPN from hold none).
UPN_UNKNOWN_NFA = "UN7"
UPN_UNKNOWN_UNDER_6 = "UN1"
UPN_UNKNOWN_NOT_HELD = "UN5"
# ReferralNFA for each decision outcome (triage/contacts/schemas.py `Outcome`), following the
# DfE guide's definition as the project understands it: a referral is NFA (True) when it goes
# no further in children's social care: closed with no further action by CSC, including
# advice given, signposting, a step down to early help or family support, a pass to another
# agency, or to the LADO (an allegation about an adult who works with children). It is not NFA
# (False) when it leads to social care's own further action: an assessment, a strategy
# discussion, a section 47 enquiry (and so possibly an ICPC), or immediate protection. An
# outcome missing here is no census answer at all (rule 8568), never a guess.
REFERRAL_NFA: dict[str, bool] = {
    "nfa": True,
    "advice_given": True,
    "signposted": True,
    "early_help": True,
    "family_support": True,
    "referral_to_other_agency": True,
    "lado": True,
    "s17_assessment": False,
    "strategy_discussion": False,
    "s47_enquiry": False,
    "immediate_protection": False,
}
# The census's disability codes (ChildCharacteristics/Disabilities/Disability); NONE (no
# disability) is never given with others.
NO_DISABILITY = "NONE"
DISABILITY_CODES = frozenset(
    {"NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA"}
)
# The census's reasons for closure of a CIN episode (CINdetails/ReasonForClosure; rule 8640):
# RC1 adopted, RC2 died, RC3 child arrangements order, RC4 special guardianship order, RC5
# transferred to another local authority, RC6 transferred to adult social care, RC7 services
# ceased for any other reason (including the child no longer in need), RC8 case closed after
# assessment, no further action, RC9 case closed after assessment, referred to early help.
CLOSURE_REASONS: dict[str, str] = {
    "RC1": "adopted",
    "RC2": "died",
    "RC3": "child arrangements order",
    "RC4": "special guardianship order",
    "RC5": "transferred to another local authority",
    "RC6": "transferred to adult social care services",
    "RC7": "services ceased for any other reason, including the child no longer in need",
    "RC8": "case closed after assessment, no further action",
    "RC9": "case closed after assessment, referred to early help",
}
# RC8 and RC9 say an assessment was done: the episode must have one (rule 8825Q).
CLOSED_AFTER_ASSESSMENT = frozenset({"RC8", "RC9"})
# LAchildID: at most 10 characters, letters and digits only (the census schema's limit as the
# project understands it; the DfE's 2024-25 rules allow 20, so 10 is safe either way). The
# id is a number below 36**10 written in 10 base-36 digits (repository.CENSUS_SQL).
LA_CHILD_ID_LENGTH = 10
LA_CHILD_ID_SPACE = 36**LA_CHILD_ID_LENGTH
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The council's three-digit local authority code (the council setting `la_code`).
LA_CODE = re.compile(r"[0-9]{3}")
NO_FACTORS = "21"
# The census's "factors identified at the end of assessment" code set.
FACTOR_CODES = frozenset(
    {
        *(f"{n}{s}" for n in range(1, 7) for s in "ABC"),  # alcohol, drugs, DA, MH, LD, PD
        "7A",  # young carer
        "8B",
        "8C",
        "8D",
        "8E",
        "8F",  # privately fostered
        "9A",  # unaccompanied asylum-seeking child
        "10A",
        "11A",
        "12A",
        "13A",
        "14A",
        "15A",
        "16A",
        "17A",
        # 18A and 19A are retired (the DfE's validator queries them: 18B/18C, 19B/19C instead).
        "18B",
        "18C",
        "19B",
        "19C",  # physical, sexual abuse
        "20",
        NO_FACTORS,
        "22A",
        "23A",
        "24A",
    }
)
# Census rule 8606: a referral more than 40 weeks before the (expected) birth.
FORTY_WEEKS = timedelta(weeks=40)
CSV_COLUMNS = (
    "la_child_id",
    "contact_reference",
    "child",
    "referral_date",
    "referral_source",
    "primary_need_code",
    "referral_nfa",
    "assessment_start_date",
    "assessment_authorisation_date",
    "factors",
    "upn",
    "ethnicity",
    "disabilities",
    "cin_closure_date",
    "reason_for_closure",
)


def collection_bounds(year: int) -> tuple[date, date]:
    return date(year - 1, 4, 1), date(year, 3, 31)


def referral_nfa(outcome: str | None) -> bool | None:
    """The census's ReferralNFA for a decision outcome (None: no decision, or no answer)."""
    return None if outcome is None else REFERRAL_NFA.get(outcome)


def la_child_id(number: int) -> str:
    """The LAchildID for the number CENSUS_SQL derives from the child's record id."""
    digits = []
    for _ in range(LA_CHILD_ID_LENGTH):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class CensusReferral:
    """One child on one referral, as the census sees it."""

    la_child_id: str
    contact_reference: str
    child: int | None  # position on the contact (1-based); None: the referral has no child
    kind: str | None
    date_of_birth: date | None
    expected_birth_date: date | None
    gender: str | None
    referral_date: date
    referral_source: str | None
    primary_need_code: str | None
    nfa: bool | None
    assessment_authorised: date | None
    factors: tuple[str, ...]
    # When the decision started the assessment clock (AssessmentActualStartDate).
    assessment_started: date | None = None
    upn: str | None = None
    ethnicity: str | None = None  # CIN census code as recorded (None: not recorded)
    # Another child in the return has the same LAchildID (never merged: a failure).
    la_child_id_clash: bool = False
    # The child's census disability codes as recorded on this referral (empty: none
    # recorded, which is not "NONE"), and when they were recorded.
    disabilities: tuple[str, ...] = ()
    disabilities_recorded_at: datetime | None = None
    # The child's episode on this referral closed (CINclosureDate, ReasonForClosure) by the
    # reference date; None: open at the reference date (or no closure recorded).
    closed_on: date | None = None
    closure_reason: str | None = None


@dataclass(frozen=True)
class Failure:
    rule: str
    message: str
    contact_reference: str
    child: int | None
    field: str


def _fail(row: CensusReferral, rule: str, field: str, message: str) -> Failure:
    return Failure(rule, message, row.contact_reference, row.child, field)


def undecided(contact_reference: str) -> Failure:
    """A contact received in the year and not yet decided: it may be a referral, so the
    return is not complete without it (never silently left out)."""
    return Failure(
        "FD03", "Received in the year, not yet decided", contact_reference, None, "status"
    )


def la_code_failures(la_code: object) -> list[Failure]:
    """The XML return's LEA is the council setting `la_code`: three digits, never a default."""
    if isinstance(la_code, str) and LA_CODE.fullmatch(la_code):
        return []
    return [
        Failure(
            "FD04",
            "The council's la_code setting (its three-digit local authority code, the "
            "return's LEA) is missing or not three digits",
            "",
            None,
            "la_code",
        )
    ]


def _child_failures(row: CensusReferral, year_end: date) -> list[Failure]:
    out: list[Failure] = []
    born, due = row.date_of_birth, row.expected_birth_date
    if (born is None) == (due is None):
        out.append(
            _fail(
                row,
                "8525",
                "date_of_birth",
                "Either Date of Birth or Expected Date of Birth must be provided (but not both)",
            )
        )
    if born is not None and born > year_end:
        out.append(
            _fail(row, "8520", "date_of_birth", "Date of Birth is after data collection period")
        )
    if row.gender not in GENDER_CODES:
        out.append(_fail(row, "4180", "gender", "Gender is missing"))
    elif due is not None and born is None and row.gender != "0":
        out.append(_fail(row, "8750", "gender", "Gender must equal 0 for an unborn child"))
    birth = born or due
    if birth is not None and row.referral_date < birth - FORTY_WEEKS:
        out.append(
            _fail(
                row,
                "8606",
                "referral_date",
                "Child referral date is more than 40 weeks before DOB or expected DOB",
            )
        )
    return out


def _upn_valid(upn: str) -> bool:
    try:
        return check_upn(upn) == upn
    except ValueError:
        return False


def _characteristic_failures(row: CensusReferral) -> list[Failure]:
    out: list[Failure] = []
    if row.upn is not None and not _upn_valid(row.upn):
        out.append(
            _fail(
                row,
                "1510",
                "upn",
                "UPN invalid (13 characters, a check letter that matches the rest)",
            )
        )
    if row.ethnicity is not None and row.ethnicity not in ETHNICITY_CODES:
        out.append(_fail(row, "4220", "ethnicity", "Ethnicity is not a valid CIN census code"))
    return out


def _referral_failures(row: CensusReferral) -> list[Failure]:
    out: list[Failure] = []
    if row.assessment_started is not None and row.assessment_started < row.referral_date:
        out.append(
            _fail(
                row,
                "1103",
                "assessment_start_date",
                "The assessment start date cannot be before the referral date",
            )
        )
    if row.referral_source not in REFERRAL_SOURCES:
        out.append(
            _fail(
                row, "8866", "referral_source", "Source of Referral is missing or an invalid code"
            )
        )
    if row.nfa is None:
        out.append(_fail(row, "8568", "referral_nfa", "RNFA flag is missing or invalid"))
    elif not row.nfa and row.primary_need_code is None:
        out.append(
            _fail(
                row,
                "8610",
                "primary_need_code",
                "Primary Need code is missing for a referral which led to further action",
            )
        )
    if row.primary_need_code is not None and row.primary_need_code not in PRIMARY_NEED_CODES:
        out.append(_fail(row, "8650", "primary_need_code", "Primary Need Code invalid"))
    if row.factors and row.assessment_authorised is None:
        out.append(
            _fail(
                row,
                "8614",
                "factors",
                "Parental or child factors at assessment should only "
                "be present for a completed assessment",
            )
        )
    return out


def _within(day: date, year: int) -> bool:
    first, last = collection_bounds(year)
    return first <= day <= last


def _assessment_failures(row: CensusReferral, year: int) -> list[Failure]:
    out: list[Failure] = []
    started, authorised = row.assessment_started, row.assessment_authorised
    if row.nfa and (started is not None or authorised is not None):
        out.append(
            _fail(
                row,
                "8831",
                "assessment_start_date",
                "Activity is recorded against a case marked as a referral with no further action",
            )
        )
    if started is not None and authorised is not None and started > authorised:
        out.append(
            _fail(
                row,
                "8608",
                "assessment_start_date",
                "Assessment Start Date cannot be later than its End Date",
            )
        )
    if authorised is not None and not _within(authorised, year):
        out.append(
            _fail(
                row,
                "8696",
                "assessment_authorisation_date",
                "Assessment end date must fall within the census year",
            )
        )
    if authorised is None and started is not None and not _within(started, year):
        out.append(
            _fail(
                row,
                "8736",
                "assessment_start_date",
                "For an Assessment that has not been completed, "
                "the start date must fall within the census year",
            )
        )
    if authorised is not None and (
        not row.factors or any(f not in FACTOR_CODES for f in row.factors)
    ):
        out.append(
            _fail(
                row,
                "8897",
                "factors",
                "Parental or child factors at assessment information is missing from a "
                "completed assessment (or a code is not a current one)",
            )
        )
    return out


def _closure_failures(row: CensusReferral, year: int) -> list[Failure]:
    out: list[Failure] = []
    closed, reason = row.closed_on, row.closure_reason
    if closed is not None and reason is None:
        out.append(
            _fail(
                row,
                "8805",
                "reason_for_closure",
                "A CIN case cannot have a CIN closure date without a Reason for Closure",
            )
        )
    if reason is not None and closed is None:
        out.append(
            _fail(
                row,
                "8810",
                "cin_closure_date",
                "A CIN case cannot have a Reason for Closure without a CIN Closure Date",
            )
        )
    if reason is not None and reason not in CLOSURE_REASONS:
        out.append(
            _fail(
                row,
                "8640",
                "reason_for_closure",
                "CIN Reason for closure code invalid (see Reason for Closure table in CIN "
                "Census code set)",
            )
        )
    if closed is None:
        return out
    if closed < row.referral_date:
        out.append(
            _fail(
                row,
                "8630",
                "cin_closure_date",
                "CIN Closure Date is before CIN Referral Date for the same CIN episode",
            )
        )
    if not _within(closed, year):
        out.append(
            _fail(
                row,
                "8620",
                "cin_closure_date",
                "CIN Closure Date present and does not fall within the Census year",
            )
        )
    activity = [d for d in (row.assessment_started, row.assessment_authorised) if d is not None]
    if any(closed < d for d in activity):
        out.append(
            _fail(
                row,
                "8565",
                "cin_closure_date",
                "Activity shown after a case has been closed (the closure date is before the "
                "assessment's start or authorisation date)",
            )
        )
    if row.assessment_started is not None and row.assessment_authorised is None:
        out.append(
            _fail(
                row,
                "8867",
                "cin_closure_date",
                "CIN episode is shown as closed, however Assessment is not shown as completed",
            )
        )
    if (
        reason in CLOSED_AFTER_ASSESSMENT
        and row.assessment_started is None
        and row.assessment_authorised is None
    ):
        out.append(
            _fail(
                row,
                "8825Q",
                "reason_for_closure",
                "Reason for Closure code RC8 (case closed after assessment) or RC9 (case "
                "closed after assessment, referred to early help) has been returned but there "
                "is no assessment present for the episode",
            )
        )
    return out


def _la_child_id_failures(row: CensusReferral) -> list[Failure]:
    ok = row.la_child_id.isascii() and row.la_child_id.isalnum()
    if ok and len(row.la_child_id) <= LA_CHILD_ID_LENGTH:
        return []
    return [
        _fail(
            row,
            "FD05",
            "la_child_id",
            f"LAchildID must be at most {LA_CHILD_ID_LENGTH} letters and digits",
        )
    ]


def failures(row: CensusReferral, year: int) -> list[Failure]:
    """Every census rule this child's referral breaks (an empty list: it may go)."""
    if row.child is None:
        return [
            _fail(
                row,
                "FD01",
                "subjects",
                "A referral must name the child it is about: "
                "record the child before the return goes",
            )
        ]
    clash = (
        [
            _fail(
                row,
                "FD02",
                "la_child_id",
                "Another child in the return has the same LAchildID: "
                "check the child's record links",
            )
        ]
        if row.la_child_id_clash
        else []
    )
    return (
        clash
        + _la_child_id_failures(row)
        + _child_failures(row, collection_bounds(year)[1])
        + _characteristic_failures(row)
        + _referral_failures(row)
        + _assessment_failures(row, year)
        + _closure_failures(row, year)
    )


def _recorded_key(row: CensusReferral) -> datetime:
    return row.disabilities_recorded_at or datetime.min.replace(tzinfo=UTC)


def disabilities(rows: Sequence[CensusReferral]) -> tuple[str, ...]:
    """The child's disability codes: a child's, not a referral's. Recorded on more than one
    of their referrals, the latest recording is the child's (the first of a tie)."""
    recorded = [r for r in rows if r.disabilities]
    return max(recorded, key=_recorded_key).disabilities if recorded else ()


def _open(row: CensusReferral) -> bool:
    """An open CIN episode at the reference date: went further and has no closure date."""
    return row.nfa is False and row.closed_on is None


def _overlaps(later: CensusReferral, earlier: CensusReferral, year_end: date) -> bool:
    """Whether `later`'s referral date falls within `earlier`'s episode (rule 8820): from its
    referral date to its closure date, both included, or to the reference date when it is
    open. A later referral must start after the earlier episode's closure date."""
    if later is earlier or later.referral_date < earlier.referral_date:
        return False
    if earlier.closed_on is not None:
        return later.referral_date <= earlier.closed_on
    return earlier.nfa is False and later.referral_date <= year_end


def child_failures(rows: Sequence[CensusReferral], year: int) -> list[Failure]:
    """The rules on a child's referrals taken together (`rows`: one child's, in date order).

    An episode that went further (not NFA) is open at the reference date unless its closure
    is recorded (PUT /v1/contacts/{id}/closure) on or before it."""
    if not rows or rows[0].child is None:
        return []
    out: list[Failure] = []
    further = [r for r in rows if r.nfa is False]
    codes = disabilities(rows)
    if (
        further
        and child_as_last_recorded(rows).date_of_birth is not None
        and (not codes or any(c not in DISABILITY_CODES for c in codes))
    ):
        out.append(
            _fail(
                further[0],
                "8540",
                "disabilities",
                "Child's disability is missing or invalid (see Disability table): record "
                "the child's census disability codes (PUT /v1/contacts/{id}/disabilities)",
            )
        )
    still_open = [r for r in rows if _open(r)]
    if len(still_open) > 1:
        out += [
            _fail(
                r,
                "8815",
                "cin_closure_date",
                "More than one open CIN Details episode (a module with no CIN Closure Date) "
                "has been provided for this child and case is not a referral with no "
                "further action: record the earlier episodes' closure "
                "(PUT /v1/contacts/{id}/closure)",
            )
            for r in still_open
        ]
    latest = max(r.referral_date for r in rows)
    out += [
        _fail(
            r,
            "8816",
            "cin_closure_date",
            "An open CIN episode is shown and case is not a referral with no further "
            "action, but it is not the latest episode: record its closure "
            "(PUT /v1/contacts/{id}/closure)",
        )
        for r in still_open
        if r.referral_date < latest
    ]
    year_end = collection_bounds(year)[1]
    out += [
        _fail(
            r,
            "8820",
            "referral_date",
            "The dates on the CIN episodes for this child overlap (this referral is on or "
            "before the end of an earlier episode of theirs: open, or closed on or after "
            "this referral's date)",
        )
        for r in rows
        if any(_overlaps(r, o, year_end) for o in rows)
    ]
    return out


def csv_values(row: CensusReferral, codes: Sequence[str] | None = None) -> list[str]:
    """One CSV line's values; `codes`: the child's disability codes (default the row's)."""
    return [
        row.la_child_id,
        row.contact_reference,
        str(row.child or ""),
        row.referral_date.isoformat(),
        row.referral_source or "",
        row.primary_need_code or "",
        "" if row.nfa is None else ("1" if row.nfa else "0"),
        row.assessment_started.isoformat() if row.assessment_started else "",
        row.assessment_authorised.isoformat() if row.assessment_authorised else "",
        ";".join(row.factors),
        row.upn or "",
        row.ethnicity or "",
        ";".join(row.disabilities if codes is None else codes),
        row.closed_on.isoformat() if row.closed_on else "",
        row.closure_reason or "",
    ]


def csv_lines(rows: Sequence[CensusReferral]) -> Iterator[str]:
    """A child's CSV lines (`rows`: one child's), each with the child's disability codes."""
    codes = disabilities(rows)
    for row in rows:
        yield ",".join(csv_values(row, codes)) + "\r\n"


def _el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def xml_header(year: int, la_code: str, generated_at: datetime) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<Message><Header><CollectionDetails>'
        + _el("Collection", "CIN")
        + _el("Year", year)
        + _el("ReferenceDate", collection_bounds(year)[1].isoformat())
        + "</CollectionDetails><Source>"
        + _el("SourceLevel", "L")
        + _el("LEA", la_code)
        + _el("SoftwareCode", "frontdoor")
        + _el("Release", "1")
        + _el("SerialNo", 1)
        + _el("DateTime", generated_at.replace(microsecond=0).isoformat())
        + "</Source></Header>\n<Children>\n"
    )


XML_FOOTER = "</Children></Message>\n"


def child_as_last_recorded(rows: Sequence[CensusReferral]) -> CensusReferral:
    """The child's identifying details as their latest referral in the return has them, each
    field from the latest referral where it is recorded (a UPN or ethnicity given only on a
    later referral, a baby born since the first): `rows` in date order."""

    def latest(field: str, unset: tuple[object, ...] = (None, "")) -> object:
        for row in reversed(rows):
            value = getattr(row, field)
            if value not in unset:
                return value
        return getattr(rows[0], field)

    born = latest("date_of_birth")
    return replace(
        rows[0],
        date_of_birth=born,  # type: ignore[arg-type]
        expected_birth_date=None if born else latest("expected_birth_date"),  # type: ignore[arg-type]
        upn=latest("upn"),  # type: ignore[arg-type]
        gender=latest("gender", (None, "", "0")),  # type: ignore[arg-type]
        ethnicity=latest("ethnicity"),  # type: ignore[arg-type]
    )


def _upn_unknown(rows: Sequence[CensusReferral]) -> str:
    if all(r.nfa for r in rows):
        return UPN_UNKNOWN_NFA
    row = child_as_last_recorded(rows)
    born = row.date_of_birth
    if born is None:  # unborn: not at school
        return UPN_UNKNOWN_UNDER_6
    ref = row.referral_date
    age = ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))
    return UPN_UNKNOWN_UNDER_6 if age < 6 else UPN_UNKNOWN_NOT_HELD


def _identifiers(rows: Sequence[CensusReferral]) -> str:
    row = child_as_last_recorded(rows)
    born = _el("PersonBirthDate", row.date_of_birth) if row.date_of_birth else ""
    due = _el("ExpectedPersonBirthDate", row.expected_birth_date) if row.expected_birth_date else ""
    upn = _el("UPN", row.upn) if row.upn else _el("UPNunknown", _upn_unknown(rows))
    codes = disabilities(rows)
    written = (
        "<Disabilities>" + "".join(_el("Disability", d) for d in codes) + "</Disabilities>"
        if codes
        else ""
    )
    return (
        "<ChildIdentifiers>"
        + _el("LAchildID", row.la_child_id)
        + upn
        + born
        + due
        + _el("GenderCurrent", row.gender or "")
        + "</ChildIdentifiers>"
        + "<ChildCharacteristics>"
        + _el("Ethnicity", row.ethnicity or ETHNICITY_NOT_OBTAINED)
        + written
        + "</ChildCharacteristics>"
    )


def _cin_details(row: CensusReferral) -> str:
    need = _el("PrimaryNeedCode", row.primary_need_code) if row.primary_need_code else ""
    # The census's order: CINreferralDate, ReferralSource, PrimaryNeedCode, CINclosureDate,
    # ReasonForClosure, DateOfInitialCPC (not written), ReferralNFA, then the modules.
    closure = (_el("CINclosureDate", row.closed_on) if row.closed_on else "") + (
        _el("ReasonForClosure", row.closure_reason) if row.closure_reason else ""
    )
    assessment = ""
    if row.assessment_started is not None or row.assessment_authorised is not None:
        start = row.assessment_started
        started = _el("AssessmentActualStartDate", start) if start else ""
        authorised = ""
        if row.assessment_authorised is not None:
            factors = "".join(_el("AssessmentFactors", f) for f in row.factors)
            authorised = (
                _el("AssessmentAuthorisationDate", row.assessment_authorised)
                + f"<FactorsIdentifiedAtAssessment>{factors}</FactorsIdentifiedAtAssessment>"
            )
        assessment = "<Assessments>" + started + authorised + "</Assessments>"
    return (
        "<CINdetails>"
        + _el("CINreferralDate", row.referral_date)
        + _el("ReferralSource", row.referral_source or "")
        + need
        + closure
        + _el("ReferralNFA", "true" if row.nfa else "false")
        + assessment
        + "</CINdetails>"
    )


def by_child(rows: Iterable[CensusReferral]) -> Iterator[list[CensusReferral]]:
    """Each child's referrals together (rows arrive ordered by child)."""
    group: list[CensusReferral] = []
    for row in rows:
        if group and group[-1].la_child_id != row.la_child_id:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def xml_children(rows: Iterable[CensusReferral]) -> Iterator[str]:
    """One `<Child>` per child, its referrals under it (rows arrive ordered by child)."""
    for group in by_child(rows):
        yield "<Child>" + _identifiers(group) + "".join(map(_cin_details, group)) + "</Child>\n"


def recorded_for_the_census(status: str, contact_type: str | None) -> bool:
    """Whether a child's census details (disability codes, an episode's closure) may be
    recorded on a contact: one still open may yet be decided a referral; a decided one only
    when it was a referral (the return reads nothing else); a merged one is its phone
    contact, where they belong."""
    if status == "merged":
        return False
    return status != "decided" or contact_type == "referral"
