"""The web platform: sessions as rows, the cookie, CSRF, sign-out, headers, assets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role
from services.errors import NotAuthenticated
from services.models.web import WebSession
from services.web import refresh_assets, sessions
from services.web.settings import WebSettings
from tests.web.helpers import csrf_of, post_form, sign_in

SETTINGS = WebSettings(session_idle_minutes=30, session_lifetime_hours=10)
WORKER = Principal(sub="w-1", role=Role.front_door_worker)


class TestSessions:
    async def test_a_session_resumes_until_its_idle_timeout(self, session: AsyncSession) -> None:
        start = datetime(2026, 12, 1, 9, tzinfo=UTC)
        token = await sessions.start(session, WORKER, method="dev", settings=SETTINGS, now=start)
        live = await sessions.resume(
            session, token, settings=SETTINGS, now=start + timedelta(minutes=29)
        )
        assert live.principal == WORKER
        # Used at 09:29, so still alive at 09:58; unused from then, ended at 10:29.
        await sessions.resume(session, token, settings=SETTINGS, now=start + timedelta(minutes=58))
        with pytest.raises(NotAuthenticated):
            await sessions.resume(
                session, token, settings=SETTINGS, now=start + timedelta(minutes=89)
            )

    async def test_a_session_ends_at_its_absolute_lifetime_however_busy(
        self, session: AsyncSession
    ) -> None:
        start = datetime(2026, 12, 1, 9, tzinfo=UTC)
        token = await sessions.start(session, WORKER, method="dev", settings=SETTINGS, now=start)
        for step in range(1, 30):  # used every 20 minutes until 18:40
            at = start + timedelta(minutes=20 * step)
            await sessions.resume(session, token, settings=SETTINGS, now=at)
        with pytest.raises(NotAuthenticated):
            await sessions.resume(
                session, token, settings=SETTINGS, now=start + timedelta(hours=10)
            )

    async def test_a_revoked_session_is_refused_and_the_row_holds_no_token(
        self, session: AsyncSession
    ) -> None:
        token = await sessions.start(session, WORKER, method="dev", settings=SETTINGS)
        rows = (await session.scalars(select(WebSession))).all()
        assert all(token not in (r.token_hash, r.csrf_token) for r in rows)
        assert await sessions.revoke_all_for(session, "w-1") == 1
        with pytest.raises(NotAuthenticated):
            await sessions.resume(session, token, settings=SETTINGS)


class TestSignInAndOut:
    async def test_the_cookie_is_http_only_and_same_site_lax(self, web: httpx.AsyncClient) -> None:
        response = await sign_in(web, "social-worker", "/queue")
        cookie = response.headers["set-cookie"]
        assert "frontdoor_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Secure" not in cookie  # development over http; production sets it

    def test_the_cookie_is_secure_in_production(self) -> None:
        production = WebSettings(
            environment="production", database_url="postgresql://db/x", jwt_secret="s" * 40
        )
        assert production.cookie_secure
        assert not production.dev_sign_in

    async def test_sign_out_revokes_the_session_row(
        self, web: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await sign_in(web, "social-worker")
        cookie = web.cookies["frontdoor_session"]
        out = await post_form(web, "/sign-out", {}, from_page="/queue")
        assert out.status_code == 303
        row = await session.scalar(
            select(WebSession).where(WebSession.token_hash == sessions.token_hash(cookie))
        )
        assert row is not None
        assert row.revoked_at is not None
        web.cookies.set("frontdoor_session", cookie)  # a copied cookie no longer works
        assert (await web.get("/queue")).status_code == 303

    async def test_an_ended_session_sends_the_browser_to_sign_in(
        self, web: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await sign_in(web, "social-worker")
        await session.execute(
            update(WebSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
        )
        response = await web.get("/queue")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")

    async def test_sign_in_without_the_forms_token_is_refused(self, web: httpx.AsyncClient) -> None:
        await web.get("/sign-in")
        response = await web.post("/sign-in", data={"csrf_token": "guess", "identity": "admin"})
        assert response.status_code == 403
        assert "frontdoor_session" not in web.cookies

    async def test_sign_in_never_redirects_off_the_site(self, web: httpx.AsyncClient) -> None:
        response = await sign_in(web, "social-worker", "//evil.example/")
        assert response.headers["location"] == "/"

    async def test_the_demo_sign_in_is_refused_in_production(
        self, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
    ) -> None:
        page = await web.get("/sign-in")
        token = csrf_of(page.text)
        monkeypatch.setenv("ENVIRONMENT", "production")
        monkeypatch.setenv("JWT_SECRET", "p" * 40)
        from services.web.settings import get_web_settings

        get_web_settings.cache_clear()
        refused = await web.post("/sign-in", data={"csrf_token": token, "identity": "admin"})
        assert refused.status_code == 404
        shown = await web.get("/sign-in")
        assert "demo identities" not in shown.text


class TestHeaders:
    async def test_every_page_carries_the_security_headers(self, web: httpx.AsyncClient) -> None:
        page = await web.get("/sign-in")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text  # no inline script: every script has a src

    async def test_assets_are_served_and_cached(self, web: httpx.AsyncClient) -> None:
        css = await web.get("/assets/govuk-frontend.min.css")
        assert css.status_code == 200
        assert css.headers["cache-control"].startswith("public")
        assert css.headers["content-encoding"] == "gzip"  # httpx asks for it, as browsers do
        assert css.headers["x-content-type-options"] == "nosniff"
        font = await web.get("/assets/fonts/bold-b542beb274-v2.woff2")
        assert font.status_code == 200

    async def test_the_api_still_takes_json_only(self, web: httpx.AsyncClient) -> None:
        response = await web.post(
            "/v1/contacts",
            content="a=b",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 415

    async def test_an_unknown_page_id_is_a_not_found_page(self, web: httpx.AsyncClient) -> None:
        await sign_in(web, "social-worker")
        response = await web.get("/contacts/not-a-uuid")
        assert response.status_code == 404
        assert "Page not found" in response.text


class TestVendoredAssets:
    def test_every_vendored_file_matches_its_recorded_checksum(self) -> None:
        assert refresh_assets.check() == []

    def test_the_check_notices_a_changed_file(
        self, tmp_path: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import json
        from pathlib import Path

        here = Path(str(tmp_path))
        (here / "static").mkdir()
        (here / "static" / "x.js").write_text("changed")
        manifest = here / "static" / "VENDORED.json"
        manifest.write_text(
            json.dumps({"pkg": {"version": "1", "files": {"static/x.js": "0" * 64}}})
        )
        monkeypatch.setattr(refresh_assets, "HERE", here)
        monkeypatch.setattr(refresh_assets, "MANIFEST", manifest)
        assert refresh_assets.check() == ["pkg: static/x.js does not match its recorded sha256"]


class TestBackgroundRefresh:
    async def test_an_ended_session_sends_the_whole_page_to_sign_in(
        self, web: httpx.AsyncClient
    ) -> None:
        response = await web.get(
            "/queue/rows?lane=mash",
            headers={"HX-Request": "true", "HX-Current-URL": "http://test/queue?lane=mash"},
        )
        assert response.status_code == 200
        assert response.headers["hx-redirect"] == "/sign-in?next=%2Fqueue%3Flane%3Dmash"
        assert response.content == b""
