"""Refresh the vendored front-end assets from their npm packages at pinned versions.

    python -m services.web.refresh_assets          # fetch, copy, rewrite VENDORED.json
    python -m services.web.refresh_assets --check  # verify the files against VENDORED.json

Only this script needs npm (`npm pack` fetches a package's published tarball); the built
files it copies are committed, so a fresh clone runs without Node. VENDORED.json records each
package's version and the sha256 of every file taken from it; `--check` (and a test) fails
when a vendored file no longer matches what was recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR_TEST = HERE / "vendor"  # served by no route: axe-core is for the browser tests
MANIFEST = STATIC / "VENDORED.json"

# package -> (version, [(path inside the package, destination relative to HERE)])
# govuk-frontend's CSS names its fonts and images under /assets/, so they go there.
PACKAGES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "govuk-frontend": (
        "6.6.0",
        [
            ("dist/govuk/govuk-frontend.min.css", "static/govuk-frontend.min.css"),
            ("dist/govuk/govuk-frontend.min.js", "static/govuk-frontend.min.js"),
            ("dist/govuk/assets/fonts", "static/fonts"),
            ("dist/govuk/assets/images", "static/images"),
            ("dist/govuk/assets/manifest.json", "static/manifest.json"),
        ],
    ),
    "@ministryofjustice/frontend": (
        "11.1.0",
        [
            ("moj/moj-frontend.min.css", "static/moj-frontend.min.css"),
            ("moj/moj-frontend.min.js", "static/moj-frontend.min.js"),
            ("moj/assets/images", "static/images"),
        ],
    ),
    "htmx.org": ("2.0.11", [("dist/htmx.min.js", "static/htmx.min.js")]),
    "axe-core": ("4.14.1", [("axe.min.js", "vendor/axe.min.js")]),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(destination: Path) -> list[Path]:
    return (
        sorted(p for p in destination.rglob("*") if p.is_file())
        if destination.is_dir()
        else [destination]
    )


def _fetch(name: str, version: str, workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = workdir / out.stdout.strip().splitlines()[-1]
    target = workdir / tarball.stem
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def refresh() -> dict[str, str]:
    """Fetch every package, copy its files, write VENDORED.json; returns name -> version."""
    manifest: dict[str, object] = {}
    for directory in ("fonts", "images"):
        shutil.rmtree(STATIC / directory, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, copies) in PACKAGES.items():
            package = _fetch(name, version, Path(tmp))
            files: dict[str, str] = {}
            for source, destination in copies:
                src, dst = package / source, HERE / destination
                dst.parent.mkdir(parents=True, exist_ok=True)
                if src.is_dir():
                    shutil.copytree(src, dst, dirs_exist_ok=True)
                    for path in _files(src):
                        rel = (dst / path.relative_to(src)).relative_to(HERE)
                        files[str(rel)] = sha256(path)
                else:
                    shutil.copyfile(src, dst)
                    files[destination] = sha256(src)
            manifest[name] = {"version": version, "files": dict(sorted(files.items()))}
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return {name: version for name, (version, _) in PACKAGES.items()}


def check() -> list[str]:
    """The vendored files that differ from VENDORED.json (empty: all match)."""
    problems = []
    manifest = json.loads(MANIFEST.read_text())
    for name, entry in manifest.items():
        for rel, digest in entry["files"].items():
            path = HERE / rel
            if not path.is_file():
                problems.append(f"{name}: {rel} is missing")
            elif sha256(path) != digest:
                problems.append(f"{name}: {rel} does not match its recorded sha256")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, fetch nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for line in problems:
            print(line)
        return 1 if problems else 0
    for name, version in refresh().items():
        print(f"{name} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
