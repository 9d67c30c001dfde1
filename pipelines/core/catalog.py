"""The warehouse's tables as Dagster sees them: what a materialization of a table reports (its row count as
`dagster/row_count`, its columns as `dagster/column_schema`, read from DuckDB's information_schema, and its name as
`dagster/table_name`) and each table's description.  Which step writes which table is said by each layer's
assets (ingest, state, marts, audits).  Nothing here imports a layer."""
import dagster as dg

from models.events import EVENTS
from models.replay import NOT_REPLAYED

_TABLE_EVENT = {e.table: e.name for e in EVENTS}
_REPLAY_READS = {e.table for e in EVENTS if e.name not in NOT_REPLAYED}  # the events tables the replay reads

DESCRIPTIONS = {
    "raw_logs": "Every log of Gate, Config, the markets and every instrument, keyed (block_number, log_index), with "
                "block hash and timestamp; reorg-aware. Not materialized when nothing new landed (the rest of the "
                "run is then skipped).",
    "instruments": "Instruments from Gate's NewInstrument logs: symbol, base, quote, first block.",
    "block_hashes": "Recent block hashes, re-checked every run to detect reorgs.",
    "ingested_ranges": "Landed block ranges (the coverage check proves they leave no gap).",
    "ingestion_state": "Cursors: covered_to, decoded_to, head_hash, reorg_from; and each step's checked_to:<step> "
                       "(the block its checks last passed up to), written by that step after raw_logs reports.",
    "reorgs": "Repaired reorgs: the first changed block and the hashes.",
    "warehouse_identity": "What the warehouse holds (chain id, protocol addresses, start block, devnet history), "
                          "recorded by the first run's preflight and compared by every later run.",
    "quarantine": "Logs that could not be decoded (unknown topic0, or not fitting their event), with the reason.",
    "decoded_logs": "View: every decoded log (block_number, log_index, event_table) over all events_<name> tables.",
    "amm_snapshots": "Pair state after every event that moves its price or liquidity (kind='event') and at each hour "
                     "(kind='hour').",
    "pearl_snapshots": "Initialised tick per pair per hour: curve liquidity and the resting order book.",
    "lp_ranges": "LP ranges: owner, ticks, liquidity, margin, entry price, fees, status, who removed it.",
    "range_history": "Open range per hour: in range or not, implied net position, PnL, fee, value.",
    "orders": "Limit orders: placed, FILLED / CANCELLED / PARTIAL_CANCELLED, filled size and rebate.",
    "positions": "Changes of a trader's position (UpdatePosition).",
    "fills": "Fills labelled MARKET / LIMIT / RANGE / LIQUIDATION / TAKE_OVER with the exact fee split.",
    "depth_snapshots": "Pair per hour: base/quote needed to move the price by ±10/50/100/200 bps.",
    "pair_hourly": "Pair per hour: best bid/ask, LP/order/trader margin, insurance fund, involved fund.",
    "funding_index_series": "Updates of a perpetual's funding indices.",
    "replay_divergences": "Values the chain reported differently from the model, classed structural or rounding.",
    "replay_checkpoints": "Replay checkpoints (the model's state) the next run resumes from.",
    "peer_volumes": "Peer derivatives volumes (DefiLlama overview format) with their source; refreshed by the runs "
                    "that land new blocks.",
    "lp_audit_ranges": "LP audit results, one row per audited range.",
    "lp_audit_series": "LP audit series: per range, its value, PnL, fees and hold value over time.",
}


def event_description(table: str) -> str:
    return (f"Decoded {_TABLE_EVENT.get(table, table)} events, one row per log, exact integers (sql/schema/events.sql)."
            + (" Read by the replay." if table in _REPLAY_READS else ""))


def table_spec(name: str, group: str, deps=(), description: str | None = None, kinds=("duckdb",),
               metadata: dict | None = None) -> dg.AssetSpec:
    return dg.AssetSpec(name, group_name=group, deps=list(deps), kinds=set(kinds),
                        description=description or DESCRIPTIONS.get(name) or event_description(name),
                        metadata={"dagster/table_name": name, **(metadata or {})})


def _columns(con, tables) -> dict[str, list[dg.TableColumn]]:
    rows = con.execute("SELECT table_name, column_name, data_type, is_nullable, column_comment "
                       "FROM information_schema.columns WHERE table_name IN (SELECT unnest($names)) "
                       "AND table_schema = current_schema() AND table_catalog = current_database() "
                       "ORDER BY table_name, ordinal_position", {"names": list(tables)}).fetchall()
    out: dict[str, list[dg.TableColumn]] = {}
    for table, col, typ, nullable, comment in rows:
        out.setdefault(table, []).append(dg.TableColumn(
            col, typ, description=comment or None,
            constraints=dg.TableColumnConstraints(nullable=nullable == "YES")))
    return out


def row_counts(con, tables) -> dict[str, int]:
    """count(*) of each table (one query)."""
    tables = list(tables)
    if not tables:
        return {}
    q = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    return {t: int(n) for t, n in con.execute(q).fetchall()}


def table_metadata(con, tables, counts: dict[str, int] | None = None) -> dict[str, dict]:
    """Per table: dagster/row_count, dagster/column_schema and dagster/table_name.  A table missing from the
    warehouse gets no entry (its materialization then reports nothing it does not know)."""
    tables = list(tables)
    cols = _columns(con, tables)
    present = [t for t in tables if t in cols]
    counts = {**row_counts(con, [t for t in present if not counts or t not in counts]), **(counts or {})}
    return {t: {"dagster/row_count": dg.MetadataValue.int(counts[t]),
                "dagster/column_schema": dg.TableSchema(columns=cols[t]), "dagster/table_name": t} for t in present}


def materialize(con, tables, extra: dict[str, dict] | None = None, counts: dict[str, int] | None = None):
    """A MaterializeResult per table with its catalog metadata (and any extra metadata of that table)."""
    meta = table_metadata(con, tables, counts)
    for t in tables:
        yield dg.MaterializeResult(asset_key=t, metadata={**meta.get(t, {}), **((extra or {}).get(t) or {})})


def check_result(result: dg.AssetCheckResult, asset: str, name: str) -> dg.AssetCheckResult:
    """A check's result addressed to its table and name (the check functions return them unaddressed)."""
    return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=result.passed, metadata=result.metadata,
                               severity=result.severity, description=result.description)
