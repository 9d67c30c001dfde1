"""Mart assets: peer volumes, then one asset per table or view of sql/marts/*.sql (each file states its definition
and method version in its header), built in dependency order in one step; tables that declare
`-- incremental: <key>` rebuild only the buckets at and after what changed (build_marts)."""
import hashlib
import time

import dagster as dg

from ..core.catalog import check_result, materialize, table_spec
from ..core.resources import OysterConfig, Warehouse
from ..core.store import SQL_DIR, get_state, insert_frame, since_seconds
from ..ingest.assets import DECODED_TABLES, INGESTION_TABLES, WRITER_POOL
from ..state.assets import REPLAY_TABLES
from . import peers
from .mart_graph import MartGraph, load_graph

PEER_TABLES = ("peer_volumes",)
# what the marts may read besides each other
MART_SOURCES = frozenset((*INGESTION_TABLES, *DECODED_TABLES, *REPLAY_TABLES, *PEER_TABLES))

PEER_DDL = ("CREATE TABLE IF NOT EXISTS peer_volumes (day DATE NOT NULL, protocol VARCHAR NOT NULL, "
            "volume_usd DOUBLE, source VARCHAR NOT NULL)")


class PeerConfig(dg.Config):
    online: bool = False  # ask DefiLlama's API first (the file is the fallback); off here: no internet
    file: str = str(peers.SAMPLE)


@dg.multi_asset(name="peer_volumes", pool=WRITER_POOL,
                specs=[table_spec("peer_volumes", "marts", deps=["raw_logs"])])  # refreshed by runs with new blocks
def peer_volumes(context: dg.AssetExecutionContext, config: PeerConfig, warehouse: Warehouse):
    frame = peers.load(peers.API if config.online else None, config.file)
    with warehouse.writer() as con:
        con.execute(PEER_DDL)
        con.execute("DELETE FROM peer_volumes")
        insert_frame(con, "peer_volumes", frame, replace=False)
        extra = {"source": frame["source"][0]} if frame.height else {}
        yield from materialize(con, ["peer_volumes"], {"peer_volumes": extra})


# The marts' graph: one model per CREATE TABLE / VIEW statement of sql/marts/*.sql, ordered by what it reads
# (pipelines/marts/mart_graph.py).  Loaded when the code location loads: a cycle or an unknown table fails there, with
# the files named.
#
# Why our own runner, not dbt or SQLMesh (measured 2026-12-01 on the default devnet warehouse, 29k events, 2 CPUs,
# scratch venvs with the project's pins): dbt-duckdb 1.11.1 + dagster-dbt 0.29.27 install beside dagster 1.13.27
# and duckdb 2.0.0 only with dbt-core < 1.12 (1.12 builds a parser wheel downloaded from GitHub at install time);
# the same 21 models took 6.3-9.6 s per `dbt run` process (what dagster-dbt runs per step), 1.3-1.5 s per run
# in process after a 2.7 s import and a 6.9 s first parse; this runner takes 0.13-0.20 s (0.44 s as a process).
# SQLMesh 0.228 + dagster-sqlmesh 0.22 also install, but build through snapshot tables and views of its own
# schemas (not the plain tables in `main` readers and BI tools open) and keep a state database.  The marts are 21
# statements over one DuckDB file: a parser, a topological sort and per-model assets cover what dbt would add here.
GRAPH = load_graph(SQL_DIR / "marts", MART_SOURCES)
MART_CHECKS = [  # (table, check, description): run in the marts' step, after the marts they check are built
    ("mart_volume_hourly", "mart_volume_matches_events",
     "Mart taker volume equals the sum of entryNotional over events_trade, to the wei."),
    ("fact_trades", "fee_split_adds_up", "Taker fee = maker rebates + LP fee + protocol fee, trade by trade."),
]


# Incremental builds (docs/architecture.md, "Marts").  The replay records in ingestion_state.marts_dirty_from the
# earliest block whose rows it or the ingestion changed (in its own transaction); each build moves that watermark
# onto every model's row of mart_builds (dirty_from) and clears it; a model built clears its own and marks the
# tables reading it from the same block (in full: -1), which matters when a selection built them before it.  A
# model's row also holds its signature: its SQL, its upstream models' signatures and the content of
# CONTENT_INPUTS it reads.  A table is rebuilt in full when it has no row (an older warehouse, a first build), when
# its signature changed (its SQL, an upstream model's SQL, an instrument or its quote type, the chain's name), when
# the table is missing, when no replay checkpoint lies before the watermark, or when a table it reads was rebuilt
# in full; else, if something changed, from the bucket of its key that holds the watermark's time on
# (incremental_build); else it is left as it is.
BUILDS_DDL = ("CREATE TABLE IF NOT EXISTS mart_builds (model VARCHAR PRIMARY KEY, signature VARCHAR NOT NULL, "
              "dirty_from BIGINT, built_to BIGINT, mode VARCHAR, built_at TIMESTAMP)")
