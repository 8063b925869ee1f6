"""Signing in through the development sign-in page and posting forms, as a browser does."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, identity: str, next_path: str = "/") -> httpx.Response:
    page = await client.get("/sign-in", params={"next": next_path})
    assert page.status_code == 200, page.text
    response = await client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(page.text), "identity": identity, "next": next_path},
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, from_page: str
) -> httpx.Response:
    """Post `data` with the CSRF token of the page the form is on."""
    page = await client.get(from_page)
    assert page.status_code == 200, page.text
    return await client.post(path, data={"csrf_token": csrf_of(page.text), **data})
