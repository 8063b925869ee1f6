"""Case notes (append-only, corrections refer to the original) and the chronology."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TokenFactory
from tests.triage.mash_support import Headers, audit_actions, new_contact, rate


async def note(
    client: httpx.AsyncClient, headers: Headers, contact_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/v1/contacts/{contact_id}/notes", json=body, headers=headers)


class TestNotes:
    async def test_a_correction_is_a_new_note_and_the_original_stays(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        first = (await note(client, worker, contact["id"], text="Mother says dad left.")).json()
        fixed = await note(
            client,
            manager,
            contact["id"],
            text="It was the uncle who left.",
            corrects_id=first["id"],
        )
        assert fixed.status_code == 201
        listed = (await client.get(f"/v1/contacts/{contact['id']}/notes", headers=worker)).json()
        assert [n["text"] for n in listed] == [
            "Mother says dad left.",
            "It was the uncle who left.",
        ]
        assert listed[0]["corrected_by"] == [fixed.json()["id"]]
        assert listed[1]["corrects_id"] == first["id"]
        assert (listed[1]["author"], listed[1]["author_role"]) == ("manager-1", "team_manager")
        assert (await audit_actions(session, contact["id"])).count("note.add") == 2

    async def test_correcting_a_note_of_another_contact_is_422(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        one = await new_contact(client, worker)
        other = await new_contact(client, worker)
        theirs = (await note(client, worker, other["id"], text="x")).json()
        response = await note(client, worker, one["id"], text="y", corrects_id=theirs["id"])
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "corrects_id"

    async def test_an_empty_note_is_422(self, client: httpx.AsyncClient, worker: Headers) -> None:
        contact = await new_contact(client, worker)
        response = await note(client, worker, contact["id"], text="   ")
        assert (response.status_code, response.json()["fields"][0]["path"]) == (422, "text")

    async def test_notes_cannot_be_edited_or_deleted(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        made = (await note(client, worker, contact["id"], text="x")).json()
        url = f"/v1/contacts/{contact['id']}/notes/{made['id']}"
        assert (await client.put(url, json={"text": "y"}, headers=worker)).status_code in (404, 405)
        assert (await client.delete(url, headers=worker)).status_code in (404, 405)

    async def test_partners_do_not_read_or_write_notes(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact = await new_contact(client, worker)
        partner = auth("mash_partner", agency_id="police")
        assert (await note(client, partner, contact["id"], text="x")).status_code == 403


class TestChronology:
    async def test_every_step_once_in_time_order(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        auth: TokenFactory,
        session: AsyncSession,
    ) -> None:
        contact = await new_contact(client, worker)
        cid = contact["id"]
        await rate(client, worker, cid, "amber", "Screened")
        await rate(client, worker, cid, "red", "Police intelligence")
        await client.post(
            f"/v1/contacts/{cid}/checks", json={"agencies": ["police"]}, headers=worker
        )
        police = auth("mash_partner", agency_id="police")
        check = (await client.get("/v1/checks", headers=police)).json()[0]
        await client.post(
            f"/v1/checks/{check['id']}/response",
            json={"outcome": "nothing_held", "researched_by": "PC"},
            headers=police,
        )
        first = (await note(client, worker, cid, text="Called school.")).json()
        await note(client, worker, cid, text="Called nursery.", corrects_id=first["id"])
        await client.post(f"/v1/contacts/{cid}/claim", headers=worker)
        decided = await client.post(
            f"/v1/contacts/{cid}/decision",
            json={
                "contact_type": "referral",
                "outcome": "s17_assessment",
                "level": 3,
                "primary_need_code": "N1",
                "rationale": "Needs assessment.",
                "consent_state": "given",
            },
            headers=worker,
        )
        assert decided.status_code == 201, decided.text
        signed = await client.post(
            f"/v1/contacts/{cid}/sign-off", json={"action": "approve"}, headers=manager
        )
        assert signed.status_code == 200, signed.text
        response = await client.get(f"/v1/contacts/{cid}/chronology", headers=worker)
        assert response.status_code == 200
        entries = response.json()["entries"]
        kinds = [e["kind"] for e in entries]
        assert kinds[0] == "received"  # received 09:00 on 23 November, before all the rest
        # Some clocks breached (the contact was received a week ago), then met at the decision.
        work = [k for k in kinds if not k.startswith("clock.")]
        assert work == [
            "received",
            "rag.rated",
            "rag.changed",
            "check.requested",
            "check.nothing_held",
            "note.added",
            "note.correction",
            "decision.recorded",
            "decision.approved",
        ]
        assert {"clock.met"} <= set(kinds)
        times = [e["at"] for e in entries]
        assert times == sorted(times)
        steps = Counter((e["kind"], e["ref_id"]) for e in entries)
        assert max(steps.values()) == 1
        assert "contact.chronology" in await audit_actions(session, cid)

    async def test_unknown_contact_is_404_and_partners_403(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        missing = "/v1/contacts/00000000-0000-0000-0000-000000000000/chronology"
        assert (await client.get(missing, headers=worker)).status_code == 404
        partner = auth("mash_partner", agency_id="police")
        assert (await client.get(missing, headers=partner)).status_code == 403
