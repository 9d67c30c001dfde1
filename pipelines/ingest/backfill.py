"""A parallel backfill: fetch block ranges in parallel workers, load them with one writer.

plan_ranges splits [from_block, to_block] (default: after what is landed, up to head - confirmations) and
learns the instruments first; fetch_range runs once per range, in parallel (the multiprocess executor here,
the same ops on a cluster executor), and writes the range's logs to <warehouse>.landing/<from>-<to>.parquet (beside the warehouse file)
atomically, skipping ranges already written (so a failed backfill resumes); load_ranges is the single DuckDB
writer: it lands the files in order through the same code as the ingest job (ingest.land on a Parquet
source), so reorg checks, decoding, coverage and idempotency are the same, and records the materializations of
raw_logs and the events tables.  It holds the run lock (`run_lock`) while it loads.  Then ingest_job replays what
it landed, checks it and publishes it: started by the sensor continue_after_backfill where a Dagster daemon runs,
or by hand.  The number of parallel fetch workers is one setting, backfill_workers (OYSTER_BACKFILL_WORKERS).
"""
import os
from pathlib import Path

import dagster as dg

from ..chain.resources import ChainSource
from ..chain.sources import ParquetLogSource
from ..core.catalog import table_metadata
from ..core.publish import WriterRun
from ..core.resources import OysterConfig, Warehouse
from ..core.store import get_state
from .assets import INGESTION_TABLES
from .ingest import EVENT_TABLES, NEW_INSTRUMENT, decode, land, parse_new_instruments


def workers() -> int:
    """Parallel fetch workers: the setting backfill_workers (file or OYSTER_BACKFILL_WORKERS), read when the code
    location loads because the executor is built then.  A bad value stops the run at its start with the other
    settings' message; the code location still loads (with the default)."""
    from ..core.config import ConfigError, load_settings
    try:
        return load_settings().backfill_workers
    except ConfigError:
        return DEFAULT_WORKERS


DEFAULT_WORKERS = 4


class BackfillConfig(dg.Config):
    from_block: int = -1  # -1: right after what is landed
    to_block: int = -1  # -1: head - confirmations
    ranges: int = 0  # block ranges to split into; 0: four per worker (a slow range does not hold the others up)
    landing_dir: str = ""  # default <warehouse file stem>.landing/ beside the warehouse (Settings.landing_dir)


@dg.op(out=dg.DynamicOut(dict))
def plan_ranges(context: dg.OpExecutionContext, config: BackfillConfig, oyster: OysterConfig, chain: ChainSource,
                warehouse: Warehouse):
    s = oyster.settings()
    with warehouse.writer() as con:
        covered = int(get_state(con, "covered_to", str(s.start_block - 1)))
    with chain.open() as source:
        head = source.head() - s.confirmations
        lo = covered + 1 if config.from_block < 0 else config.from_block
        hi = head if config.to_block < 0 else min(config.to_block, head)
        new = source.logs(lo, hi, [s.gate], [NEW_INSTRUMENT]) if lo <= hi else None
        instruments = parse_new_instruments(new, s.gate) if new is not None else []
    with warehouse.reader() as con:
        instruments += [tuple(r) for r in con.execute("SELECT address, first_block FROM instruments").fetchall()]
    if lo > hi:
        context.log.info("nothing to backfill")
        return
    landing = Path(config.landing_dir) if config.landing_dir else s.landing_dir
    landing.mkdir(parents=True, exist_ok=True)
    n = config.ranges or 4 * workers()
    step = max(1, -(-(hi - lo + 1) // n))
    context.log.info(f"backfill of blocks {lo}..{hi} in {-(-(hi - lo + 1) // step)} ranges, {workers()} workers")
    for a in range(lo, hi + 1, step):
        b = min(hi, a + step - 1)
        yield dg.DynamicOutput({"from": a, "to": b, "instruments": instruments, "landing": str(landing)},
                               mapping_key=f"b{a}_{b}")


@dg.op
def fetch_range(context: dg.OpExecutionContext, oyster: OysterConfig, chain: ChainSource, rng: dict) -> str:
    s = oyster.settings()
    out = Path(rng["landing"]) / f"{rng['from']:012d}-{rng['to']:012d}.parquet"
    if out.exists():
        context.log.info(f"{out.name} already landed")
        return str(out)
    addrs = [s.gate, s.config, *s.markets.values(), *(a for a, first in rng["instruments"] if first <= rng["to"])]
    with chain.open() as source:
        frame = source.logs(rng["from"], rng["to"], addrs)
    tmp = out.with_suffix(".tmp")
    frame.rename({"tx_index": "transaction_index", "tx_hash": "transaction_hash"}).write_parquet(tmp)
    os.replace(tmp, out)  # a reader never sees half a file
    context.log.info(f"{out.name}: {frame.height} logs")
    return str(out)


@dg.op(pool="duckdb_writer")
def load_ranges(context: dg.OpExecutionContext, oyster: OysterConfig, warehouse: Warehouse, run_lock: WriterRun,
                files: list[str]) -> dg.Output:
    s = oyster.settings()
    if not files:
        return dg.Output(0)
    folder = str(Path(files[0]).parent)
    last = max(int(Path(f).stem.split("-")[1]) for f in files)
    with warehouse.writer() as con:
        r = land(con, _LandingSource(folder, files), s, to_block=last, report=context.log.info)
        decode(con)  # logs land decoded; this catches up any range that was not
        # Dagster learns which tables changed, with their catalog metadata, as when the ingest job lands blocks
        tables = [*INGESTION_TABLES, *EVENT_TABLES, "quarantine"]
        meta = table_metadata(con, tables)
    context.log.info(f"landed {r.logs} logs in {r.chunks} chunks up to block {r.to_block}")
    run = {"from_block": r.from_block, "to_block": r.to_block, "new_logs": r.logs, **r.progress}
    for t in tables:
        if t in meta:
            context.log_event(dg.AssetMaterialization(t, description="landed by backfill_job",
                                                      metadata={**meta[t], **(run if t == "raw_logs" else {})}))
    return dg.Output(r.logs, metadata={"logs": r.logs, "to_block": r.to_block})


class _LandingSource(ParquetLogSource):
    """The backfill's own files, with timestamps already in them; the head is the last file's end."""

    def __init__(self, folder: str, files: list[str]):
        import polars as pl
        self.folder = Path(folder)
        frames = [pl.read_parquet(f) for f in sorted(files)]
        self.frame = pl.concat(frames).rename({"transaction_index": "tx_index", "transaction_hash": "tx_hash"})
        self._head = max(int(Path(f).stem.split("-")[1]) for f in files)

    def head(self) -> int:
        return self._head


@dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": workers()}),
        description="Backfill many block ranges in parallel workers (OYSTER_BACKFILL_WORKERS, default 4), then "
                    "load them with one writer.")
def backfill_job():
    load_ranges(plan_ranges().map(fetch_range).collect())
