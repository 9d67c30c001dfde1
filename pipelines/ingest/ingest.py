"""Ingestion: land raw logs by block range and decode them into the events_<name> tables.

land():  a node whose head is below the stored head is refused (NodeBehind: nothing moves, the cursor neither
         back nor forward); reorg check over the last `reorg_window` stored block hashes, walking back past the
         window until a stored hash agrees with the node's when the whole window changed (repair = delete from
         the block after the last agreeing one, then ingest again; no stored hash agrees: ReorgTooDeep, nothing
         deleted); then chunks of blocks up to head - confirmations, in three stages on their
         own threads (fetch, decode, write: pipelines/ingest/ahead.py).  Consecutive chunks are written together once
         they hold `batch_logs` logs (or at the end):
         a write batch lands in one DuckDB transaction (delete the range, insert its logs, record its block
         hashes and coverage), so a run killed mid-way resumes from the last whole batch and re-running a range
         never duplicates.  Batching matters: a transaction touches ~25 tables and costs ~0.1 s whatever its
         rows; on chunks of ~500 logs (what 1,000 blocks of a sparse chain hold) a transaction per chunk
         ingested ~8k logs/s and batches ~45-52k logs/s (benchmarks/ingest_bench.py).
         Instruments are discovered from Gate's NewInstrument logs; a new one's logs are fetched from the block
         it was created in.
         Each batch is decoded from memory in the same transaction, so raw and decoded tables never disagree.
decode(): catches up raw logs of (decoded_to, covered_to] -> events_* and quarantine (after a decoder change,
         or when decoding was switched off), again delete-then-insert by range.
"""
import logging
import threading
from dataclasses import dataclass, field

import polars as pl
from eth_abi import decode as abi_decode

from models.events import BY_NAME, EVENTS

from ..chain.rpc import NodeBehind
from ..core.progress import Progress
from ..core.store import RAW_COLUMNS, event_columns, get_state, insert_frame, set_state
from .ahead import Ahead
from .decode import decode_frame

log = logging.getLogger(__name__)
NEW_INSTRUMENT = BY_NAME["NewInstrument"].topic0
EVENT_TABLES = sorted({e.table for e in EVENTS})


@dataclass
class LandResult:
    from_block: int
    to_block: int
    logs: int
    chunks: int
    reorg_from: int | None
    instruments: int
    progress: dict = field(default_factory=dict)  # blocks, logs/s, retries, throttling of the run


def _instruments(con) -> dict[str, int]:
    return dict(con.execute("SELECT address, first_block FROM instruments").fetchall())


def _new_instruments(frame: pl.DataFrame, gate: str):
    new = frame.filter((pl.col("topic0") == NEW_INSTRUMENT) & (pl.col("address") == gate.lower()))
    for r in new.iter_rows(named=True):
        try:
            _, inst, base, quote, symbol, _ = abi_decode(
                ["bytes32", "address", "address", "address", "string", "uint256"], bytes.fromhex(r["data"][2:]))
        except Exception:  # noqa: BLE001 - a malformed NewInstrument is quarantined by the decoder
            continue
        yield inst.lower(), symbol, base.lower(), quote.lower(), r["block_number"]


def parse_new_instruments(frame: pl.DataFrame, gate: str) -> list[tuple[str, int]]:
    return [(inst, block) for inst, _, _, _, block in _new_instruments(frame, gate)]


def _discover(con, frame: pl.DataFrame, gate: str) -> list[tuple[str, int]]:
    found = []
    for inst, symbol, base, quote, block in _new_instruments(frame, gate):
        con.execute("INSERT OR IGNORE INTO instruments VALUES (?, ?, ?, ?, ?)", [inst, symbol, base, quote, block])
        found.append((inst, block))
    return found


