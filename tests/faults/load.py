"""A bounded load of MARF submissions that retries the way a partner system should."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

from services.auth import Role, mint_token
from services.db import sync_url
from services.settings import FrontdoorSettings
from tests.factories import make_marf

AGENCY = "west-yorkshire-police"


def bearer(role: Role, agency_id: str | None = None) -> dict[str, str]:
    token = mint_token(
        FrontdoorSettings(), sub=f"faults-{role.value}", role=role, agency_id=agency_id
    )
    return {"Authorization": f"Bearer {token}"}


REFERRER = bearer(Role.referrer, agency_id=AGENCY)


@dataclass
class Submissions:
    """What the partner saw: every key's reference once accepted, and each answer's status."""

    accepted: dict[str, str] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    retry_after: list[str] = field(default_factory=list)
    broken: int = 0

    @property
    def unexpected(self) -> list[int]:
        return [s for s in self.statuses if s not in (201, 503)]


async def submit_with_retries(
    client: httpx.AsyncClient, key: str, seen: Submissions, *, tries: int = 400
) -> None:
    """POST one MARF under `key` until it is acknowledged (201), as a partner would: a 503
    or a broken connection is retried with the same key after a pause."""
    body = make_marf()
    for _ in range(tries):
        try:
            response = await client.post(
                "/v1/referrals", json=body, headers={**REFERRER, "Idempotency-Key": key}
            )
        except httpx.TransportError:
            seen.broken += 1
            await asyncio.sleep(0.1)
            continue
        seen.statuses.append(response.status_code)
        if response.status_code == 201:
            seen.accepted[key] = response.json()["reference"]
            return
        if response.status_code == 503:
            seen.retry_after.append(response.headers.get("retry-after", ""))
        await asyncio.sleep(0.1)
    raise AssertionError(f"{key} was never acknowledged")


async def run_load(
    base_url: str, total: int, *, concurrency: int = 4, seen: Submissions | None = None
) -> Submissions:
    seen = seen or Submissions()
    keys = [f"faults-{uuid.uuid4().hex}" for _ in range(total)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def submitter() -> None:
            while not queue.empty():
                await submit_with_retries(client, queue.get_nowait(), seen)

        await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return seen


def stored(url: str) -> tuple[int, dict[str, str]]:
    """(referrals stored, each idempotency key's referral reference)."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM referral_referrals")).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT k.key, r.reference FROM referral_idempotency_keys k "
                    "JOIN referral_referrals r ON r.id = k.referral_id"
                )
            ).all()
    finally:
        engine.dispose()
    return int(count), {row.key: row.reference for row in rows}


def scalar(url: str, sql: str) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()
