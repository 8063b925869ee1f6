"""Benchmarks: runnable modules (`python -m bench.<name>`), each against a baseline."""

import os

# The benchmarks measure throughput, which the per-caller rate limits would cap (one partner
# token sends everything); every bench process and the servers it starts run without them.
os.environ.setdefault("RATE_LIMIT_ENABLED", "false")
