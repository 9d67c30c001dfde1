"""The protocol rules that SynFutures' own code and real contract output fix (docs/protocol-rules.md), one test
each, on concrete values.  Where a rule changed, the test names what the old rounding gave, so a regression to
it fails here.  Real values come from tests/fixtures (SynFutures' recorded Base output and a receipt of its
compiled contracts), not from this project's simulator."""
import json
from pathlib import Path

import pytest

from models.bitmap import TickBitmap
from models.constants import MAX_TICK, MIN_TICK, PERP_EXPIRY, WAD, Status
from models.fees import fee_split, protocol_fee, taker_fee
from models.funding import funding_step
from models.instrument import Instrument
from models.pair import Pair
from models.pearl import weighted_index
from models.position import Indices, Position, combine, funding_of, realise, split
from models.range_math import entry_base, liquidity_from_margin, range_to_position
from models.sqrt_price_math import amount0_delta
from models.swap_math import swap_step
from models.tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_at_sqrt_ratio, tick_to_wad, wad_to_sqrt

FIX = Path(__file__).parents[1] / "fixtures"
BASE = json.loads((FIX / "base_block_21356800.json").read_text())
LAUNCH = json.loads((FIX / "launch_receipt_v3contracts.json").read_text())
E = PERP_EXPIRY


def _pair_with_curve(sqrt_px96: int, liquidity: int, lower: int, upper: int) -> Pair:
    pair = Pair(E)
    a = pair.amm
    a.sqrt_px96, a.tick, a.status = sqrt_px96, tick_at_sqrt_ratio(sqrt_px96), Status.TRADING
    pair.add_liquidity(lower, upper, liquidity)
    return pair


# --- the walk ---------------------------------------------------------------------------------------------
def test_a_real_base_quote_is_reproduced_by_the_walk_and_the_fee_rounds_up():
    """Instrument.inquire on Base: a long of 0.1 BTC against the BTC-USDC-LINK curve."""
    amm = BASE["amm"]
    q = next(q for q in BASE["quotes"] if q["call"] == "inquireByBase")
    quote = q["output"]["quotation"]
    # active L of the real AMM; no order and no initialised tick between 111308 and 111318 (the quote's note)
    pair = _pair_with_curve(int(amm["sqrtPX96"]), int(amm["liquidity"]), 109200, 113000)
    res = pair.walk(int(q["amount"]), 1)
    assert pair.amm.sqrt_px96 == int(quote["sqrtPostFairPX96"])
    assert res.entry_notional == int(quote["entryNotional"]) and pair.amm.tick == quote["postTick"]
    p = BASE["quoteParam"]
    fee = taker_fee(res.entry_notional, p["tradingFeeRatio"], p["protocolFeeRatio"])
    assert fee == int(quote["fee"])
    floors = res.entry_notional * p["tradingFeeRatio"] // 10_000 + res.entry_notional * p["protocolFeeRatio"] // 10_000
    assert floors == fee - 2  # the old rule (two floors) landed 2 wei low on this real quote


def test_taker_fee_rounds_up_on_the_second_real_quote():
    q = next(q for q in BASE["quotes"] if q["call"] == "inquireByQuote")["output"]["quotation"]
    p = BASE["quoteParam"]
    assert taker_fee(int(q["entryNotional"]), p["tradingFeeRatio"], p["protocolFeeRatio"]) == int(q["fee"])


def test_fee_split_adds_up_to_the_taker_fee():
    n, makers = 6824352217114320379919, 12345
    fee, protocol, lp = fee_split(n, 3, 1, makers)
    assert fee == taker_fee(n, 3, 1) == protocol + makers + lp
    assert protocol == protocol_fee(n, 1) == n // 10_000  # the protocol's part floors; the ceiling's wei: the LPs
    assert fee_split(n, 3, 1, makers, has_liquidity=False) == (fee, protocol + lp, 0)  # no LP: the protocol keeps it


def test_a_long_rounds_the_base_to_reach_a_tick_up():
    s0, L = sqrt_ratio_at_tick(1000) + 7, 10**22
    target = sqrt_ratio_at_tick(1005)
    down, up = amount0_delta(s0, target, L, False), amount0_delta(s0, target, L, True)
    assert up == down + 1  # these values differ by the rounding
    s, base, _ = swap_step(s0, target, L, 10**30, True)
    assert (s, base) == (target, up)  # before: the floor, one wei less taken
    # a long given exactly the floored amount no longer reaches the tick
    s, base, _ = swap_step(s0, target, L, down, True)
    assert s < target and base == down