def delete_from(con, block: int) -> None:
    """Forget everything at and after `block` (a reorg repair)."""
    for t in ("raw_logs", "quarantine", "block_hashes", *EVENT_TABLES):
        con.execute(f"DELETE FROM {t} WHERE block_number >= ?", [block])
    con.execute("DELETE FROM ingested_ranges WHERE from_block >= ?", [block])
    con.execute("UPDATE ingested_ranges SET to_block = ? WHERE to_block >= ?", [block - 1, block])
    con.execute("DELETE FROM instruments WHERE first_block >= ?", [block])
    covered = int(get_state(con, "covered_to", "-1"))
    set_state(con, "covered_to", min(covered, block - 1))
    set_state(con, "decoded_to", min(int(get_state(con, "decoded_to", "-1")), block - 1))
    set_state(con, "reorg_from", min(int(get_state(con, "reorg_from", str(block))), block))
    # the replay rewinds to a checkpoint before this block on its next run
    set_state(con, "replay_reorg_from", min(int(get_state(con, "replay_reorg_from", str(block))), block))


class ReorgTooDeep(RuntimeError):
    """Every stored block hash differs from the node's: no fork point to repair from."""


def find_fork(con, source, window: int) -> tuple[int, str, str | None, int | None] | None:
    """(first changed stored block, its stored hash, the node's hash, last stored block that still agrees or
    None) when the stored hashes disagree with the node's, else None.  The last `window` stored hashes are
    compared first; if even the oldest of them changed, older stored hashes are compared, in pages that double,
    until one agrees (hashes chain: once a block agrees, every block before it does).  ReorgTooDeep if none do."""
    covered = int(get_state(con, "covered_to", "-1"))
    if covered < 0:
        return None
    rows = con.execute("SELECT block_number, block_hash FROM block_hashes WHERE block_number > ? "
                       "ORDER BY block_number", [covered - window]).fetchall()
    if not rows:
        return None
    chain = source.block_hashes([b for b, _ in rows])
    changed = [(b, h) for b, h in rows if chain.get(b) != h]
    if not changed:
        return None
    first, old = changed[0]
    new = chain.get(first)
    agree = [b for b, h in rows if b < first]
    if agree:
        return first, old, new, agree[-1]
    page = window
    while True:  # the whole window changed: the fork is older
        older = con.execute("SELECT block_number, block_hash FROM block_hashes WHERE block_number < ? "
                            "ORDER BY block_number DESC LIMIT ?", [first, page]).fetchall()
        if not older:
            raise ReorgTooDeep(f"every stored block hash from block {first} down differs from the node's: the "
                               "node follows another chain, or the reorg is older than the stored history "
                               "(nothing was deleted; rebuild from a fresh warehouse)")
        chain = source.block_hashes([b for b, _ in older])
        for b, h in older:  # newest first
            if chain.get(b) == h:
                return first, old, new, b
            first, old, new = b, h, chain.get(b)
        page *= 2


def check_reorg(con, source, window: int) -> int | None:
    fork = find_fork(con, source, window)
    if fork is None:
        return None
    first, old, new, agreed = fork
    # everything after the last block that still matches is suspect
    repair = (agreed + 1) if agreed is not None else first
    con.execute("BEGIN")
    try:
        con.execute("INSERT INTO reorgs (first_changed_block, old_hash, new_hash) VALUES (?, ?, ?)", [first, old, new])
        delete_from(con, repair)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.warning("reorg: block %s changed; repairing from %s", first, repair)
    return repair


