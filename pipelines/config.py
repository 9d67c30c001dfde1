"""Settings: a YAML file (config/<chain>.yaml) overlaid by OYSTER_* environment variables.

Every setting has a working default (the devnet).  A bad value stops with a message naming the setting; the RPC
URL may carry an API key, so it is only ever shown redacted.
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
_ADDR = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ConfigError(ValueError):
    pass


def redact(url: str) -> str:
    """Scheme and host only: paths, queries and user info often hold API keys."""
    if not url or url == "devnet":
        return url
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/***" if (parts.path.strip("/") or parts.query) else f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class Settings:
    chain: str = "devnet"
    chain_id: int = 31337
    rpc_url: str = "devnet"
    devnet_size: str = "default"
    gate: str = ""
    config: str = ""
    observer: str = ""  # SynFutures' Observer lens; '' skips the comparison
    observer_samples: int = 3  # checkpoints (newest first) compared with it; older ones need an archive node
    markets: dict = field(default_factory=dict)
    start_block: int = 0
    confirmations: int = 0
    max_block_span: int = 50
    requests_per_second: float = 0
    spans_per_request: int = 8  # eth_getLogs spans sent as one JSON-RPC batch (one request for the rate limit)
    requests_in_flight: int = 4  # eth_getLogs requests out at once (the rate limit still holds)
    max_retries: int = 6
    reorg_window: int = 64
    duckdb_path: str = str(ROOT / "data" / "oyster.duckdb")
    quote_decimals: dict = field(default_factory=dict)

    @property
    def is_devnet(self) -> bool:
        return self.rpc_url == "devnet"

    @property
    def safe_rpc_url(self) -> str:
        return redact(self.rpc_url)

    def __repr__(self) -> str:  # never leak the RPC URL through a repr in a log
        return f"Settings(chain={self.chain!r}, rpc_url={self.safe_rpc_url!r}, duckdb_path={self.duckdb_path!r})"


_ENV = {
    "OYSTER_CHAIN": "chain", "OYSTER_RPC_URL": "rpc_url", "OYSTER_START_BLOCK": "start_block",
    "OYSTER_CONFIRMATIONS": "confirmations", "OYSTER_DUCKDB_PATH": "duckdb_path",
    "OYSTER_MAX_BLOCK_SPAN": "max_block_span", "OYSTER_REQUESTS_PER_SECOND": "requests_per_second",
    "OYSTER_DEVNET_SIZE": "devnet_size", "OYSTER_GATE": "gate", "OYSTER_CONFIG": "config",
    "OYSTER_SPANS_PER_REQUEST": "spans_per_request", "OYSTER_REQUESTS_IN_FLIGHT": "requests_in_flight",
}
_INT = {"chain_id", "start_block", "confirmations", "max_block_span", "spans_per_request", "requests_in_flight",
        "max_retries", "reorg_window", "observer_samples"}


def _expand(value):
    if isinstance(value, str):
        def sub(m):
            v = os.environ.get(m.group(1))
            if v is None:
                raise ConfigError(f"setting refers to ${{{m.group(1)}}}, which is not set in the environment")
            return v
        return re.sub(r"\$\{([A-Z0-9_]+)\}", sub, value)
    return value


def load_settings(path: str | os.PathLike | None = None, env: dict | None = None) -> Settings:
    """Settings from `path` (or OYSTER_CONFIG_FILE, or config/<OYSTER_CHAIN or devnet>.yaml) and the environment."""
    env = os.environ if env is None else env
    chain = env.get("OYSTER_CHAIN", "devnet")
    path = Path(path or env.get("OYSTER_CONFIG_FILE") or ROOT / "config" / f"{chain}.yaml")
    if not path.exists():
        raise ConfigError(f"OYSTER_CONFIG_FILE / OYSTER_CHAIN: config file {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    values: dict = {}
    for k, v in raw.items():
        if k not in Settings.__dataclass_fields__:
            raise ConfigError(f"{path.name}: unknown setting '{k}'")
        if k == "rpc_url" and isinstance(v, str) and "${" in v and env.get("OYSTER_RPC_URL"):
            v = env["OYSTER_RPC_URL"]
        try:
            values[k] = _expand(v)
        except ConfigError as e:
            raise ConfigError(f"{k}: {e}") from None
    for var, k in _ENV.items():
        if env.get(var) not in (None, ""):
            values[k] = env[var]
    for k in list(values):
        if k in _INT:
            try:
                values[k] = int(values[k])
            except (TypeError, ValueError):
                raise ConfigError(f"{k}: expected a whole number, got {values[k]!r}") from None
        if k == "requests_per_second":
            try:
                values[k] = float(values[k])
            except (TypeError, ValueError):
                raise ConfigError(f"requests_per_second: expected a number, got {values[k]!r}") from None
    s = Settings(**values)
    _validate(s)
    return s


def _validate(s: Settings) -> None:
    for name in ("gate", "config"):
        if not _ADDR.match(getattr(s, name) or ""):
            raise ConfigError(f"{name}: '{getattr(s, name)}' is not a 20-byte hex address")
    if s.observer and not _ADDR.match(s.observer):
        raise ConfigError(f"observer: '{s.observer}' is not a 20-byte hex address")
    for mtype, addr in s.markets.items():
        if not _ADDR.match(addr or ""):
            raise ConfigError(f"markets.{mtype}: '{addr}' is not a 20-byte hex address")
    if not s.is_devnet and not re.match(r"^https?://", s.rpc_url):
        raise ConfigError(f"rpc_url: expected http(s)://... or 'devnet', got {s.safe_rpc_url!r}")
    if s.start_block < 0 or s.confirmations < 0 or s.max_block_span < 1:
        raise ConfigError("start_block, confirmations must be >= 0 and max_block_span >= 1")
    for name in ("spans_per_request", "requests_in_flight"):
        if getattr(s, name) < 1:
            raise ConfigError(f"{name}: expected 1 or more, got {getattr(s, name)}")
    if s.devnet_size not in ("small", "default", "medium", "large"):
        raise ConfigError(f"devnet_size: expected small, default, medium or large, got {s.devnet_size!r}")
