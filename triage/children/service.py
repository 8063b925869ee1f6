"""The child's record across contacts: identity, matches confirmed or split, flags kept as
history, restriction to named people, and search.

A restricted child (a staff member's own family, a high-profile case) is visible only to
the people named on it: to anyone else it does not exist ("not found"), in a read and in a
search, and every such attempt is audited. Flags are never overwritten: each change is a
row with who, when, why and the value it replaced.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from services.identifiers import check_nhs_number, check_postcode, check_upn
from services.models.mash import MashChild, MashChildAccess, MashChildFlag, MashChildLink
from triage.children import repository
from triage.children.exceptions import (
    ChildNotFound,
    FlagInvalid,
    FlagUnchanged,
    LinkNotFound,
    LinkStateConflict,
    SearchInvalid,
)
from triage.children.linking import new_child
from triage.children.schemas import (
    ChildContact,
    ChildHit,
    ChildRead,
    FlagChange,
    FlagRead,
    LinkRead,
    Restriction,
)
from triage.contacts.exceptions import ContactNotFound
from triage.contacts.facts import SubjectKeys, normalise_name
from triage.mash.access import mash_contact, record, refuse


async def visible_child(
    session: AsyncSession, principal: Principal, child_id: uuid.UUID
) -> MashChild:
    child = await repository.get_child(session, principal.council_id, child_id)
    if child is None:
        raise ChildNotFound()
    if child.restricted and principal.sub not in await repository.named(session, child.id):
        raise await refuse(session, principal, "child", child.id, ChildNotFound())
    return child


def _current(history: list[FlagRead]) -> list[FlagRead]:
    latest: dict[str, FlagRead] = {}
    for row in history:
        latest[row.flag] = row
    return [f for f in latest.values() if f.active]


async def _contacts(
    session: AsyncSession, child_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ChildContact]]:
    out: dict[uuid.UUID, list[ChildContact]] = {i: [] for i in child_ids}
    for row in await repository.contacts_of(session, child_ids):
        out[row.child_id].append(
            ChildContact(
                contact_id=row.id,
                reference=row.reference,
                received_at=row.received_at,
                status=row.status,
                outcome=row.outcome,
                link_state=row.state,
            )
        )
    return out


async def read_child(
    session: AsyncSession, *, principal: Principal, child_id: uuid.UUID
) -> ChildRead:
    child = await visible_child(session, principal, child_id)
    history = [FlagRead.model_validate(f) for f in await repository.flags(session, child.id)]
    contacts = await _contacts(session, [child.id])
    await record(session, principal, "child.read", "child", child.id)
    return ChildRead(
        id=child.id,
        display_name=child.display_name,
        date_of_birth=child.date_of_birth,
        nhs_number=child.nhs_number,
        upn=child.upn,
        postcode=child.postcode,
        restricted=child.restricted,
        active_flags=sorted(child.active_flags or []),
        flags=_current(history),
        flag_history=history,
        contacts=contacts[child.id],
    )


def _flag_errors(body: FlagChange) -> list[FieldError]:
    errors = []
    placed = body.flag == "placed_by_other_la" and body.active
    if placed and body.placing_authority is None:
        errors.append(FieldError(path="placing_authority", reason="name the placing authority"))
    if not placed and body.placing_authority is not None:
        errors.append(FieldError(path="placing_authority", reason="only for an active placement"))
    if not body.active and body.risk_level is not None:
        errors.append(FieldError(path="risk_level", reason="a flag being removed has no risk"))
    return errors


async def change_flag(
    session: AsyncSession, *, principal: Principal, child_id: uuid.UUID, body: FlagChange
) -> FlagRead:
    child = await visible_child(session, principal, child_id)
    errors = _flag_errors(body)
    if errors:
        raise FlagInvalid(fields=errors)
    history = [f for f in await repository.flags(session, child.id) if f.flag == body.flag]
    before = history[-1] if history else None
    value = {
        "active": body.active,
        "risk_level": body.risk_level,
        "placing_authority": body.placing_authority,
    }
    previous = (
        {
            "active": before.active,
            "risk_level": before.risk_level,
            "placing_authority": before.placing_authority,
        }
        if before
        else None
    )
    if previous == value or (previous is None and not body.active):
        raise FlagUnchanged()
    row = MashChildFlag(
        id=uuid.uuid4(),
        child_id=child.id,
        flag=body.flag,
        active=body.active,
        risk_level=body.risk_level,
        placing_authority=body.placing_authority,
        reason=body.reason,
        set_by=principal.sub,
        set_at=datetime.now(UTC),
        previous=previous,
    )
    session.add(row)
    active = set(child.active_flags or [])
    child.active_flags = sorted(active | {body.flag} if body.active else active - {body.flag})
    await session.flush()
    await record(session, principal, "child.flag", "child", child.id)
    return FlagRead.model_validate(row)


async def restrict(
    session: AsyncSession, *, principal: Principal, child_id: uuid.UUID, body: Restriction
) -> ChildRead:
    """Restrict the child to named people (the caller always among them), or lift it."""
    child = await visible_child(session, principal, child_id)
    child.restricted = body.restricted
    already = await repository.named(session, child.id)
    now = datetime.now(UTC)
    for sub in {*body.named, principal.sub} - already if body.restricted else set():
        session.add(
            MashChildAccess(child_id=child.id, sub=sub, granted_by=principal.sub, granted_at=now)
        )
    await session.flush()
    await record(
        session,
        principal,
        "child.restrict" if body.restricted else "child.unrestrict",
        "child",
        child.id,
    )
    return await read_child(session, principal=principal, child_id=child.id)


async def contact_links(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> list[LinkRead]:
    contact = await mash_contact(session, principal, contact_id)
    links = await repository.links_for_contact(session, contact.id)
    await record(session, principal, "child.links_read", "contact", contact.id)
    return [LinkRead.model_validate(link) for link in links]


async def _link(session: AsyncSession, principal: Principal, link_id: uuid.UUID) -> MashChildLink:
    link = await repository.get_link(session, link_id)
    if link is None:
        raise LinkNotFound()
    try:
        await mash_contact(session, principal, link.contact_id)  # theirs, or refused (audited)
    except ContactNotFound:
        # Another council's (or a restricted child's) link answers as one that does not exist.
        raise LinkNotFound() from None
    await visible_child(session, principal, link.child_id)
    return link


async def confirm(session: AsyncSession, *, principal: Principal, link_id: uuid.UUID) -> LinkRead:
    """A worker agrees the contact's child is the child it was matched to."""
    link = await _link(session, principal, link_id)
    if link.state != "matched":
        raise LinkStateConflict("Only an automatic match can be confirmed.")
    link.state, link.decided_by, link.decided_at = "confirmed", principal.sub, datetime.now(UTC)
    await session.flush()
    await record(session, principal, "child.match_confirmed", "contact", link.contact_id)
    return LinkRead.model_validate(link)


