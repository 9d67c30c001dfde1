"""Shared plumbing, imported by every layer and importing none: settings (config.py, secrets.py, preflight.py,
warehouse_identity.py), the settings and warehouse resources (resources.py), the DuckDB warehouse (store.py), what a
table's materialization reports (catalog.py), checks (quality.py, ge_worker.py), progress (progress.py), and the run lock and
published copy (publish.py)."""
