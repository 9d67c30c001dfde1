"""Settings: a YAML file (config/<chain>.yaml) overlaid by OYSTER_* environment variables, validated as one model.

Every setting has a type, a range and a working default (the devnet).  `load_settings` checks all of them before
any work starts; a bad value raises ConfigError, whose message is one line naming the setting, where it came from
(the file or the variable), its value (the RPC URL masked) and what is allowed.  `${NAME}` in the file refers to
an environment variable, which must be set.  The RPC URL may carry an API key anywhere in its user info, path or
query: it is parsed by pipelines.core.secrets and only ever shown masked.
"""
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .secrets import UrlError, mask_url, parse_rpc_url

ROOT = Path(__file__).resolve().parents[2]
DEVNET_CHAIN_ID = 31337  # anvil's
DEVNET_SIZES = ("small", "default", "medium", "large")
_ADDR = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_REF = re.compile(r"\$\{([^}]*)\}")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """A bad setting: the message is one line (setting, source, value with secrets masked, what is allowed)."""


def redact(url: str) -> str:
    """The URL with user info, path and query masked (pipelines.core.secrets.mask_url)."""
    return mask_url(url)


@dataclass(frozen=True)
class Settings:
    chain: str = "devnet"
    chain_id: int = DEVNET_CHAIN_ID
    rpc_url: str = "devnet"
    devnet_size: str = "default"
    devnet_layout: str = "legacy"  # the embedded devnet's ABI: legacy (Base, Blast) or current (newer chains)
    order_spacing: int = 5  # ticks between order (pearl) ticks: 5 on Base and Blast, 1 on current-ABI chains
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
    verify_depth: int = 0  # blocks below the head checked in full (every header, bloom completeness); 0 = all
    backfill_workers: int = 4  # block ranges landed_logs (backfill_job) fetches at once
    # blocks in one landed_logs partition (a key names an aligned range: 000015700000-000015799999); the devnets: 50
    backfill_partition_blocks: int = 100_000
    duckdb_path: str = ""  # '' = data/<chain>/oyster.duckdb (the devnet: data/devnet-<size>/oyster.duckdb)
    quote_decimals: dict = field(default_factory=dict)
    # where each setting came from ('default', the file's name, or the variable), for messages; not compared
    origin: dict = field(default_factory=dict, compare=False, repr=False)
    warnings: tuple = field(default=(), compare=False, repr=False)  # legal but surprising values

    @property
    def is_devnet(self) -> bool:
        """The embedded devnet (anvil started by the pipeline with a kept history)."""
        return self.rpc_url == "devnet"

    @property
    def safe_rpc_url(self) -> str:
        return mask_url(self.rpc_url)

    @property
    def data_dir(self) -> Path:
        """The folder of the warehouse: its outputs (dashboard, audits, landing files) live beside it."""
        return Path(self.duckdb_path).parent

    @property
    def landing_dir(self) -> Path:
        """The parallel backfill's Parquet files of this warehouse: <file stem>.landing/ beside it."""
        db = Path(self.duckdb_path)
        return db.with_name(db.stem + ".landing")

    def __repr__(self) -> str:  # never leak the RPC URL through a repr in a log
        return f"Settings(chain={self.chain!r}, rpc_url={self.safe_rpc_url!r}, duckdb_path={self.duckdb_path!r})"

    __str__ = __repr__


