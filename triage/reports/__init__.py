"""Management information: the scorecard, the CIN census return and the scheduled reports.

router.py (HTTP) -> service.py (logic and audit, never commits) -> repository.py (SQL);
the definitions (indicators, census rules, schedules) are I/O-free modules beside them.
"""