WATERMARK = "marts_dirty_from"
# Inputs whose rows are not bounded by the watermark's time: a new instrument or quote type changes rows of every
# hour (quote prices, USD columns), the chain's name every row of mart_defillama_daily.  Their content is part of
# the signature of every model that reads them, directly or through another model.
CONTENT_INPUTS = ("dim_instruments", "warehouse_identity")


def _digest(*parts) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:32]


def _content(con, table: str) -> str:
    row = con.execute(f"SELECT count(*), string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)) "
                      f"FROM {table} t").fetchall()[0]
    return _digest(*row)


def watermark(con) -> int | None:
    """The earliest block whose rows changed and no model has taken yet: the replay's watermark, or the block a
    reorg deleted from that the replay has not replayed yet."""
    marks = [int(v) for v in (get_state(con, WATERMARK), get_state(con, "replay_reorg_from")) if v is not None]
    return min(marks) if marks else None


def _column_type(con, table: str, column: str) -> str | None:
    rows = con.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND "
                       "table_name = ? AND column_name = ?", [table, column]).fetchall()
    return rows[0][0] if rows else None


def incremental_build(con, m, block: int, seconds: int) -> str:
    """Rebuild the rows of table m from the bucket holding `seconds` (its key's unit) or from `block` on, in one
    transaction with its mart_builds row: DELETE them, INSERT them from the model's own query filtered on the key
    (outside the query, so windows, running sums and first-seen columns are computed over the whole history).
    Returns the bucket's start."""
    inc = m.incremental
    if inc.unit == "block":
        start, where, args = block, f"{inc.key} >= ?", [block]
    else:
        typ = _column_type(con, m.name, inc.key)
        start, since = con.execute(f"SELECT CAST(b AS {typ}), epoch(b)::BIGINT FROM (SELECT date_trunc("
                                   f"'{inc.unit}', to_timestamp(?::BIGINT)) AS b)", [seconds]).fetchall()[0]
        where, args = f"{inc.key} >= ?::{typ}", [start]
        if inc.seconds:  # the same rows by their Unix time, which the scans' zone maps can skip on
            where += f" AND {inc.seconds} >= ?"
            args.append(since)
    con.execute(f"DELETE FROM {m.name} WHERE {where}", args)
    con.execute(f"INSERT INTO {m.name} SELECT * FROM (\n{m.query}\n) WHERE {where}", args)
    return str(start)


def build_marts(con, names=None, graph: MartGraph | None = None, full: bool = False,
                report: dict | None = None) -> list[str]:
    """Build the marts (all, or the named ones) in dependency order; returns the tables built.  Incremental tables
    are rebuilt from the watermark's bucket on, or in full when that is not known (see above); full=True rebuilds
    every one in full.  `report`, if given, receives each model's mode (full and why, incremental from, unchanged,
    view) and seconds."""
    graph = graph or GRAPH
    report = {} if report is None else report
    con.execute(PEER_DDL)
    for stmt in graph.setup:
        con.execute(stmt)
    con.execute(BUILDS_DDL)
    wanted = None if names is None else set(names)
    existing = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                "WHERE table_schema = current_schema()").fetchall())
    decoded = -1
    if "ingestion_state" in existing:
        # the watermark passes to every model built before (one transaction: a failed build leaves it in place)
        con.execute("BEGIN")
        try:
            mark = watermark(con)
            if mark is not None:
                con.execute("UPDATE mart_builds SET dirty_from = least(coalesce(dirty_from, ?), ?)", [mark, mark])
            con.execute("DELETE FROM ingestion_state WHERE key = ?", [WATERMARK])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        decoded = int(get_state(con, "decoded_to", "-1"))
    known = "replay_checkpoints" in existing  # else no checkpoint places a watermark in time: all in full
    content: dict[str, str] = {}
    signature: dict[str, str] = {}
    built = []
    for m in graph.models:  # every model's signature, built or not: a model's includes its upstream models'
        inputs = []
        for r in m.reads:
            if r in signature:
                inputs.append(signature[r])
            if r in CONTENT_INPUTS:
                if r not in content:
                    content[r] = _content(con, r) if r in existing else "missing"
                inputs.append(content[r])
        signature[m.name] = _digest(m.sql, *inputs)
        if wanted is not None and m.name not in wanted:
            continue
        t = time.perf_counter()
        row = con.execute("SELECT signature, dirty_from, built_to FROM mart_builds WHERE model = ?",
                          [m.name]).fetchall()  # read now: a model built before in this run may have marked it
        mode = _build_one(con, m, signature[m.name], row[0] if row and known else None, existing, decoded, full,
                          _table_readers(graph, m.name))
        existing[m.name] = "VIEW" if m.kind == "view" else "BASE TABLE"
        report[m.name] = {"mode": mode, "seconds": round(time.perf_counter() - t, 3)}
        built.append(m.name)
    return built


