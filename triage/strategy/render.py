"""The plain-text rendering of a strategy discussion summary (pure)."""

from __future__ import annotations

from triage.strategy.schemas import DiscussionSummary


def summary_text(summary: DiscussionSummary) -> str:
    """The summary as plain text, for attendees who cannot take the page (email, print)."""
    lines = [
        summary.title,
        "=" * len(summary.title),
        f"Contact reference: {summary.contact_reference}",
        f"Held: {summary.held_at_local}",
        "Formal strategy discussion: " + ("yes" if summary.formal else "no"),
    ]
    if not summary.formal and summary.not_formal_reason:
        lines.append(f"Why not formal: {summary.not_formal_reason}")
    if summary.children:
        lines += ["", "Children:"]
        lines += [
            f"  - {c.name}" + (f" (age {c.age})" if c.age is not None else "")
            for c in summary.children
        ]
    lines += ["", "Taking part:"]
    lines += [f"  - {p.name}, {p.role}, {p.agency}" for p in summary.participants]
    lines += ["", "Information shared:", summary.information_shared, ""]
    lines.append(f"Decision: {summary.decision_label}")
    if summary.decision_reason:
        lines.append(f"Reason: {summary.decision_reason}")
    if summary.icpc_due_local:
        lines.append(f"Initial child protection conference due by: {summary.icpc_due_local}")
    if summary.actions:
        lines += ["", "Actions:"]
        for a in summary.actions:
            done = f", done {a.done_on.isoformat()}" if a.done_on else ""
            lines.append(
                f"  {a.position + 1}. {a.description} (owner {a.owner}, due {a.due_on}{done})"
            )
    return "\n".join(lines) + "\n"
