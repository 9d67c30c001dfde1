"""Dagster resources: the chain (a JSON-RPC node, the embedded devnet, or cryo Parquet dumps) and the warehouse.

Settings come from config/<chain>.yaml and OYSTER_* variables (pipelines.config); the resources only say which
file.  On the devnet the chain resource starts anvil with the kept history for the duration of a step, so the
main job runs with no node of the user's own.
"""
from contextlib import closing, contextmanager

import dagster as dg

from .chain.rpc import JsonRpcClient
from .chain.sources import ParquetLogSource, RpcLogSource
from .config import Settings, load_settings
from .store import reader, writer


class OysterConfig(dg.ConfigurableResource):
    """Which settings file to use ('' = OYSTER_CONFIG_FILE or config/<OYSTER_CHAIN or devnet>.yaml)."""
    config_file: str = ""

    def settings(self) -> Settings:
        return load_settings(self.config_file or None)


class ChainSource(dg.ConfigurableResource):
    config: dg.ResourceDependency[OysterConfig]
    parquet_dir: str = ""  # read cryo-style Parquet log dumps instead of a node

    @contextmanager
    def open(self):
        s = self.config.settings()
        if self.parquet_dir:
            yield ParquetLogSource(self.parquet_dir)
        elif s.is_devnet:
            from devnet.anvil import Anvil
            from devnet.build import build
            hist = build(s.devnet_size)
            with Anvil(load_state=hist / "state.json") as node, closing(self._rpc(node.url, s)) as src:
                yield src
        else:
            with closing(self._rpc(s.rpc_url, s)) as src:
                yield src

    @staticmethod
    def _rpc(url: str, s) -> RpcLogSource:
        return RpcLogSource(JsonRpcClient(url, s.requests_per_second, s.max_retries), s.max_block_span,
                            s.spans_per_request, s.requests_in_flight)


class Warehouse(dg.ConfigurableResource):
    config: dg.ResourceDependency[OysterConfig]

    @property
    def path(self) -> str:
        return self.config.settings().duckdb_path

    def writer(self):
        return writer(self.path)

    def reader(self):
        return reader(self.path)
