"""The backfill as Dagster users expect it: block-range partitions, launched from the UI.

`landed_logs` is an asset partitioned by block range (the dynamic partitions `block_ranges`).  A key names an
aligned range of `backfill_partition_blocks` blocks (OYSTER_BACKFILL_PARTITION_BLOCKS; 100,000 on Base, Blast and
current-ABI chains, 50 on the devnets), zero-padded so keys sort as their blocks do: `000015700000-000015799999`.
Materializing partitions fetches their ranges from the node into the landing folder beside the warehouse
(`<warehouse stem>.landing/<key>.parquet`, written to a temporary file and renamed: a file that is there is
whole).  Its backfill policy is a single run: one UI backfill of many partitions is ONE run, whose ranges are
fetched `backfill_workers` at a time (OYSTER_BACKFILL_WORKERS): threads, each with its own log source (its own
adaptive span and request threads) over one JSON-RPC client (one rate limit for the run).  Each partition is
recorded as materialized as soon as its file is written, with its metadata (blocks, logs, file, seconds), so a
failed backfill shows which ranges are done; a rerun skips ranges whose file is there or that the warehouse
already holds (a failed backfill resumes).  The instruments asked for are the warehouse's plus those in Gate's
NewInstrument logs after what the warehouse holds, up to the last range's end: one query per run.

Keys are added up to head - confirmations by the sensor `block_range_partitions` and by every ingest_job run
(raw_logs knows the head): only COMPLETE ranges.  A key's blocks never change, so its file, once written, is
final and "materialized" stays true; a key for the partial range at the head would be stale as soon as the next
block came (its file would have to be fetched again and its name would promise blocks it does not hold).  The
partial range (at most one partition's blocks, plus the confirmations) is what ingest_job's raw_logs fetches
from the node anyway.

Landing: ingest_job's raw_logs lands, before asking the node, the landing files that continue the warehouse
(`land_with_landing`: the file holding block covered_to + 1, through ingest.land as every block lands: decoding,
coverage and idempotency are the same), then the node's blocks up to the next landing file, that file, and so on
to the head; files wholly landed are deleted.  While a backfill is fetching (it holds `.fetching.lock` in the
landing folder, shared; released when its process ends, however it ends) raw_logs lands the files that continue
the warehouse and asks the node for no block after them until the backfill ends.  After a run that materialized
landed_logs succeeds, the sensor continue_after_backfill (definitions.py) starts ingest_job, which lands the
files, replays, checks, builds the marts and publishes; without a Dagster daemon, run ingest_job by hand.
"""
import bisect
import dataclasses
import fcntl
import json
import logging
import os
import re
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl

from ..chain.resources import ChainSource
from ..chain.rpc import NodeBehind, tick_client
from ..chain.sources import RpcLogSource, empty_raw
from ..core import warehouse_identity
from ..core.config import Settings
from ..core.preflight import SettingsRefused, devnet_head
from ..core.progress import Progress
from ..core.resources import OysterConfig
from ..core.publish import lock_if_free, run_lock_if_free
from ..core.store import RAW_COLUMNS, get_state, reader
from .ingest import NEW_INSTRUMENT, LandResult, check_reorg, land, parse_new_instruments

log = logging.getLogger(__name__)

PARTITIONS = "block_ranges"
block_ranges = dg.DynamicPartitionsDefinition(name=PARTITIONS)
LANDED = dg.AssetKey("landed_logs")
BACKFILL_JOB = "backfill_job"
MAX_NEW_KEYS = 10_000  # keys added at once (a tiny partition size on a long chain is added over several calls)
LOCK_NAME = ".fetching.lock"
_KEY = re.compile(r"(\d{12})-(\d{12})")
_CRYO = {"tx_index": "transaction_index", "tx_hash": "transaction_hash"}  # the files' column names (cryo's)


# ---------------------------------------------------------------- partition keys

def partition_key(lo: int, hi: int) -> str:
    return f"{lo:012d}-{hi:012d}"


def key_range(key: str) -> tuple[int, int]:
    """(first block, last block) of a partition key."""
    m = _KEY.fullmatch(key)
    if not m or int(m[1]) > int(m[2]):
        raise ValueError(f"{key!r} is not a block range key (first-last, 12 digits each: 000015700000-000015799999)")
    return int(m[1]), int(m[2])


def _range_or_none(key: str) -> tuple[int, int] | None:
    try:
        return key_range(key)
    except ValueError:  # a key added by hand that names no block range: it covers nothing
        return None


