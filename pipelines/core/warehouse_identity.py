"""A warehouse that knows what it holds: its chain id, protocol addresses, start block and, on the embedded devnet,
the history's identity (size, seed and the simulator's VERSION) are recorded in the table `warehouse_identity` by
the first run, and every later run (and CLI command) compares them with its settings.  A run against anything else
is refused before any work, with a message naming both and what to do: another file (OYSTER_DUCKDB_PATH, or the
default per-chain file), or `python -m pipelines.cli reset --yes` to empty this one.
"""
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .config import Settings
from .preflight import SettingsRefused

DDL = "CREATE TABLE IF NOT EXISTS warehouse_identity (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
COMPARED = ("chain_id", "gate", "config", "markets", "start_block", "history")
RESET = "python -m pipelines.cli reset --yes"


def devnet_history(settings: Settings) -> str:
    """The embedded devnet's history: '<size>-<seed>-v<VERSION>' ('' for any other node: its history is the
    chain's)."""
    if not settings.is_devnet:
        return ""
    from devnet.build import DEFAULT_SEED, history_dir
    return "devnet " + history_dir(settings.devnet_size, DEFAULT_SEED, settings.devnet_layout).name


def expected(settings: Settings) -> dict[str, str]:
    return {"chain": settings.chain, "chain_id": str(settings.chain_id), "gate": settings.gate.lower(),
            "config": settings.config.lower(),
            "markets": ",".join(f"{k}={v.lower()}" for k, v in sorted(settings.markets.items())),
            "start_block": str(settings.start_block), "history": devnet_history(settings)}


def recorded(con) -> dict[str, str]:
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'warehouse_identity'"
                       ).fetchall()[0][0]:
        return {}
    return dict(con.execute("SELECT key, value FROM warehouse_identity").fetchall())


def _holds_data(con) -> bool:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "raw_logs" in tables and con.execute("SELECT count(*) FROM raw_logs").fetchall()[0][0]:
        return True
    return "ingestion_state" in tables and bool(
        con.execute("SELECT count(*) FROM ingestion_state WHERE key = 'covered_to'").fetchall()[0][0])


def _describe(ident: dict) -> str:
    parts = [f"chain_id {ident.get('chain_id', '?')}"]
    if ident.get("chain"):
        parts[0] += f" ({ident['chain']})"
    return ", ".join(parts)


def mismatch(have: dict, want: dict) -> list[str]:
    return [k for k in COMPARED if have.get(k, "") != want.get(k, "")]


def check(con, settings: Settings, path: str, record: bool = True) -> dict:
    """Compare the warehouse's identity with the settings'; record it in a new warehouse (record=True, on a
    writer connection).  Raises SettingsRefused on a mismatch."""
    want = expected(settings)
    have = recorded(con)
    if not have:
        if _holds_data(con):
            raise SettingsRefused(
                f"the warehouse {path} holds data but no record of which chain it came from (made before "
                f"warehouses recorded it): use another file (OYSTER_DUCKDB_PATH) or empty it with `{RESET}`")
        if record:
            con.execute(DDL)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            con.executemany("INSERT OR REPLACE INTO warehouse_identity VALUES (?, ?)",
                            [[k, v] for k, v in {**want, "recorded_at": now}.items()])
        return want
    diff = mismatch(have, want)
    if diff:
        both = "; ".join(f"{k}: warehouse {have.get(k) or '-'!s}, settings {want.get(k) or '-'!s}" for k in diff)
        raise SettingsRefused(
            f"the warehouse {path} holds {_describe(have)}, not what these settings ({_describe(want)}) index "
            f"({both}): use another file (unset OYSTER_DUCKDB_PATH for the per-chain default, or set a new one) or "
            f"empty this one with `{RESET}`")
    return have


def check_file(path: str, settings: Settings) -> dict | None:
    """Compare the identity recorded in the warehouse file at `path` with the settings, read-only (a run with nothing
    new leaves the file as it is).  Returns what is recorded ({} for nothing yet), or None when the file does not
    exist or a writer holds it (that run checked the identity when it started).  Raises SettingsRefused."""
    if not Path(path).exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        have = recorded(con)
        if have or _holds_data(con):
            check(con, settings, str(path), record=False)
        return have
    finally:
        con.close()
