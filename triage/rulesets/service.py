"""Rule-set versions: drafts editable, published immutable, exactly one active per council."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.models.triage import TriageRuleSet
from triage.rules.diff import diff_bodies
from triage.rules.engine import CompiledRuleSet, Evaluation
from triage.rules.model import RuleSetBody, validate_body
from triage.rulesets import repository
from triage.rulesets.exceptions import (
    NoActiveRuleSet,
    RuleSetInvalid,
    RuleSetNotFound,
    RuleSetPublished,
)

SERVICE = "triage"
# Published rule sets never change, so their compiled form is cached by id.
_compiled: dict[uuid.UUID, CompiledRuleSet] = {}


def parse_body(raw: dict[str, Any], prefix: str = "body") -> RuleSetBody:
    body, errors = validate_body(raw, prefix=prefix)
    if errors or body is None:
        raise RuleSetInvalid(fields=errors)
    return body


def compiled(rule_set: TriageRuleSet) -> CompiledRuleSet:
    if rule_set.status != "published":
        return CompiledRuleSet(RuleSetBody.model_validate(rule_set.body), rule_set.version)
    if rule_set.id not in _compiled:
        body = RuleSetBody.model_validate(rule_set.body)
        _compiled[rule_set.id] = CompiledRuleSet(body, rule_set.version)
    return _compiled[rule_set.id]


async def get_rule_set(
    session: AsyncSession, *, council_id: str, rule_set_id: uuid.UUID, lock: bool = False
) -> TriageRuleSet:
    row = await repository.find(session, council_id=council_id, rule_set_id=rule_set_id, lock=lock)
    if row is None:
        raise RuleSetNotFound()
    return row


async def list_rule_sets(session: AsyncSession, *, council_id: str) -> list[TriageRuleSet]:
    return await repository.versions(session, council_id)


async def active_rule_set(session: AsyncSession, council_id: str) -> TriageRuleSet | None:
    return await repository.active(session, council_id)


async def require_active(session: AsyncSession, council_id: str) -> TriageRuleSet:
    row = await active_rule_set(session, council_id)
    if row is None:
        raise NoActiveRuleSet()
    return row


async def create_rule_set(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    body: dict[str, Any] | None,
    based_on: uuid.UUID | None,
) -> TriageRuleSet:
    council_id = principal.council_id
    base = None
    if based_on is not None:
        base = await get_rule_set(session, council_id=council_id, rule_set_id=based_on)
    raw = body if body is not None else dict(base.body) if base else {}
    parsed = parse_body(raw)
    row = TriageRuleSet(
        id=uuid.uuid4(),
        council_id=council_id,
        version=await repository.next_version(session, council_id),
        name=name,
        status="draft",
        active=False,
        body=parsed.model_dump(mode="json", exclude_none=True),
        based_on_id=base.id if base else None,
        created_by=principal.sub,
    )
    return await repository.add(session, row)


async def update_draft(
    session: AsyncSession,
    *,
    principal: Principal,
    rule_set_id: uuid.UUID,
    name: str | None,
    changes: dict[str, Any],
    replace: bool,
) -> TriageRuleSet:
    row = await get_rule_set(
        session, council_id=principal.council_id, rule_set_id=rule_set_id, lock=True
    )
    if row.status != "draft":
        raise RuleSetPublished()
    raw = changes if replace else {**row.body, **changes}
    parsed = parse_body(raw, prefix="body" if replace else "")
    row.body = parsed.model_dump(mode="json", exclude_none=True)
    if name is not None:
        row.name = name
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return row


async def publish(
    session: AsyncSession, *, principal: Principal, rule_set_id: uuid.UUID
) -> TriageRuleSet:
    row = await get_rule_set(
        session, council_id=principal.council_id, rule_set_id=rule_set_id, lock=True
    )
    if row.status != "draft":
        raise RuleSetPublished()
    parse_body(row.body)
    await repository.deactivate(session, row.council_id)
    row.status, row.active = "published", True
    row.published_at, row.published_by = datetime.now(UTC), principal.sub
    await session.flush()
    return row


def evaluate(rule_set: TriageRuleSet, facts: dict[str, Any]) -> Evaluation:
    return compiled(rule_set).evaluate(facts)


async def diff(
    session: AsyncSession, *, council_id: str, rule_set_id: uuid.UUID, against: uuid.UUID | None
) -> tuple[TriageRuleSet, TriageRuleSet, dict[str, Any]]:
    new = await get_rule_set(session, council_id=council_id, rule_set_id=rule_set_id)
    old_id = against or new.based_on_id
    if old_id is None:
        old = await repository.previous_version(session, council_id, new.version)
    else:
        old = await get_rule_set(session, council_id=council_id, rule_set_id=old_id)
    if old is None:
        old = new
    changes = diff_bodies(
        RuleSetBody.model_validate(old.body), RuleSetBody.model_validate(new.body)
    )
    return old, new, changes


# The API's changes, each audited (the pages call the functions above and audit themselves).


async def create_draft(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    body: dict[str, Any] | None,
    based_on: uuid.UUID | None,
) -> TriageRuleSet:
    row = await create_rule_set(
        session, principal=principal, name=name, body=body, based_on=based_on
    )
    await audit.record(
        session, service=SERVICE, actor=principal, action="rule_set.create", entity_id=row.id
    )
    return row


async def change_draft(
    session: AsyncSession,
    *,
    principal: Principal,
    rule_set_id: uuid.UUID,
    name: str | None,
    changes: dict[str, Any],
    replace: bool,
) -> TriageRuleSet:
    row = await update_draft(
        session,
        principal=principal,
        rule_set_id=rule_set_id,
        name=name,
        changes=changes,
        replace=replace,
    )
    action = "rule_set.replace" if replace else "rule_set.patch"
    await audit.record(session, service=SERVICE, actor=principal, action=action, entity_id=row.id)
    return row


async def publish_version(
    session: AsyncSession, *, principal: Principal, rule_set_id: uuid.UUID
) -> TriageRuleSet:
    row = await publish(session, principal=principal, rule_set_id=rule_set_id)
    await audit.record(
        session, service=SERVICE, actor=principal, action="rule_set.publish", entity_id=row.id
    )
    return row
