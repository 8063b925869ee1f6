"""The shared platform: settings, database, models, auth, audit, events, calendar."""

from importlib.metadata import PackageNotFoundError, version

try:
    # One version number: pyproject.toml's, which every app's OpenAPI document reports.
    __version__ = version("frontdoor")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