async def split(session: AsyncSession, *, principal: Principal, link_id: uuid.UUID) -> LinkRead:
    """A wrong match: the contact's child becomes a child of its own (flags stay behind)."""
    link = await _link(session, principal, link_id)
    if link.state == "new":
        raise LinkStateConflict("This child was not matched to anyone: there is nothing to split.")
    subject = await repository.subject(session, link.contact_id, link.subject_position)
    if subject is None:
        raise LinkNotFound()
    contact = await mash_contact(session, principal, link.contact_id)
    summary = next(
        (s for s in contact.subjects_summary if s.get("position") == link.subject_position), {}
    )
    key = SubjectKeys(
        position=subject.position,
        kind=subject.kind,
        given_name_norm=subject.given_name_norm,
        family_name_norm=subject.family_name_norm,
        date_of_birth=subject.date_of_birth,
        nhs_number=subject.nhs_number,
        upn=subject.upn,
        postcode=subject.postcode,
    )
    child = new_child(contact.council_id, key, str(summary.get("name") or ""))
    session.add(child)
    await session.flush()
    link.child_id, link.matched_on = child.id, []
    link.state, link.decided_by, link.decided_at = "confirmed", principal.sub, datetime.now(UTC)
    await session.flush()
    await record(session, principal, "child.match_split", "contact", link.contact_id)
    return LinkRead.model_validate(link)


def _criteria(
    name: str | None, dob: date | None, nhs: str | None, upn: str | None, postcode: str | None
) -> tuple[list[str], str | None, str | None, str | None]:
    errors, out = [], {}
    for field, raw, check in (
        ("nhs_number", nhs, check_nhs_number),
        ("upn", upn, check_upn),
        ("postcode", postcode, check_postcode),
    ):
        try:
            out[field] = check(raw) if raw is not None else None
        except ValueError as exc:
            errors.append(FieldError(path=field, reason=str(exc)))
    names = [n for n in (normalise_name(t) for t in (name or "").split()) if n]
    if name is not None and not names:
        errors.append(FieldError(path="name", reason="has no letters"))
    if not errors and not (names or dob or any(out.values())):
        errors.append(
            FieldError(
                path="name", reason="give a name, date of birth, NHS number, UPN or postcode"
            )
        )
    if errors:
        raise SearchInvalid(fields=errors)
    return names, out["nhs_number"], out["upn"], out["postcode"]


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str | None,
    date_of_birth: date | None,
    nhs_number: str | None,
    upn: str | None,
    postcode: str | None,
) -> list[ChildHit]:
    """Children matching every criterion given; restricted ones only for the people named."""
    names, nhs, upn_, post = _criteria(name, date_of_birth, nhs_number, upn, postcode)
    # Which criteria were used, never their values (they identify the child).
    used = ",".join(
        k
        for k, v in (
            ("name", names),
            ("dob", date_of_birth),
            ("nhs", nhs),
            ("upn", upn_),
            ("postcode", post),
        )
        if v
    )
    await record(session, principal, "child.search", "search", principal.council_id, reason=used)
    found = await repository.search(
        session,
        council_id=principal.council_id,
        names=names,
        date_of_birth=date_of_birth,
        nhs_number=nhs,
        upn=upn_,
        postcode=post,
    )
    allowed = await repository.accessible(
        session, principal.sub, [c.id for c in found if c.restricted]
    )
    shown = []
    for child in found:
        if child.restricted and child.id not in allowed:
            await record(session, principal, "child.refused", "child", child.id)
        else:
            shown.append(child)
    # The search is audited above; each result is audited when it is opened (`child.read`).
    contacts = await _contacts(session, [c.id for c in shown])
    return [
        ChildHit(
            id=c.id,
            display_name=c.display_name,
            date_of_birth=c.date_of_birth,
            postcode=c.postcode,
            active_flags=sorted(c.active_flags or []),
            contacts=contacts[c.id],
        )
        for c in shown
    ]