def test_a_short_walks_down_to_the_current_tick_before_taking_its_bids():
    """Price inside tick 100's band, bids resting at 100: a short first moves the curve down to tick 100's
    price, then fills the bids (before: it filled them at once and the price did not move)."""
    inst = Instrument("0xi")
    inst.spot = tick_to_wad(100)
    inst.open_pair(E, sqrt_ratio_at_tick(100) + 10**20, inst.spot, 1000)
    pair = inst.pair(E)
    inst.add(E, "0xlp", -1000, 1000, 10**24, 1000, check=False)
    assert pair.amm.tick == 100
    inst.place(E, "0xm", 100, 5 * WAD, 10**21, 1000, check=False)  # a bid at the current tick
    ev = inst.trade(E, "0xt", -6 * WAD, 10**24, 1000, check=False)
    trade = next(e for e in ev if e["event"] == "Trade")
    walk = trade["_walk"]
    assert walk.curve_size > 0 and walk.takes[0].tick == 100 and trade["taken_size"] == -5 * WAD
    # the curve part is the base from the start price down to tick 100, and the rest below it
    assert walk.curve_value > 0 and pair.amm.sqrt_px96 < sqrt_ratio_at_tick(100)


def test_a_long_still_takes_the_asks_at_the_current_tick_first():
    inst = Instrument("0xi")
    inst.spot = tick_to_wad(100)
    inst.open_pair(E, sqrt_ratio_at_tick(100) + 10**20, inst.spot, 1000)
    inst.add(E, "0xlp", -1000, 1000, 10**24, 1000, check=False)
    inst.pair(E).place(100, -3 * WAD)  # an ask resting at the current tick (placed before the price moved)
    s0 = inst.pair(E).amm.sqrt_px96
    ev = inst.trade(E, "0xt", 2 * WAD, 10**24, 1000, check=False)
    walk = next(e for e in ev if e["event"] == "Trade")["_walk"]
    assert walk.taken_size == 2 * WAD and walk.curve_size == 0 and inst.pair(E).amm.sqrt_px96 == s0


@pytest.mark.parametrize("start,ticks,lte,expect", [
    (0, [5, 10], False, 5),  # same word
    (0, [6400 + 5], False, 6405),  # the next word (256 x 5 ticks per word)
    (0, [40_000], False, 40_000),  # many words away: found in one step
    (0, [], False, MAX_TICK),  # nothing above: the bound, uninitialised
    (0, [-6400 - 5], True, -6405),
    (0, [0], True, 0),  # going down the current tick itself counts
    (-1, [-200_000], True, -200_000),
    (0, [], True, MIN_TICK),
])
def test_next_initialised_tick_is_found_across_bitmap_words(start, ticks, lte, expect):
    bm = TickBitmap(5)
    for t in ticks:
        bm.flip(t)
    bound = MIN_TICK if lte else MAX_TICK
    assert bm.next_initialised(start, lte, bound) == (expect, bool(ticks))


def test_a_walk_across_a_word_edge_is_one_curve_step():
    """SynFutures' replay goes straight to the next initialised tick; Uniswap's contract stops at each word
    edge (1,280 ticks at spacing 5), rounding at each stop.  We follow SynFutures' replay."""
    s0, L = sqrt_ratio_at_tick(100), 10**24
    pair = _pair_with_curve(s0, L, -5000, 5000)
    size = amount0_delta(s0, sqrt_ratio_at_tick(3000), L, True)
    res = pair.walk(size, 0)
    one_step = swap_step(s0, sqrt_ratio_at_tick(5000), L, size, True)
    assert (pair.amm.sqrt_px96, res.curve_value) == (one_step[0], one_step[2])
    # word by word would have stopped at tick 1280 first and paid a different rounding
    edge = sqrt_ratio_at_tick(1280)
    first = swap_step(s0, edge, L, size, True)
    second = swap_step(edge, sqrt_ratio_at_tick(5000), L, size - first[1], True)
    assert first[2] + second[2] != one_step[2] or second[0] != one_step[0]


