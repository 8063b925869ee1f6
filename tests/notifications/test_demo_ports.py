"""`frontdoor run`'s options reach the services: links follow --port, and both services' mail
(notifications' alerts, triage's reports) goes where DEMO_SMTP_PORT put the sink."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from notifications.delivery.queue import detail_url
from notifications.settings import NotificationsSettings
from services import devtools
from services.cli import demo_environment
from services.settings import get_settings
from triage.reports.jobs import smtp_server
from triage.settings import TriageSettings

VARIABLES = (
    "PUBLIC_BASE_URL",
    "NOTIFICATIONS_SMTP_HOST",
    "NOTIFICATIONS_SMTP_PORT",
    "TRIAGE_SMTP_HOST",
    "TRIAGE_SMTP_PORT",
)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in VARIABLES:  # set first, so the end of the test restores them as they were
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    yield monkeypatch
    get_settings.cache_clear()


class TestDemoPorts:
    def test_links_follow_the_port_and_mail_goes_where_the_sink_listens(
        self, clean_environment: pytest.MonkeyPatch
    ) -> None:
        clean_environment.setattr(devtools, "SMTP_PORT", 8925)
        demo_environment("127.0.0.1", 8123)
        settings = NotificationsSettings()
        assert settings.smtp_port == 8925
        assert settings.smtp_host == devtools.RECEIVER_HOST
        assert detail_url(settings, uuid.uuid4()).startswith("http://127.0.0.1:8123/")
        assert get_settings().public_base_url == "http://127.0.0.1:8123"
        reports = TriageSettings()  # the scheduled reports' mail goes to the same sink
        assert (reports.smtp_host, reports.smtp_port) == (devtools.RECEIVER_HOST, 8925)
        assert smtp_server(reports).port == 8925

    def test_explicit_settings_win(self, clean_environment: pytest.MonkeyPatch) -> None:
        clean_environment.setenv("NOTIFICATIONS_SMTP_PORT", "2525")
        clean_environment.setenv("TRIAGE_SMTP_PORT", "2626")
        clean_environment.setenv("PUBLIC_BASE_URL", "https://frontdoor.council.example")
        demo_environment("0.0.0.0", 8123)
        settings = NotificationsSettings()
        assert (settings.smtp_port, settings.public_base_url) == (
            2525,
            "https://frontdoor.council.example",
        )
        assert TriageSettings().smtp_port == 2626
