"""`python -m pipelines.cli verify --from-block A --to-block B [--repair]`: a stored block range against the node.

The node's logs of the range are fetched again through the checked path (chain/sources.py: filter, range,
duplicates, block headers, blooms) and compared with the stored raw_logs row for row, and the stored block
hashes with the node's.  With --repair, everything from the first block that differs is deleted and ingested
again (the reorg repair's path: decoded events, coverage and the replay's rewind follow), in the single-writer
lock.  Exit status: 0 the range agrees (or was repaired), 1 it differs, 2 a settings or node error.
"""
import argparse
import sys
from dataclasses import dataclass

import polars as pl

from ..core.progress import Progress, terminal_bar
from ..core.store import RAW_COLUMNS
from ..core.store import get_state
from .ingest import decode, delete_from, land


@dataclass
class VerifyResult:
    from_block: int
    to_block: int
    logs: int  # logs the node has in the range
    missing: int  # the node's logs not stored
    extra: int  # stored logs the node does not have
    changed: int  # stored under the same (block, log index) with other content
    hashes_changed: int  # stored block hashes that are not the node's
    first_bad: int | None  # the first block that differs
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return self.first_bad is None


CHUNK_BLOCKS = 10_000  # fetched a chunk at a time, so a long range reports its progress


def verify_range(con, source, settings, lo: int, hi: int, repair: bool = False, report=None) -> VerifyResult:
    covered = int(get_state(con, "covered_to", "-1"))
    lo, hi = max(lo, settings.start_block), min(hi, covered)
    if lo > hi:
        return VerifyResult(lo, hi, 0, 0, 0, 0, 0, None)
    fixed = [a.lower() for a in (settings.gate, settings.config, *settings.markets.values())]
    insts = [a for (a,) in con.execute("SELECT address FROM instruments WHERE first_block <= ?", [hi]).fetchall()]
    progress = Progress("verify", hi - lo + 1, report or (lambda line: None), client=getattr(source, "client", None))
    parts = []
    for a in range(lo, hi + 1, CHUNK_BLOCKS):
        b = min(hi, a + CHUNK_BLOCKS - 1)
        parts.append(source.logs(a, b, fixed + insts).select(RAW_COLUMNS))
        progress(b - a + 1, parts[-1].height)
    node = pl.concat(parts)
    stored = con.sql(f"SELECT {', '.join(RAW_COLUMNS)} FROM raw_logs WHERE block_number BETWEEN {lo} AND {hi}").pl()
    stored = stored.cast(node.schema)
    key = ["block_number", "log_index"]
    missing = node.join(stored, on=key, how="anti")
    extra = stored.join(node, on=key, how="anti")
    both = node.join(stored, on=key, how="inner", suffix="_stored")
    diff = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_stored")) for c in RAW_COLUMNS if c not in key)
    changed = both.filter(diff) if both.height else both
    rows = con.execute("SELECT block_number, block_hash FROM block_hashes WHERE block_number BETWEEN ? AND ?",
                       [lo, hi]).fetchall()
    chain = source.block_hashes([b for b, _ in rows]) if rows else {}
    bad_hashes = [b for b, h in rows if chain.get(b) != h]
    firsts = [f["block_number"].min() for f in (missing, extra, changed) if f.height] + bad_hashes[:1]
    result = VerifyResult(lo, hi, node.height, missing.height, extra.height, changed.height, len(bad_hashes),
                          min(firsts) if firsts else None)
    if repair and not result.ok:
        con.execute("BEGIN")
        try:
            delete_from(con, result.first_bad)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        land(con, source, settings, to_block=covered)
        decode(con)
        result.repaired = True
    return result


def add_parser(sub) -> None:
    v = sub.add_parser("verify", help="re-check a stored block range against the node (logs and block hashes); "
                                      "--repair ingests it again from the first block that differs")
    _arguments(v)


def _arguments(p) -> None:
    p.add_argument("--from-block", type=int, required=True)
    p.add_argument("--to-block", type=int, required=True)
    p.add_argument("--repair", action="store_true", help="delete from the first differing block and ingest again")


def _open(settings):
    """(settings, log source) of the configured chain; the source's context is entered here and left at exit."""
    import atexit

    from ..chain.resources import ChainSource
    from ..core.resources import OysterConfig
    cm = ChainSource(config=OysterConfig()).open()
    src = cm.__enter__()
    atexit.register(cm.__exit__, None, None, None)
    return settings, src


def run(args) -> int:
    from ..core.config import load_settings
    from ..core.store import writer
    settings, source = _open(load_settings())
    try:
        with writer(settings.duckdb_path) as con:
            r = verify_range(con, source, settings, args.from_block, args.to_block, repair=args.repair,
                             report=terminal_bar())
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    span = f"blocks {r.from_block}..{r.to_block}"
    if r.ok:
        print(f"{span}: {r.logs} logs and the stored block hashes agree with the node")
        return 0
    print(f"{span}: {r.missing} logs missing, {r.extra} extra, {r.changed} changed, {r.hashes_changed} block "
          f"hashes changed; first differing block {r.first_bad}"
          + ("; repaired (deleted from there and ingested again)" if r.repaired else "; run with --repair to fix"))
    return 0 if r.repaired else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="oyster-lens verify")
    _arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
