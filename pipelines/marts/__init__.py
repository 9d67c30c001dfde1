"""Marts: the graph of sql/marts/*.sql built in dependency order (mart_graph.py), peer volumes (peers.py), and
their assets (assets.py)."""
