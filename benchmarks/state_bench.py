"""Incremental replay benchmark (issue 4): the cost of a scheduled run that replays ~1,000 new events, after a
short history (10k events) and after a long one (~2M), measured in the same run.  Prints figures.

The event tables are filled from the devnet simulator's events, encoded as real logs and decoded by the
pipeline's decoder (the same tables an ingest writes); the chain is not needed for this measurement.  Each
incremental run happens in a fresh process, as a scheduled Dagster step does; between repetitions the replay
is rewound to the checkpoint before the new events.
"""
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from devnet.chain_writer import encode_log  # noqa: E402
from devnet.simulator import QUOTES, Simulator, numbered_events  # noqa: E402
from models.events import spec_of  # noqa: E402
from pipelines.core.config import load_settings  # noqa: E402
from pipelines.core.store import event_columns, insert_frame, set_state, writer  # noqa: E402
from pipelines.ingest.decode import RAW_COLUMNS, decode_frame  # noqa: E402
from pipelines.state.replay_run import run_replay  # noqa: E402


def _settings(path: str):
    return dataclasses.replace(load_settings(env={}), duckdb_path=path, quote_decimals=QUOTES)


def load_history(con, events):
    rows = []
    for e in events:
        spec = spec_of(e)
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


def _whole_blocks(events, n):
    """The first n events, extended to the end of their block."""
    if n >= len(events):
        return events
    last = events[n - 1]["block_number"]
    while n < len(events) and events[n]["block_number"] == last:
        n += 1
    return events[:n]


def incremental(path: str, cut_block: int, last_block: int) -> None:
    """Child process: one scheduled run over the new blocks, then rewind for the next repetition.
    pyarrow (first used when DuckDB hands a result to Polars) is imported before the clock starts: every
    process pays that once whatever the history, and it would hide the part that depends on the history."""
    t = time.perf_counter()
    import pyarrow  # noqa: F401
    import_s = time.perf_counter() - t
    s = _settings(path)
    with writer(path) as con:
        set_state(con, "decoded_to", last_block)
        t = time.perf_counter()
        r = run_replay(con, s)
        spent = time.perf_counter() - t
        set_state(con, "replay_reorg_from", cut_block + 1)
        set_state(con, "decoded_to", cut_block)
        run_replay(con, s)
    print(json.dumps({"seconds": spent, "events": r.events, "divergences": r.divergences, "import": import_s}))


def prepare(events, d: str, new_events=1000) -> dict:
    """A DuckDB file holding the history, replayed up to the block before the last ~new_events events."""
    path = str(Path(d) / "s.duckdb")
    cut_block = events[len(events) - new_events]["block_number"] - 1
    with writer(path) as con:
        load_history(con, events)
        set_state(con, "decoded_to", cut_block)
        t = time.perf_counter()
        first = run_replay(con, _settings(path))
    return {"path": path, "cut": cut_block, "last": events[-1]["block_number"], "history": first.events,
            "history_s": time.perf_counter() - t, "runs": []}


def run_once(sc: dict) -> None:
    out = subprocess.run([sys.executable, __file__, "--incremental", sc["path"], str(sc["cut"]), str(sc["last"])],
                         capture_output=True, text=True, check=True).stdout
    sc["runs"].append(json.loads(out))


def main(reps: int = 9):
    short = _whole_blocks(numbered_events(Simulator(5, "default").run()), 10_000)
    long = numbered_events(Simulator(11, "large").run())
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        scenarios = {"short": prepare(short, d1), "long": prepare(long, d2)}
        for _ in range(reps):  # alternated, so the machine's drift falls on both alike
            for sc in scenarios.values():
                run_once(sc)
    med = {}
    for label, sc in scenarios.items():
        runs = sc["runs"]
        med[label] = statistics.median(r["seconds"] for r in runs)
        print(f"{label} history: {sc['history']:,} events replayed in {sc['history_s']:.1f} s; an incremental run of "
              f"{runs[0]['events']:,} new events: median {med[label] * 1000:.0f} ms over {reps} fresh processes "
              f"(min {min(r['seconds'] for r in runs) * 1000:.0f}, max {max(r['seconds'] for r in runs) * 1000:.0f}; "
              f"divergences {runs[0]['divergences']}; pyarrow import before it, not counted: "
              f"{statistics.median(r['import'] for r in runs) * 1000:.0f} ms)")
    print(f"incremental cost after the long history / after the short one: {med['long'] / med['short']:.2f}x "
          f"(target ~1x)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--incremental":
        incremental(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
