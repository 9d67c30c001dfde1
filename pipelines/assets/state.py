"""State assets: the replay of the decoded events into the state tables, with its checks."""
import dagster as dg

from ..quality import ge_check, sql_asset_check
from ..replay_run import run_replay
from ..resources import ChainSource, OysterConfig, Warehouse
from .ingestion import WRITER_POOL, event_tables


class ReplayConfig(dg.Config):
    full_rebuild: bool = False  # replay from genesis instead of the last checkpoint


@dg.asset(group_name="state", deps=[event_tables], pool=WRITER_POOL, kinds={"duckdb"},
          automation_condition=dg.AutomationCondition.eager(),
          description="Replays the events through models/ from the last checkpoint into amm_snapshots, "
                      "pearl_snapshots, lp_ranges, range_history, orders, positions, fills, funding_index_series "
                      "and replay_divergences.")
def replay(context: dg.AssetExecutionContext, config: ReplayConfig, oyster: OysterConfig,
           warehouse: Warehouse) -> dg.MaterializeResult:
    s = oyster.settings()
    with warehouse.writer() as con:
        r = run_replay(con, s, full=config.full_rebuild)
        total = con.execute("SELECT count(*) FROM replay_divergences").fetchall()[0][0]
    context.log.info(f"replayed {r.events} events of blocks {r.from_block}..{r.to_block} in {r.seconds:.1f} s")
    return dg.MaterializeResult(metadata={"events": r.events, "to_block": r.to_block, "new_divergences":
                                          r.divergences, "divergences": total, "seconds": round(r.seconds, 2),
                                          "resumed_from_block": r.restored_from})


@dg.asset_check(asset=replay, blocking=True,
                description="Every value the chain reported matches the replay (replay_divergences is empty).")
def replay_has_no_divergences(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.reader() as con:
        rows = con.execute("SELECT event, field, count(*) FROM replay_divergences GROUP BY ALL ORDER BY 3 DESC"
                           ).fetchall()
        first = con.execute("SELECT * FROM replay_divergences ORDER BY block_number, log_index LIMIT 5").fetchall()
    return dg.AssetCheckResult(passed=not rows, metadata={"by_field": str(rows[:20]), "first": str(first)})


taker_size_is_split_exactly = sql_asset_check(
    replay, "taker_size_is_split_exactly", "taker_split",
    "Taker size = size filled by orders + size filled by the curve, for every trade and sweep.")
fills_reference_orders = sql_asset_check(replay, "fills_reference_orders", "fill_orders_exist",
                                         "Every LIMIT fill's order exists.")


@dg.asset_check(asset=replay, blocking=False,
                description="The replay agrees with SynFutures' Observer contract (getAmm, getPearls, getPosition, "
                            "getRanges) at the newest checkpoints' blocks, as oyster-sdk's Comparator checks.")
def replay_matches_observer(oyster: OysterConfig, chain: ChainSource, warehouse: Warehouse) -> dg.AssetCheckResult:
    from models.replay import Replayer

    from ..observer import Observer, compare
    s = oyster.settings()
    if not s.observer:
        return dg.AssetCheckResult(passed=True, metadata={"skipped": "no observer address configured"})
    with warehouse.reader() as con:
        points = con.execute("SELECT cursor_block, state FROM replay_checkpoints ORDER BY cursor_block DESC LIMIT ?",
                             [s.observer_samples]).fetchall()
    diffs, compared, blocks = [], 0, []
    with chain.open() as source:
        client = getattr(source, "client", None)
        if client is None:
            return dg.AssetCheckResult(passed=True, metadata={"skipped": "the log source cannot call contracts"})
        observer = Observer(client, s.observer)
        for block, blob in points:
            if not observer.deployed(block):
                diffs.append(("*", None, "observer", "*", "code", f"no contract at {s.observer} at block {block}"))
                continue
            d, n = compare(Replayer.from_checkpoint(bytes(blob)).state, observer, block)
            diffs += d
            compared += n
            blocks.append(block)
    return dg.AssetCheckResult(passed=not diffs, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"blocks": str(blocks), "values_compared": compared,
                                         "differences": len(diffs), "first": str(diffs[:10])})


def _ge(table: str):
    @dg.asset_check(asset=replay, name=f"ge_{table}", blocking=True,
                    description=f"Great Expectations suite of {table}: keys, nulls, ranges.")
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.reader() as con:
            return ge_check(con, table)
    return _check


ge_checks = [_ge(t) for t in ("amm_snapshots", "pearl_snapshots", "fills", "orders", "lp_ranges", "range_history",
                               "positions", "funding_index_series", "depth_snapshots", "pair_hourly")]