def test_open_interests_follows_the_sdk_counter():
    inst = Instrument("0xi")
    inst.spot = tick_to_wad(0)
    inst.open_pair(E, sqrt_ratio_at_tick(0), inst.spot, 1000)
    inst.add(E, "0xlp", -1000, 1000, 10**24, 1000, check=False)
    a = inst.pair(E).amm
    r = next(iter(inst.ranges.values()))
    assert a.open_interests == entry_base(r.liquidity, r.sqrt_entry_px96, sqrt_ratio_at_tick(1000))
    oi0 = a.open_interests
    inst.trade(E, "0xl", 3 * WAD, 10**24, 1000, check=False)  # a long from the curve adds nothing
    assert a.open_interests == oi0 and a.total_long == 3 * WAD
    inst.trade(E, "0xs", -2 * WAD, 10**24, 1000, check=False)  # a short adds its size
    assert a.open_interests == oi0 + 2 * WAD
    inst.trade(E, "0xl", -WAD, 10**24, 1000, check=False)  # closing 1 of the long: +1 then -1 closed
    assert a.open_interests == oi0 + 2 * WAD and a.total_long == 2 * WAD
    assert a.open_interests != max(a.total_long, a.total_short)  # the old rule


# --- positions --------------------------------------------------------------------------------------------
def test_a_fill_realises_the_order_positions_funding_before_the_merge():
    idx = Indices(-3 * WAD, 5 * WAD, 0, 0, True)
    pos = Position(100 * WAD, 2 * WAD, 200 * WAD, 0, -3 * WAD)  # at the current index
    pic = Position(10 * WAD, 1 * WAD, 100 * WAD, 0, -WAD)  # an order taken when the index was -1
    realise(pos, idx)
    f = realise(pic, idx)
    assert f == -2 * WAD and pic.balance == 8 * WAD and pic.entry_funding_index == -3 * WAD
    merged, _ = combine(pos, pic)
    assert merged.balance == 108 * WAD  # before: 110 (the order's funding never charged)


