"""The referral_api FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from referral_api.router import router
from services.app import create_service_app

ROUTERS = [router]
# Paths whose bodies are not JSON (e.g. CSV uploads).
RAW_BODY_PATHS: frozenset[str] = frozenset()


def create_app() -> FastAPI:
    return create_service_app(
        service="referral_api",
        title="frontdoor referral API",
        description="TODO: one paragraph for the service's users.",
        routers=ROUTERS,
        raw_body_paths=RAW_BODY_PATHS,
    )
