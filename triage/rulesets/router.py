"""Continuum of Need rule sets: versions, drafts, publishing, dry runs and diffs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.contacts.schemas import EvaluationRead
from triage.dependencies import ManagerUser, RuleSetPath, StaffUser
from triage.rulesets import service as rulesets
from triage.rulesets.schemas import (
    EvaluateRequest,
    RuleSetCreate,
    RuleSetDiff,
    RuleSetPatch,
    RuleSetRead,
    RuleSetReplace,
    RuleSetSummary,
)

router = APIRouter(prefix="/v1/rule-sets", tags=["rule sets"])


@router.get("", response_model=list[RuleSetSummary])
async def list_triage_rule_sets(session: SessionDep, principal: StaffUser) -> list[RuleSetSummary]:
    """Every version of the council's rule set, newest first."""
    rows = await rulesets.list_rule_sets(session, council_id=principal.council_id)
    return [RuleSetSummary.model_validate(r) for r in rows]


@router.post(
    "",
    status_code=201,
    response_model=RuleSetRead,
    responses=error_responses(Unprocessable, NotFound, Forbidden),
)
async def create_triage_rule_set(
    body: RuleSetCreate, session: SessionDep, principal: ManagerUser
) -> RuleSetRead:
    """A new draft version: from a full body, or copied from an existing version."""
    row = await rulesets.create_draft(
        session, principal=principal, name=body.name, body=body.body, based_on=body.based_on
    )
    return RuleSetRead.model_validate(row)


@router.get("/{rule_set_id}", response_model=RuleSetRead, responses=error_responses(NotFound))
async def get_triage_rule_set(
    rule_set_id: RuleSetPath, session: SessionDep, principal: StaffUser
) -> RuleSetRead:
    """One version with its levels, defaults and rules."""
    row = await rulesets.get_rule_set(
        session, council_id=principal.council_id, rule_set_id=rule_set_id
    )
    return RuleSetRead.model_validate(row)


@router.put(
    "/{rule_set_id}",
    response_model=RuleSetRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def replace_triage_rule_set(
    rule_set_id: RuleSetPath, body: RuleSetReplace, session: SessionDep, principal: ManagerUser
) -> RuleSetRead:
    """Replace a draft's body (published versions are immutable: 409)."""
    row = await rulesets.change_draft(
        session,
        principal=principal,
        rule_set_id=rule_set_id,
        name=body.name,
        changes=body.body,
        replace=True,
    )
    return RuleSetRead.model_validate(row)


@router.patch(
    "/{rule_set_id}",
    response_model=RuleSetRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def patch_triage_rule_set(
    rule_set_id: RuleSetPath, body: RuleSetPatch, session: SessionDep, principal: ManagerUser
) -> RuleSetRead:
    """Change a draft's name, levels, defaults or rules (published versions: 409)."""
    changes = body.model_dump(exclude_none=True, exclude={"name"})
    row = await rulesets.change_draft(
        session,
        principal=principal,
        rule_set_id=rule_set_id,
        name=body.name,
        changes=changes,
        replace=False,
    )
    return RuleSetRead.model_validate(row)


@router.post(
    "/{rule_set_id}/publish",
    response_model=RuleSetRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def publish_triage_rule_set(
    rule_set_id: RuleSetPath, session: SessionDep, principal: ManagerUser
) -> RuleSetRead:
    """Publish a draft: it becomes immutable and the council's one active version."""
    row = await rulesets.publish_version(session, principal=principal, rule_set_id=rule_set_id)
    return RuleSetRead.model_validate(row)


@router.post(
    "/{rule_set_id}/evaluate",
    response_model=EvaluationRead,
    responses=error_responses(NotFound, Unprocessable),
)
async def evaluate_triage_rule_set(
    rule_set_id: RuleSetPath, body: EvaluateRequest, session: SessionDep, principal: StaffUser
) -> EvaluationRead:
    """Dry run: what this version proposes for the given facts, and why."""
    row = await rulesets.get_rule_set(
        session, council_id=principal.council_id, rule_set_id=rule_set_id
    )
    result = rulesets.evaluate(row, body.facts.model_dump(mode="json"))
    return EvaluationRead.model_validate(result.as_json())


@router.get("/{rule_set_id}/diff", response_model=RuleSetDiff, responses=error_responses(NotFound))
async def diff_triage_rule_set(
    rule_set_id: RuleSetPath,
    session: SessionDep,
    principal: StaffUser,
    against: Annotated[
        uuid.UUID | None,
        Query(description="The version to compare with (default: the one it was based on)."),
    ] = None,
) -> RuleSetDiff:
    """What changed from `against` (default: the version it was based on, or the previous)."""
    old, new, changes = await rulesets.diff(
        session, council_id=principal.council_id, rule_set_id=rule_set_id, against=against
    )
    return RuleSetDiff(
        from_id=old.id,
        from_version=old.version,
        to_id=new.id,
        to_version=new.version,
        changes=changes,
    )
