"""The scheduled tick's decision: is there anything for ingest_job to do?  Nothing new: a SkipReason (no run at
all, the reason in the tick history); else a RunRequest.

The question is the raw_logs step's own (pipelines.ingest.assets.nothing_new: the private file as published, no
new block past the landed ones, no reorg of a stored block), asked before a run is made instead of inside one.
Asking it inside a run cost a process start (~5 s) and ~97 "planned" events in Dagster's event log every tick.

Rules (each one a choice, written where it is made below):

- read-only and never in a running ingest's way: a run holds `<db>.run.lock` (pipelines.core.publish.run_lock)
  for its whole length.  The tick tries that lock without waiting: held -> skip (a run is in progress); free ->
  the tick holds it, without writing to it, only while it reads the warehouse read-only, so a run starting at
  that moment waits those milliseconds for the lock (its run_lock polls) instead of failing to open the file
  DuckDB has locked for the tick's read-only connection.
- in doubt, a run: a warehouse file that cannot be opened read-only (a writer outside a run, a damaged file), a
  node that cannot be reached, a devnet history not built or rebuilt since the last publication -> a RunRequest;
  the run reports the real error (or does the work).  A tick never skips for a reason it could not check.
- the node is asked with short timeouts and few retries (the tick must finish well inside Dagster's schedule
  evaluation timeout, 60 s by default): the head (eth_blockNumber) and, inside nothing_new, the hashes of the
  last `reorg_window` stored blocks (one batch of headers).
"""
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from ..chain.rpc import tick_client
from ..chain.sources import RpcLogSource
from ..core.config import Settings
from ..core.preflight import devnet_head
from ..core.publish import manifest, run_lock_if_free, unpublished
from ..core.store import get_state, reader
from .assets import nothing_new
from .backfill import landing_files, next_file

REASON_TAG = "oyster/requested_because"  # on each requested run: why the tick asked for it


class _TickSource:
    """What nothing_new asks of a source: the head (asked once, before the warehouse is opened) and the chain's
    current hashes of stored blocks (the reorg check).  Records what was asked and the error of the hash call:
    nothing_new turns every exception into "has work", the tick wants to say which."""

    def __init__(self, head: int, hashes: Callable[[list[int]], dict[int, str]]):
        self._head = head
        self._hashes = hashes
        self.head_asked = False
        self.hashes_asked = False
        self.error: Exception | None = None

    def head(self) -> int:
        self.head_asked = True
        return self._head

    def block_hashes(self, blocks: list[int]) -> dict[int, str]:
        self.hashes_asked = True
        try:
            return self._hashes(blocks)
        except Exception as e:  # noqa: BLE001 - recorded, then raised on to nothing_new (which says: has work)
            self.error = e
            raise


def _stored_hashes(db_path: str) -> Callable[[list[int]], dict[int, str]]:
    """The embedded devnet's "node": its chain is the kept history, fixed once built; the hashes stored in the
    warehouse are that history's (as long as the history was not rebuilt after the last publication, which the
    tick checks before it asks: _devnet_rebuilt).  So a devnet's reorg check finds nothing, without anvil."""
    def hashes(blocks: list[int]) -> dict[int, str]:
        if not blocks:
            return {}
        with reader(db_path) as con:
            rows = con.execute("SELECT block_number, block_hash FROM block_hashes WHERE block_number BETWEEN ? AND ?",
                               [min(blocks), max(blocks)]).fetchall()
        wanted = set(blocks)
        return {b: h for b, h in rows if b in wanted}
    return hashes


def _devnet_rebuilt(s: Settings) -> str | None:
    """Why the devnet's kept history may differ from what the warehouse holds: built (meta.json written last)
    after the last publication.  None when the last publishing run already ran on this history."""
    from devnet.build import history_dir
    meta = history_dir(s.devnet_size, layout=s.devnet_layout) / "meta.json"
    published_at = (manifest(s.duckdb_path) or {}).get("published_at", 0)
    if meta.stat().st_mtime > published_at:
        return f"the devnet history {meta.parent.name} was built after the last publication"
    return None


def _rpc_source(s: Settings) -> RpcLogSource:
    client = tick_client(s.rpc_url, s.requests_per_second, s.max_retries)  # short timeouts (chain/rpc.py)
    return RpcLogSource(client, s.max_block_span, s.spans_per_request, s.requests_in_flight,
                        verify_depth=s.verify_depth)


def _landing_continues(db: str, s: Settings) -> bool:
    """Whether a landing file continues the warehouse (what nothing_new checks before it asks the head)."""
    try:
        with reader(db) as con:
            covered = int(get_state(con, "covered_to", str(s.start_block - 1)))
    except Exception:  # noqa: BLE001 - unreadable: the other wording
        return False
    return next_file(landing_files(s.landing_dir), covered) is not None


