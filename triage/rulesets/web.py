"""The rule sets' pages: every version, one version and its changes, a draft's editor and
its dry run. Same audited service calls as `triage.rulesets.router`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.db import SessionDep
from services.errors import FieldError, Unprocessable
from services.models.triage import TriageRuleSet
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    render,
    see_other,
    unprocessable_fields,
    validation_fields,
)
from triage.pages import TEMPLATES, Managers, Staff
from triage.queue.lanes import MANAGERS
from triage.rulesets import service as rulesets
from triage.rulesets.dry_run import dry_run
from triage.rulesets.exceptions import RuleSetPublished
from triage.rulesets.schemas import RuleSetReplace, RuleSetSummary
from triage.wording import LANE_NAMES

router = page_router()


@router.get("/rule-sets")
async def rule_sets_page(session: SessionDep, ctx: Staff, done: str | None = None) -> Response:
    """Every version of the council's rule set, newest first."""
    rows = await rulesets.list_rule_sets(session, council_id=ctx.principal.council_id)
    return render(
        TEMPLATES,
        "rule_sets.html",
        ctx,
        current="/rule-sets",
        title="Rule sets",
        rule_sets=[RuleSetSummary.model_validate(r) for r in rows],
        is_manager=ctx.principal.role in MANAGERS,
        banner={"draft": "Draft created.", "published": "Rule set published."}.get(done or ""),
    )


@router.get("/rule-sets/{rule_set_id}")
async def rule_set_page(
    rule_set_id: uuid.UUID, session: SessionDep, ctx: Staff, done: str | None = None
) -> Response:
    """One version: its rules, and what changed from the version before (for a draft: from
    the published version in use, which is what publishing it would change)."""
    council_id = ctx.principal.council_id
    row = await rulesets.get_rule_set(session, council_id=council_id, rule_set_id=rule_set_id)
    active = await rulesets.active_rule_set(session, council_id)
    against = active if row.status == "draft" and active is not None else None
    changes, compared = None, None
    if against is not None or row.version > 1:
        compared, _, diff = await rulesets.diff(
            session,
            council_id=council_id,
            rule_set_id=rule_set_id,
            against=against.id if against else None,
        )
        changes = {k: v for k, v in diff.items() if v}  # what did change, nothing else
    return render(
        TEMPLATES,
        "rule_set.html",
        ctx,
        current="/rule-sets",
        title=f"Rule set version {row.version}",
        rule_set=row,
        changes=changes,
        compared=compared,
        is_manager=ctx.principal.role in MANAGERS,
        banner={"saved": "Draft saved."}.get(done or ""),
    )


@router.post("/rule-sets/{rule_set_id}/copy")
async def copy_rule_set(
    rule_set_id: uuid.UUID, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    """A new draft copied from this version (published versions never change)."""
    await form_with_csrf(request, ctx)
    base = await rulesets.get_rule_set(
        session, council_id=ctx.principal.council_id, rule_set_id=rule_set_id
    )
    row = await rulesets.create_draft(
        session, principal=ctx.principal, name=base.name, body=None, based_on=base.id
    )
    return see_other(f"/rule-sets/{row.id}")


@router.post("/rule-sets/{rule_set_id}/publish")
async def publish_rule_set(
    rule_set_id: uuid.UUID, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    await form_with_csrf(request, ctx)
    await rulesets.publish_version(session, principal=ctx.principal, rule_set_id=rule_set_id)
    return see_other("/rule-sets?done=published")


# --- editing a draft and its dry run -------------------------------------------------------

# Not "body": that name is the error summary's "the whole request" (no field to link to).
RULES_FIELD = "rules_json"
RULE_SET_LABELS = {"name": "Name", RULES_FIELD: "Rules (JSON)"}


def _body_fields(fields: list[FieldError]) -> list[FieldError]:
    """The rule set's own paths (`body.rules.2.then.level`) kept in the message: the whole
    body is one field of the form."""
    out = []
    for f in fields:
        if f.path == "name" or f.path.startswith("name."):
            out.append(FieldError(path="name", reason=f.reason))
        else:
            where = f.path.removeprefix("body").lstrip(".")
            reason = f"{where}: {f.reason}" if where else f.reason
            out.append(FieldError(path=RULES_FIELD, reason=reason))
    return out


async def _draft(session: SessionDep, ctx: PageContext, rule_set_id: uuid.UUID) -> TriageRuleSet:
    row = await rulesets.get_rule_set(
        session, council_id=ctx.principal.council_id, rule_set_id=rule_set_id
    )
    if row.status != "draft":
        raise RuleSetPublished()  # as the API's PUT answers: 409
    return row


def _edit_page(
    ctx: PageContext,
    row: TriageRuleSet,
    form: dict[str, str],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        TEMPLATES,
        "rule_set_edit.html",
        ctx,
        current="/rule-sets",
        title=f"Edit rule set version {row.version}",
        rule_set=row,
        form=form,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        status_code=status_code,
    )


@router.get("/rule-sets/{rule_set_id}/edit")
async def edit_rule_set_page(
    rule_set_id: uuid.UUID, session: SessionDep, ctx: Managers
) -> Response:
    """A draft's name and its body (levels, defaults, rules) as JSON, to edit and save."""
    row = await _draft(session, ctx, rule_set_id)
    body = json.dumps(row.body, indent=2, ensure_ascii=False)
    return _edit_page(ctx, row, {"name": row.name, RULES_FIELD: body})


@router.post("/rule-sets/{rule_set_id}/edit")
async def save_rule_set(
    rule_set_id: uuid.UUID, request: Request, session: SessionDep, ctx: Managers
) -> Response:
    """As `PUT /v1/rule-sets/{id}`: the same validation, every problem with its path."""
    form = await form_with_csrf(request, ctx)
    row = await _draft(session, ctx, rule_set_id)
    fields: list[FieldError]
    try:
        body = json.loads(form.get(RULES_FIELD, ""))
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        fields = [FieldError(path=RULES_FIELD, reason=f"not valid JSON ({exc.msg}, {where})")]
    else:
        try:
            replace = RuleSetReplace.model_validate(
                {"name": form.get("name", "").strip(), "body": body}
            )
            async with session.begin_nested():
                await rulesets.change_draft(
                    session,
                    principal=ctx.principal,
                    rule_set_id=rule_set_id,
                    name=replace.name,
                    changes=replace.body,
                    replace=True,
                )
        except ValidationError as exc:
            fields = _body_fields(validation_fields(exc))
        except Unprocessable as exc:
            fields = _body_fields(unprocessable_fields(exc))
        else:
            return see_other(f"/rule-sets/{rule_set_id}?done=saved")
    errors = form_errors(fields, RULE_SET_LABELS)
    return _edit_page(ctx, row, form, errors, status_code=422)


@router.get("/rule-sets/{rule_set_id}/dry-run")
async def dry_run_page(rule_set_id: uuid.UUID, session: SessionDep, ctx: Managers) -> Response:
    """The recent contacts whose proposal this version would change (the read is audited)."""
    result = await dry_run(
        session, principal=ctx.principal, rule_set_id=rule_set_id, now=datetime.now(UTC)
    )
    return render(
        TEMPLATES,
        "rule_set_dry_run.html",
        ctx,
        current="/rule-sets",
        title=f"Dry run of rule set version {result.rule_set.version}",
        run=result,
        lane_names=LANE_NAMES,
    )
