"""Fixtures and factories for the referral API tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from referral_api.main import create_app
from referral_api.settings import ReferralSettings, get_referral_settings
from tests.conftest import ClientFactory, TokenFactory
from tests.factories import london_today

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("marf-*.json"))
AGENCY = "west-yorkshire-police"
OTHER_AGENCY = "bradford-health"


def load_example(name: str) -> dict[str, Any]:
    """An example MARF from docs/examples, its unborn due dates moved to stay in range."""
    marf: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    for subject in marf["subjects"]:
        if subject["kind"] == "unborn":
            subject["expected_due_date"] = (london_today() + timedelta(days=120)).isoformat()
    call = marf.get("follow_up_to_phone_call")
    if call:  # a followed-up call must be recent (within the configured window)
        call["call_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
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


def with_settings(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> ReferralSettings:
    """The referral service's settings with `changes`, for submissions in this test."""
    changed = get_referral_settings().model_copy(update=changes)
    monkeypatch.setattr("referral_api.router.get_referral_settings", lambda: changed)
    return changed


@pytest.fixture
def wide_call_window(monkeypatch: pytest.MonkeyPatch) -> ReferralSettings:
    """Calls of any age followed up (for tests of calendar arithmetic on fixed past dates)."""
    return with_settings(monkeypatch, follow_up_call_max_age_hours=10**6)
