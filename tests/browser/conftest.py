"""The browser tests' harness: `frontdoor run` on a free loopback port, Debian's Chromium.

The combined app runs exactly as `make run` starts it (migrate, demo council, every API and
worker, the demo school receiver and SMTP sink) against the test database. Playwright drives
the system Chromium (`apt-get install chromium`): its own browser download cannot reach its
host here. In CI (CI=true) a missing Chromium fails the run; elsewhere it skips, saying how to
install it. axe-core (vendored, pinned) checks every page a journey visits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.web.refresh_assets import VENDOR_TEST
from tests.database import ROOT, truncate_all
from tests.e2e.conftest import free_port, frontdoor_command, process_env

CHROMIUM_MISSING = (
    "Chromium is not installed: the browser tests need Debian's package "
    "(run `apt-get install chromium`)."
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# WCAG 2.2 AA, the level UK public-sector websites must meet.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Bounds, never expectations: a healthy start takes a fraction of this.
STARTUP_WAIT_SECONDS = 120.0
STOP_WAIT_SECONDS = 20.0


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(CHROMIUM_MISSING)
        pytest.skip(CHROMIUM_MISSING)
    return path


@dataclass
class Console:
    """The running product: its base URL, the demo receiver's, and the process's log."""

    base: str
    receiver: str
    log_path: Path
    popen: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def check_running(self) -> None:
        assert self.popen.poll() is None, f"frontdoor run exited:\n{self.log()}"


def _wait_ready(console: Console) -> None:
    deadline = time.monotonic() + STARTUP_WAIT_SECONDS
    while time.monotonic() < deadline:
        console.check_running()
        try:
            if httpx.get(f"{console.base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"frontdoor run did not become ready:\n{console.log()}")


@pytest.fixture(scope="module")
def console(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    chromium_path()  # fail or skip before starting anything
    truncate_all(database_url)
    port, receiver_port, smtp_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("console") / "run.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            frontdoor_command("run", "--port", str(port)),
            cwd=ROOT,
            env=process_env(
                database_url,
                DEMO_RECEIVER_PORT=str(receiver_port),
                DEMO_SMTP_PORT=str(smtp_port),
                NOTIFICATIONS_SMTP_PORT=str(smtp_port),
                PUBLIC_BASE_URL=base,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        console = Console(base, f"http://127.0.0.1:{receiver_port}", log_path, popen)
        try:
            _wait_ready(console)
            yield console
        finally:
            popen.send_signal(signal.SIGINT)
            try:
                popen.wait(timeout=STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=STOP_WAIT_SECONDS)
            truncate_all(database_url)


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Any]:
    """Module-scoped: Playwright's sync API runs an event loop on this thread while it is open,
    and the async tests that follow need the thread without one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any, console: Console) -> Iterator[Any]:
    """`new_page()`: a page in a fresh context (its own cookies: a person at their desk)."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=console.base, viewport={"width": 1000, "height": 760}, locale="en-GB"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


AXE_SOURCE = (VENDOR_TEST / "axe.min.js").read_text()


def assert_accessible(page: Any) -> None:
    """axe-core on the page as it is now: no WCAG 2.2 AA violation."""
    # Evaluated through the DevTools protocol, so the page's CSP (no inline script) stays on.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert not violations, f"{page.url}:\n" + "\n".join(violations)


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The viewport only (not the whole page): small files for the docs.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
