"""LP audits, split by concern: target.py (what is audited, and how an LP names a range), data.py (reading the
warehouse), accounting.py (the exact numbers of one range from the pair's events), report.py (the HTML page and
its method section).  lp_audit.py ties them together; assets.py is the lp_audit asset."""
