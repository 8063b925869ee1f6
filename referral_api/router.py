"""HTTP layer of referral_api: thin handlers over service.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
