"""The shared platform: settings, database, models, auth, audit, events, calendar."""
