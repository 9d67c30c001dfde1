"""Chain access: the JSON-RPC client, adaptive log fetching and the log sources (RPC, cryo Parquet dumps)."""