def test_funding_realised_rounds_half_away_from_zero():
    assert funding_of(3, 0, -WAD // 2) == -2  # -1.5 -> -2 (floor gave -2 too)
    assert funding_of(1, 0, -WAD * 14 // 10) == -1  # -1.4 -> -1 (floor gave -2)
    assert funding_of(3, 0, WAD // 2) == 2  # +1.5 -> +2 (floor gave 1)


def test_closed_notional_rounds_half_up():
    a = Position(0, 3, 5, 0, 0)
    b = Position(0, -1, 1, 0, 0)
    merged, pnl = combine(a, b)
    # closed share of the long's entry notional: 5 x 1/3 = 1.67 -> 2 (the floor gave 1)
    assert merged.entry_notional == 3 and pnl == 1 - 2


def test_a_position_closed_to_zero_releases_its_margin_and_is_deleted():
    inst = Instrument("0xi", quote_decimals=6)
    inst.spot = tick_to_wad(0)
    inst.open_pair(E, sqrt_ratio_at_tick(0), inst.spot, 1000)
    inst.add(E, "0xlp", -1000, 1000, 10**24, 1000, check=False)
    inst.trade(E, "0xt", 3 * WAD, 5 * WAD, 1000, check=False)
    fund = inst.pair(E).amm.involved_fund
    ev = inst.trade(E, "0xt", -3 * WAD, 0, 1000, check=False)
    assert (E, "0xt") not in inst.positions
    upd = next(e for e in ev if e["event"] == "UpdatePosition")
    gather = next(e for e in ev if e["event"] == "Gather")
    assert (upd["pic_size"], upd["pic_balance"]) == (0, 0) and gather["trader"] == "0xt"
    assert gather["quantity"] > 0
    # involvedFund falls by the native quantity scaled back, not by the WAD balance
    assert inst.pair(E).amm.involved_fund == fund - gather["quantity"] * 10**12


def test_take_over_liquidation_moves_balance_and_notional_pro_rata():
    inst = Instrument("0xi")
    inst.spot = tick_to_wad(0)
    inst.mmr = 500
    inst.open_pair(E, sqrt_ratio_at_tick(0), inst.spot, 1000)
    inst.positions[(E, "0xv")] = Position(3 * WAD, 10 * WAD, 11 * WAD, 0, 0)  # long 10 at 1.1, mark 1.0
    inst.pair(E).amm.total_long = 10 * WAD
    inst.liquidate(E, "0xliq", "0xv", 4 * WAD, 0, 1000, check=False)
    part, rest = split(Position(3 * WAD, 10 * WAD, 11 * WAD, 0, 0), 4 * WAD)
    assert (part.balance, part.entry_notional) == (12 * WAD // 10, 44 * WAD // 10)
    assert inst.positions[(E, "0xv")].as_tuple() == rest.as_tuple()  # not re-based at mark
    liq = inst.positions[(E, "0xliq")]
    assert liq.entry_notional == 44 * WAD // 10 and liq.balance == 12 * WAD // 10
    # before: entryNotional re-based to mark (4.0) and the target's balance cut to its equity


def test_signed_averages_truncate_toward_zero():
    assert weighted_index(-10, 1, -11, 2) == -10  # -32/3 = -10.67: Solidity gives -10, a floor -11
    assert weighted_index(10, 1, 11, 2) == 10


def test_funding_index_update_rounds_to_nearest_with_wmul_and_wdiv():
    # d = 1 x 86399 / 86400 = 0.99998...: to nearest 1 (the floor gave 0 and no update at all)
    dl, ds, fund = funding_step(WAD + 1, WAD, 86399, 86400, 3 * WAD, 7 * WAD)
    assert dl == -1 and ds == (1 * 3 * WAD // WAD * WAD + 7 * WAD // 2) // (7 * WAD)
    # with no receiver the payment, wmul(d, payer OI) half up, goes to the insurance fund
    dl, ds, fund = funding_step(WAD + 3, WAD, 86400, 86400, WAD // 2 + 1, 0)
    assert (dl, ds, fund) == (-3, 0, (3 * (WAD // 2 + 1) + WAD // 2) // WAD)


# --- ranges -----------------------------------------------------------------------------------------------
def test_a_range_removed_at_its_entry_price_is_flat():
    s_e, s_l, s_u = sqrt_ratio_at_tick(70_000) + 12345, sqrt_ratio_at_tick(69_000), sqrt_ratio_at_tick(71_000)
    L = liquidity_from_margin(10**22, s_e, s_l, s_u, 1000)
    v = range_to_position(L, 0, 0, s_e, s_l, s_u, s_e, sqrt_to_wad(s_e))
    assert v.size == 0 and v.pnl == 0  # before: a 1-wei short (inventory rounded down at removal)


def test_real_base_ranges_recompute_their_liquidity():
    imr = BASE["initialMarginRatio"]
    for r in BASE["ranges"]:
        L = liquidity_from_margin(int(r["balance"]), int(r["sqrtEntryPX96"]), sqrt_ratio_at_tick(r["tickLower"]),
                                  sqrt_ratio_at_tick(r["tickUpper"]), imr)
        assert L == int(r["liquidity"]), r["rid"]


# --- the launch -------------------------------------------------------------------------------------------
def test_launch_emits_the_real_contracts_order_and_values():
    from devnet.simulator import Simulator
    sim = Simulator(3, "small")
    m = sim.markets[1]  # BTC-WETH-LINK: a LINK market
    m.inst.update_spot(m.spot, m.spot, sim.now)  # the market's first price, reported before the launch
    logs = sim._launch(2, m)
    names = [ev["event"] for _, ev in logs]
    assert names == LAUNCH["event_order"]
    assert next(ev for _, ev in logs if ev["event"] == "NewInstrument")["base"] == "0x" + "00" * 20
    add = next(ev for _, ev in logs if ev["event"] == "Add")
    status = next(ev for _, ev in logs if ev["event"] == "UpdateAmmStatus")
    assert add["range_sqrt_entry_px96"] == status["sqrt_px96"]
    assert next(ev for _, ev in logs if ev["event"] == "UpdateFundingIndex")["funding_index"] == 0


def test_launch_values_of_the_real_receipt():
    d = LAUNCH["decoded"]
    st, add = d["UpdateAmmStatus"], d["Add"]
    assert wad_to_sqrt(int(st["mark"])) == int(st["sqrtPX96"]) == int(add["sqrtEntryPX96"])
    L = liquidity_from_margin(int(add["balance"]), int(add["sqrtEntryPX96"]), sqrt_ratio_at_tick(add["tickLower"]),
                              sqrt_ratio_at_tick(add["tickUpper"]), d["UpdateMarginRatio"]["initialMarginRatio"])
    assert L == int(add["liquidity"])
    # Gate events in native decimals, instrument events in WAD
    assert int(add["balance"]) == d["Scatter"]["quantity_native"] * 10**12
