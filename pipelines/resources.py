"""Dagster resources: the settings, the chain (a JSON-RPC node, the embedded devnet, or cryo Parquet dumps) and
the warehouse.

Settings come from config/<chain>.yaml and OYSTER_* variables (pipelines.config); the resources only say which
file.  Resource setup is the earliest hook of a run, before any step: there the settings are loaded and validated
once (a bad value stops the run with one line naming it), the node's chain id is checked against them and the
warehouse's identity against both (pipelines.preflight, pipelines.warehouse_identity).  On the devnet the chain
resource starts anvil with the kept history for the duration of a step, so the main job runs with no node of the
user's own.
"""
from contextlib import closing, contextmanager

import dagster as dg
from pydantic import PrivateAttr

from . import warehouse_identity
from .chain.rpc import JsonRpcClient
from .chain.sources import ParquetLogSource, RpcLogSource
from .config import ConfigError, Settings, load_settings
from .preflight import check_node, devnet_head, head_warnings
from .store import reader, writer


def _refuse(context, e: Exception):
    """Log the one-line reason (the event log's first word on it), then stop the run."""
    if context is not None and context.log is not None:
        context.log.error(str(e).splitlines()[0] if str(e) else type(e).__name__)
    raise e


_RUN_SETTINGS: dict = {}  # (run id, file) -> Settings: Dagster sets up each use of the resource (nested ones too)


class OysterConfig(dg.ConfigurableResource):
    """Which settings file to use ('' = OYSTER_CONFIG_FILE or config/<OYSTER_CHAIN or devnet>.yaml)."""
    config_file: str = ""
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = getattr(context, "run", None)
        key = (run.run_id if run is not None else None, self.config_file)
        if key[0] and key in _RUN_SETTINGS:  # loaded once per run
            self._settings = _RUN_SETTINGS[key]
            return
        try:
            self._settings = load_settings(self.config_file or None)
        except ConfigError as e:
            _refuse(context, e)
        for w in self._settings.warnings:
            context.log.warning(w)
        if key[0]:
            while len(_RUN_SETTINGS) >= 16:
                _RUN_SETTINGS.pop(next(iter(_RUN_SETTINGS)))
            _RUN_SETTINGS[key] = self._settings

    def settings(self) -> Settings:
        if self._settings is None:  # outside a run (a direct call): load and validate now
            self._settings = load_settings(self.config_file or None)
        return self._settings


class ChainSource(dg.ConfigurableResource):
    config: dg.ResourceDependency[OysterConfig]
    parquet_dir: str = ""  # read cryo-style Parquet log dumps instead of a node
    _checked: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            for w in self.preflight():
                context.log.warning(w)
        except Exception as e:  # noqa: BLE001 - a refusal, or a node that cannot be reached (masked messages)
            _refuse(context, e)

    def preflight(self) -> list[str]:
        """The node is the settings' chain (eth_chainId); the warnings about start block and confirmations."""
        s = self.config.settings()
        if self.parquet_dir:
            return []
        if s.is_devnet:  # anvil's chain id is the settings' (checked on load); the head is the history's
            head = devnet_head(s)
            self._checked = True
            return head_warnings(s, head) if head is not None else []
        with closing(self._rpc(s.rpc_url, s)) as src:
            facts = check_node(s, src.client)
        self._checked = True
        return facts.warnings

    @contextmanager
    def open(self):
        s = self.config.settings()
        if self.parquet_dir:
            yield ParquetLogSource(self.parquet_dir)
        elif s.is_devnet:
            from devnet.anvil import Anvil
            from devnet.build import build
            hist = build(s.devnet_size, layout=s.devnet_layout)
            with Anvil(load_state=hist / "state.json") as node, closing(self._rpc(node.url, s)) as src:
                yield src
        else:
            if not self._checked:  # opened outside a run: check the node first
                self.preflight()
            with closing(self._rpc(s.rpc_url, s)) as src:
                yield src

    @staticmethod
    def _rpc(url: str, s) -> RpcLogSource:
        return RpcLogSource(JsonRpcClient(url, s.requests_per_second, s.max_retries), s.max_block_span,
                            s.spans_per_request, s.requests_in_flight, verify_depth=s.verify_depth)


class Warehouse(dg.ConfigurableResource):
    config: dg.ResourceDependency[OysterConfig]
    _checked: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self.check_identity()
        except ConfigError as e:
            _refuse(context, e)

    def check_identity(self) -> None:
        """The warehouse holds what these settings index (recorded by the first run): else SettingsRefused."""
        s = self.config.settings()
        path = s.duckdb_path
        if warehouse_identity.check_file(path, s):  # recorded and the same: nothing written
            self._checked = True
            return
        with writer(path) as con:  # a new warehouse: its identity is recorded now
            warehouse_identity.check(con, s, path)
        self._checked = True

    @property
    def path(self) -> str:
        return self.config.settings().duckdb_path

    def writer(self):
        if not self._checked:  # used outside a run
            self.check_identity()
        return writer(self.path)

    def reader(self):
        return reader(self.path)
