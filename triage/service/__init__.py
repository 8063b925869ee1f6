"""The triage service layer: never commits; the request or worker job owns the transaction."""
