"""Dagster resources: the settings and the warehouse (the chain's is pipelines.chain.resources).

Settings come from config/<chain>.yaml and OYSTER_* variables (pipelines.core.config); the resources only say which
file.  Resource setup is the earliest hook of a run, before any step: there the settings are loaded and validated
once (a bad value stops the run with one line naming it), the node's chain id is checked against them (the chain
resource) and the warehouse's identity against both (pipelines.core.preflight, pipelines.core.warehouse_identity).
"""
import dagster as dg
from pydantic import PrivateAttr

from . import warehouse_identity
from .config import ConfigError, Settings, load_settings
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
