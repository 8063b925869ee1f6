"""The council's triage configuration (calendar, sign-off outcomes, allowed decisions)."""
