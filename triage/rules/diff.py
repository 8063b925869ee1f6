"""What changed between two rule-set versions: levels, defaults and rules (by rule id)."""

from __future__ import annotations

from typing import Any

from triage.rules.model import RuleSetBody


def diff_bodies(old: RuleSetBody, new: RuleSetBody) -> dict[str, Any]:
    old_rules = {r.id: r.model_dump(exclude_none=True) for r in old.rules}
    new_rules = {r.id: r.model_dump(exclude_none=True) for r in new.rules}
    old_order = [r.id for r in old.rules if r.id in new_rules]
    new_order = [r.id for r in new.rules if r.id in old_rules]
    return {
        "levels_changed": old.levels != new.levels,
        "levels": {
            "before": [lv.model_dump(exclude_none=True) for lv in old.levels],
            "after": [lv.model_dump(exclude_none=True) for lv in new.levels],
        }
        if old.levels != new.levels
        else None,
        "defaults": {"before": old.defaults.model_dump(), "after": new.defaults.model_dump()}
        if old.defaults != new.defaults
        else None,
        "rules_added": [new_rules[k] for k in new_rules if k not in old_rules],
        "rules_removed": [old_rules[k] for k in old_rules if k not in new_rules],
        "rules_changed": [
            {"id": k, "before": old_rules[k], "after": new_rules[k]}
            for k in new_rules
            if k in old_rules and old_rules[k] != new_rules[k]
        ],
        "order_changed": old_order != new_order,
    }
