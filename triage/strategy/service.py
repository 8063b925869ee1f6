"""Strategy discussions (s47): who took part, what was shared, the decision, the actions.

A discussion must say whether it was a formal strategy discussion (an out-of-hours call
between police and the Emergency Duty Team may not be, and then says why: the Birmingham
inspection found this missing). A discussion that decides on an initial child protection
conference starts (or moves) the contact's ICPC clock: 15 working days from when it was held.
Actions carry an owner and a due date; one past its date and not done is overdue.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from services.models.mash import MashStrategyAction, MashStrategyDiscussion
from services.models.triage import TriageContact
from triage.clocks.repository import refresh_queue_keys
from triage.clocks.rules import deadline, due_soon
from triage.clocks.service import start_clock
from triage.mash.access import load_mash_config, mash_contact, record
from triage.mash.config import MashConfig
from triage.settings import TriageSettings
from triage.strategy import repository
from triage.strategy.exceptions import (
    ActionAlreadyDone,
    ActionNotFound,
    DiscussionInvalid,
    DiscussionNotFound,
)
from triage.strategy.schemas import (
    ActionDone,
    ActionRead,
    DiscussionCreate,
    DiscussionRead,
    DiscussionSummary,
    Participant,
    SummaryChild,
)

# A device clock may run a little ahead of the server's.
FUTURE_SLACK = timedelta(minutes=5)
DECISION_LABELS = {
    "single_agency_s47": "Section 47 enquiry, single-agency (children's social care)",
    "joint_agency_s47": "Section 47 enquiry, joint with the police",
    "icpc": "Initial child protection conference",
    "nfa": "No further action under section 47",
}


def _errors(body: DiscussionCreate, contact: TriageContact, now: datetime) -> list[FieldError]:
    errors = []
    if not body.formal and body.not_formal_reason is None:
        errors.append(FieldError(path="not_formal_reason", reason="say why it was not formal"))
    if body.formal and body.not_formal_reason is not None:
        errors.append(FieldError(path="not_formal_reason", reason="only when not formal"))
    if body.held_at > now + FUTURE_SLACK:
        errors.append(FieldError(path="held_at", reason="is in the future"))
    if body.held_at < contact.received_at:
        errors.append(FieldError(path="held_at", reason="is before the contact was received"))
    for i, action in enumerate(body.actions):
        if action.due_on < body.held_at.date():
            errors.append(FieldError(path=f"actions.{i}.due_on", reason="is before it was held"))
    return errors


def action_read(action: MashStrategyAction, today: date) -> ActionRead:
    read = ActionRead.model_validate(action)
    read.overdue = action.done_on is None and action.due_on < today
    return read


def discussion_read(
    row: MashStrategyDiscussion, actions: Sequence[MashStrategyAction], today: date
) -> DiscussionRead:
    return DiscussionRead(
        id=row.id,
        contact_id=row.contact_id,
        held_at=row.held_at,
        formal=row.formal,
        not_formal_reason=row.not_formal_reason,
        participants=[Participant.model_validate(p) for p in row.participants],
        information_shared=row.information_shared,
        decision=row.decision,  # type: ignore[arg-type]
        decision_reason=row.decision_reason,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        icpc_due_at=row.icpc_due_at,
        actions=[action_read(a, today) for a in actions if a.discussion_id == row.id],
    )


async def record_discussion(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: DiscussionCreate,
    settings: TriageSettings,
) -> DiscussionRead:
    contact = await mash_contact(session, principal, contact_id, lock=True)
    now = datetime.now(UTC)
    errors = _errors(body, contact, now)
    if errors:
        raise DiscussionInvalid(fields=errors)
    config = await load_mash_config(session, contact.council_id)
    held_at = body.held_at.astimezone(UTC)
    row = MashStrategyDiscussion(
        id=uuid.uuid4(),
        contact_id=contact.id,
        held_at=held_at,
        formal=body.formal,
        not_formal_reason=body.not_formal_reason,
        participants=[p.model_dump() for p in body.participants],
        information_shared=body.information_shared,
        decision=body.decision,
        decision_reason=body.decision_reason,
        recorded_by=principal.sub,
        recorded_at=now,
        icpc_due_at=(
            deadline("icpc", held_at, config.calendar) if body.decision in ICPC_FROM else None
        ),
    )
    repository.add(session, row)
    await session.flush()
    actions = [
        MashStrategyAction(
            id=uuid.uuid4(),
            discussion_id=row.id,
            contact_id=contact.id,
            position=i,
            description=a.description,
            owner=a.owner,
            due_on=a.due_on,
        )
        for i, a in enumerate(body.actions)
    ]
    for action in actions:
        repository.add(session, action)
    if row.icpc_due_at is not None and await _latest_icpc_discussion(session, contact.id, row):
        await _icpc_clock(session, contact.id, held_at, row.icpc_due_at, config, settings)
    await session.flush()
    await refresh_queue_keys(session, [contact.id])
    await record(session, principal, "strategy.record", "contact", contact.id)
    return discussion_read(row, actions, now.astimezone(config.calendar.zone).date())


# Working Together 2023: the ICPC is held within 15 working days of the strategy discussion
# that decided on section 47 enquiries (single- or joint-agency), or of the one that decided
# on the conference itself.
ICPC_FROM = frozenset({"single_agency_s47", "joint_agency_s47", "icpc"})


async def _latest_icpc_discussion(
    session: AsyncSession, contact_id: uuid.UUID, row: MashStrategyDiscussion
) -> bool:
    """Whether `row` was held no earlier than every other discussion that starts the clock."""
    others = await repository.for_contact(session, contact_id)
    return all(
        o.held_at <= row.held_at for o in others if o.id != row.id and o.decision in ICPC_FROM
    )


async def _icpc_clock(
    session: AsyncSession,
    contact_id: uuid.UUID,
    held_at: datetime,
    due: datetime,
    config: MashConfig,
    settings: TriageSettings,
) -> None:
    """The ICPC clock from this discussion: started, or moved if it was running already."""
    clock = await repository.icpc_clock_locked(session, contact_id)
    warn = due_soon(
        held_at, due, short_hours=settings.due_soon_hours, long_days=settings.due_soon_long_days
    )
    if clock is None:
        await start_clock(
            session,
            contact_id=contact_id,
            kind="icpc",
            start=held_at,
            calendar=config.calendar,
            settings=settings,
        )
    elif clock.state == "running":
        clock.started_at, clock.deadline_at, clock.due_soon_at = held_at, due, warn
        clock.due_soon_emitted_at = None


async def list_discussions(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> list[DiscussionRead]:
    contact = await mash_contact(session, principal, contact_id)
    config = await load_mash_config(session, contact.council_id)
    rows = await repository.for_contact(session, contact.id)
    actions = await repository.actions(session, [r.id for r in rows])
    today = datetime.now(UTC).astimezone(config.calendar.zone).date()
    await record(session, principal, "strategy.read", "contact", contact.id)
    return [discussion_read(r, actions, today) for r in rows]


async def mark_done(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    discussion_id: uuid.UUID,
    action_id: uuid.UUID,
    body: ActionDone,
) -> ActionRead:
    contact = await mash_contact(session, principal, contact_id)
    discussion = await repository.get(session, contact.id, discussion_id)
    if discussion is None:
        raise DiscussionNotFound()
    action = await repository.action(session, discussion.id, action_id)
    if action is None:
        raise ActionNotFound()
    if action.done_on is not None:
        raise ActionAlreadyDone()
    # Dates are the council's local dates: a discussion held at 00:30 BST on 1 June was
    # held on 1 June, though its UTC date is 31 May.
    zone = (await load_mash_config(session, contact.council_id)).calendar.zone
    today = datetime.now(UTC).astimezone(zone).date()
    if body.done_on > today:
        reason = "is in the future: record an action done once it is done"
        raise DiscussionInvalid(fields=[FieldError(path="done_on", reason=reason)])
    if body.done_on < discussion.held_at.astimezone(zone).date():
        reason = "is before the discussion was held"
        raise DiscussionInvalid(fields=[FieldError(path="done_on", reason=reason)])
    action.done_on, action.done_recorded_by = body.done_on, principal.sub
    await session.flush()
    await record(session, principal, "strategy.action_done", "contact", contact.id)
    return action_read(action, body.done_on)


async def summary(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, discussion_id: uuid.UUID
) -> DiscussionSummary:
    """What may be shared with the attendees: the discussion itself and nothing more."""
    contact = await mash_contact(session, principal, contact_id)
    discussion = await repository.get(session, contact.id, discussion_id)
    if discussion is None:
        raise DiscussionNotFound()
    config = await load_mash_config(session, contact.council_id)
    zone = config.calendar.zone
    actions = await repository.actions(session, [discussion.id])
    today = datetime.now(UTC).astimezone(zone).date()
    await record(session, principal, "strategy.summary", "contact", contact.id)
    icpc = discussion.icpc_due_at
    return DiscussionSummary(
        title="Strategy discussion summary",
        contact_reference=contact.reference,
        children=[
            SummaryChild(name=s.get("name", ""), age=s.get("age")) for s in contact.subjects_summary
        ],
        held_at_local=discussion.held_at.astimezone(zone).strftime("%A %d %B %Y, %H:%M"),
        formal=discussion.formal,
        not_formal_reason=discussion.not_formal_reason,
        participants=[Participant.model_validate(p) for p in discussion.participants],
        information_shared=discussion.information_shared,
        decision=discussion.decision,  # type: ignore[arg-type]
        decision_label=DECISION_LABELS[discussion.decision],
        decision_reason=discussion.decision_reason,
        icpc_due_local=icpc.astimezone(zone).strftime("%A %d %B %Y, %H:%M") if icpc else None,
        actions=[action_read(a, today) for a in actions],
    )


async def overdue_actions(
    session: AsyncSession, contact: TriageContact, today: date
) -> list[ActionRead]:
    rows = await repository.contact_actions(session, contact.id)
    return [r for r in (action_read(a, today) for a in rows) if r.overdue]
