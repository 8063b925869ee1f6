"""The referral_api FastAPI app factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from referral_api.intake_route import intake_route
from referral_api.router import router
from services.app import create_service_app

ROUTERS = [router]
# Referrers work through the API: this service has no pages.
PAGES: list[APIRouter] = []
# Paths whose bodies are not JSON (e.g. CSV uploads).
RAW_BODY_PATHS: frozenset[str] = frozenset()
# Answered ahead of FastAPI's routes by the platform's app factory (see intake_route), in
# this app and in the combined one alike.
DIRECT_ROUTES: list[BaseRoute] = [intake_route()]

DESCRIPTION = (
    "Partner agencies (police, health, schools, housing, probation, the voluntary sector, "
    "other councils) submit Multi-Agency Referral Forms (MARFs) to the council's children's "
    "front door, follow up phone referrals in writing, add information later, and see the "
    "status of and the feedback on their own referrals. Every response time carries its UTC "
    "offset; send an Idempotency-Key header so a retried submission never makes two referrals."
)


def create_app() -> FastAPI:
    return create_service_app(
        service="referral_api",
        title="frontdoor referral API",
        description=DESCRIPTION,
        routers=ROUTERS,
        raw_body_paths=RAW_BODY_PATHS,
        pages=PAGES,
        direct_routes=DIRECT_ROUTES,
    )
