"""Rule-engine throughput: the Bradford rule set as data vs the same rules hand-written.

    .venv/bin/python -m bench.rules [--contacts 200000]

The engine is pure Python, so one process measures one core. The baseline is the same
decision table written as an if/else chain (what a team would code without a rule engine);
both must agree on every sample. Goal: >= 20,000 contacts/s per core.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from triage.rules.bradford import BRADFORD_RULE_SET, EXPLOITATION, HARM_CATEGORIES
from triage.rules.engine import CompiledRuleSet
from triage.rules.facts import Facts
from triage.rules.model import RuleSetBody

GOAL_PER_SECOND = 20_000
CATEGORIES = [
    "domestic_abuse", "neglect", "physical_abuse", "sexual_abuse", "emotional_abuse",
    "substance_misuse", "parental_mental_health", "self_harm", "other", "ehe",
]  # fmt: skip


def sample_facts(rng: random.Random) -> dict[str, Any]:
    kind = rng.choices(["marf", "concern", "dv_notification", "consultation"], [6, 2, 3, 1])[0]
    return Facts(
        concern_categories=rng.sample(CATEGORIES, rng.randint(0, 3)),  # type: ignore[arg-type]
        immediate_risk=rng.random() < 0.05,
        significant_harm_alleged=rng.random() < 0.05,
        subject_kinds=["child"],
        subject_count=rng.randint(1, 4),
        youngest_age=rng.randint(0, 17),
        unborn=rng.random() < 0.03,
        contact_kind=kind,  # type: ignore[arg-type]
        dv_risk_level=rng.choice(["standard", "medium", "high"])
        if kind == "dv_notification"
        else None,
        flags=["missing"] if rng.random() < 0.03 else [],
        previous_referrals_12m=rng.choice([0, 0, 0, 1, 2]),
        in_office_hours=rng.random() < 0.7,
        allegation_against_professional=rng.random() < 0.01,
    ).model_dump(mode="json")


def hand_written(f: dict[str, Any]) -> tuple[int, str]:
    """The Bradford table as code: the baseline (level, lane before the safety floor)."""
    cats = set(f["concern_categories"])
    if f["immediate_risk"] and not f["in_office_hours"]:
        level, lane = 4, "out_of_hours"
    elif f["immediate_risk"]:
        level, lane = 4, "mash"
    elif f["allegation_against_professional"]:
        level, lane = 4, "lado"
    elif f["significant_harm_alleged"] or cats & set(HARM_CATEGORIES):
        level, lane = 4, "mash"
    elif f["contact_kind"] == "dv_notification":
        level, lane = (4, "mash") if f["dv_risk_level"] == "high" else (0, "dv_screening")
    elif set(f["flags"]) & set(EXPLOITATION):
        level, lane = 4, "mash"
    elif f["unborn"] and cats & {
        "domestic_abuse",
        "substance_misuse",
        "parental_mental_health",
        "neglect",
    }:
        level, lane = 3, "mash"
    elif f["previous_referrals_12m"] >= 2 or cats & {
        "neglect",
        "domestic_abuse",
        "emotional_abuse",
    }:
        level, lane = 3, "mash"
    elif f["request_type"] == "complex_health_disability_assessment":
        level, lane = 3, "early_help"
    elif f["contact_kind"] == "consultation":
        level, lane = 1, "advice"
    elif cats & {
        "parental_mental_health",
        "substance_misuse",
        "self_harm",
        "private_fostering",
        "ehe",
        "radicalisation",
    }:
        level, lane = 2, "early_help"
    else:
        level, lane = 1, "advice"
    return level, lane


def rate(fn: Any, samples: list[dict[str, Any]], total: int) -> float:
    start = time.perf_counter()
    n = 0
    while n < total:
        for facts in samples:
            fn(facts)
        n += len(samples)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(20261123)
    samples = [sample_facts(rng) for _ in range(5_000)]
    engine = CompiledRuleSet(RuleSetBody.model_validate(BRADFORD_RULE_SET), version=1)
    for facts in samples:  # the two must agree (lane/level after the DV "no level" case)
        result = engine.evaluate(facts)
        level, lane = hand_written(facts)
        assert lane == result.lane or result.safety_floor, (facts, result)
        assert level in (0, result.level), (facts, result)
    total = min(args.contacts, 2_000_000)
    engine_rate = rate(engine.evaluate, samples, total)
    baseline_rate = rate(hand_written, samples, total)
    print(f"contacts evaluated:         {total:,} (5,000 distinct fact sets, one core)")
    print(f"rule engine (as data):      {engine_rate:,.0f} contacts/s")
    print(f"hand-written if/else:       {baseline_rate:,.0f} contacts/s")
    print(f"engine / hand-written:      {engine_rate / baseline_rate:.2f}x")
    verdict = "meets" if engine_rate >= GOAL_PER_SECOND else "MISSES"
    print(f"goal >= {GOAL_PER_SECOND:,}/s per core:  {verdict}")


if __name__ == "__main__":
    main()
