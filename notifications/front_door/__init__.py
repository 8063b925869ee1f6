"""The front door told about its breaches: triage's clock events become grouped emails."""