# OYSTER_* variables and the setting each overrides (OYSTER_CONFIG_FILE picks the file)
ENV = {
    "OYSTER_CHAIN": "chain", "OYSTER_CHAIN_ID": "chain_id", "OYSTER_RPC_URL": "rpc_url",
    "OYSTER_START_BLOCK": "start_block", "OYSTER_CONFIRMATIONS": "confirmations",
    "OYSTER_DUCKDB_PATH": "duckdb_path", "OYSTER_MAX_BLOCK_SPAN": "max_block_span",
    "OYSTER_REQUESTS_PER_SECOND": "requests_per_second", "OYSTER_DEVNET_SIZE": "devnet_size",
    "OYSTER_GATE": "gate", "OYSTER_CONFIG": "config", "OYSTER_OBSERVER": "observer",
    "OYSTER_OBSERVER_SAMPLES": "observer_samples", "OYSTER_SPANS_PER_REQUEST": "spans_per_request",
    "OYSTER_REQUESTS_IN_FLIGHT": "requests_in_flight", "OYSTER_MAX_RETRIES": "max_retries",
    "OYSTER_REORG_WINDOW": "reorg_window", "OYSTER_DEVNET_LAYOUT": "devnet_layout",
    "OYSTER_ORDER_SPACING": "order_spacing", "OYSTER_VERIFY_DEPTH": "verify_depth",
    "OYSTER_BACKFILL_WORKERS": "backfill_workers", "OYSTER_BACKFILL_PARTITION_BLOCKS": "backfill_partition_blocks",
}
# variables read elsewhere (not settings): a typo of a setting's variable is warned about, these are not
OTHER_VARS = {"OYSTER_CONFIG_FILE"}

# whole-number settings: (lowest, highest) allowed
INT_RANGES = {
    "chain_id": (1, 2**53 - 1), "start_block": (0, 2**63 - 1), "confirmations": (0, 1_000_000),
    "max_block_span": (1, 10_000_000), "spans_per_request": (1, 1000), "requests_in_flight": (1, 64),
    "max_retries": (0, 100), "reorg_window": (1, 1_000_000), "observer_samples": (1, 1000),
    "order_spacing": (1, 5), "verify_depth": (0, 10_000_000), "backfill_workers": (1, 64),
    "backfill_partition_blocks": (10, 100_000_000),
}
QUOTE_DECIMALS = (0, 18)  # amounts are WAD: a quote's decimals divide 1e18
DEVNET_LAYOUTS = {"legacy": 5, "current": 1}  # the devnet's ABI layout -> its order spacing
ORDER_SPACINGS = (1, 5)


def url_is_devnet(v: dict) -> bool:
    return v.get("rpc_url", "devnet") == "devnet"


def _show(name: str, value) -> str:
    if name == "rpc_url" and isinstance(value, str):
        return repr(mask_url(value))
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _bad(name: str, value, allowed: str, origin: dict) -> ConfigError:
    src = origin.get(name.split(".")[0], "default")
    return ConfigError(f"bad setting {name} = {_show(name, value)} (from {src}): {allowed}")


def _expand(name: str, value, env, origin):
    """Substitute ${NAME} references to environment variables (in strings, also inside mappings)."""
    if isinstance(value, dict):
        return {k: _expand(f"{name}.{k}", v, env, origin) for k, v in value.items()}
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(m):
        var = m.group(1)
        if not _VAR.match(var):
            raise _bad(name, m.group(0), "a reference is ${NAME} with NAME made of letters, digits and _", origin)
        if env.get(var) in (None, ""):
            raise ConfigError(f"bad setting {name} (from {origin.get(name.split('.')[0], 'default')}): it refers to "
                              f"${{{var}}}, which is not set in the environment: export {var}=... or change the file")
        return env[var]

    out = _REF.sub(sub, value)
    if "${" in _REF.sub("", value):
        raise _bad(name, value if name != "rpc_url" else "${...", "an unterminated ${ reference", origin)
    return out


def _int(name, value, origin) -> int:
    lo, hi = INT_RANGES[name]
    allowed = f"a whole number from {lo:,} to {hi:,}" if hi < 2**53 - 1 else f"a whole number >= {lo:,}"
    given = value
    if isinstance(value, bool):
        raise _bad(name, value, allowed, origin)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise _bad(name, value, allowed, origin)
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(name, given, allowed, origin)
    return value


