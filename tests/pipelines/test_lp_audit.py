"""LP audits: input parsing, each number on hand-built histories (a 30-minute range driven through the engine,
worked out from the engine's own values), the `audit list` command, and an audit of the devnet's ranges."""
import duckdb
import pytest

from models.constants import PERP_EXPIRY, WAD
from models.replay import Replayer
from models.tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_to_wad, wad_to_tick
from pipelines.audits.accounting import HOUR, Point, RangeFacts, Withdrawal, compute
from pipelines.audits.lp_audit import AuditInputError, Target, audit, list_text, report
from pipelines.state.state import StateBuilder
from tests.pipelines.test_state import ADDR, Chain, _launch

E = PERP_EXPIRY
A = "0x" + "ab" * 20
B = "0x" + "cd" * 20


# --- parsing ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trader,spec,msg", [
    ("0x1234", None, "not an address"),
    ("0x30eb376ebecf7153c2df00895b1a68d7bb61b004' OR 1=1 --", None, "not an address"),
    (None, "0xabc:0xdef:1:2", "not an instrument address or symbol"),
    (None, "0x" + "a" * 40 + ":0x" + "b" * 40 + ":10:x", "whole numbers"),
    (None, "0x" + "a" * 40 + ":0x" + "b" * 40 + ":10:5", "below"),
    (None, "ETH-USDC-PYTH:1:2:3:4:5", "not a range"),
    (None, "ETH USDC:10:20", "not an instrument address or symbol"),
    (None, "ETH-USDC-PYTH:12x", "not a range id"),
    (None, "ETH-USDC-PYTH; DROP TABLE x:1:2", "not an instrument address or symbol"),
    (A, f"ETH-USDC-PYTH:{B}:1:2", "differ"),
    (None, None, "either"),
])
def test_bad_inputs_get_a_clear_message(trader, spec, msg):
    with pytest.raises(AuditInputError, match=msg):
        Target.parse(trader, spec)


def test_range_forms():
    t = Target.parse(None, f"eth-usdc-pyth:{A.upper().replace('0X', '0x')}:-100:250")
    assert (t.symbol, t.instrument, t.trader, t.tick_lower, t.tick_upper) == ("eth-usdc-pyth", None, A, -100, 250)
    t = Target.parse(A, "ETH-USDC-PYTH:75000:77050")
    assert (t.symbol, t.trader, t.tick_lower, t.tick_upper) == ("ETH-USDC-PYTH", A, 75000, 77050)
    t = Target.parse(None, "ETH-USDC-PYTH:1052-3")
    assert (t.symbol, t.added_block, t.added_log_index, t.trader) == ("ETH-USDC-PYTH", 1052, 3, None)
    t = Target.parse(None, "1052-3")
    assert (t.added_block, t.added_log_index, t.symbol) == (1052, 3, None)
    t = Target.parse(None, f"{B}:{A}:10:20")  # the original form: two addresses
    assert (t.instrument, t.trader, t.symbol) == (B, A, None)
    assert Target.parse(A).trader == A and not Target.parse(A).is_range


# --- the accounting on a hand-made pair history -----------------------------------------------------------
def _facts(**kw):
    lo, hi = -600, 600
    sqrt_e = sqrt_ratio_at_tick(0)
    base = dict(liquidity=10**24, margin=1000 * WAD, sqrt_entry=sqrt_e, entry_fee_index=0, tick_lower=lo,
                tick_upper=hi, added_ts=0, added_key=(1, 0), end_ts=1800)
    base.update(kw)
    return RangeFacts(**base)


def _pt(ts, block, tick, fee_index=0):
    return Point(ts, block, 0, tick, sqrt_ratio_at_tick(tick), fee_index)


def test_time_in_range_is_time_weighted_between_events():
    # in range 0-600 s, out (tick 700 >= 600) 600-1500 s, back in 1500-1800 s: 900 of 1800 s
    pts = [_pt(0, 1, 0), _pt(600, 2, 700), _pt(1500, 3, 100)]
    m = compute(_facts(), pts, data_end_ts=1800).metrics
    assert m["time_in_range"] == 0.5 and m["time_in_range_hours"] == 0.25
    # sampled at the hour, the same range would have had no sample at all
    assert m["hours_open"] == 0.5 and m["events"] == 3