def _table_readers(graph: MartGraph, name: str) -> list[str]:
    """The tables that read `name`, directly or through views."""
    out, stack = [], [name]
    while stack:
        n = stack.pop()
        for m in graph.models:
            if n in m.reads:
                if m.kind == "view":
                    stack.append(m.name)
                elif m.name not in out:
                    out.append(m.name)
    return out


def _build_one(con, m, sig: str, row, existing: dict, decoded: int, full: bool, readers: list[str]) -> str:
    if m.kind == "view":
        con.execute(m.sql)
        return "view"
    if full:
        reason = "full rebuild asked"
    elif not m.incremental:
        reason = "not incremental"
    elif row is None or row[2] is None:
        reason = "no earlier build recorded"
    elif row[0] != sig:
        reason = "its SQL, an upstream model's or an instrument changed"
    elif row[1] is not None and row[1] < 0:
        reason = "a table it reads was rebuilt in full"
    elif existing.get(m.name) != "BASE TABLE":
        reason = "table missing"
    else:
        reason = None
    mode, block = None, None
    if reason is None:
        dirty, built_to = row[1], row[2]
        marks = [b for b in (dirty, None if built_to == decoded else min(built_to, decoded) + 1) if b is not None]
        if not marks:
            return "unchanged"
        block = min(marks)
        seconds = since_seconds(con, block)
        if seconds is None:
            reason = f"no replay checkpoint before block {block}"
    con.execute("BEGIN")
    try:
        if reason is None:
            mode = f"incremental from {incremental_build(con, m, block, seconds)} (block {block})"
        else:
            con.execute(m.sql)
            mode = f"full: {reason}"
        con.execute("INSERT OR REPLACE INTO mart_builds VALUES (?, ?, NULL, ?, ?, current_timestamp)",
                    [m.name, sig, decoded, mode])
        if readers:  # built before this one (a selection), they read its old rows: from the same block, or in full
            mark = -1 if reason is not None else block
            con.execute(f"UPDATE mart_builds SET dirty_from = least(coalesce(dirty_from, ?), ?) WHERE model IN "
                        f"({', '.join('?' * len(readers))})", [mark, mark, *readers])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return mode


def _mart_spec(m) -> dg.AssetSpec:
    return table_spec(m.name, "marts", deps=m.reads, description=m.description, kinds=("duckdb", "sql"),
                      metadata={"sql_file": f"sql/marts/{m.file}", "materialized_as": m.kind,
                                "sql": dg.MetadataValue.md(f"```sql\n{m.sql}\n```")})


class MartsConfig(dg.Config):
    full_rebuild: bool = False  # rebuild every mart table in full instead of from what changed


@dg.multi_asset(
    name="marts", specs=[_mart_spec(m) for m in GRAPH.models],
    check_specs=[dg.AssetCheckSpec(n, asset=t, blocking=True, description=d) for t, n, d in MART_CHECKS],
    pool=WRITER_POOL, can_subset=True)
def marts(context: dg.AssetExecutionContext, config: MartsConfig, oyster: OysterConfig, warehouse: Warehouse):
    """Every sql/marts model in dependency order (a selection builds the selected ones; incremental tables from
    what changed), then their checks."""
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    wanted = {(k.asset_key.to_user_string(), k.name) for k in context.selected_asset_check_keys}
    with warehouse.writer() as con:
        report: dict = {}
        built = build_marts(con, selected, full=config.full_rebuild, report=report)
        context.log.info(f"built {len(built)} marts: " + ", ".join(
            f"{n} ({report[n]['mode']}, {report[n]['seconds']} s)" for n in built if report[n]["mode"] != "view"))
        yield from materialize(con, built, {n: {"build": report[n]["mode"], "build_seconds": report[n]["seconds"]}
                                            for n in built})
        checks = {"mart_volume_matches_events": lambda c: mart_volume_matches_events(c),  # late-bound
                  "fee_split_adds_up": lambda c: fee_split_adds_up(c)}
        for table, name, _ in MART_CHECKS:
            if (table, name) in wanted:
                yield check_result(checks[name](con), table, name)


def mart_volume_matches_events(con) -> dg.AssetCheckResult:
    a, b = con.execute("SELECT (SELECT sum(taker_volume_wad) FROM mart_volume_hourly), "
                       "(SELECT sum(entry_notional::HUGEINT) FROM events_trade)").fetchall()[0]
    return dg.AssetCheckResult(asset_key="mart_volume_hourly", check_name="mart_volume_matches_events",
                               passed=a == b, metadata={"mart": str(a), "events": str(b)})


def fee_split_adds_up(con) -> dg.AssetCheckResult:
    bad = con.execute("SELECT count(*) FROM fact_trades WHERE taker_fee_wad <> maker_fee_wad + lp_fee_wad + "
                      "protocol_fee_wad OR taker_fee_wad IS NULL").fetchall()[0][0]
    return dg.AssetCheckResult(asset_key="fact_trades", check_name="fee_split_adds_up", passed=bad == 0,
                               metadata={"offending_trades": bad})
