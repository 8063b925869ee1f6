"""The intake benchmark's baseline: a bare FastAPI endpoint inserting the JSON into jsonb.

No validation, auth, audit, events or calendar: the floor of what one insert over asyncpg
costs under the same server, so the referral API's overhead can be read as a ratio.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import make_url

TABLE = "bench_intake_baseline"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz DEFAULT now())"
)


def libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_app() -> FastAPI:
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            libpq_dsn(os.environ["DATABASE_URL"]), min_size=pool_size, max_size=2 * pool_size
        )
        async with pool.acquire() as conn:
            await conn.execute(CREATE)
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/baseline/referrals", status_code=201)
    async def baseline_insert(request: Request) -> JSONResponse:
        body: Any = await request.json()
        async with request.app.state.pool.acquire() as conn:
            row_id = await conn.fetchval(
                f"INSERT INTO {TABLE} (body) VALUES ($1::jsonb) RETURNING id", json.dumps(body)
            )
        return JSONResponse({"id": row_id}, status_code=201)

    @app.get("/healthz")
    async def baseline_health() -> dict[str, str]:
        return {"status": "ok"}

    return app
