"""The dashboard: sql/dashboard/*.sql rendered to one HTML page (dashboard.py, with the charts and number formats
of charts.py, which the LP audit report shares), and its asset (assets.py)."""
