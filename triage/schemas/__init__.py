"""Request and response bodies of the triage API, one module per area."""
