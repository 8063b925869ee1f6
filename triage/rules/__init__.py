"""The Continuum of Need rule engine: rule sets as data, validated, evaluated purely."""
