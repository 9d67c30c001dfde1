"""Dagster definitions for oyster-lens, one folder per layer, each holding its logic and its Dagster assets; data
flows one way and a layer never imports a later one:
chain (the node client) -> ingest -> state -> marts -> dashboard -> audits, and publish last.  core/ is the shared
plumbing every layer uses (settings, secrets, the warehouse, the catalog, the run lock and published copy) and imports
no layer; definitions.py (the code location) and cli.py put the layers together."""
