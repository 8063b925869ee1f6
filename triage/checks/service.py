"""Partner checks: requested by the screening worker, answered by the partner agency.

Each request's due time comes from the contact's RAG (the council's check timescales,
counted from the request). A partner sees and answers only the checks addressed to its own
agency: any other check is "not found". What partners record is for the MASH (staff and the
other partners on the same contact), never for the referrer. Every read and write is audited.
A response is final: a later correction is a case note.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role
from services.errors import FieldError
from services.models.mash import MashPartnerCheck
from services.models.triage import OPEN_STATUSES
from triage.checks import repository
from triage.checks.exceptions import (
    CheckAlreadyAnswered,
    CheckAlreadyRequested,
    CheckNotFound,
    CheckRequestInvalid,
    ContactNotOpen,
)
from triage.checks.schemas import (
    AgencyOverdue,
    CheckRead,
    CheckResponse,
    ChecksReport,
    ChecksRequest,
    CheckStatus,
)
from triage.contacts.repository import restricted_from
from triage.mash.access import load_mash_config, mash_contact, record, refuse
from triage.mash.config import MashConfig


def check_read(check: MashPartnerCheck, config: MashConfig, now: datetime) -> CheckRead:
    late = check.responded_at is not None and check.responded_at > check.due_at
    return CheckRead(
        id=check.id,
        contact_id=check.contact_id,
        agency_id=check.agency_id,
        agency_name=config.partner_agencies.get(check.agency_id, check.agency_id),
        requested_by=check.requested_by,
        requested_at=check.requested_at,
        due_at=check.due_at,
        status=check.status,
        overdue=check.status == "requested" and check.due_at < now,
        answered_late=late,
        known=check.known,
        summary=check.summary,
        risk_indicators=list(check.risk_indicators or []),
        latest_involvement_on=check.latest_involvement_on,
        researched_by=check.researched_by,
        declined_reason=check.declined_reason,
        responded_by=check.responded_by,
        responded_at=check.responded_at,
    )


def _agency_errors(agencies: Sequence[str], config: MashConfig) -> list[FieldError]:
    errors = []
    for i, agency in enumerate(agencies):
        if agency not in config.partner_agencies:
            errors.append(FieldError(path=f"agencies.{i}", reason="not a partner agency here"))
        elif agency in agencies[:i]:
            errors.append(FieldError(path=f"agencies.{i}", reason="listed twice"))
    return errors


async def request_checks(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, body: ChecksRequest
) -> list[CheckRead]:
    """One check per agency named, each due by the contact's RAG; all or none."""
    contact = await mash_contact(session, principal, contact_id, lock=True)
    config = await load_mash_config(session, contact.council_id)
    errors = _agency_errors(body.agencies, config)
    if errors:
        raise CheckRequestInvalid(fields=errors)
    if contact.status not in OPEN_STATUSES:
        raise ContactNotOpen()
    if await repository.existing_agencies(session, contact.id) & set(body.agencies):
        raise CheckAlreadyRequested()
    now = datetime.now(UTC)
    rag = contact.rag if contact.rag in config.check_timescales else "amber"
    rows = []
    for agency in body.agencies:
        row = MashPartnerCheck(
            id=uuid.uuid4(),
            contact_id=contact.id,
            council_id=contact.council_id,
            agency_id=agency,
            requested_by=principal.sub,
            requested_at=now,
            due_at=config.check_due(rag, now),
            status="requested",
            risk_indicators=[],
        )
        repository.add(session, row)
        rows.append(row)
    await session.flush()
    for row in rows:
        await record(session, principal, "check.request", "partner_check", row.id)
    return [check_read(r, config, now) for r in rows]


