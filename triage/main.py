"""The triage FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI

from services.app import create_service_app
from triage.router import router

ROUTERS = [router]
# Paths whose bodies are not JSON (e.g. CSV uploads).
RAW_BODY_PATHS: frozenset[str] = frozenset()


def create_app() -> FastAPI:
    return create_service_app(
        service="triage",
        title="frontdoor triage API",
        description="TODO: one paragraph for the service's users.",
        routers=ROUTERS,
        raw_body_paths=RAW_BODY_PATHS,
    )
