"""Known-answer tests of the marts on a hand-made day: three trades and a sweep, worked out by hand."""
import duckdb
import polars as pl

from pipelines.core.store import init_schema, insert_frame
from pipelines.marts.assets import build_marts
from pipelines.marts.peers import SAMPLE, load

USDC = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
WETH = "0x4200000000000000000000000000000000000006"
ETH_USDC, BTC_WETH = "0x" + "e1" * 20, "0x" + "b2" * 20
DAY = 1_780_012_800  # 2026-05-29 00:00 UTC
W = 10**18
PERP = 2**32 - 1


def _db():
    con = duckdb.connect()
    init_schema(con)
    con.execute("INSERT INTO instruments VALUES (?, 'ETH-USDC-PYTH', '0x01', ?, 1), (?, 'BTC-WETH-LINK', '0x02', ?, 1)",
                [ETH_USDC, USDC, BTC_WETH, WETH])
    con.execute("INSERT INTO events_update_param (block_number, log_index, address, param_qtype) VALUES "
                "(1, 0, ?, 1), (1, 1, ?, 2)", [ETH_USDC, BTC_WETH])
    # the ETH oracle reads 2000 USDC at 00:30, 2500 at 05:10
    con.execute("INSERT INTO events_update_spot_state (block_number, log_index, block_timestamp, address, instrument,"
                " state_spot) VALUES (2, 0, ?, '0xmk', ?, ?), (3, 0, ?, '0xmk', ?, ?)",
                [DAY + 1800, ETH_USDC, str(2000 * W), DAY + 5 * 3600 + 600, ETH_USDC, str(2500 * W)])
    trades = [  # (block, log, ts, instrument, trader, size, notional, taken_value)
        (10, 0, DAY + 3600, ETH_USDC, "0xa", 2 * W, 4_000 * W, 1_000 * W),
        (11, 0, DAY + 7200, ETH_USDC, "0xb", -1 * W, 2_010 * W, 0),
        (12, 0, DAY + 6 * 3600, BTC_WETH, "0xa", W // 2, 15 * W, 5 * W),
    ]
    con.executemany("INSERT INTO events_trade (block_number, log_index, block_timestamp, address, expiry, trader, "
                    "size, entry_notional, taken_value, fee_ratio, taken_size, amount, sqrt_px96, mark, tx_index) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 3, '0', '0', '0', '0', 0)",
                    [(b, l, ts, i, PERP, t, str(s), str(n), str(tv)) for b, l, ts, i, t, s, n, tv in trades])
    con.execute("INSERT INTO events_sweep (block_number, log_index, block_timestamp, address, expiry, trader, size, "
                "entry_notional, taken_value, fee_ratio, operator, taken_size, sqrt_px96, mark, tx_index) VALUES "
                "(13, 0, ?, ?, ?, '0xc', ?, ?, '0', 3, '0xliq', '0', '0', '0', 0)",
                [DAY + 8 * 3600, ETH_USDC, PERP, str(-3 * W), str(6_000 * W)])
    fills = []
    for b, l, ts, i, t, s, n, tv in trades:
        trading, protocol = n * 3 // 10_000, n * 2 // 10_000
        maker = tv * 3 // 10_000
        fills.append((i, PERP, t, "MARKET", b, 0, l, ts, str(s), str(n), str(trading + protocol), str(maker),
                      str(trading - maker), str(protocol)))
    n = 6_000 * W
    fills.append((ETH_USDC, PERP, "0xc", "LIQUIDATION", 13, 0, 0, DAY + 8 * 3600, str(-3 * W), str(n),
                  str(n * 5 // 10_000), "0", str(n * 3 // 10_000), str(n * 2 // 10_000)))
    frame = pl.DataFrame(fills, schema=["instrument", "expiry", "trader", "kind", "block_number", "tx_index",
                                        "log_index", "ts", "size", "notional", "fee", "maker_fee", "lp_fee",
                                        "protocol_fee"], orient="row")
    insert_frame(con, "fills", frame, {c: "HUGEINT" for c in ("size", "notional", "fee", "maker_fee", "lp_fee",
                                                                "protocol_fee")}, replace=False)
    build_marts(con)
    return con


def test_a_day_of_three_trades_and_a_sweep_by_hand():
    con = _db()
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT symbol, trades, sweeps, taker_volume_quote, sweep_volume_quote, total_volume_quote, taker_volume_usd,"
        " unique_traders, new_traders, usd_method FROM mart_volume_daily").fetchall()}
    assert rows["ETH-USDC-PYTH"] == (2, 1, 6_010.0, 6_000.0, 12_010.0, 6_010.0, 2, 2, "stable=1")
    # 15 WETH at 06:xx: the last ETH oracle reading at or before that hour is 2500 (05:10)
    assert rows["BTC-WETH-LINK"][:3] == (1, 0, 15.0) and rows["BTC-WETH-LINK"][5] == 15 * 2500.0
    assert rows["BTC-WETH-LINK"][8] == "oracle:ETH-USDC-PYTH"
    # fees: taker 5 bps of 6010 + 6000 (sweep); maker 3 bps of the 1000 taken; protocol 2 bps of all
    fee = con.execute("SELECT taker_fee_wad, maker_rebate_wad, lp_fee_wad, protocol_fee_wad FROM mart_fees_daily "
                      "WHERE symbol = 'ETH-USDC-PYTH'").fetchall()[0]
    taker = sum(n * 3 // 10_000 + n * 2 // 10_000 for n in (4_000 * W, 2_010 * W, 6_000 * W))
    assert fee == (taker, 1_000 * W * 3 // 10_000, taker - 1_000 * W * 3 // 10_000 - 12_010 * W * 2 // 10_000,
                   12_010 * W * 2 // 10_000)
    # shares of the protocol's USD taker volume: 6010 vs 37500
    share = dict(con.execute("SELECT symbol, share_of_protocol FROM mart_instrument_share_daily").fetchall())
    assert abs(share["ETH-USDC-PYTH"] - 6_010 / 43_510) < 1e-12 and abs(share["BTC-WETH-LINK"] - 37_500 / 43_510) < 1e-12
    hourly = con.execute("SELECT sum(taker_volume_usd), sum(sweep_volume_usd) FROM mart_volume_hourly_protocol"
                         ).fetchall()[0]
    assert hourly == (6_010.0 + 37_500.0, 6_000.0)
    book = dict(con.execute("SELECT symbol, book_share FROM mart_book_vs_amm_daily").fetchall())
    assert abs(book["ETH-USDC-PYTH"] - 1_000 / 6_010) < 1e-12 and abs(book["BTC-WETH-LINK"] - 5 / 15) < 1e-12


def test_peer_share_keeps_its_source():
    con = _db()
    peers = load(url=None, file=SAMPLE)
    con.register("p", peers.to_arrow())
    con.execute("INSERT INTO peer_volumes SELECT * FROM p")
    day, ours, theirs, n, share, source = con.execute(
        "SELECT * FROM mart_protocol_share_daily").fetchall()[0]
    assert ours == 6_010.0 + 37_500.0 and n == 4 and "sample" in source
    assert abs(share - ours / (ours + theirs)) < 1e-15


def test_peers_fall_back_to_the_file_when_the_api_is_unreachable():
    frame = load(url="http://127.0.0.1:9/overview", file=SAMPLE, timeout=1)
    assert frame.height > 0 and frame["source"][0].startswith("file ")