def _run(reason: str) -> dg.RunRequest:
    # no run_key: a tick with work always makes a run (ticks are not deduplicated across new blocks)
    return dg.RunRequest(tags={REASON_TAG: reason[:250]})


def decide(s: Settings, parquet_dir: str = "", log=None) -> dg.RunRequest | dg.SkipReason:
    """The tick: SkipReason(why nothing is to be done) or RunRequest (tagged with why)."""
    out = _decide(s, parquet_dir)
    if log is not None:
        log.info(out.skip_message if isinstance(out, dg.SkipReason) else f"run requested: {out.tags[REASON_TAG]}")
    return out


def _decide(s: Settings, parquet_dir: str) -> dg.RunRequest | dg.SkipReason:
    db = s.duckdb_path
    if parquet_dir:  # a folder of log dumps: its head means reading its files, which is the run's work
        return _run(f"logs come from Parquet dumps ({parquet_dir}): the run looks for new ones")

    # The head, before the run lock is taken (a slow node never holds up a starting run).
    source: RpcLogSource | None = None
    node_error = None
    try:
        if s.is_devnet:
            head = devnet_head(s)  # the kept history's head: no anvil started
            if head is None:
                return _run("the devnet history is not built yet: the run builds it")
        else:
            source = _rpc_source(s)
            head = source.head()
    except Exception as e:  # noqa: BLE001 - unreachable, refusing, a bad answer (messages carry the masked URL)
        node_error = e
    try:
        with run_lock_if_free(db) as (lock, holder):
            if lock == "busy":
                # Choice: skip, not a run that queues behind the lock.  The run in progress lands every block up
                # to the head it asked for; what came after is the next tick's (5 minutes).  Runs queued behind
                # a long run (a first ingest, the landing of a large backfill: hours) would pile up one per tick, each a process
                # waiting for the lock and failing when its wait (1 h) runs out.
                return dg.SkipReason(f"a run is in progress on {db} ({holder}): it lands what is new; the next "
                                     "tick looks again")
            if lock == "missing":
                return _run(f"no run has used {db} yet (no {Path(db).name}.run.lock)")
            if node_error is not None:
                # Choice: a run, not a SkipReason naming the node.  A skip only shows in the tick history, where
                # nobody is paged, and would repeat every 5 minutes for as long as the node is down; a run fails
                # with the node's error (masked URL) where run-failure alerts look, and it asks the node with the
                # full budget (60 s timeouts, max_retries with backoff) that a tick cannot spend, so a blip the
                # tick gave up on is ridden out by the run.
                where = "the devnet history's head (meta.json) could not be read" if s.is_devnet else \
                    f"the node at {s.safe_rpc_url} did not answer the tick"
                return _run(f"{where} ({type(node_error).__name__}: {str(node_error)[:150]})")
            why = unpublished(db)
            if why:
                return _run(f"not published: {why}")
            if s.is_devnet:
                try:
                    rebuilt = _devnet_rebuilt(s)
                except OSError as e:
                    rebuilt = f"the devnet history could not be read ({e})"
                if rebuilt:
                    return _run(rebuilt)
                asked = _TickSource(head, _stored_hashes(db))
            else:
                asked = _TickSource(head, source.block_hashes)
            idle = nothing_new(db, asked, s)
            # which check said "work" (read while the run lock is still held): a landing file, before the head
            landing = idle is None and not asked.head_asked and _landing_continues(db, s)
    finally:
        if source is not None:
            source.close()
    if idle:
        return dg.SkipReason(idle + (" (the embedded devnet: its kept history's head, no node started)"
                                     if s.is_devnet else ""))
    target = head - s.confirmations
    if asked.error is not None:
        return _run(f"the node at {s.safe_rpc_url} did not answer the reorg check "
                    f"({type(asked.error).__name__}: {str(asked.error)[:150]})")
    # nothing_new says only "has work"; what it asked tells which check said so (wording only: the run decides)
    if landing:
        return _run(f"a backfill's landing file continues the warehouse ({s.landing_dir}): the run lands it")
    if not asked.head_asked:
        return _run(f"the tick could not read {db} read-only (a writer outside a run, or a damaged file): the run "
                    "reports why")
    if asked.hashes_asked:
        return _run(f"stored block hashes differ from the node's at head {head} (a reorg): the run repairs it")
    return _run(f"new blocks to land or decode: the node's head is {head} ({s.confirmations} confirmations: up to "
                f"{target})")
