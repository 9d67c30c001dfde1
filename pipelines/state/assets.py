"""State assets: the replay step, one asset per state table it writes (deps: the events tables it reads), each
check attached to the table it checks and run in the same step."""
import dagster as dg

from models.divergence import ROUNDING_WEI

from ..chain.resources import ChainSource
from ..core.catalog import check_result, materialize, table_spec
from ..core.quality import WHOLE, check_scope, full_checks_requested, ge_check, mark_checked, sql_check, stop_worker
from ..core.resources import OysterConfig, Warehouse
from ..ingest.assets import WRITER_POOL
from .replay_run import STATE_TABLES, run_replay
from .state import REPLAYED_TABLES

REPLAY_TABLES = ("amm_snapshots", "pearl_snapshots", "lp_ranges", "range_history", "orders", "positions", "fills",
                 "depth_snapshots", "pair_hourly", "funding_index_series", "replay_divergences", "replay_checkpoints")
assert set(STATE_TABLES) <= set(REPLAY_TABLES), "a state table the replay writes has no asset"
REPLAY_READS = tuple(REPLAYED_TABLES)  # the events tables the replay reads


class ReplayConfig(dg.Config):
    full_rebuild: bool = False  # replay from genesis instead of the last checkpoint


GE_TABLES = ("amm_snapshots", "pearl_snapshots", "fills", "orders", "lp_ranges", "range_history", "positions",
             "funding_index_series", "depth_snapshots", "pair_hourly")
# (table, check, blocking, description): every check on the table it checks; they run in the replay's step, on its
# connection, after the replay committed (a blocking one that fails fails the step: nothing downstream runs)
REPLAY_CHECKS = [
    ("replay_divergences", "replay_has_no_divergences", True,
     "No structural divergence: every event the chain emitted is the one the replay expected, and every reported "
     f"value matches it or differs by rounding only (at most {ROUNDING_WEI} wei on an amount, index or price; "
     "counted by replay_rounding_drift)."),
    ("replay_divergences", "replay_rounding_drift", False,
     "Rounding drift: divergences within the tolerance, which do not block the pipeline but name a rounding rule of "
     "the model that is not the contract's.  Warns while any exists; counts per event and field here, the trend per "
     "day in mart_replay_drift_daily."),
    ("fills", "taker_size_is_split_exactly", True,
     "Taker size = size filled by orders + size filled by the curve, for every trade and sweep "
     "(sql/checks/taker_split.sql)."),
    ("fills", "fills_reference_orders", True, "Every LIMIT fill's order exists (sql/checks/fill_orders_exist.sql)."),
    ("replay_checkpoints", "replay_matches_observer", False,
     "The replay agrees with SynFutures' Observer contract (getAmm, getPearls, getPosition, getRanges) at the newest "
     "checkpoints' blocks, as oyster-sdk's Comparator checks. Skipped (with the node's answer) where the node cannot "
     "serve the state at those blocks."),
] + [(t, f"ge_{t}", True, f"Great Expectations suite of {t}: keys, nulls, ranges.") for t in GE_TABLES]


@dg.multi_asset(
    name="replay",
    specs=[table_spec(t, "state", deps=REPLAY_READS) for t in REPLAY_TABLES],
    check_specs=[dg.AssetCheckSpec(n, asset=t, blocking=b, description=d) for t, n, b, d in REPLAY_CHECKS],
    pool=WRITER_POOL, can_subset=True)
def replay(context: dg.AssetExecutionContext, config: ReplayConfig, oyster: OysterConfig, chain: ChainSource,
           warehouse: Warehouse):
    """Replays the events through models/ from the last checkpoint into the state tables, then runs their checks."""
    s = oyster.settings()
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    wanted = {(k.asset_key.to_user_string(), k.name) for k in context.selected_asset_check_keys}
    scope = WHOLE
    with warehouse.writer() as con:
        if selected:
            r = run_replay(con, s, full=config.full_rebuild)
            # the checks look at what the replay rewrote (after its checkpoint) and what they have not passed on
            scope = check_scope(con, "replay", r.restored_from + 1,
                                config.full_rebuild or full_checks_requested(context), hourly=True)
            context.log.info(f"replayed {r.events} events of blocks {r.from_block}..{r.to_block} in {r.seconds:.1f} s")
            if r.rounding:
                context.log.warning(f"{r.rounding} new rounding differences (within {ROUNDING_WEI} wei): see "
                                    "replay_divergences WHERE class = 'rounding' and mart_replay_drift_daily")
            total, structural = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {STRUCTURAL_ROW}) "
                                            "FROM replay_divergences").fetchall()[0]
            run = {"events": r.events, "to_block": r.to_block, "seconds": round(r.seconds, 2)}
            if r.restored_from >= 0:
                run["resumed_from_block"] = r.restored_from
            extra = {"replay_checkpoints": run,
                     "replay_divergences": {"new_divergences": r.divergences, "new_structural": r.structural,
                                            "new_rounding": r.rounding, "structural_divergences": structural,
                                            "rounding_drift": total - structural}}
            yield from materialize(con, [t for t in REPLAY_TABLES if t in selected], extra)
        blocking, results = {(t, n) for t, n, b, _ in REPLAY_CHECKS if b}, []
        for table, name, _, _ in REPLAY_CHECKS:
            if (table, name) in wanted:
                result = check_result(_run_check(context, name, con, s, chain, scope), table, name)
                if (table, name) in blocking:
                    results.append(result)
                yield result
        stop_worker()  # the Great Expectations worker raw_logs started: its last use
        if selected:
            mark_checked(con, "replay", r.to_block, results, ran_all=blocking <= wanted)


