"""Generate each service's OpenAPI document; `--write` refreshes the committed copies."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from services.registry import APPS, SERVICES, load

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"


def render(name: str) -> str:
    document: dict[str, Any] = load(APPS[name])().openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    for name in SERVICES:
        path = OPENAPI_DIR / f"{name}.json"
        if "--write" in argv:
            path.write_text(render(name))
            print(f"wrote {path.relative_to(OPENAPI_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
