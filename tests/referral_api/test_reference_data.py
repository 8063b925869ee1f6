"""GET /v1/reference-data: every code list the MARF accepts, each code named."""

from __future__ import annotations

from typing import get_args

import httpx

from services.contracts.codes import ConcernCategory, ReferralSource, Relationship


class TestReferenceData:
    async def test_lists_every_code_the_marf_accepts_with_a_name(
        self, client: httpx.AsyncClient
    ) -> None:
        body = (await client.get("/v1/reference-data")).json()
        codes = {name: [c["code"] for c in items] for name, items in body.items()}
        assert codes["concern_categories"] == list(get_args(ConcernCategory))
        assert codes["referral_sources"] == list(get_args(ReferralSource))
        assert codes["relationship_types"] == list(get_args(Relationship))
        assert codes["gender_codes"] == ["0", "1", "2", "9"]
        assert {"request_types", "consent_states", "education_statuses", "subject_kinds"} <= set(
            body
        )
        assert all(c["name"] for items in body.values() for c in items)
