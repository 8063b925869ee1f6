"""The console's queue page vs JSON GET /v1/queue, side by side on the same large queue.

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.console_queue [--requests 300] [--keep]

Same data as bench.queue (500,000 historical + 5,000 open contacts under the council id
"bench-queue", bulk-loaded once; removed afterwards unless --keep). Both sides are whole
requests in process (ASGI) on the combined app, interleaved 50 at a time: the page (session
cookie looked up in PostgreSQL, audit row, the same queue SELECT, Jinja2 rendering of a
50-row table) and the API (JWT, audit row, the SELECT, JSON). Then the page's first-load
transfer: the HTML and every asset a browser fetches for it (CSS, JS modules, the fonts the
CSS names in woff2, the favicon), as served and gzip-compressed.
Goal: page p95 <= 1.5x the API's p95.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import statistics
import time

import asyncpg
import httpx

from bench.queue import COUNCIL, PAGE, cleanup, ensure_data, percentile
from services.auth import Principal, Role, mint_token
from services.db import get_sessionmaker, resolve_database_url
from services.settings import get_settings
from services.web import sessions
from services.web.settings import get_web_settings

GOAL_RATIO = 1.5
# What a browser loads for the page: the stylesheets and scripts it names, the modules
# console.mjs imports, the two woff2 weights GOV.UK Frontend's CSS uses, and the favicon.
_LINKED = re.compile(r'(?:href|src)="(/assets/[^"]+)"')
_IMPORTED = re.compile(r'from\s*"(/assets/[^"]+)"')
_FONTS = re.compile(r"url\((/assets/fonts/[^)]+\.woff2)\)")


async def signed_in_cookie() -> dict[str, str]:
    principal = Principal(sub="bench-worker", role=Role.front_door_worker, council_id=COUNCIL)
    async with get_sessionmaker()() as session, session.begin():
        token = await sessions.start(session, principal, method="dev", settings=get_web_settings())
    return {get_web_settings().cookie_name: token}


async def time_get(client: httpx.AsyncClient, path: str, n: int, **kwargs: object) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path, **kwargs)  # type: ignore[arg-type]
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return out


async def first_load(client: httpx.AsyncClient, cookies: dict[str, str]) -> None:
    page = await client.get("/queue", cookies=cookies)
    assert page.text.count("data-contact=") == PAGE
    wanted = ["/assets/images/favicon.ico", *_LINKED.findall(page.text)]
    fetched: dict[str, tuple[bytes, int]] = {"/queue": (page.content, page.num_bytes_downloaded)}
    while wanted:
        path = wanted.pop(0)
        if path in fetched:
            continue
        response = await client.get(path)  # httpx asks for gzip, as a browser does
        fetched[path] = (response.content, response.num_bytes_downloaded)
        body = response.content
        text = body.decode("utf-8", "replace") if path.endswith((".css", ".mjs", ".js")) else ""
        wanted += _IMPORTED.findall(text) + _FONTS.findall(text)
    print("first load of the queue page (what a browser fetches, nothing cached):")
    print(f"  {'':<44} {'size':>9}   {'on the wire':>11}   {'if gzipped':>10}")
    total = wire = total_gz = 0
    for path, (body, sent) in fetched.items():
        gz = len(gzip.compress(body)) if not path.endswith((".woff2", ".ico")) else len(body)
        total, wire, total_gz = total + len(body), wire + sent, total_gz + gz
        print(
            f"  {path:<44} {len(body) / 1024:6.1f} KB   {sent / 1024:8.1f} KB   {gz / 1024:7.1f} KB"
        )
    print(_size_line("total", total, wire, total_gz))


def _size_line(what: str, size: int, wire: int, gz: int) -> str:
    return f"  {what:<44} {size / 1024:6.1f} KB   {wire / 1024:8.1f} KB   {gz / 1024:7.1f} KB"


async def run(requests: int, keep: bool) -> None:
    from services.combined import create_combined_app  # after DATABASE_URL is set

    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await ensure_data(conn)
        settings = get_settings().model_copy(update={"council_id": COUNCIL})
        token = mint_token(settings, sub="bench-worker", role=Role.front_door_worker)
        bearer = {"Authorization": f"Bearer {token}"}
        cookies = await signed_in_cookie()
        transport = httpx.ASGITransport(app=create_combined_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            client.cookies.update(cookies)
            await time_get(client, "/v1/queue", 20, headers=bearer)  # warm up both
            await time_get(client, "/queue", 20)
            runs: dict[str, list[float]] = {"api": [], "page": []}
            for _ in range(max(1, requests // 50)):
                runs["api"] += await time_get(client, "/v1/queue", 50, headers=bearer)
                runs["page"] += await time_get(client, "/queue", 50)
            report(runs)
            client.cookies.clear()
            await first_load(client, cookies)
    finally:
        if not keep:
            await cleanup(conn)
            await conn.execute("DELETE FROM web_sessions WHERE claims->>'council_id' = $1", COUNCIL)
        await conn.close()


def report(runs: dict[str, list[float]]) -> None:
    p95 = {k: percentile(xs, 95) for k, xs in runs.items()}
    p50 = {k: statistics.median(xs) for k, xs in runs.items()}
    print(f"queue, {PAGE} items a page, {len(runs['api'])} requests each, sequential, interleaved")
    print(f"  API  GET /v1/queue (JSON)   p50 {p50['api']:6.2f} ms   p95 {p95['api']:6.2f} ms")
    print(f"  page GET /queue (HTML)      p50 {p50['page']:6.2f} ms   p95 {p95['page']:6.2f} ms")
    ratio = p95["page"] / p95["api"]
    print(f"  ratio page / API            p50 {p50['page'] / p50['api']:5.2f}x   p95 {ratio:5.2f}x")
    print(
        f"  goal page p95 <= {GOAL_RATIO}x API p95: {'meets' if ratio <= GOAL_RATIO else 'MISSES'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the loaded rows for a rerun")
    args = parser.parse_args()
    os.environ["LOG_LEVEL"] = "WARNING"  # no access line per request on either side
    asyncio.run(run(min(args.requests, 5_000), args.keep))


if __name__ == "__main__":
    main()
