"""The queue benchmark's bare baselines: FastAPI routes running the API's SQL on asyncpg.

- `/queue`: the queue SELECT alone. No auth, no ORM, no audit row, no transaction: the rows
  go straight to JSON. The ratio to it is the cost of everything the endpoint adds.
- `/queue-audited`: the same SQL the API runs for a read of the queue: BEGIN, the queue
  SELECT, the API's own audit INSERT (the statement captured from the API, with fresh
  parameter values) and a durable COMMIT (`synchronous_commit` as the server has it). The
  audit row is required for every read of a child's record, so this is the floor for any
  implementation of the endpoint; the ratio to it is the cost of the framework, auth, ORM
  and serialisation.

Both share the in-process ASGI transport with the real API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse


def _items(rows: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "id" else v)
         for k, v in dict(r).items()}
        for r in rows
    ]  # fmt: skip


def bare_app(
    pool: asyncpg.Pool,
    sql: str,
    params: list[Any],
    audit_sql: str | None = None,
    audit_params: Callable[[], Sequence[Any]] | None = None,
) -> FastAPI:
    app = FastAPI()

    @app.get("/queue")
    async def bare_queue() -> JSONResponse:
        async with pool.acquire() as conn:
            rows = await conn.fetch(sql, *params)
        return JSONResponse({"items": _items(rows)})

    @app.get("/queue-audited")
    async def bare_queue_audited() -> JSONResponse:
        assert audit_sql is not None
        assert audit_params is not None
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(sql, *params)
            await conn.fetch(audit_sql, *audit_params())
        return JSONResponse({"items": _items(rows)})

    return app
