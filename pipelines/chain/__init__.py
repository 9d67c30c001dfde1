"""Chain access, the first layer: the JSON-RPC client (rpc.py), adaptive log fetching (logs.py), the log sources (RPC,
cryo Parquet dumps: sources.py) and the chain resource (resources.py)."""
