"""The demo sinks: a real webhook receiver that verifies signatures, and a real SMTP sink."""

from __future__ import annotations

import asyncio
import socket
import time
from email.message import EmailMessage

import aiosmtplib
import httpx
from standardwebhooks.webhooks import Webhook

from services.devtools import DEMO_WEBHOOK_SECRET, serve_receiver, start_demo_sinks
from services.settings import get_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until_up(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                await client.get(f"{base}/received")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise AssertionError("receiver did not start")


class TestDemoSinks:
    async def test_receiver_verifies_dedupes_and_lists_webhooks_and_captured_mail(self) -> None:
        port, smtp_port = free_port(), free_port()
        sinks = await start_demo_sinks(get_settings(), port=port, smtp_port=smtp_port)
        stop = asyncio.Event()
        task = asyncio.create_task(serve_receiver(sinks, stop))
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_until_up(base)
            body = '{"type":"encompass.ping","data":{}}'
            from datetime import UTC, datetime

            ts = int(time.time())
            signature = Webhook(DEMO_WEBHOOK_SECRET).sign(
                "msg_1", datetime.fromtimestamp(ts, UTC), body
            )
            headers = {
                "webhook-id": "msg_1",
                "webhook-timestamp": str(ts),
                "webhook-signature": signature,
                "content-type": "application/json",
            }
            async with httpx.AsyncClient() as client:
                ok = await client.post(f"{base}/hooks/107301", content=body, headers=headers)
                again = await client.post(f"{base}/hooks/107301", content=body, headers=headers)
                forged = await client.post(
                    f"{base}/hooks/107301",
                    content=body,
                    headers={**headers, "webhook-signature": "v1,AAAA"},
                )
                message = EmailMessage()
                message["From"], message["To"] = "a@frontdoor.example", "dsl@school.example"
                message["Subject"] = "Operation Encompass notification"
                message.set_content("hello")
                await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port)
                received = (await client.get(f"{base}/received")).json()
                emails = (await client.get(f"{base}/emails")).json()
            assert (ok.status_code, again.status_code, forged.status_code) == (204, 204, 401)
            assert [(r["verified"], r["duplicate"]) for r in received] == [
                (False, True),
                (True, True),
                (True, False),
            ]
            assert received[-1]["body"]["type"] == "encompass.ping"
            assert emails[0]["recipients"] == ["dsl@school.example"]
            assert "Demo school receiver" in str(sinks)
        finally:
            stop.set()
            await task
            sinks.close()
