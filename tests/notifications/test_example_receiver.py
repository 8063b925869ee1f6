"""The example DSL receiver in the docs works against real signed deliveries."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from services.webhooks.signing import webhook_headers
from tests.notifications.conftest import SECRET, Receiver

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dsl_receiver.py"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("FRONTDOOR_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("FRONTDOOR_TOKEN", "dsl-token")
    spec = importlib.util.spec_from_file_location("dsl_receiver_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestExampleReceiver:
    async def test_verifies_deduplicates_and_fetches_the_detail_once(
        self, example: ModuleType, receiver: Receiver
    ) -> None:
        body = (
            '{"type":"encompass.notification.created","timestamp":"2026-11-23T06:00:00Z",'
            f'"data":{{"detail_url":"{receiver.url("/v1/notifications/n-1")}"}}}}'
        ).encode()
        headers = webhook_headers([SECRET], "msg_example", int(time.time()), body)
        transport = httpx.ASGITransport(app=example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://school") as client:
            first = await client.post("/encompass", content=body, headers=headers)
            again = await client.post("/encompass", content=body, headers=headers)
            forged = await client.post(
                "/encompass", content=body, headers={**headers, "webhook-signature": "v1,AAAA"}
            )
        assert (first.status_code, again.status_code, forged.status_code) == (204, 204, 401)
        fetches = [r for r in receiver.received if r.path == "/v1/notifications/n-1"]
        assert len(fetches) == 1
        assert fetches[0].headers["authorization"] == "Bearer dsl-token"
        assert example.inbox == [{"id": "n-1", "reminder": "do not contact parents"}]