def test_implied_pnl_lvr_and_markout_are_sums_over_events():
    from models.range_math import range_to_position
    f = _facts(end_ts=HOUR)  # open, valued an hour after its Add; the last point is after that
    ticks = [(0, 0), (600, 200), (1200, -150), (1800, 50)]
    pts = [_pt(ts, i + 1, t) for i, (ts, t) in enumerate(ticks)] + [_pt(1800 + HOUR, 9, 400)]
    s_l, s_u = sqrt_ratio_at_tick(-600), sqrt_ratio_at_tick(600)
    n, p = [], []
    for _, t in ticks:
        s = sqrt_ratio_at_tick(t)
        v = range_to_position(f.liquidity, 0, 0, f.sqrt_entry, s_l, s_u, s, sqrt_to_wad(s))
        n.append(v.size)
        p.append(sqrt_to_wad(s))
    m = compute(f, pts, data_end_ts=4 * HOUR).metrics
    implied = n[0] * (p[1] - p[0]) + n[1] * (p[2] - p[1]) + n[2] * (p[3] - p[2])  # n after each event x next move
    assert m["implied_position_pnl_quote"] == pytest.approx(implied / 1e36, rel=1e-12)
    s3 = sqrt_ratio_at_tick(50)
    il = range_to_position(f.liquidity, 0, 0, f.sqrt_entry, s_l, s_u, s3, sqrt_to_wad(s3)).pnl
    assert m["impermanent_loss_quote"] == pytest.approx(il / 1e18, rel=1e-12)
    assert m["lvr_quote"] == pytest.approx(implied / 1e36 - il / 1e18, rel=1e-9)
    # each change of the net position, marked at the price an hour later (the last event at or before t + 1 h)
    later = {600: p[3], 1200: p[3], 1800: sqrt_to_wad(sqrt_ratio_at_tick(400))}  # the last event at or before t + 1 h
    markout = sum((n[i] - n[i - 1]) * (later[ticks[i][0]] - p[i]) for i in range(1, 4))
    assert m["markout_1h_quote"] == pytest.approx(markout / 1e36, rel=1e-12)
    assert m["markout_fills"] == 3 and m["markout_partial_fills"] == 0


