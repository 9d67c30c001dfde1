"""Marts benchmark (issue 5): build every mart over a generated table of trades (10M by default) and read every
daily view, beside a naive baseline measured in the same run (one GROUP BY day, instrument over the raw trades,
DefiLlama's volume query).  Prints figures; asserts nothing.  Run: `uv run python benchmarks/marts_bench.py [N]`.
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from pipelines.core.store import init_schema  # noqa: E402
from pipelines.marts.assets import build_marts  # noqa: E402

USDC = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
WETH = "0x4200000000000000000000000000000000000006"
VIEWS = ["mart_volume_daily", "mart_volume_daily_by_quote", "mart_volume_daily_protocol", "mart_fees_daily",
         "mart_instrument_share_daily", "mart_book_vs_amm_daily"]


def generate(con, n: int) -> None:
    insts = [("0x" + "e1" * 20, "ETH-USDC-PYTH", USDC, 1), ("0x" + "b2" * 20, "BTC-WETH-LINK", WETH, 2),
             ("0x" + "c3" * 20, "SOL-USDC-EMG", USDC, 1)]
    for k, (a, sym, q, qt) in enumerate(insts):
        con.execute("INSERT INTO instruments VALUES (?, ?, '0x01', ?, 1)", [a, sym, q])
        con.execute("INSERT INTO events_update_param (block_number, log_index, address, param_qtype) "
                    "VALUES (0, ?, ?, ?)", [k, a, qt])
    # one oracle reading a minute for ETH, a trade every second, 5,000 traders
    con.execute(f"""INSERT INTO events_update_spot_state (block_number, log_index, block_timestamp, address,
        instrument, state_spot) SELECT i * 60 + 1, 9, 1780000000 + i * 60, '0xmk', '{insts[0][0]}',
        ((2000 + 300 * sin(i / 500.0)) * 1e18)::HUGEINT::VARCHAR FROM range({n // 60 + 2}) t(i)""")
    con.execute(f"""INSERT INTO events_trade (block_number, log_index, tx_index, block_timestamp, address, expiry,
        trader, size, amount, taken_size, taken_value, entry_notional, fee_ratio, sqrt_px96, mark)
        SELECT i + 1, 0, 0, 1780000000 + i,
               CASE i % 3 WHEN 0 THEN '{insts[0][0]}' WHEN 1 THEN '{insts[1][0]}' ELSE '{insts[2][0]}' END,
               4294967295, '0x' || lpad(printf('%x', i % 5000), 40, '0'),
               ((CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (1 + i % 97) * 1e16)::HUGEINT::VARCHAR, '0', '0',
               ((i % 7) * 1e18)::HUGEINT::VARCHAR, ((100 + i % 9973) * 1e18)::HUGEINT::VARCHAR, 3, '0', '0'
        FROM range({n}) t(i)""")
    con.execute("""INSERT INTO fills (instrument, expiry, trader, kind, block_number, tx_index, log_index, ts, size,
        notional, fee, maker_fee, lp_fee, protocol_fee)
        SELECT address, expiry, trader, 'MARKET', block_number, 0, 0, block_timestamp, size::HUGEINT,
               entry_notional::HUGEINT, entry_notional::HUGEINT * 5 // 10000,
               taken_value::HUGEINT * 3 // 10000,
               entry_notional::HUGEINT * 3 // 10000 - taken_value::HUGEINT * 3 // 10000,
               entry_notional::HUGEINT * 2 // 10000
        FROM events_trade""")


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "m.duckdb"))
        init_schema(con)
        t = timed(lambda: generate(con, n))
        print(f"generated {n:,} trades (+ fills, oracle readings) in {t:.1f} s")
        base = [timed(lambda: con.execute("SELECT date_trunc('day', to_timestamp(block_timestamp)), address, "
                                          "sum(entry_notional::DOUBLE) / 1e18 FROM events_trade GROUP BY ALL")
                      .fetchall()) for _ in range(3)]
        build = [timed(lambda: build_marts(con)) for _ in range(3)]
        reads = {v: statistics.median(timed(lambda v=v: con.execute(f"SELECT * FROM {v}").fetchall())
                                      for _ in range(3)) for v in VIEWS}
        days = con.execute("SELECT count(*) FROM mart_volume_daily_protocol").fetchall()[0][0]
        check = con.execute("SELECT (SELECT sum(taker_volume_wad) FROM mart_volume_hourly) = "
                            "(SELECT sum(entry_notional::HUGEINT) FROM events_trade)").fetchall()[0][0]
    b, m = statistics.median(base), statistics.median(build)
    print(f"baseline: one GROUP BY day, instrument over the raw trades: median {b:.2f} s")
    print(f"build every mart (quote prices, fact and daily tables, views): median {m:.2f} s = {m / b:.1f}x the "
          f"baseline; {n / m / 1e6:.1f}M trades/s; {days} days; exact volume check {'passed' if check else 'FAILED'}")
    for v, s in reads.items():
        print(f"  read {v}: median {s * 1000:.1f} ms ({s / b:.3f}x the baseline)")


if __name__ == "__main__":
    main()
