"""`python -m bench`: list the benchmark modules and how to run each."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def benchmarks() -> list[tuple[str, str]]:
    """(module, first docstring line) for every runnable module; `<name>_*` are its helpers."""
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    runnable = [n for n in names if not n.startswith("_")]
    runnable = [n for n in runnable if not any(n.startswith(f"{o}_") for o in runnable)]
    out: list[tuple[str, str]] = []
    for name in runnable:
        module = importlib.import_module(f"bench.{name}")
        if callable(getattr(module, "main", None)):
            out.append((name, (module.__doc__ or "").strip().splitlines()[0]))
    return out


def main() -> int:
    print("Benchmarks (each prints its figures and the ratio to its baseline):")
    for name, summary in benchmarks():
        print(f"  .venv/bin/python -m bench.{name:<12} {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