def land(con, source, settings, to_block: int | None = None, chunk_blocks: int = 1000, batch_logs: int = 100_000,
         on_chunk=None, report=None) -> LandResult:
    """Land the blocks after the cursor up to the head less confirmations.  `report` (default: this module's
    logger) gets a progress line at most every 10 s: blocks done of total, logs/s, ETA, retries, throttling."""
    fixed = [a.lower() for a in (settings.gate, settings.config, *settings.markets.values())]
    head = source.head()
    stored = int(get_state(con, "covered_to", "-1"))
    if head < stored:
        raise NodeBehind(f"the node's head {head} is below the head already landed ({stored}): it answers from "
                         "an older view of the chain (lagging, or a load balancer's node behind); nothing written")
    reorg = check_reorg(con, source, settings.reorg_window)
    target = head - settings.confirmations if to_block is None else min(to_block, head - settings.confirmations)
    covered = int(get_state(con, "covered_to", str(settings.start_block - 1)))
    start = max(covered + 1, settings.start_block)
    if hasattr(source, "anchor"):  # the first chunk must descend from the last block landed
        rows = con.execute("SELECT block_hash FROM block_hashes WHERE block_number = ?", [start - 1]).fetchall()
        source.anchor(start - 1, rows[0][0] if rows else None)
    ranges = [(lo, min(target, lo + chunk_blocks - 1)) for lo in range(start, target + 1, chunk_blocks)]
    known = _instruments(con)
    cols = event_columns()
    # Learn the range's instruments first (Gate's NewInstrument logs only: cheap), so every chunk request
    # includes them; they enter the instruments table with the chunk that holds their log.
    if ranges:
        pre = source.logs(start, target, [settings.gate], [NEW_INSTRUMENT])
        for inst, first in parse_new_instruments(pre, settings.gate):
            known.setdefault(inst, first)

    lock = threading.Lock()  # `known` grows in the writer (instruments found in a batch) while chunks are fetched

    def addresses(hi: int) -> list[str]:
        with lock:
            return fixed + [a for a, b in known.items() if b <= hi]

    progress = Progress("ingest", target - start + 1 if ranges else 0, report or log.info,
                        client=getattr(source, "client", None))

    def chunks():
        for lo, hi in ranges:
            addrs = addresses(hi)
            frame = source.logs(lo, hi, addrs)
            progress(hi - lo + 1, frame.height)
            yield lo, hi, addrs, frame

    # decode in step with landing unless decoding lags behind (after a decoder change: decode() catches up);
    # a new warehouse starts both at the configured start block
    in_step = int(get_state(con, "decoded_to", str(start - 1))) == start - 1
    decode_logs = 20_000

    def batches(fetched):
        """Consecutive chunks as write batches of >= batch_logs logs (the last may hold fewer), with their decoded
        tables (None when decoding lags).  Chunks are decoded as they arrive, in groups of >= decode_logs: a
        decode_frame call has a fixed cost of ~60 ms."""
        pending: list[tuple] = []  # chunks of the write batch: (lo, hi, addresses requested, frame)
        undecoded: list[pl.DataFrame] = []  # their frames not decoded yet
        parts: list[tuple] = []  # decode_frame outputs of the batch so far
        pending_logs = undecoded_logs = 0
        for lo, hi, used, frame in fetched:
            pending.append((lo, hi, used, frame))
            pending_logs += frame.height
            full = pending_logs >= batch_logs or hi == target
            if in_step:
                undecoded.append(frame)
                undecoded_logs += frame.height
                if full or undecoded_logs >= decode_logs:
                    parts.append(decode_frame(pl.concat(undecoded).select(RAW_COLUMNS)))
                    undecoded, undecoded_logs = [], 0
            if full:
                frame = pl.concat([p[3] for p in pending]) if len(pending) > 1 else frame
                # an instrument missing from any chunk's request counts as late: refetched over the whole batch
                used = sorted(set.intersection(*(set(p[2]) for p in pending)))
                yield pending[0][0], pending[-1][1], frame, _merge_decoded(parts) if in_step else None, used
                pending, parts, pending_logs = [], [], 0

    # Three stages on their own threads: chunks are fetched up to 4 ahead, decoded into write batches one batch
    # ahead, and written here; the node, the parsing, the decoding and DuckDB work side by side.
    total = 0
    with Ahead(chunks(), depth=4, name="fetch") as fetched, Ahead(batches(fetched), 1, name="decode") as ready:
        for lo, hi, frame, decoded, used in ready:
            total += _land_batch(con, source, settings, lo, hi, frame, decoded, used, known, cols, lock)
            if on_chunk:
                on_chunk(lo, hi, frame.height)
    n_inst = con.execute("SELECT count(*) FROM instruments").fetchall()[0][0]
    return LandResult(start, target, total, len(ranges), reorg, n_inst, progress.metadata())


