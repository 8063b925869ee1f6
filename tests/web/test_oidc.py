"""Sign-in with OpenID Connect against a tiny identity provider served on 127.0.0.1.

The provider checks what a real one checks: the PKCE verifier against the S256 challenge
sent to its authorize endpoint, the code used once, the client id; it signs the ID token with
RS256 and publishes the key. The console must send the browser there, take the code back,
verify the ID token (issuer, audience, nonce) and start a session with the token's claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "frontdoor-console"
KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})


@dataclass
class Provider:
    issuer: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    nonce_override: str | None = None
    token_requests: int = 0


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": state.issuer,
                        "authorization_endpoint": f"{state.issuer}/authorize",
                        "token_endpoint": f"{state.issuer}/token",
                        "jwks_uri": f"{state.issuer}/jwks",
                    },
                )
            elif url.path == "/jwks":
                self._json(200, {"keys": [KEY.as_dict(private=False)]})
            elif url.path == "/authorize":
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                ok = q.get("client_id") == CLIENT_ID and q.get("code_challenge_method") == "S256"
                code = f"code-{len(state.codes)}"
                state.codes[code] = q
                target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                self.send_response(302 if ok else 400)
                self.send_header("location", target)
                self.end_headers()
            else:
                self._json(404, {})

        def do_POST(self) -> None:
            state.token_requests += 1
            length = int(self.headers.get("content-length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            sent = state.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if sent is None or _challenge(verifier) != sent["code_challenge"]:
                self._json(400, {"error": "invalid_grant"})
                return
            now = int(time.time())
            claims = {
                "iss": state.issuer,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": state.nonce_override or sent["nonce"],
                **state.claims,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, KEY)
            self._json(200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token})

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def oidc_on(provider: Provider, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> Provider:
    monkeypatch.setenv("WEB_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("WEB_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://test")
    return provider


async def _round_trip(web: httpx.AsyncClient, next_path: str) -> httpx.Response:
    """The browser's trip: to the provider, which redirects straight back with a code."""
    start = await web.get("/sign-in/oidc", params={"next": next_path})
    assert start.status_code == 303, start.text
    assert "code_challenge=" in start.headers["location"]
    async with httpx.AsyncClient() as browser:  # real HTTP to the provider on loopback
        authorize = await browser.get(start.headers["location"])
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["location"])
    return await web.get(f"{callback.path}?{callback.query}")


class TestOidcSignIn:
    async def test_a_dsl_signs_in_with_the_providers_claims(
        self, web: httpx.AsyncClient, oidc_on: Provider
    ) -> None:
        oidc_on.claims = {"sub": "jo.bloggs", "role": "school_dsl", "school_urn": "107301"}
        signed_in = await _round_trip(web, "/school/notifications")
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/school/notifications"
        page = await web.get("/school/notifications")
        assert page.status_code == 200
        assert "jo.bloggs" in page.text

    async def test_a_callback_replayed_with_the_same_state_is_refused(
        self, web: httpx.AsyncClient, oidc_on: Provider
    ) -> None:
        oidc_on.claims = {"sub": "jo.bloggs", "role": "front_door_worker"}
        start = await web.get("/sign-in/oidc")
        async with httpx.AsyncClient() as browser:
            authorize = await browser.get(start.headers["location"])
        callback = urlsplit(authorize.headers["location"])
        first = await web.get(f"{callback.path}?{callback.query}")
        assert first.status_code == 303
        again = await web.get(f"{callback.path}?{callback.query}")
        assert again.status_code == 401
        assert oidc_on.token_requests == 1  # refused before the code was sent anywhere

    async def test_an_id_token_for_another_sign_in_is_refused(
        self, web: httpx.AsyncClient, oidc_on: Provider
    ) -> None:
        oidc_on.claims = {"sub": "mallory", "role": "admin"}
        oidc_on.nonce_override = "someone-elses-nonce"
        refused = await _round_trip(web, "/")
        assert refused.status_code == 401
        assert "frontdoor_session" not in web.cookies

    async def test_claims_without_the_school_a_dsl_needs_are_refused(
        self, web: httpx.AsyncClient, oidc_on: Provider
    ) -> None:
        oidc_on.claims = {"sub": "jo.bloggs", "role": "school_dsl"}
        refused = await _round_trip(web, "/")
        assert refused.status_code == 401

    async def test_the_button_is_offered_only_when_a_provider_is_configured(
        self, web: httpx.AsyncClient, oidc_on: Provider
    ) -> None:
        page = await web.get("/sign-in")
        assert "/sign-in/oidc" in page.text
