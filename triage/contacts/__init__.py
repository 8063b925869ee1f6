"""Contacts: record, read, claim, release, assign, decide, sign off, feedback, clocks."""
