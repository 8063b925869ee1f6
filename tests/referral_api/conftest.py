"""Fixtures and factories for the referral API tests."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from referral_api.main import create_app
from tests.conftest import ClientFactory, TokenFactory

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("marf-*.json"))
AGENCY = "west-yorkshire-police"
OTHER_AGENCY = "bradford-health"


def london_today() -> date:
    return datetime.now(ZoneInfo("Europe/London")).date()


def make_marf(**overrides: Any) -> dict[str, Any]:
    """A small valid MARF (one child), with top-level fields replaced by `overrides`."""
    today = london_today()
    marf: dict[str, Any] = {
        "request_type": "safety_and_wellbeing",
        "immediate_risk": False,
        "subjects": [
            {
                "kind": "child",
                "given_name": "Sam",
                "family_name": "Example",
                "date_of_birth": today.replace(year=today.year - 8, day=1).isoformat(),
                "gender": "1",
                "nhs_number": "9990001006",
                "address": {"line1": "1 Example Street", "postcode": "BD1 1HY"},
            }
        ],
        "concerns": [{"category": "neglect", "description": "Often hungry at school."}],
        "child_voice": "Sam said there is no food at home.",
        "consent": {
            "state": "given",
            "recorded_by": "Class teacher",
            "recorded_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        "referrer": {
            "name": "A. Teacher",
            "role": "DSL",
            "email": "dsl@example.sch.uk",
            "referral_source": "2A",
        },
    }
    marf.update(overrides)
    return marf


def with_subject(marf: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(marf)
    out["subjects"][0].update(fields)
    return out


def load_example(name: str) -> dict[str, Any]:
    """An example MARF from docs/examples, its unborn due dates moved to stay in range."""
    marf: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    for subject in marf["subjects"]:
        if subject["kind"] == "unborn":
            subject["expected_due_date"] = (london_today() + timedelta(days=120)).isoformat()
    return marf


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def client(client_for: ClientFactory, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture
def referrer(auth: TokenFactory) -> dict[str, str]:
    return auth("referrer", agency_id=AGENCY)


@pytest.fixture
def other_referrer(auth: TokenFactory) -> dict[str, str]:
    return auth("referrer", agency_id=OTHER_AGENCY, sub="someone-else")
