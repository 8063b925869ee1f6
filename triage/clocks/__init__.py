"""Timeliness clocks: the arithmetic (rules.py, I/O-free), the records and the scanner."""
