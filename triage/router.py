"""HTTP layer of triage: thin handlers over service.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
