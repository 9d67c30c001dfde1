"""Ingestion: logs from the chain into raw_logs (ingest.py, with ahead.py's pipelined stages), decoded into one
table per event (decode.py), the parallel backfill (backfill.py), re-checking landed ranges against the node
(verify.py), and their assets (assets.py)."""