def _run_check(context, name: str, con, s, chain, scope) -> dg.AssetCheckResult:
    if name == "replay_has_no_divergences":
        return structural_divergences(con)
    if name == "replay_rounding_drift":
        return rounding_drift(con)
    if name == "taker_size_is_split_exactly":
        return sql_check(con, "taker_split", scope)
    if name == "fills_reference_orders":
        return sql_check(con, "fill_orders_exist", scope)
    if name == "replay_matches_observer":
        return observer_check(context.log, con, s, chain)
    return ge_check(con, name.removeprefix("ge_"), scope)


# A row the blocking check counts: structural, or not classified (a row of an older warehouse not yet migrated).
STRUCTURAL_ROW = "class IS DISTINCT FROM 'rounding'"


def _table(header: list[str], rows: list[tuple]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def structural_divergences(con) -> dg.AssetCheckResult:
    """Fails on any structural (or unclassified) row of replay_divergences; rounding rows are only counted."""
    rows = con.execute(f"SELECT event, field, reason, count(*) FROM replay_divergences WHERE {STRUCTURAL_ROW} "
                       "GROUP BY ALL ORDER BY 4 DESC, 1, 2, 3").fetchall()
    first = con.execute("SELECT block_number, tx_index, log_index, instrument, event, field, expected, actual, "
                        f"reason FROM replay_divergences WHERE {STRUCTURAL_ROW} "
                        "ORDER BY block_number, log_index LIMIT 5").fetchall()
    rounding = con.execute("SELECT count(*) FROM replay_divergences WHERE class = 'rounding'").fetchall()[0][0]
    return dg.AssetCheckResult(passed=not rows, metadata={
        "structural": sum(r[3] for r in rows), "rounding_drift": rounding,
        "by_field": _table(["event", "field", "reason", "rows"], rows[:20]), "first": str(first)})


def rounding_drift(con) -> dg.AssetCheckResult:
    """Warns while any rounding row exists; its counts per event and field, and per day, are the metadata."""
    rows = con.execute("SELECT event, field, count(*), max(abs_diff_wei::HUGEINT), sum(abs_diff_wei::HUGEINT), "
                       "count(*) FILTER (WHERE diff_wei::HUGEINT > 0), max(block_number) "
                       "FROM replay_divergences WHERE class = 'rounding' GROUP BY ALL ORDER BY 3 DESC, 1, 2"
                       ).fetchall()
    days = con.execute("SELECT to_timestamp(ts)::DATE AS day, count(*) FROM replay_divergences "
                       "WHERE class = 'rounding' GROUP BY ALL ORDER BY day DESC LIMIT 14").fetchall()
    n = sum(r[2] for r in rows)
    return dg.AssetCheckResult(passed=n == 0, severity=dg.AssetCheckSeverity.WARN, metadata={
        "rounding_drift": n, "fields": len(rows), "tolerance_wei": ROUNDING_WEI,
        "max_abs_wei": int(max((r[3] for r in rows), default=0)),
        "sum_abs_wei": int(sum(r[4] for r in rows)),
        "by_field": _table(["event", "field", "rows", "max_abs_wei", "sum_abs_wei", "chain_higher", "last_block"],
                           rows[:30]),
        "by_day": _table(["day", "rows"], days)})


def observer_check(log, con, s, chain: ChainSource) -> dg.AssetCheckResult:
    """Compares the newest checkpoints' state with SynFutures' Observer contract (a warning where the node cannot
    serve the state at those blocks)."""
    from models.replay import Replayer

    from ..chain.rpc import RpcUnavailable
    from .observer import Observer, StateUnavailable, compare
    if not s.observer:
        return dg.AssetCheckResult(passed=True, metadata={"skipped": "no observer address configured"})
    points = con.execute("SELECT cursor_block, state FROM replay_checkpoints ORDER BY cursor_block DESC LIMIT ?",
                         [s.observer_samples]).fetchall()
    diffs, compared, blocks, skipped = [], 0, [], []
    with chain.open() as source:
        client = getattr(source, "client", None)
        if client is None:
            return dg.AssetCheckResult(passed=True, metadata={"skipped": "the log source cannot call contracts"})
        observer = Observer(client, s.observer)
        for block, blob in points:
            try:
                if not observer.deployed(block):
                    diffs.append(("*", None, "observer", "*", "code", f"no contract at {s.observer} at block {block}"))
                    continue
                d, n = compare(Replayer.from_checkpoint(bytes(blob)).state, observer, block)
            except StateUnavailable as e:  # not an archive node, or the block is past its recent-state window
                skipped.append((block, e.message))
                continue
            except RpcUnavailable as e:
                skipped.append((block, f"node unreachable: {e}"[:200]))
                continue
            diffs += d
            compared += n
            blocks.append(block)
    meta = {"blocks": str(blocks), "values_compared": compared, "differences": len(diffs), "first": str(diffs[:10])}
    if skipped:
        why = (f"the node cannot serve the state at block(s) {[b for b, _ in skipped]} (it answered: "
               f"{skipped[0][1]!r}); comparing there needs an archive node, or {s.confirmations} confirmations "
               "within the node's recent-state window")
        log.warning(f"replay_matches_observer: {'skipped' if not blocks else 'partly skipped'}: {why}")
        meta |= {"skipped": why, "skipped_blocks": str([b for b, _ in skipped]), "node_answer": skipped[0][1]}
        if not blocks:
            return dg.AssetCheckResult(passed=not diffs, severity=dg.AssetCheckSeverity.WARN, metadata=meta,
                                       description=f"Skipped: {why}.")
    return dg.AssetCheckResult(passed=not diffs, severity=dg.AssetCheckSeverity.ERROR, metadata=meta)