def _address(name, value, origin, optional=False) -> str:
    if optional and value in ("", None):
        return ""
    if not isinstance(value, str) or not _ADDR.match(value):
        raise _bad(name, value, "a 20-byte hex address, 0x and 40 hex digits" + (" (or '' for none)" if optional
                                                                               else ""), origin)
    return value


def _validate(v: dict, origin: dict) -> dict:
    """Checked and normalised values; raises ConfigError on the first bad one."""
    out = dict(v)
    chain = v.get("chain", "devnet")
    if not isinstance(chain, str) or not _NAME.match(chain):
        raise _bad("chain", chain, "a name of lowercase letters, digits, - and _ (config/<chain>.yaml)", origin)
    for name in INT_RANGES:
        if name in v:
            out[name] = _int(name, v[name], origin)
    if "requests_per_second" in v:
        r = v["requests_per_second"]
        try:
            rate = float(r) if not isinstance(r, bool) else math.nan
        except (TypeError, ValueError):
            rate = math.nan
        if not math.isfinite(rate) or rate < 0:
            raise _bad("requests_per_second", r, "a number >= 0 (0 = no limit)", origin)
        out["requests_per_second"] = rate
    size = v.get("devnet_size", "default")
    if size not in DEVNET_SIZES:
        raise _bad("devnet_size", size, "one of " + ", ".join(DEVNET_SIZES), origin)
    layout = v.get("devnet_layout", "legacy")
    if layout not in DEVNET_LAYOUTS:
        raise _bad("devnet_layout", layout, "one of " + ", ".join(DEVNET_LAYOUTS) + " (legacy: Base's and Blast's "
                   "ABI; current: newer chains')", origin)
    if "order_spacing" in v:
        sp = v["order_spacing"]
        out["order_spacing"] = _int("order_spacing", sp, origin)
        if out["order_spacing"] not in ORDER_SPACINGS:
            raise _bad("order_spacing", sp, "5 (Base, Blast) or 1 (chains on the current ABI)", origin)
    if url_is_devnet(v) and out.get("order_spacing", 5) != DEVNET_LAYOUTS[layout]:
        raise _bad("order_spacing", out.get("order_spacing", 5), f"{DEVNET_LAYOUTS[layout]} for the {layout} devnet "
                   "layout", origin)
    url = v.get("rpc_url", "devnet")
    if not isinstance(url, str) or not url.strip():
        raise _bad("rpc_url", url, "an http(s):// URL of a JSON-RPC node, or 'devnet' for the embedded node", origin)
    if url != "devnet":
        try:
            u = parse_rpc_url(url)
        except UrlError as e:
            raise _bad("rpc_url", url, f"an http(s):// URL or 'devnet' ({e})", origin) from None
        if u.scheme not in ("http", "https"):
            raise _bad("rpc_url", url, "an http:// or https:// URL, or 'devnet' for the embedded node", origin)
    for name in ("gate", "config"):
        out[name] = _address(name, v.get(name, ""), origin)
    out["observer"] = _address("observer", v.get("observer", ""), origin, optional=True)
    markets = v.get("markets", {})
    if not isinstance(markets, dict):
        raise _bad("markets", markets, "a mapping of oracle market type to address", origin)
    for k, a in markets.items():
        if not isinstance(k, str) or not k:
            raise _bad("markets", k, "market types are non-empty names", origin)
        _address(f"markets.{k}", a, origin)
    qd = v.get("quote_decimals", {})
    if not isinstance(qd, dict):
        raise _bad("quote_decimals", qd, "a mapping of quote token address to its decimals", origin)
    lo, hi = QUOTE_DECIMALS
    for k, d in qd.items():
        _address(f"quote_decimals key {k}", k, origin)
        if isinstance(d, bool) or not isinstance(d, int) or not lo <= d <= hi:
            raise _bad(f"quote_decimals.{k}", d, f"a whole number from {lo} to {hi}", origin)
    out["quote_decimals"] = {k.lower(): d for k, d in qd.items()}
    path = v.get("duckdb_path", "")
    if not isinstance(path, str):
        raise _bad("duckdb_path", path, "a file path", origin)
    if path and Path(path).is_dir():
        raise _bad("duckdb_path", path, "a file path, not a folder", origin)
    if url == "devnet" and out.get("chain_id", DEVNET_CHAIN_ID) != DEVNET_CHAIN_ID:
        raise _bad("chain_id", out["chain_id"], f"{DEVNET_CHAIN_ID} with rpc_url 'devnet' (the embedded anvil's "
                                                "chain id)", origin)
    return out


