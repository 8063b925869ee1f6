"""`frontdoor run` start-up: seconds until the banner and /readyz, first run vs next run.

    .venv/bin/python -m bench.startup [--runs 3]

Each run starts `frontdoor run` on free ports with the embedded PostgreSQL in a temporary
directory, times it to the printed banner and to a 200 from /readyz, then stops it with
SIGINT (timed too). The baseline is the first run (the data directory is created, initdb,
all migrations, the demo seed); the later runs reuse the data, as `make run` does from the
second time on. The goal is ready in under 60 s after dependencies are installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUND_SECONDS = 180.0  # give up on a start that takes longer than this


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def one_run(data_dir: Path) -> tuple[float, float, float]:
    """(seconds to banner, seconds to /readyz 200, seconds to exit after SIGINT)."""
    port, smtp = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        EMBEDDED_DB_DIR=str(data_dir),
        DEMO_RECEIVER_PORT=str(free_port()),
        DEMO_SMTP_PORT=str(smtp),
        NOTIFICATIONS_SMTP_PORT=str(smtp),
        LOG_LEVEL="WARNING",
    )
    command = [str(Path(sys.executable).with_name("frontdoor")), "run", "--port", str(port)]
    log = (data_dir.parent / "run.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        banner = 0.0
        for line in process.stdout:
            if "frontdoor is running" in line:
                banner = time.perf_counter() - started
                break
            if time.perf_counter() - started > BOUND_SECONDS:
                raise TimeoutError("no banner")
        while not ready(port):
            if process.poll() is not None or time.perf_counter() - started > BOUND_SECONDS:
                log.flush()
                raise RuntimeError((data_dir.parent / "run.log").read_text()[-3000:])
            time.sleep(0.05)
        readiness = time.perf_counter() - started
        stopping = time.perf_counter()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        return banner, readiness, time.perf_counter() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="warm runs after the first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="frontdoor-startup-") as tmp:
        data_dir = Path(tmp) / "pgdata"
        first = one_run(data_dir)
        warm = [one_run(data_dir) for _ in range(args.runs)]
    print(f"{'':28}{'banner s':>10}{'/readyz s':>11}{'Ctrl-C s':>10}")
    print(f"{'first run (baseline)':28}{first[0]:>10.2f}{first[1]:>11.2f}{first[2]:>10.2f}")
    medians = [statistics.median(r[i] for r in warm) for i in range(3)]
    print(
        f"{f'next runs (median of {len(warm)})':28}{medians[0]:>10.2f}{medians[1]:>11.2f}"
        f"{medians[2]:>10.2f}"
    )
    print(f"ratio next/first to ready: {medians[1] / first[1]:.2f}")
    print(f"goal < 60 s to ready: {'met' if max(first[1], medians[1]) < 60 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
