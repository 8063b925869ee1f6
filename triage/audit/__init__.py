"""The audit-read API: who read or changed which contact, when."""
