"""Where each service's app, worker and demo seed live, by import string.

The platform must not import the services (an import-linter contract), so the command line
and the all-in-one process find them by name at run time.
"""

from __future__ import annotations

import importlib
from typing import Any

SERVICES = ("referral_api", "triage", "notifications")

APPS = {name: f"{name}.main:create_app" for name in SERVICES}
WORKERS = {name: f"{name}.worker:build_worker" for name in SERVICES}
# Seeds run in this order: the calendar and rule set before the schools that alerts need.
# What `frontdoor purge` (services.retention) runs in each service: `async (maker) -> count`.
PURGES = {
    "referral_api": "referral_api.worker:purge_idempotency_keys",
    "notifications": "notifications.delivery.jobs:purge_delivery_bodies",
}
DEMO_SEEDS = {name: f"{name}.demo:seed" for name in ("triage", "notifications", "referral_api")}


def load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def load_or(target: str, default: object) -> Any:
    """`load`, or `default` when the module lacks the attribute (an optional declaration,
    such as `DIRECT_ROUTES` in a service's `main.py`)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute, default)
