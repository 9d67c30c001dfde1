"""Marts benchmark (issue 5): build every mart over a generated table of trades (10M by default) and read every
daily view, beside a naive baseline measured in the same run (one GROUP BY day, instrument over the raw trades,
DefiLlama's volume query).  Then the scheduled run's case: ~1k new trades (17 minutes of them) appended after a
replay checkpoint, as a 5-minute run finds them, and the marts built incrementally (build_marts) against a full
rebuild of the same warehouse, alternated, medians of --reps rounds, in the same run.  Prints figures; asserts
nothing.  Run: `uv run python benchmarks/marts_bench.py [N] [--reps R] [--new K]`.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from pipelines.core.store import init_schema, set_state  # noqa: E402
from pipelines.marts.assets import GRAPH, WATERMARK, build_marts  # noqa: E402

USDC = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
WETH = "0x4200000000000000000000000000000000000006"
VIEWS = ["mart_volume_daily", "mart_volume_daily_by_quote", "mart_volume_daily_protocol", "mart_fees_daily",
         "mart_instrument_share_daily", "mart_book_vs_amm_daily"]


INSTRUMENTS = [("0x" + "e1" * 20, "ETH-USDC-PYTH", USDC, 1), ("0x" + "b2" * 20, "BTC-WETH-LINK", WETH, 2),
               ("0x" + "c3" * 20, "SOL-USDC-EMG", USDC, 1)]
T0 = 1780000000


def generate(con, n: int) -> None:
    insts = INSTRUMENTS
    for k, (a, sym, q, qt) in enumerate(insts):
        con.execute("INSERT INTO instruments VALUES (?, ?, '0x01', ?, 1)", [a, sym, q])
        con.execute("INSERT INTO events_update_param (block_number, log_index, address, param_qtype) "
                    "VALUES (0, ?, ?, ?)", [k, a, qt])
    append(con, 0, n)


def append(con, lo: int, hi: int) -> None:
    """Trades lo..hi-1 (trade i in block i + 1 at T0 + i: one a second, 5,000 traders), their fills, and one oracle
    reading a minute for ETH up to a minute past the last."""
    insts = INSTRUMENTS
    con.execute(f"""INSERT INTO events_update_spot_state (block_number, log_index, block_timestamp, address,
        instrument, state_spot) SELECT i * 60 + 1, 9, {T0} + i * 60, '0xmk', '{insts[0][0]}',
        ((2000 + 300 * sin(i / 500.0)) * 1e18)::HUGEINT::VARCHAR FROM range({lo // 60 + 2 if lo else 0},
        {hi // 60 + 2}) t(i)""")
    con.execute(f"""INSERT INTO events_trade (block_number, log_index, tx_index, block_timestamp, address, expiry,
        trader, size, amount, taken_size, taken_value, entry_notional, fee_ratio, sqrt_px96, mark)
        SELECT i + 1, 0, 0, {T0} + i,
               CASE i % 3 WHEN 0 THEN '{insts[0][0]}' WHEN 1 THEN '{insts[1][0]}' ELSE '{insts[2][0]}' END,
               4294967295, '0x' || lpad(printf('%x', i % 5000), 40, '0'),
               ((CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (1 + i % 97) * 1e16)::HUGEINT::VARCHAR, '0', '0',
               ((i % 7) * 1e18)::HUGEINT::VARCHAR, ((100 + i % 9973) * 1e18)::HUGEINT::VARCHAR, 3, '0', '0'
        FROM range({lo}, {hi}) t(i)""")
    con.execute(f"""INSERT INTO fills (instrument, expiry, trader, kind, block_number, tx_index, log_index, ts, size,
        notional, fee, maker_fee, lp_fee, protocol_fee)
        SELECT address, expiry, trader, 'MARKET', block_number, 0, 0, block_timestamp, size::HUGEINT,
               entry_notional::HUGEINT, entry_notional::HUGEINT * 5 // 10000,
               taken_value::HUGEINT * 3 // 10000,
               entry_notional::HUGEINT * 3 // 10000 - taken_value::HUGEINT * 3 // 10000,
               entry_notional::HUGEINT * 2 // 10000
        FROM events_trade WHERE block_number > {lo}""")


def replayed(con, lo: int, hi: int) -> None:
    """What a replay run leaves after blocks lo+1..hi: its checkpoint at hi (the last hour it saw), the decoded
    cursor, and the marts' watermark from lo + 1."""
    last_hour = (T0 + hi - 1) // 3600 * 3600
    con.execute("INSERT INTO replay_checkpoints (cursor_block, cursor_tx, cursor_log, last_ts, events_applied, state) "
                "VALUES (?, 0, 0, ?, ?, ''::BLOB)", [hi, last_hour, hi])
    set_state(con, "decoded_to", hi)
    set_state(con, WATERMARK, lo + 1)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def marts(con) -> dict:
    """The small mart tables (every one but fact_trades and the hourly volume), sorted, for a comparison."""
    return {m.name: sorted(map(repr, con.execute(f"SELECT * FROM {m.name}").fetchall())) for m in GRAPH.models
            if m.kind == "table" and m.name not in ("fact_trades", "mart_volume_hourly")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=5, help="rounds of (new trades, incremental build, full rebuild)")
    ap.add_argument("--new", type=int, default=1000, help="new trades per scheduled run")
    a = ap.parse_args()
    n = a.n
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "m.duckdb"))
        init_schema(con)
        t = timed(lambda: generate(con, n))
        print(f"generated {n:,} trades (+ fills, oracle readings) in {t:.1f} s")
        base = [timed(lambda: con.execute("SELECT date_trunc('day', to_timestamp(block_timestamp)), address, "
                                          "sum(entry_notional::DOUBLE) / 1e18 FROM events_trade GROUP BY ALL")
                      .fetchall()) for _ in range(3)]
        replayed(con, -1, n)
        build = [timed(lambda: build_marts(con, full=True)) for _ in range(2)]
        reads = {v: statistics.median(timed(lambda v=v: con.execute(f"SELECT * FROM {v}").fetchall())
                                      for _ in range(3)) for v in VIEWS}
        days = con.execute("SELECT count(*) FROM mart_volume_daily_protocol").fetchall()[0][0]
        check = con.execute("SELECT (SELECT sum(taker_volume_wad) FROM mart_volume_hourly) = "
                            "(SELECT sum(entry_notional::HUGEINT) FROM events_trade)").fetchall()[0][0]
        # the scheduled run: a.new trades after the last checkpoint, then the marts (incremental, then in full)
        inc, full, last, same = [], [], n, True
        for _ in range(a.reps):
            append(con, last, last + a.new)
            replayed(con, last, last + a.new)
            last += a.new
            report = {}
            inc.append(timed(lambda: build_marts(con, report=report)))
            modes = {k: v["mode"] for k, v in report.items() if v["mode"] != "view"}
            after_inc = marts(con)
            full.append(timed(lambda: build_marts(con, full=True)))
            same = same and after_inc == marts(con)
        check_inc = con.execute("SELECT (SELECT sum(taker_volume_wad) FROM mart_volume_hourly) = "
                                "(SELECT sum(entry_notional::HUGEINT) FROM events_trade)").fetchall()[0][0]
    b, m = statistics.median(base), statistics.median(build)
    print(f"baseline: one GROUP BY day, instrument over the raw trades: median {b:.2f} s")
    print(f"build every mart in full (quote prices, fact and daily tables, views): median {m:.2f} s = {m / b:.1f}x "
          f"the baseline; {n / m / 1e6:.1f}M trades/s; {days} days; exact volume check "
          f"{'passed' if check else 'FAILED'}")
    for v, s in reads.items():
        print(f"  read {v}: median {s * 1000:.1f} ms ({s / b:.3f}x the baseline)")
    mi, mf = statistics.median(inc), statistics.median(full)
    print(f"scheduled run, {a.new:,} new trades after {n:,} (a checkpoint before them), {a.reps} rounds alternated: "
          f"incremental build median {mi:.2f} s (min {min(inc):.2f}, max {max(inc):.2f}) vs full rebuild median "
          f"{mf:.2f} s (min {min(full):.2f}, max {max(full):.2f}): {mf / mi:.0f}x less; the small marts equal the full "
          f"rebuild's: {'yes' if same else 'NO'}; exact volume check {'passed' if check_inc else 'FAILED'}")
    print("  last incremental build, per table: " + "; ".join(f"{k} {v}" for k, v in modes.items()))


if __name__ == "__main__":
    main()
