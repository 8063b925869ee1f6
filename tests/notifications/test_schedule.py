"""Retry timing fitted to the deadline (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.retry import RetryPolicy
from services.webhooks.schedule import next_attempt_at, parse_retry_after

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
POLICY = RetryPolicy(steps=(0, 5, 60, 300, 900), repeat=1800, jitter=0.1)


def mid() -> float:
    return 0.5  # no jitter


class TestNextAttempt:
    def test_follows_the_configured_steps_then_repeats(self) -> None:
        delays = [
            (next_attempt_at(POLICY, now=NOW, attempts_made=n, rand=mid) or NOW) - NOW
            for n in range(1, 7)
        ]
        assert [d.total_seconds() for d in delays] == [5, 60, 300, 900, 1800, 1800]

    def test_jitter_stays_within_ten_percent(self) -> None:
        low = next_attempt_at(POLICY, now=NOW, attempts_made=2, rand=lambda: 0.0)
        high = next_attempt_at(POLICY, now=NOW, attempts_made=2, rand=lambda: 0.999999)
        assert low == NOW + timedelta(seconds=54)
        assert high is not None
        assert high <= NOW + timedelta(seconds=66)

    def test_a_retry_past_the_fallback_point_is_pulled_onto_it(self) -> None:
        fallback = NOW + timedelta(minutes=10)
        at = next_attempt_at(POLICY, now=NOW, attempts_made=5, fallback_at=fallback, rand=mid)
        assert at == fallback

    def test_after_the_fallback_point_a_retry_is_pulled_onto_the_deadline(self) -> None:
        deadline = NOW + timedelta(minutes=20)
        at = next_attempt_at(
            POLICY,
            now=NOW,
            attempts_made=5,
            fallback_at=NOW - timedelta(minutes=1),
            deadline_at=deadline,
            rand=mid,
        )
        assert at == deadline

    def test_gives_up_after_the_give_up_time(self) -> None:
        give_up = NOW + timedelta(minutes=1)
        assert next_attempt_at(POLICY, now=NOW, attempts_made=5, give_up_at=give_up) is None

    def test_retry_after_is_honoured_up_to_the_cap(self) -> None:
        at = next_attempt_at(POLICY, now=NOW, attempts_made=1, retry_after=120, rand=mid)
        assert at == NOW + timedelta(seconds=120)
        capped = next_attempt_at(POLICY, now=NOW, attempts_made=1, retry_after=10**6, rand=mid)
        assert capped == NOW + timedelta(seconds=POLICY.max_retry_after)


class TestRetryAfter:
    def test_reads_seconds_and_http_dates(self) -> None:
        assert parse_retry_after("30", NOW) == 30
        assert parse_retry_after("Mon, 23 Nov 2026 06:01:00 GMT", NOW) == 60
        assert parse_retry_after("soon", NOW) is None
        assert parse_retry_after(None, NOW) is None