def default_duckdb_path(chain: str, rpc_url: str, devnet_size: str, devnet_layout: str = "legacy") -> Path:
    """One warehouse per chain (and per devnet history): data/<chain>/oyster.duckdb."""
    if chain.startswith("devnet"):
        layout = "" if devnet_layout == "legacy" else f"-{devnet_layout}"
        return ROOT / "data" / (f"devnet-{devnet_size}{layout}" if rpc_url == "devnet" else f"{chain}-node") / \
            "oyster.duckdb"
    return ROOT / "data" / chain / "oyster.duckdb"


def settings_file(env=None) -> Path:
    env = os.environ if env is None else env
    chain = env.get("OYSTER_CHAIN") or "devnet"
    if env.get("OYSTER_CONFIG_FILE"):
        return Path(env["OYSTER_CONFIG_FILE"])
    if not _NAME.match(chain):
        raise ConfigError(f"bad setting chain = {chain!r} (from OYSTER_CHAIN): a name of lowercase letters, digits, "
                          f"- and _ (config/<chain>.yaml)")
    return ROOT / "config" / f"{chain}.yaml"


def load_settings(path: str | os.PathLike | None = None, env: dict | None = None) -> Settings:
    """Settings from `path` (or OYSTER_CONFIG_FILE, or config/<OYSTER_CHAIN or devnet>.yaml) and the environment,
    validated.  Raises ConfigError (one line) on the first bad value."""
    env = os.environ if env is None else env
    path = Path(path) if path else settings_file(env)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (ROOT / "config").glob("*.yaml")))
        raise ConfigError(f"bad setting OYSTER_CONFIG_FILE / OYSTER_CHAIN: no settings file {path} "
                          f"(the chains shipped: {known})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        raise ConfigError(f"bad settings file {path}: not valid YAML"
                          + (f" (line {where.line + 1})" if where else "")) from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"bad settings file {path}: expected a mapping of setting: value")
    fields = Settings.__dataclass_fields__
    values: dict = {}
    origin: dict = {}
    for k, v in raw.items():
        if k not in fields or k in ("origin", "warnings"):
            allowed = ", ".join(n for n in fields if n not in ("origin", "warnings"))
            raise ConfigError(f"bad setting {k} (from {path.name}): unknown setting; the settings are {allowed}")
        origin[k] = path.name
        values[k] = _expand(k, v, env, origin)
    for var, k in ENV.items():
        if env.get(var) not in (None, ""):
            values[k] = env[var]
            origin[k] = var
    referenced = {m.group(1) for m in _REF.finditer(path.read_text())}  # ${NAME}s of the file are used, not typos
    warnings = [f"{var} is not a setting's variable (a typo? the variables are {', '.join(sorted(ENV))})"
                for var in env if var.startswith("OYSTER_") and var not in ENV and var not in OTHER_VARS
                and var not in referenced]
    out = _validate(values, origin)
    if not out.get("duckdb_path"):
        out["duckdb_path"] = str(default_duckdb_path(out.get("chain", "devnet"), out.get("rpc_url", "devnet"),
                                                     out.get("devnet_size", "default"),
                                                     out.get("devnet_layout", "legacy")))
        origin["duckdb_path"] = "default"
    return Settings(**out, origin=origin, warnings=tuple(warnings))