async def contact_checks(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> list[CheckRead]:
    """Every check on a contact: for MASH staff, and for the partners on that contact."""
    contact = await mash_contact(session, principal, contact_id)
    config = await load_mash_config(session, contact.council_id)
    now = datetime.now(UTC)
    rows = await repository.for_contact(session, contact.id)
    await record(session, principal, "check.read_contact", "contact", contact.id)
    return [check_read(r, config, now) for r in rows]


async def agency_checks(
    session: AsyncSession, *, principal: Principal, statuses: Sequence[CheckStatus]
) -> list[CheckRead]:
    """The checks addressed to the caller's agency (open ones by default)."""
    assert principal.agency_id is not None  # the token of a partner carries its agency
    found = await repository.for_agency(
        session,
        council_id=principal.council_id,
        agency_id=principal.agency_id,
        statuses=statuses,
        sub=principal.sub,
    )
    config = await load_mash_config(session, principal.council_id)
    now = datetime.now(UTC)
    await record(session, principal, "check.read_agency", "agency", principal.agency_id)
    rows = []
    for check, hidden in found:
        if hidden:  # about a restricted child the caller is not named on: left out, audited
            await record(session, principal, "partner_check.refused", "partner_check", check.id)
        else:
            rows.append(check)
    return [check_read(r, config, now) for r in rows]


async def _visible_check(
    session: AsyncSession, principal: Principal, check_id: uuid.UUID, *, lock: bool
) -> MashPartnerCheck:
    check = await repository.get(
        session, council_id=principal.council_id, check_id=check_id, lock=lock
    )
    if check is None:
        raise CheckNotFound()
    if principal.role == Role.mash_partner:
        if check.agency_id != principal.agency_id or await restricted_from(
            session, principal, check.contact_id
        ):
            raise await refuse(session, principal, "partner_check", check_id, CheckNotFound())
    else:
        await mash_contact(session, principal, check.contact_id)
    return check


async def get_check(
    session: AsyncSession, *, principal: Principal, check_id: uuid.UUID
) -> CheckRead:
    check = await _visible_check(session, principal, check_id, lock=False)
    config = await load_mash_config(session, check.council_id)
    await record(session, principal, "check.read", "partner_check", check.id)
    return check_read(check, config, datetime.now(UTC))


# Which fields each outcome needs, and which it must not carry.
_NEEDS = {
    "answered": ("known", "summary", "researched_by"),
    "nothing_held": ("researched_by",),
    "declined": ("declined_reason",),
}
_ANSWER_ONLY = ("known", "summary", "latest_involvement_on")


def response_errors(body: CheckResponse) -> list[FieldError]:
    errors = [
        FieldError(path=name, reason=f"required when the outcome is {body.outcome}")
        for name in _NEEDS[body.outcome]
        if getattr(body, name) is None
    ]
    if body.outcome != "answered":
        errors += [
            FieldError(path=name, reason="only an answered check carries this")
            for name in _ANSWER_ONLY
            if getattr(body, name) is not None
        ]
        if body.risk_indicators:
            errors.append(FieldError(path="risk_indicators", reason="only an answered check"))
    if body.outcome != "declined" and body.declined_reason is not None:
        errors.append(FieldError(path="declined_reason", reason="only a declined check"))
    return errors


async def respond(
    session: AsyncSession, *, principal: Principal, check_id: uuid.UUID, body: CheckResponse
) -> CheckRead:
    """The partner's answer: what its systems hold, nothing held, or declined with a reason."""
    check = await _visible_check(session, principal, check_id, lock=True)
    errors = response_errors(body)
    if errors:
        raise CheckRequestInvalid("The response is not complete.", fields=errors)
    if check.status != "requested":
        raise CheckAlreadyAnswered()
    now = datetime.now(UTC)
    check.status, check.responded_by, check.responded_at = body.outcome, principal.sub, now
    check.researched_by, check.declined_reason = body.researched_by, body.declined_reason
    check.known = False if body.outcome == "nothing_held" else body.known
    check.summary, check.latest_involvement_on = body.summary, body.latest_involvement_on
    check.risk_indicators = list(body.risk_indicators)
    await session.flush()
    await record(session, principal, f"check.{body.outcome}", "partner_check", check.id)
    config = await load_mash_config(session, check.council_id)
    return check_read(check, config, now)


async def report(session: AsyncSession, *, principal: Principal) -> ChecksReport:
    """Open, overdue and late-answered checks per agency (managers' report)."""
    now = datetime.now(UTC)
    rows = await repository.overdue_by_agency(session, council_id=principal.council_id, now=now)
    await record(session, principal, "report.partner_checks", "report", principal.council_id)
    by_agency = [
        AgencyOverdue(agency_id=a, open=o, overdue=d, answered_late=x) for a, o, d, x in rows
    ]
    return ChecksReport(
        council_id=principal.council_id,
        at=now,
        open=sum(a.open for a in by_agency),
        overdue=sum(a.overdue for a in by_agency),
        answered_late=sum(a.answered_late for a in by_agency),
        by_agency=by_agency,
    )
