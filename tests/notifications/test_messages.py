"""Thin bodies and emails: nothing identifying."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from notifications.delivery import messages

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class TestWebhookBody:
    def test_is_thin_and_under_two_kilobytes(self) -> None:
        nid = uuid.uuid4()
        body = messages.webhook_body(
            notification_id=nid,
            school_urn="107301",
            incident_date=date(2026, 11, 20),
            deadline_at=NOW,
            detail_url=f"http://frontdoor.test/v1/notifications/{nid}",
            now=NOW,
        )
        assert len(body.encode()) < 2048
        parsed = json.loads(body)
        assert parsed["type"] == "encompass.notification.created"
        assert set(parsed["data"]) == {
            "notification_id",
            "school_urn",
            "incident_date",
            "respond_before",
            "detail_url",
        }


class TestEmails:
    def test_alert_email_names_no_one_and_asks_not_to_contact_parents(self) -> None:
        subject, text = messages.alert_email(
            school_urn="107301",
            notification_id=uuid.uuid4(),
            incident_date=date(2026, 11, 20),
            detail_url="http://frontdoor.test/v1/notifications/x",
        )
        assert "107301" in subject
        assert "do not contact the child's parents" in text
