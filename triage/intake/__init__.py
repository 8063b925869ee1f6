"""Intake: a MARF arriving on `referral.received` (and its addenda) becoming a contact."""