def missing_keys(s: Settings, head: int, existing=()) -> list[str]:
    """The keys of the complete aligned ranges of backfill_partition_blocks, from the one holding start_block up
    to head - confirmations, that no existing key overlaps (after a change of the size, a range some older key
    covers keeps that key), ascending (dynamic partitions keep the order they were added in), at most
    MAX_NEW_KEYS."""
    size = s.backfill_partition_blocks
    top = head - s.confirmations
    taken = sorted(r for r in map(_range_or_none, existing) if r is not None)
    los = [lo for lo, _ in taken]
    reach, hi_so_far = [], -1  # reach[i]: the highest block any of taken[0..i] covers
    for _, hi in taken:
        hi_so_far = max(hi_so_far, hi)
        reach.append(hi_so_far)
    out = []
    a = s.start_block // size * size
    while a + size - 1 <= top and len(out) < MAX_NEW_KEYS:
        b = a + size - 1
        i = bisect.bisect_right(los, b) - 1
        if i >= 0 and reach[i] >= a:
            # the key reaching reach[i] starts at or before b: it overlaps every aligned range up to reach[i]
            a = (reach[i] // size + 1) * size
            continue
        out.append(partition_key(a, b))
        a += size
    return out


def add_keys(instance: dg.DagsterInstance, s: Settings, head: int) -> list[str]:
    """Add the missing keys up to `head` (cheap when there are none: one read of the instance's keys)."""
    new = missing_keys(s, head, instance.get_dynamic_partitions(PARTITIONS))
    if new:
        instance.add_dynamic_partitions(PARTITIONS, new)
    return new


def node_head(s: Settings) -> int | None:
    """The head, asked the cheap way: the devnet's kept history (no anvil), else one eth_blockNumber with a short
    timeout (a sensor evaluation must end well inside Dagster's 60 s)."""
    if s.is_devnet:
        return devnet_head(s)
    return int(tick_client(s.rpc_url, s.requests_per_second, s.max_retries).call("eth_blockNumber", []), 16)


def partitions_tick(s: Settings, parquet_dir: str, instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    """The sensor block_range_partitions: the keys to add, as a dynamic partitions request (shown in its tick)."""
    if parquet_dir:
        return dg.SkipReason(f"logs come from Parquet dumps ({parquet_dir}): no node to backfill from")
    head = node_head(s)
    if head is None:
        return dg.SkipReason("the devnet history is not built yet (the first ingest_job run builds it)")
    new = missing_keys(s, head, instance.get_dynamic_partitions(PARTITIONS))
    if not new:
        return dg.SkipReason(f"every complete range of {s.backfill_partition_blocks:,} blocks up to block "
                             f"{head - s.confirmations} (head {head}, {s.confirmations} confirmations) has its key")
    return dg.SensorResult(dynamic_partitions_requests=[block_ranges.build_add_request(new)])


# ---------------------------------------------------------------- the landing folder

def landing_files(folder: Path) -> list[tuple[int, int, Path]]:
    """The landing folder's whole files (temporary files are not *.parquet), as (first block, last block, path)."""
    if not folder.is_dir():
        return []
    out = []
    for p in folder.glob("*.parquet"):
        if _KEY.fullmatch(p.stem):
            out.append((*key_range(p.stem), p))
    return sorted(out)


def next_file(files, covered: int) -> tuple[int, int, Path] | None:
    """The file that continues the warehouse: it holds block covered + 1 (the one reaching furthest, if several)."""
    hold = [f for f in files if f[0] <= covered + 1 <= f[1]]
    return max(hold, key=lambda f: f[1]) if hold else None


@contextmanager
def fetching(folder: Path):
    """Held (shared: backfills may run side by side) while a backfill fetches into `folder`; a lock the kernel
    releases when the process ends, however it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def backfill_fetching(folder: Path) -> bool:
    """A backfill is fetching into `folder` now (tried without waiting; the lock file is not created)."""
    with lock_if_free(folder / LOCK_NAME) as (state, _):
        return state == "busy"


class _LandingSource:
    """One landing file as a log source for ingest.land.  Its head is the file's last block; block hashes (the
    reorg check, chunk ends) are the node's: a stored block that is in no file must still be compared with the
    chain, not found missing."""

    def __init__(self, path: Path, last: int, node):
        self.frame = (pl.read_parquet(path).rename({v: k for k, v in _CRYO.items()}).select(RAW_COLUMNS).sort("block_number", "log_index"))
        self._head = last
        self.node = node

    def head(self) -> int:
        return self._head

    def block_hashes(self, blocks: list[int]) -> dict[int, str]:
        return self.node.block_hashes(blocks)

    def chunk_end_hash(self, block: int) -> str | None:
        return self.node.chunk_end_hash(block)

    def logs(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        f = self.frame.filter(pl.col("block_number").is_between(lo, hi)
                              & pl.col("address").is_in([a.lower() for a in addresses]))
        return f.filter(pl.col("topic0").is_in(topic0)) if topic0 else f


def land_with_landing(con, node, s: Settings, report=None) -> LandResult:
    """raw_logs' landing: the landing files that continue the warehouse first, then the node's blocks up to the
    next landing file, that file, ... up to head - confirmations (all through ingest.land); files wholly landed
    are deleted.  While a backfill is fetching into the landing folder, only the files that continue the
    warehouse land: the node is not asked for blocks the backfill is fetching.  The node's reorg check comes
    first; files reaching into blocks a reorg repaired may hold the old branch: deleted."""
    say = report or log.info
    folder = s.landing_dir
    cursor = lambda: int(get_state(con, "covered_to", str(s.start_block - 1)))  # noqa: E731
    stored = int(get_state(con, "covered_to", "-1"))
    head = node.head()
    if head < stored:
        raise NodeBehind(f"the node's head {head} is below the head already landed ({stored}): it answers from "
                         "an older view of the chain (lagging, or a load balancer's node behind); nothing written")
    reorg = check_reorg(con, node, s.reorg_window)
    if reorg is not None:
        for lo, hi, p in landing_files(folder):
            if hi >= reorg:
                p.unlink(missing_ok=True)
                say(f"{p.name} deleted: it reaches block {reorg}, where a reorg was repaired")
    busy = backfill_fetching(folder)
    first = max(cursor() + 1, s.start_block)
    parts: list[LandResult] = []
    files = file_logs = 0
    as_landed = dataclasses.replace(s, confirmations=0)  # the files stop at the head - confirmations they were cut at
    while True:
        covered = cursor()
        found = landing_files(folder)
        f = next_file(found, covered)
        if f is not None:
            r = land(con, _LandingSource(f[2], f[1], node), as_landed, to_block=f[1], report=report)
            parts.append(r)
            files += 1
            file_logs += r.logs
            say(f"{f[2].name}: {r.logs} logs landed from the landing folder")
            if cursor() <= covered:  # cannot happen (the file holds block covered + 1): never loop on it
                break
            continue
        if busy:
            if covered < head - s.confirmations:
                say(f"a backfill is fetching block ranges into {folder}: blocks after {covered} wait for its files "
                    "(the next run lands them)")
            break
        ahead = min((x for x in found if x[0] > covered + 1), default=None)
        r = land(con, node, s, to_block=None if ahead is None else ahead[0] - 1, report=report)
        parts.append(r)
        if ahead is None or cursor() < ahead[0] - 1:
            break
    covered = cursor()
    for lo, hi, p in landing_files(folder):
        if hi <= covered:
            p.unlink(missing_ok=True)
    progress = _merged([p.progress for p in parts])
    progress |= {"landed_files": files, "logs_from_files": file_logs}
    n_inst = parts[-1].instruments if parts else con.execute("SELECT count(*) FROM instruments").fetchall()[0][0]
    reorg_from = min([b for b in (reorg, *(p.reorg_from for p in parts)) if b is not None], default=None)
    return LandResult(first, covered, sum(p.logs for p in parts), sum(p.chunks for p in parts), reorg_from,
                      n_inst, progress)


def _merged(progress: list[dict]) -> dict:
    """Progress metadata of several land() calls as one: counts and seconds added, rates computed again."""
    out: dict = {}
    for p in progress:
        for k, v in p.items():
            if not k.endswith("_per_second"):
                out[k] = round(out.get(k, 0) + v, 1) if isinstance(v, float) else out.get(k, 0) + v
    secs = max(out.get("seconds", 0), 1e-9)
    for k in [k for k in out if k.endswith("_done")] + (["logs"] if "logs" in out else []):
        out[k.removesuffix("_done") + "_per_second"] = round(out[k] / secs, 1)
    return out


# ---------------------------------------------------------------- the asset

def _warehouse_view(s: Settings) -> tuple[int, list[tuple[str, int]], str | None]:
    """(landed up to, known instruments, why the warehouse could not be read), read-only and without waiting:
    a backfill fetches beside a run that writes.  A warehouse of other settings is refused."""
    if not Path(s.duckdb_path).exists():
        return s.start_block - 1, [], "no warehouse yet"
    try:
        # read only while no run holds the warehouse (its run lock, tried without waiting): a run opening its
        # writer while this reader is open would fail on DuckDB's file lock
        with run_lock_if_free(s.duckdb_path) as (lock, holder):
            if lock == "busy":
                raise RuntimeError(f"a run is writing it ({holder})")
            warehouse_identity.check_file(s.duckdb_path, s)
            with reader(s.duckdb_path) as con:
                covered = int(get_state(con, "covered_to", str(s.start_block - 1)))
                known = [(a, int(b)) for a, b in con.execute("SELECT address, first_block FROM instruments"
                                                            ).fetchall()]
        return covered, known, None
    except SettingsRefused:
        raise
    except Exception as e:  # noqa: BLE001 - a run writing it (DuckDB's lock): nothing is known to be landed
        return s.start_block - 1, [], f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"


INSTRUMENT_SCAN = "gate_instruments.json"  # in the landing folder (not *.parquet: no landing file)


def _instrument_scan(folder: Path, s: Settings, need: int) -> tuple[int, int, list[tuple[str, int]]]:
    """(scanned from, scanned to, instruments) of the Gate's NewInstrument logs an earlier backfill asked for
    (a fresh Base backfill scans ~1,250 requests of them).  Used only when the scan starts at or before `need` (the
    first block the warehouse does not hold: a warehouse that shrank since, by a reorg or a reset, rescans) and
    is of these settings' Gate; else nothing known: (need, need - 1, [])."""
    try:
        doc = json.loads((folder / INSTRUMENT_SCAN).read_text())
        if doc["gate"] == s.gate.lower() and doc["from"] <= need <= doc["to"] + 1:
            return doc["from"], doc["to"], [(a, int(b)) for a, b in doc["instruments"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return need, need - 1, []


def _save_instrument_scan(folder: Path, s: Settings, scan_from: int, scan_to: int, found) -> None:
    tmp = folder / f".{INSTRUMENT_SCAN}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(json.dumps({"gate": s.gate.lower(), "from": scan_from, "to": scan_to,
                               "instruments": sorted(set(map(tuple, found)))}))
    os.replace(tmp, folder / INSTRUMENT_SCAN)  # parallel backfills: one whole file or the other