def test_fees_include_withdrawals_and_apr_needs_a_day():
    f = _facts(withdrawals=(Withdrawal(2, 5, 3 * WAD, 3 * WAD * WAD // 10**24),), end_ts=48 * HOUR)
    fi = 5 * WAD * WAD // 10**24  # fee index worth 5 quote on this liquidity
    pts = [_pt(0, 1, 0), _pt(60, 2, 0, 3 * WAD * WAD // 10**24), _pt(120, 3, 0, fi)]
    m = compute(f, pts, data_end_ts=48 * HOUR).metrics
    assert m["fees_quote"] == pytest.approx(5.0)  # 3 withdrawn + 2 accrued since
    assert m["apr"] == pytest.approx(5 / 1000 * 365 / 2) and m["apr_note"] is None  # 0.5% in 2 days
    short = compute(_facts(end_ts=1800), pts[:1], data_end_ts=1800).metrics
    assert short["apr"] is None and short["apr_note"] == "open 30 min: under 24 h, not annualised"
    assert short["fee_return"] == 0.0


def test_a_range_opened_and_closed_at_once_has_no_time_in_range():
    m = compute(_facts(end_ts=0, end_key=(1, 1), fee_at_removal=0, removal_balance=1000 * WAD - 1),
                [_pt(0, 1, 0), Point(0, 1, 1, 0, sqrt_ratio_at_tick(0), 0)], data_end_ts=0).metrics
    assert m["time_in_range"] is None and m["impermanent_loss_quote"] == 0 and m["reconciled"]


# --- a 30-minute range driven through the engine, through the warehouse ----------------------------------
LP = "0x" + "11" * 20
DEEP = "0x" + "22" * 20
TAKER = "0x" + "33" * 20


@pytest.fixture(scope="module")
def half_hour():
    """A 30-minute range: added, a small buy, a big buy that takes the price out of its range for 10 minutes
    (fees withdrawn meanwhile), a sell back into range, a small sell, removed; then trades for the markouts.
    Returns (warehouse connection, expected values from the engine)."""
    c = Chain(2000 * WAD)
    _launch(c, E, 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    lo, hi = (t0 - 300) // 50 * 50, -(-(t0 + 300) // 50) * 50
    c.do(lambda now: c.inst.add(E, DEEP, t0 // 50 * 50 - 5000, t0 // 50 * 50 + 5000, 400_000 * WAD, now,
                                check=False))
    trace = []  # (ts, price, tick, net, pnl) after each event of the range's life, from the engine itself

    def step(action, dt):
        evs = c.do(action, dt)
        a = c.inst.pair(E).amm
        if (E, LP, _rid(lo, hi)) in c.inst.ranges:
            v = c.inst.range_value(E, LP, lo, hi)
            trace.append((c.ts, sqrt_to_wad(a.sqrt_px96), a.tick, v.size, v.pnl))
        return evs
    step(lambda now: c.inst.add(E, LP, lo, hi, 50_000 * WAD, now, check=False), 60)
    added_ts = c.ts
    step(lambda now: c.inst.trade(E, TAKER, 20 * WAD, 10**30, now, check=False), 300)
    step(lambda now: c.inst.trade(E, TAKER, 240 * WAD, 10**30, now, check=False), 300)
    assert c.inst.pair(E).amm.tick >= hi
    out_at = c.ts
    wd = c.do(lambda now: c.inst.withdraw_range_fee(E, LP, lo, hi, LP, now), 120)  # no price change: no point
    step(lambda now: c.inst.trade(E, TAKER, -260 * WAD, 0, now, check=False), 480)
    assert lo <= c.inst.pair(E).amm.tick < hi
    back_at = c.ts
    step(lambda now: c.inst.trade(E, TAKER, -30 * WAD, 0, now, check=False), 300)
    trace.append(trace[-1])  # the removal: same price, same value (recorded before the range is gone)
    pre = c.inst.range_value(E, LP, lo, hi)
    rm = c.do(lambda now: c.inst.remove(E, LP, lo, hi, LP, now), 300)
    trace[-1] = (c.ts, *trace[-1][1:])
    removed_ts = c.ts
    c.do(lambda now: c.inst.trade(E, TAKER, 50 * WAD, 10**30, now, check=False), 1200)
    c.do(lambda now: c.inst.trade(E, TAKER, -10 * WAD, 0, now, check=False), 3600)
    prices = [(e["block_timestamp"], sqrt_to_wad(e["sqrt_px96"])) for e in c.events if e["event"] == "Trade"]

    r = Replayer()
    b = StateBuilder(r)
    r.apply([dict(e) for e in c.events])
    assert r.divergences == []
    con = duckdb.connect()
    from pipelines.core.store import SQL_DIR, init_schema
    from pipelines.state.replay_run import _write
    init_schema(con)
    _write(con, b, r)
    con.execute("INSERT INTO instruments VALUES (?, 'ETH-USDC-PYTH', '0xeth', '0xusdc', 1)", [ADDR])
    con.execute((SQL_DIR / "marts" / "00_dim_instruments.sql").read_text())
    w = next(e for e in wd if e["event"] == "WithdrawRangeFee")
    con.execute("INSERT INTO events_withdraw_range_fee (block_number, block_timestamp, tx_index, log_index, address, "
                "expiry, trader, rid, fee, operator, range_entry_fee_index) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                [w["block_number"], w["block_timestamp"], w["log_index"], ADDR, E, LP, w["rid"], str(w["fee"]), LP,
                 str(w["range_entry_fee_index"])])
    remove = next(e for e in rm if e["event"] == "Remove")
    margin = 50_000 * WAD
    expected = dict(lo=lo, hi=hi, added_ts=added_ts, removed_ts=removed_ts, out=(out_at, back_at), trace=trace,
                    prices=prices, withdrawn=w["fee"], remove=remove, pre=pre,
                    il=remove["pic_balance"] - margin - remove["fee"] + 1 + remove["tip"])
    yield con, expected
    con.close()


def _rid(lo, hi):
    from models.pearl import rid
    return rid(lo, hi)


def test_a_half_hour_range_is_measured_from_its_events(half_hour):
    con, x = half_hour
    audit_id, rows, series = audit(con, Target.parse(None, f"ETH-USDC-PYTH:{LP}:{x['lo']}:{x['hi']}"))
    (row,) = rows.to_dicts()
    assert row["hours_open"] == 0.5 and x["removed_ts"] - x["added_ts"] == 1800
    # hourly sampling had at most one sample of it: nothing to sum over
    n_hourly = con.execute("SELECT count(*) FROM range_history WHERE owner = ?", [LP]).fetchall()[0][0]
    assert n_hourly <= 1
    # time in range: out from the big buy to the sell back, 600 of 1800 s
    assert x["out"][1] - x["out"][0] == 600
    assert row["time_in_range"] == pytest.approx(1200 / 1800, abs=1e-15) and row["time_in_range_hours"] == 1 / 3
    # fees: the Remove event's fee plus the withdrawal, to the wei
    assert row["fees_quote"] == (x["remove"]["fee"] + x["withdrawn"]) / WAD and x["withdrawn"] > 0
    # impermanent loss from the Remove event, and our recomputation agrees with it to the wei
    assert row["impermanent_loss_quote"] == x["il"] / WAD and x["il"] == x["pre"].pnl and row["reconciled"]
    # implied position PnL: the engine's net position after each event x the price move to the next
    t = x["trace"]
    implied = sum(t[i][3] * (t[i + 1][1] - t[i][1]) for i in range(len(t) - 1))
    assert implied != 0
    assert row["implied_position_pnl_quote"] == pytest.approx(implied / 1e36, rel=1e-12)
    assert row["lvr_quote"] == pytest.approx(implied / 1e36 - x["il"] / 1e18, rel=1e-12)
    assert row["lvr_quote"] != pytest.approx(-row["impermanent_loss_quote"])  # the hourly method's artefact

    # markout: each change of its net position, marked at the pair's price an hour later
    def price_at(ts):
        return [p for t_, p in x["prices"] if t_ <= ts][-1]
    markout = sum((t[i][3] - t[i - 1][3]) * (price_at(t[i][0] + 3600) - t[i][1]) for i in range(1, len(t)))
    assert row["markout_1h_quote"] == pytest.approx(markout / 1e36, rel=1e-12) and row["markout_partial_fills"] == 0
    # APR: not annualised over half an hour, and the reason is given
    assert row["apr"] is None and "30 min" in row["apr_note"] and "24 h" in row["apr_note"]
    assert row["fee_return"] == pytest.approx(row["fees_quote"] / 50_000)
    # prices, not ticks; USD at 1 for a stable quote
    assert row["price_lower"] == tick_to_wad(x["lo"]) / WAD and row["entry_price"] == pytest.approx(2000, rel=1e-9)
    assert row["usd_per_quote"] == 1.0 and row["fees_usd"] == row["fees_quote"] and "stable" in row["usd_method"]
    # the series: one point per event of its life, stored
    (_, s), = series.values()
    assert s.height == len(t) and s["in_range"].to_list().count(False) == 1  # after the big buy
    stored = con.execute("SELECT count(*) FROM lp_audit_series WHERE audit_id = ?", [audit_id]).fetchall()[0][0]
    assert stored == s.height
    same = audit(con, Target.parse(None, f"ETH-USDC-PYTH:{row['range_id']}"))[1].to_dicts()[0]
    assert same["implied_position_pnl_quote"] == row["implied_position_pnl_quote"]


def test_unknown_symbol_owner_and_range_say_what_exists(half_hour):
    con, x = half_hour
    with pytest.raises(AuditInputError, match="no instrument with the symbol 'BTC-USDC'.*ETH-USDC-PYTH"):
        audit(con, Target.parse(None, f"BTC-USDC:{LP}:1:2"))
    with pytest.raises(AuditInputError, match="never provided liquidity"):
        audit(con, Target.parse("0x" + "00" * 19 + "01"))
    with pytest.raises(AuditInputError, match="audit list --trader"):
        audit(con, Target.parse(LP, "ETH-USDC-PYTH:-100:100"))


def test_audit_list_shows_lps_then_ranges_with_their_spec(half_hour):
    con, x = half_hour
    lps = list_text(con)
    assert "2 LPs" in lps and LP in lps and DEEP in lps
    text = list_text(con, LP, "eth-usdc-pyth")
    assert "1 ranges of" in text and f"ETH-USDC-PYTH:{x['lo']}:{x['hi']}" not in text
    line = next(ln for ln in text.splitlines() if "REMOVED" in ln)
    assert "2,000" in line and "ETH-USDC-PYTH:" in line  # entry price; the --range spec with a range id
    spec = line.split()[-1]
    assert f"{x['lo']}..{x['hi']}" in line
    assert audit(con, Target.parse(None, spec))[1].height == 1
    with pytest.raises(AuditInputError, match="not an address"):
        list_text(con, "0x12")


def test_cli_audit_list_validates_before_reading(capsys):
    from pipelines.cli import main
    assert main(["audit", "list", "--trader", "0x12"]) == 2
    assert "not an address" in capsys.readouterr().err


def test_report_shows_every_range_with_prices_and_no_exponents(half_hour, tmp_path):
    import re
    con, x = half_hour
    aid, rows, series = audit(con, Target.parse(None, f"ETH-USDC-PYTH:{LP}:{x['lo']}:{x['hi']}"))
    page = report(aid, Target.parse(LP), rows, series, tmp_path / "r.html").read_text()
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S))
    assert not re.search(r"\d[eE][+-]\d", visible)
    assert "How to read this" in visible and "Method (v1)" not in visible
    assert page.count('data-range="') == 1 and page.count('data-range-card="') == 1
    assert "not annualised" in visible and "USDC is a stable quote" in visible
