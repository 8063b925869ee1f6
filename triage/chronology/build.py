"""The chronology (pure): every step of a contact's history once, in time order.

Each record contributes its own steps: a rating, a check requested and (later) answered, a
note, a strategy discussion, a decision and its sign-off, feedback, each clock met or
breached, the handover delivered. Ties in time keep the order of the work (received first).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from services.models.triage import TriageContact
from triage.chronology.repository import History
from triage.chronology.schemas import ChronologyEntry

# Where steps at the same instant go (the order the work happens in).
_RANK = {
    "received": 0,
    "addendum.added": 1,
    "dv.screened": 2,
    "rag.rated": 3,
    "rag.changed": 3,
    "check.requested": 4,
    "check.answered": 5,
    "check.nothing_held": 5,
    "check.declined": 5,
    "note.added": 6,
    "note.correction": 6,
    "strategy.discussion": 7,
    "decision.recorded": 8,
    "decision.approved": 9,
    "decision.returned": 9,
    "clock.met": 10,
    "clock.breached": 10,
    "feedback.given": 11,
    "handover.delivered": 12,
}
E = ChronologyEntry


def _contact(contact: TriageContact) -> list[E]:
    out = [
        E(
            at=contact.received_at,
            kind="received",
            summary=f"Contact received by {contact.channel}",
            actor=contact.recorded_by,
            ref_id=contact.id,
        )
    ]
    if contact.feedback_given_at is not None:
        out.append(
            E(
                at=contact.feedback_given_at,
                kind="feedback.given",
                summary="Feedback given to the referrer",
            )
        )
    return out


def _ratings(history: History) -> list[E]:
    return [
        E(
            at=r.set_at,
            kind="rag.changed" if r.previous_rag else "rag.rated",
            summary=(f"RAG {r.previous_rag} -> {r.rag}: " if r.previous_rag else f"Rated {r.rag}: ")
            + r.reason,
            actor=r.set_by,
            ref_id=r.id,
        )
        for r in history.ratings
    ]


def _checks(history: History) -> list[E]:
    out = []
    for c in history.checks:
        out.append(
            E(
                at=c.requested_at,
                kind="check.requested",
                summary=f"Check requested from {c.agency_id}",
                actor=c.requested_by,
                ref_id=c.id,
            )
        )
        if c.responded_at is not None:
            late = " (late)" if c.responded_at > c.due_at else ""
            out.append(
                E(
                    at=c.responded_at,
                    kind=f"check.{c.status}",
                    summary=f"{c.agency_id}: {c.status.replace('_', ' ')}{late}",
                    actor=c.responded_by,
                    ref_id=c.id,
                )
            )
    return out


def _note_summary(note: Any, by_id: dict[str, Any]) -> str:
    """A correction says which note it corrects: its author and when it was written."""
    if not note.corrects_id:
        return str(note.text)
    old = by_id.get(str(note.corrects_id))
    if old is None:
        return f"Corrects note {note.corrects_id}: {note.text}"
    written = old.written_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Corrects the note by {old.author} of {written} ({old.id}): {note.text}"


def _notes(history: History) -> list[E]:
    by_id = {str(n.id): n for n in history.notes}
    return [
        E(
            at=n.written_at,
            kind="note.correction" if n.corrects_id else "note.added",
            summary=_note_summary(n, by_id),
            actor=n.author,
            ref_id=n.id,
        )
        for n in history.notes
    ]


def _discussions(history: History) -> list[E]:
    return [
        E(
            at=d.held_at,
            kind="strategy.discussion",
            summary=(
                "Strategy discussion"
                if d.formal
                else "Discussion (not a formal strategy discussion)"
            )
            + f": {d.decision}",
            actor=d.recorded_by,
            ref_id=d.id,
        )
        for d in history.discussions
    ]


def _decisions(history: History) -> list[E]:
    out = []
    for d in history.decisions:
        out.append(
            E(
                at=d.made_at,
                kind="decision.recorded",
                summary=f"Decision: {d.outcome}",
                actor=d.made_by,
                ref_id=d.id,
            )
        )
        if d.signed_off_at is not None and d.status in ("approved", "returned"):
            out.append(
                E(
                    at=d.signed_off_at,
                    kind=f"decision.{d.status}",
                    summary=f"Decision {d.status} by a manager",
                    actor=d.signed_off_by,
                    ref_id=d.id,
                )
            )
    return out


def _clocks(history: History) -> list[E]:
    out = []
    for k in history.clocks:
        if k.breached_at is not None:
            out.append(
                E(
                    at=k.breached_at,
                    kind="clock.breached",
                    summary=f"Clock {k.kind} breached",
                    ref_id=k.id,
                )
            )
        if k.met_at is not None:
            on_time = "on time" if k.met_at <= k.deadline_at else "late"
            out.append(
                E(
                    at=k.met_at,
                    kind="clock.met",
                    summary=f"Clock {k.kind} met ({on_time})",
                    ref_id=k.id,
                )
            )
    return out


def _others(history: History) -> list[E]:
    out = [
        E(
            at=a.added_at,
            kind="addendum.added",
            summary="Addendum added by the referrer",
            ref_id=a.id,
        )
        for a in history.addenda
    ]
    out += [
        E(
            at=s.screened_at,
            kind="dv.screened",
            summary=f"DV screening: {s.route_to}",
            actor=s.screened_by,
            ref_id=s.id,
        )
        for s in history.screenings
    ]
    out += [
        E(
            at=h.delivered_at,
            kind="handover.delivered",
            summary=f"Handed over to the case system ({h.handover_type})",
            ref_id=h.id,
        )
        for h in history.handovers
        if h.delivered_at is not None
    ]
    return out


def chronology(contact: TriageContact, history: History) -> list[E]:
    entries = [
        *_contact(contact),
        *_ratings(history),
        *_checks(history),
        *_notes(history),
        *_discussions(history),
        *_decisions(history),
        *_clocks(history),
        *_others(history),
    ]
    return sorted(entries, key=lambda e: (e.at, _RANK.get(e.kind, 99), str(e.ref_id)))