def _rows(path: Path) -> int:
    return pl.scan_parquet(path).select(pl.len()).collect().item()


# BackfillPolicy is "beta" in Dagster 1.13: its warning would be printed by every command that loads the code
# location (the CLI, dagster job execute); the policy is what makes a UI backfill one run
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


@dg.asset(
    name="landed_logs", group_name="backfill", partitions_def=block_ranges,
    backfill_policy=dg.BackfillPolicy.single_run(), output_required=False, kinds={"parquet"},
    description="Logs of a block range fetched from the node into the landing folder beside the warehouse, for "
                "ingest_job's raw_logs to land (a backfill: partitions are aligned ranges of "
                "backfill_partition_blocks, one run fetches backfill_workers ranges at a time).")
def landed_logs(context: dg.AssetExecutionContext, oyster: OysterConfig, chain: ChainSource):
    s = oyster.settings()
    folder = s.landing_dir
    try:
        ranges = sorted((*key_range(k), k) for k in context.partition_keys)
    except ValueError as e:
        raise dg.Failure(str(e)) from None
    covered, known, unreadable = _warehouse_view(s)
    if unreadable:
        context.log.info(f"{unreadable}: no range counts as landed in the warehouse" if unreadable == "no warehouse yet"
                         else f"the warehouse could not be read ({unreadable}): no range counts as landed there")

    def record(key: str, meta: dict, description: str) -> None:
        context.log_event(dg.AssetMaterialization(LANDED, partition=key, metadata=meta, description=description))

    todo = []
    for lo, hi, key in ranges:
        path = folder / f"{key}.parquet"
        if path.exists():
            record(key, {"from_block": lo, "to_block": hi, "logs": _rows(path), "file": dg.MetadataValue.path(
                str(path)), "skipped": "already in the landing folder"}, "already in the landing folder")
        elif hi <= covered:
            record(key, {"from_block": lo, "to_block": hi, "skipped": f"the warehouse holds blocks up to {covered}"},
                   "already in the warehouse")
        else:
            todo.append((lo, hi, key))
    if len(todo) < len(ranges):
        context.log.info(f"{len(ranges) - len(todo)} of {len(ranges)} ranges already landed: skipped")
    if not todo:
        return
    workers = min(s.backfill_workers, len(todo))
    t0 = time.monotonic()
    with fetching(folder), chain.open() as source:
        # the instruments: the warehouse's, and those Gate created after it, up to the last range (one query; not
        # past the node's head: a key added by hand beyond it fails in its own range, after the others)
        need, hi = max(covered + 1, s.start_block), min(max(b for _, b, _ in todo), source.head())
        scan_from, scanned_to, found = _instrument_scan(folder, s, need)  # what earlier backfills asked already
        known += found
        lo = max(need, scanned_to + 1)
        if lo <= hi:
            new = parse_new_instruments(source.logs(lo, hi, [s.gate], [NEW_INSTRUMENT]), s.gate)
            known += new
            _save_instrument_scan(folder, s, scan_from, hi, found + new)
        first: dict[str, int] = {}
        for a, b in known:
            first[a] = min(b, first.get(a, b))
        fixed = [a.lower() for a in (s.gate, s.config, *s.markets.values())]
        # a request's blocks: enough spans to keep the source's requests in flight busy
        step = max(1000, s.max_block_span * s.spans_per_request * s.requests_in_flight)
        local, made, made_lock = threading.local(), [], threading.Lock()

        def own():
            """This worker's source: its own span and request threads, over the run's one client (one rate limit,
            one keep-alive connection per thread)."""
            src = getattr(local, "src", None)
            if src is None:
                src = source
                if isinstance(source, RpcLogSource):
                    src = RpcLogSource(source.client, s.max_block_span, s.spans_per_request, s.requests_in_flight,
                                       verify_depth=s.verify_depth)
                    with made_lock:
                        made.append(src)
                local.src = src
            return src

        def fetch(lo: int, hi: int, key: str) -> dict:
            started = time.monotonic()
            addrs = fixed + sorted(a for a, b in first.items() if b <= hi)
            src = own()
            frames = [src.logs(a, min(hi, a + step - 1), addrs) for a in range(max(lo, s.start_block), hi + 1, step)]
            frame = pl.concat(frames) if frames else empty_raw()
            out = folder / f"{key}.parquet"
            tmp = folder / f"{key}.parquet.{uuid.uuid4().hex}.tmp"
            try:
                frame.rename(_CRYO).write_parquet(tmp)
                os.replace(tmp, out)  # a reader never sees half a file
            finally:
                tmp.unlink(missing_ok=True)
            return {"from_block": lo, "to_block": hi, "blocks": hi - max(lo, s.start_block) + 1, "logs": frame.height,
                    "addresses": len(addrs), "file": dg.MetadataValue.path(str(out)),
                    "seconds": round(time.monotonic() - started, 2)}

        context.log.info(f"fetching {len(todo)} block ranges ({todo[0][0]}..{max(b for _, b, _ in todo)}) into {folder} with "
                         f"{workers} worker{'s' * (workers > 1)} (backfill_workers)")
        progress = Progress("backfill", sum(hi - max(lo, s.start_block) + 1 for lo, hi, _ in todo), context.log.info,
                            client=getattr(source, "client", None))
        failed = None
        pool = ThreadPoolExecutor(workers, thread_name_prefix="backfill")
        try:
            futures = {pool.submit(fetch, *t): t[2] for t in todo}
            for fut in as_completed(futures):
                key = futures[fut]
                if fut.cancelled():
                    continue
                try:
                    meta = fut.result()
                except Exception as e:  # noqa: BLE001 - the first failure stops the ranges not started
                    if failed is None:
                        failed = (key, e)
                        for other in futures:
                            other.cancel()
                    continue
                record(key, meta, f"{meta['logs']} logs fetched")
                progress(meta["blocks"], meta["logs"])
        finally:  # a run terminated here starts no more ranges (the ranges under way end with their file)
            pool.shutdown(wait=True, cancel_futures=True)
            for src in made:
                src.close()
    if failed is not None:
        context.log.error(f"{failed[0]} failed ({type(failed[1]).__name__}): the ranges fetched are kept and "
                          "recorded; launching the backfill again fetches only the others")
        raise failed[1]
    context.log.info(f"{len(todo)} ranges fetched in {time.monotonic() - t0:.1f} s with {workers} "
                     f"worker{'s' * (workers > 1)}")
    yield from ()


backfill_job = dg.define_asset_job(
    BACKFILL_JOB, selection=dg.AssetSelection.assets(LANDED),
    description="landed_logs over block-range partitions: one run fetches the selected ranges, backfill_workers "
                "(OYSTER_BACKFILL_WORKERS) at a time, into the landing folder; ingest_job lands them (started by "
                "continue_after_backfill where a daemon runs, else by hand).")
