"""Incremental replay benchmark (issue 4): the cost of a scheduled run that replays ~1,000 new events, after a
short history (~10k events) and after a long one (~1M), each measured in the same run.  Prints figures.

The event tables are filled from the devnet simulator's events, encoded as real logs and decoded by the
pipeline's decoder (the same tables an ingest writes); the chain itself is not needed for this measurement.
"""
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from devnet.chain_writer import encode_log  # noqa: E402
from devnet.simulator import QUOTES, Simulator, numbered_events  # noqa: E402
from models.events import BY_NAME  # noqa: E402
from pipelines.config import load_settings  # noqa: E402
from pipelines.decode import RAW_COLUMNS, decode_frame  # noqa: E402
from pipelines.replay_run import run_replay  # noqa: E402
from pipelines.store import event_columns, insert_frame, set_state, writer  # noqa: E402


def load_history(con, events):
    rows = []
    for e in events:
        spec = BY_NAME[e["event"]]
        topics, data = encode_log(spec, e)
        t = ["0x" + x.hex() for x in topics] + [None] * (4 - len(topics))
        rows.append((e["block_number"], e["block_timestamp"], e["tx_index"], e["log_index"], "0x" + "00" * 32,
                     e["address"], "0x" + "00" * 32, *t, "0x" + data.hex()))
    cols = event_columns()
    for i in range(0, len(rows), 200_000):
        frame = pl.DataFrame(rows[i:i + 200_000], schema=RAW_COLUMNS, orient="row")
        tables, _ = decode_frame(frame)
        for t, f in tables.items():
            insert_frame(con, t, f, cols[t], replace=False)
    return events[-1]["block_number"]


def scenario(events, label, new_events=1000, reps=3):
    with tempfile.TemporaryDirectory() as d:
        s = dataclasses.replace(load_settings(env={}), duckdb_path=str(Path(d) / "s.duckdb"),
                                quote_decimals=QUOTES)
        # the history up to the last ~1,000 events, then block by block the new ones
        cut = len(events) - new_events
        cut_block = events[cut]["block_number"] - 1
        with writer(s.duckdb_path) as con:
            last = load_history(con, events)
            set_state(con, "decoded_to", cut_block)
            t = time.perf_counter()
            first = run_replay(con, s)
            history_s = time.perf_counter() - t
            times = []
            for _ in range(reps):
                set_state(con, "decoded_to", last)
                t = time.perf_counter()
                r = run_replay(con, s)
                times.append(time.perf_counter() - t)
                # rewind to the checkpoint before the new events, for the next repetition
                set_state(con, "replay_reorg_from", cut_block + 1)
                set_state(con, "decoded_to", cut_block)
                run_replay(con, s)
            new = r.events
    med = statistics.median(times)
    print(f"{label}: history {first.events:,} events replayed in {history_s:.1f} s; incremental run of "
          f"{new:,} new events: median {med * 1000:.0f} ms over {reps}")
    return med


def main():
    short = numbered_events(Simulator(5, "small").run())
    short = short[:10_000] if len(short) > 10_000 else short
    long = numbered_events(Simulator(11, "large").run())
    # cut both at a transaction boundary
    a = scenario(short, f"short history ({len(short):,} events)")
    b = scenario(long, f"long history ({len(long):,} events)")
    print(f"incremental cost after the long history / after the short one: {b / a:.2f}x (target ~1x)")


if __name__ == "__main__":
    main()
