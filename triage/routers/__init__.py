"""The triage API's routers, one per area."""
