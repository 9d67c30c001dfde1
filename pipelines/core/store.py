"""The DuckDB warehouse: schema from sql/, one writer at a time, idempotent range writes.

DuckDB allows one writing process per file, so every write goes through `writer()`, which holds an exclusive
lock file beside the database: concurrent runs wait for each other instead of failing on DuckDB's own lock.
Readers (dashboards) open the file read-only.
"""
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from models.events import EVENTS

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
# the raw log as every source yields it (pipelines.chain.sources) and raw_logs stores it
RAW_COLUMNS = ["block_number", "block_timestamp", "tx_index", "log_index", "tx_hash", "address", "block_hash",
               "topic0", "topic1", "topic2", "topic3", "data"]
META = ["block_number", "block_timestamp", "tx_index", "log_index", "tx_hash", "address"]


def type_bits(abi_type: str) -> int:
    if abi_type in ("address",):
        return 160
    if abi_type == "bool":
        return 8
    digits = "".join(c for c in abi_type if c.isdigit())
    return int(digits) if digits else 256


def is_signed(abi_type: str) -> bool:
    return abi_type.startswith("int")


def sql_type(abi_type: str) -> str:
    """The DuckDB column type for an ABI type (docs/architecture.md: exact, HUGEINT where it fits, else VARCHAR)."""
    if abi_type in ("address", "string", "bytes32", "bytes"):
        return "VARCHAR"
    if abi_type == "bool":
        return "BOOLEAN"
    bits = type_bits(abi_type)
    if bits <= 63 or (is_signed(abi_type) and bits <= 64):
        return "BIGINT"
    if bits <= 127 or (is_signed(abi_type) and bits <= 128):
        return "HUGEINT"
    return "VARCHAR"


def event_table_ddl() -> str:
    """CREATE TABLE statements of every events_<name> table, generated from models/events.py."""
    tables: dict[str, dict[str, str]] = {}
    for spec in EVENTS:
        cols = tables.setdefault(spec.table, {"block_number": "BIGINT NOT NULL", "block_timestamp": "BIGINT",
                                              "tx_index": "BIGINT", "log_index": "BIGINT NOT NULL",
                                              "tx_hash": "VARCHAR", "address": "VARCHAR", "abi_variant": "VARCHAR"})
        for f in spec.fields:
            cols.setdefault(f.name, sql_type(f.abi_type))
    out = []
    for t, cols in sorted(tables.items()):
        body = ",\n".join(f"    {c} {typ}" for c, typ in cols.items())
        out.append(f"CREATE TABLE IF NOT EXISTS {t} (\n{body}\n);")
    union = "\nUNION ALL ".join(f"SELECT block_number, log_index, '{t}' AS event_table FROM {t}" for t in sorted(tables))
    out.append(f"-- Every decoded log with the table it went to (the checks use it).\nCREATE OR REPLACE VIEW decoded_logs AS\n{union};")
    return "\n\n".join(out) + "\n"


def event_columns() -> dict[str, dict[str, str]]:
    cols: dict[str, dict[str, str]] = {}
    for spec in EVENTS:
        c = cols.setdefault(spec.table, {m: "" for m in META} | {"abi_variant": "VARCHAR"})
        for f in spec.fields:
            c.setdefault(f.name, sql_type(f.abi_type))
    return cols


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute((SQL_DIR / "schema" / "ingestion.sql").read_text())
    con.execute((SQL_DIR / "schema" / "events.sql").read_text())
    con.execute((SQL_DIR / "schema" / "state.sql").read_text())
    con.execute((SQL_DIR / "schema" / "audits.sql").read_text())


@contextmanager
def writer(path: str, timeout: float = 3600):
    """An exclusive, cross-process writer connection."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = open(path + ".writer.lock", "w")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.time() > deadline:
                raise TimeoutError(f"another writer held {path} for {timeout} s")
            time.sleep(0.1)
    con = duckdb.connect(path)
    try:
        init_schema(con)
        yield con
    finally:
        con.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def reader(path: str) -> duckdb.DuckDBPyConnection:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no DuckDB file at {path}: run the ingest job first")
    return duckdb.connect(path, read_only=True)


def get_state(con, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM ingestion_state WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_state(con, key: str, value) -> None:
    con.execute("INSERT OR REPLACE INTO ingestion_state VALUES (?, ?)", [key, str(value)])


def insert_frame(con, table: str, frame: pl.DataFrame, types: dict[str, str] | None = None,
                 replace: bool = True) -> None:
    """Insert a Polars frame by column name, casting decimal text to HUGEINT where the table wants it.
    replace=False is a plain INSERT, for ranges known to be empty (cheaper than INSERT OR REPLACE)."""
    if frame.height == 0:
        return
    con.register("_frame", frame.to_arrow(compat_level=pl.CompatLevel.newest()))  # string views: no copy
    try:
        cols = frame.columns
        sel = ", ".join(f"CAST({c} AS HUGEINT)" if types and types.get(c) == "HUGEINT" else c for c in cols)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        con.execute(f"{verb} INTO {table} ({', '.join(cols)}) SELECT {sel} FROM _frame")
    finally:
        con.unregister("_frame")


def since_seconds(con, block: int) -> int | None:
    """A Unix time at or before every row a change at `block` or later can touch: the last hour the replay had seen
    at its newest checkpoint before `block` (events after it are later; the hourly snapshots it writes next are
    after that hour).  None when no checkpoint lies before `block` (then a mart is rebuilt in full, a check
    looks at the whole table)."""
    rows = con.execute("SELECT last_ts FROM replay_checkpoints WHERE cursor_block < ? ORDER BY cursor_block DESC "
                       "LIMIT 1", [block]).fetchall()
    return int(rows[0][0] or 0) if rows else None
