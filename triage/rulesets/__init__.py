"""Continuum of Need rule-set versions: drafts, publishing, dry runs, diffs."""