def _merge_decoded(parts: list[tuple[dict, pl.DataFrame]]) -> tuple[dict, pl.DataFrame]:
    """decode_frame outputs of consecutive chunks -> one (chain order is kept: chunks come in block order)."""
    if len(parts) == 1:
        return parts[0]
    tables: dict[str, list[pl.DataFrame]] = {}
    for t_frames, _ in parts:
        for t, f in t_frames.items():
            tables.setdefault(t, []).append(f)
    return ({t: pl.concat(fs, how="diagonal_relaxed") for t, fs in tables.items()},
            pl.concat([b for _, b in parts], how="vertical_relaxed"))


def _land_batch(con, source, settings, lo, hi, frame, decoded, used, known, cols, lock) -> int:
    """One transaction: the batch's raw logs, its decoded events (None: decoding lags, decode() catches up),
    its block hashes and the coverage."""
    last = con.execute("SELECT max(block_number) FROM raw_logs").fetchall()[0][0]
    fresh = last is None or lo > last  # nothing of this range is in the tables: no deletes
    con.execute("BEGIN")
    try:
        for inst, first in _discover(con, frame, settings.gate):
            with lock:
                known.setdefault(inst, first)
        # instruments known now but not when this chunk was requested (found in it, or just before it)
        late = [a for a, b in known.items() if b <= hi and a not in used]
        if late:
            extra = source.logs(max(lo, min(known[a] for a in late)), hi, late)
            frame = pl.concat([frame, extra]).unique(["block_number", "log_index"]).sort("block_number", "log_index")
            if decoded is not None:  # rare (the pre-pass finds instruments first): decode the batch again
                decoded = decode_frame(frame.select(RAW_COLUMNS))
        if not fresh:
            for t in ("raw_logs", "quarantine", *EVENT_TABLES):
                con.execute(f"DELETE FROM {t} WHERE block_number BETWEEN ? AND ?", [lo, hi])
        insert_frame(con, "raw_logs", frame.select(RAW_COLUMNS), replace=False)
        if decoded is not None:
            tables, bad = decoded
            for t, f in tables.items():
                insert_frame(con, t, f, cols[t], replace=False)
            insert_frame(con, "quarantine", bad, replace=False)
            set_state(con, "decoded_to", hi)
        hashes = frame.select("block_number", "block_hash").unique()
        end_hash = source.chunk_end_hash(hi)
        if end_hash:
            hashes = pl.concat([hashes, pl.DataFrame({"block_number": [hi], "block_hash": [end_hash]},
                                                     schema=hashes.schema)]).unique("block_number")
        insert_frame(con, "block_hashes", hashes)
        con.execute("INSERT OR REPLACE INTO ingested_ranges (from_block, to_block) VALUES (?, ?)", [lo, hi])
        set_state(con, "covered_to", hi)
        if end_hash:
            set_state(con, "head_hash", end_hash)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return frame.height


def decode(con, max_blocks: int = 20000) -> int:
    """Decode landed raw logs not yet decoded; returns the number of logs decoded."""
    covered = int(get_state(con, "covered_to", "-1"))
    first = con.execute("SELECT min(from_block) FROM ingested_ranges").fetchall()[0][0]
    done = int(get_state(con, "decoded_to", str((first or 0) - 1)))
    cols = event_columns()
    n = 0
    lo = done + 1
    while lo <= covered:
        hi = min(covered, lo + max_blocks - 1)
        raw = con.sql(f"SELECT {', '.join(RAW_COLUMNS)} FROM raw_logs WHERE block_number BETWEEN {lo} AND {hi} "
                      "ORDER BY block_number, log_index").pl()
        tables, bad = decode_frame(raw)
        con.execute("BEGIN")
        try:
            for t in (*EVENT_TABLES, "quarantine"):
                con.execute(f"DELETE FROM {t} WHERE block_number BETWEEN ? AND ?", [lo, hi])
            for t, frame in tables.items():
                insert_frame(con, t, frame, cols[t], replace=False)
            insert_frame(con, "quarantine", bad, replace=False)
            set_state(con, "decoded_to", hi)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        n += raw.height
        lo = hi + 1
    return n
