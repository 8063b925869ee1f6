"""The DV lane: joint police and social-worker screening, Operation Encompass."""
