"""The queue benchmark's bare baseline: one FastAPI route running the same SQL on asyncpg.

No auth, no ORM, no audit row, no transaction: the rows go straight to JSON. It shares the
in-process ASGI transport with the real API, so the ratio between them is the cost of
everything the real endpoint adds around the query.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse


def bare_app(pool: asyncpg.Pool, sql: str, params: list[Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/queue")
    async def bare_queue() -> JSONResponse:
        async with pool.acquire() as conn:
            rows = await conn.fetch(sql, *params)
        items = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "id" else v)
             for k, v in dict(r).items()}
            for r in rows
        ]  # fmt: skip
        return JSONResponse({"items": items})

    return app
