"""A rule set's dry run over the council's recent contacts: whose proposal would it change?

Each recent contact's stored facts are evaluated twice by the same function as
`POST /v1/rule-sets/{id}/evaluate` (`rulesets.evaluate`): by the version under test and by the
active published version (the contact's stored proposal when the council has none). Comparing
two evaluations of the same facts shows what the draft changes, not what changed since the
contact came in. Nothing is written but the audit row: the contacts' facts were read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.models.triage import TriageRuleSet
from triage.rules.engine import Evaluation
from triage.rules.facts import Facts
from triage.rulesets import repository as rulesets_repository
from triage.rulesets import service as rulesets

# A month of contacts (the scorecard's period), at most 500 of them: a few weeks' work at a
# large front door, evaluated twice in well under a second.
DRY_RUN_DAYS = 28
DRY_RUN_LIMIT = 500


@dataclass(frozen=True)
class Proposal:
    level: int
    level_name: str
    lane: str
    contact_type: str
    rag: str

    @classmethod
    def of(cls, evaluation: Evaluation) -> Proposal:
        e = evaluation
        return cls(e.level, e.level_name, e.lane, e.contact_type, e.rag)

    @classmethod
    def stored(cls, evaluation: dict[str, Any]) -> Proposal:
        return cls(
            int(evaluation.get("level") or 0),
            str(evaluation.get("level_name") or ""),
            str(evaluation.get("lane") or ""),
            str(evaluation.get("contact_type") or ""),
            str(evaluation.get("rag") or ""),
        )


@dataclass(frozen=True)
class ChangedContact:
    contact_id: uuid.UUID
    reference: str
    received_at: datetime
    before: Proposal
    after: Proposal
    # The rules of the version under test that fired for this contact.
    fired: list[str]


@dataclass
class DryRun:
    rule_set: TriageRuleSet
    baseline: TriageRuleSet | None
    since: datetime
    considered: int = 0
    # Contacts whose stored facts the current fact catalogue no longer reads.
    unreadable: int = 0
    changed: list[ChangedContact] = field(default_factory=list)


async def dry_run(
    session: AsyncSession,
    *,
    principal: Principal,
    rule_set_id: uuid.UUID,
    now: datetime,
    days: int = DRY_RUN_DAYS,
    limit: int = DRY_RUN_LIMIT,
) -> DryRun:
    council_id = principal.council_id
    row = await rulesets.get_rule_set(session, council_id=council_id, rule_set_id=rule_set_id)
    baseline = await rulesets.active_rule_set(session, council_id)
    since = now - timedelta(days=days)
    contacts = await rulesets_repository.recent_contacts(session, council_id, since, limit)
    result = DryRun(rule_set=row, baseline=baseline, since=since, considered=len(contacts))
    for contact_id, reference, received_at, stored_facts, stored_evaluation in contacts:
        try:
            facts = Facts.model_validate(stored_facts).model_dump(mode="json")
        except ValidationError:
            result.unreadable += 1
            continue
        evaluation = rulesets.evaluate(row, facts)
        after = Proposal.of(evaluation)
        before = (
            Proposal.of(rulesets.evaluate(baseline, facts))
            if baseline is not None
            else Proposal.stored(stored_evaluation or {})
        )
        if after != before:
            fired = [f.rule_id for f in evaluation.fired]
            result.changed.append(
                ChangedContact(contact_id, reference, received_at, before, after, fired)
            )
    await audit.record(
        session,
        service="triage",
        actor=principal,
        action="rule_set.dry_run",
        entity_type="rule_set",
        entity_id=row.id,
        reason=f"{len(contacts)} contacts since {since.date().isoformat()}",
    )
    return result
