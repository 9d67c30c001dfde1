"""The pair and instrument engine: hand-worked scenarios and hypothesis properties."""
from decimal import Decimal, getcontext

from hypothesis import given, settings, strategies as st

from models.constants import PERP_EXPIRY, Q96, WAD, Status
from models.instrument import Instrument, Rejected
from models.pearl import oid
from models.range_math import liquidity_from_margin
from models.fees import taker_fee as fee_of
from models.tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_to_wad, wad_to_sqrt, wad_to_tick
from models.wad import bps_of_down

getcontext().prec = 100
E = PERP_EXPIRY


def bare_instrument(tick: int = 0) -> Instrument:
    """A trading pair at `tick` with no liquidity (orders only), fees 3 + 2 bps, no funding drift."""
    inst = Instrument("0xinst")
    inst.spot = tick_to_wad(tick)
    a = inst.pair(E).amm
    a.status, a.sqrt_px96, a.tick, a.timestamp = Status.TRADING, sqrt_ratio_at_tick(tick), tick, 1000
    return inst


def opened(address: str, spot: int) -> Instrument:
    """An instrument whose perpetual pair was launched at `spot` (UpdateAmmStatus(TRADING) at that price)."""
    inst = Instrument(address)
    inst.spot = spot
    inst.open_pair(E, wad_to_sqrt(spot), spot, 1000)
    return inst


def test_order_partly_filled_then_cancelled_by_hand():
    inst = bare_instrument(0)
    inst.place(E, "0xmaker", 100, -10 * WAD, 5 * WAD, 1000, check=False)
    ev = inst.trade(E, "0xtaker", 4 * WAD, 2 * WAD, 1000, check=False)
    trade = next(e for e in ev if e["event"] == "Trade")
    p100 = tick_to_wad(100)  # 1.0001^100 = 1.010049662...
    assert abs(Decimal(p100) / WAD - Decimal("1.0001") ** 100) < Decimal("1e-17")
    value = (p100 * 4 * WAD + WAD // 2) // WAD  # wmul half up
    assert trade["taken_size"] == 4 * WAD and trade["taken_value"] == value == trade["entry_notional"]
    pearl = inst.pair(E).pearls[100]
    assert pearl.left == -6 * WAD and pearl.taken == -4 * WAD
    maker_fee = value * 3 // 10_000
    assert pearl.fee == maker_fee
    # taker: pays ceil(5 bps) (3 trading + 2 protocol); the maker keeps its floored 3 bps, and with no
    # liquidity at all the LPs' part (the rounding wei) goes to the protocol
    taker = inst.positions[(E, "0xtaker")]
    fee = -(-value * 5 // 10_000)
    assert fee == value * 5 // 10_000 + 1  # this notional is not a multiple: the ceiling is one wei up
    assert taker.balance == 2 * WAD - fee
    assert inst.pair(E).amm.protocol_fee == fee - maker_fee
    # the maker cancels: the 4 filled become its position, with the whole epoch fee; 6 are cancelled
    ev = inst.cancel(E, "0xmaker", 100, 0, 1000, check=False)
    cancel = next(e for e in ev if e["event"] == "Cancel")
    assert cancel["fee"] == maker_fee and cancel["pic_size"] == -4 * WAD
    assert cancel["pic_entry_notional"] == value and cancel["pic_balance"] == 5 * WAD + maker_fee
    assert inst.pair(E).order_book() == {} and (E, "0xmaker", oid(100, 0)) not in inst.orders
    a = inst.pair(E).amm
    assert a.total_long == 4 * WAD and a.total_short == 4 * WAD  # taker long, maker short


def test_fully_taken_epoch_is_filled_pro_rata():
    inst = bare_instrument(0)
    inst.place(E, "0xm1", 100, -3 * WAD, WAD, 1000, check=False)
    inst.place(E, "0xm2", 100, -1 * WAD, WAD, 1000, check=False)
    inst.trade(E, "0xtaker", 4 * WAD, 2 * WAD, 1000, check=False)
    pair = inst.pair(E)
    assert pair.pearls[100].nonce == 1 and (100, 0) in pair.records
    rec = pair.records[(100, 0)]
    assert rec.taken == -4 * WAD
    fee = rec.fee
    f1 = next(e for e in inst.fill(E, "0xm1", 100, 0, "0xkeeper", 1000, check=False) if e["event"] == "Fill")
    assert (100, 0) in pair.records  # 0xm2's share is still to be settled from it
    f2 = next(e for e in inst.fill(E, "0xm2", 100, 0, "0xm2", 1000, check=False) if e["event"] == "Fill")
    assert (100, 0) not in pair.records and (100, 0) not in pair.live  # settled in full: the record is dropped
    # each Fill takes its share out of the record; the last takes what is left
    assert f1["fee"] == fee * 3 // 4 and f2["fee"] == fee - f1["fee"] and rec.fee == 0 and rec.taken == 0
    assert f1["tip"] == inst.param.tip and f2["tip"] == 0  # a keeper is paid; the owner is not
    assert f1["pic_size"] == -3 * WAD and f2["pic_size"] == -WAD
    a = pair.amm
    assert a.total_short == 4 * WAD and a.total_long == 4 * WAD  # phantom OI became positions, not double


def test_orders_fill_before_the_curve_and_cancel_of_a_filled_order_is_refused():
    inst = opened("0xi", 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    lo, hi = (t0 - 2000) // 50 * 50, (t0 + 2000) // 50 * 50
    inst.add(E, "0xlp", lo, hi, 100_000 * WAD, 1000, check=False)
    ask = (t0 // 5) * 5 + 10
    inst.place(E, "0xm", ask, -WAD, 1000 * WAD, 1000, check=False)
    ev = inst.trade(E, "0xt", 50 * WAD, 50_000 * WAD, 1000, check=False)
    trade = next(e for e in ev if e["event"] == "Trade")
    assert trade["taken_size"] == WAD  # the whole ask was taken on the way up
    assert inst.pair(E).pearls[ask].nonce == 1
    try:
        inst.cancel(E, "0xm", ask, 0, 1000)
        raise AssertionError("cancel of a fully taken order must be refused")
    except Rejected:
        pass


def _lp_inst(ranges, orders=()):
    inst = opened("0xp", 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    for i, (w_lo, w_hi, m) in enumerate(ranges):
        lo, hi = (t0 - w_lo) // 50 * 50, -(-(t0 + w_hi) // 50) * 50
        inst.add(E, f"0xlp{i}", lo, hi, m * WAD, 1000, check=False)
    for i, (off, size) in enumerate(orders):
        tick = (t0 // 5) * 5 + off
        if (size > 0 and tick < inst.pair(E).amm.tick) or (size < 0 and tick > inst.pair(E).amm.tick):
            inst.place(E, f"0xm{i}", tick, size * WAD // 10, WAD, 1000, check=False)
    return inst


ranges_st = st.lists(st.tuples(st.integers(60, 6000), st.integers(60, 6000), st.integers(1_000, 200_000)),
                     min_size=1, max_size=4)
orders_st = st.lists(st.tuples(st.sampled_from([-200, -100, -35, -5, 5, 40, 90, 250]), st.integers(-30, 30)
                               .filter(bool)), max_size=6)
trades_st = st.lists(st.integers(-40, 40).filter(bool), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(ranges_st, orders_st, trades_st)
def test_walk_invariants(ranges, orders, trades):
    inst = _lp_inst(ranges, orders)
    pair = inst.pair(E)
    placed = {k: o.size for k, o in inst.orders.items()}
    for k, units in enumerate(trades):
        a = pair.amm
        before = (a.fee_index, a.protocol_fee, sum(p.fee for p in pair.pearls.values())
                  + sum(r.fee for r in pair.records.values()))
        try:
            ev = inst.trade(E, f"0xt{k}", units * WAD // 4, 10**30, 1000, check=False)
        except Exception:  # walking past the last tick: the contract reverts, the pair must be unchanged
            continue
        trade = next(e for e in ev if e["event"] == "Trade")
        n = trade["entry_notional"]
        # liquidity never negative, and active L = sum of liquidityNet at or below the tick
        assert a.liquidity >= 0 and a.liquidity == pair.active_liquidity_from_ticks()
        # taker fee = maker rebates + LP fee (spread over totalLiquidity, floor dust aside) + protocol fee
        taker_fee = fee_of(n, trade["fee_ratio"], inst.param.protocol_fee_ratio)
        maker = sum(p.fee for p in pair.pearls.values()) + sum(r.fee for r in pair.records.values()) - before[2]
        lp = (a.fee_index - before[0]) * a.total_liquidity // WAD
        protocol = a.protocol_fee - before[1]
        assert 0 <= taker_fee - (maker + lp + protocol) <= a.total_liquidity // WAD + 1
        assert protocol == bps_of_down(n, inst.param.protocol_fee_ratio)
    # filled size never exceeds placed size: each live epoch holds exactly its orders' sizes
    for tick, p in pair.pearls.items():
        live = sum(s for (e, t, key), s in placed.items() if key >> 24 & 0xFFFFFF == tick & 0xFFFFFF
                   and inst.orders.get((e, t, key)) and inst.orders[(e, t, key)].nonce == p.nonce)
        assert p.left + p.taken == live
        assert abs(p.taken) <= abs(live)


@settings(max_examples=60, deadline=None)
@given(ranges_st, st.integers(1, 200))
def test_long_then_equal_short_returns_the_price(ranges, units):
    inst = _lp_inst(ranges)
    a = inst.pair(E).amm
    s0, l0 = a.sqrt_px96, a.liquidity
    try:
        inst.trade(E, "0xa", units * WAD // 10, 10**30, 1000, check=False)
        inst.trade(E, "0xb", -units * WAD // 10, 10**30, 1000, check=False)
    except Exception:
        return
    # Each curve step rounds by at most a wei of base in the pool's favour, so the price comes back to within
    # a few wei of base (one wei is a large move of sqrtPX96 when L is small).
    assert a.liquidity == l0
    from models.sqrt_price_math import amount0_delta
    assert amount0_delta(a.sqrt_px96, s0, l0, True) <= 8


def _real(x):
    return Decimal(x) / Decimal(Q96)


@settings(max_examples=200, deadline=None)
@given(st.integers(60000, 90000), st.integers(1, 300), st.integers(1, 300), st.integers(10**18, 10**24),
       st.sampled_from([100, 300, 500, 1000]))
def test_range_margin_covers_imr_at_both_boundaries_and_binds_at_one(tick, d_lo, d_hi, margin, imr):
    t_lo, t_hi = (tick // 50 - d_lo) * 50, (tick // 50 + d_hi) * 50
    s_l, s_u = sqrt_ratio_at_tick(t_lo), sqrt_ratio_at_tick(t_hi)
    s_e = sqrt_ratio_at_tick(tick) + 12345
    L = Decimal(liquidity_from_margin(margin, s_e, s_l, s_u, imr))
    se, su, sl = _real(s_e), _real(s_u), _real(s_l)
    r = Decimal(imr) / 10_000
    m = Decimal(margin)
    # at the upper boundary: short L(1/se - 1/su), pnl -L(su-se)^2/se; at the lower: long L(1/sl - 1/se)
    left_u = m - L * (su - se) ** 2 / se
    need_u = r * L * (1 / se - 1 / su) * su * su
    left_l = m - L * (se - sl) ** 2 / se
    need_l = r * L * (1 / sl - 1 / se) * sl * sl
    assert left_u >= need_u * (1 - Decimal("1e-12")) and left_l >= need_l * (1 - Decimal("1e-12"))
    slack = min((left_u - need_u), (left_l - need_l)) / m
    assert slack < Decimal("1e-9") + 2 / m * 10**6  # equality at the binding boundary, up to L's floor


def test_symmetric_range_binds_at_the_upper_boundary():
    tick = 76000
    s_e = sqrt_ratio_at_tick(tick)
    from models.range_math import liquidity_lower_bound, liquidity_upper_bound
    up = liquidity_upper_bound(10**22, s_e, sqrt_ratio_at_tick(tick + 2000), 1000)
    lo = liquidity_lower_bound(10**22, s_e, sqrt_ratio_at_tick(tick - 2000), 1000)
    assert up < lo  # for a geometrically symmetric range the short side always binds


def test_range_removed_by_a_third_party_once_out_of_range():
    inst = _lp_inst([(300, 300, 50_000), (5000, 5000, 200_000)])
    pair = inst.pair(E)
    (e, owner, key), rng = next((k, r) for k, r in inst.ranges.items() if k[1] == "0xlp0")
    lo, hi = key >> 24, key & 0xFFFFFF
    lo = lo - (1 << 24) if lo & 0x800000 else lo
    try:
        inst.remove(E, owner, lo, hi, "0xkeeper", 1000)
        raise AssertionError("a range in range is only removable by its owner")
    except Rejected:
        pass
    inst.trade(E, "0xwhale", 260 * WAD, 10**30, 1000, check=False)  # push the price above the narrow range
    assert pair.amm.tick >= hi
    ev = inst.remove(E, owner, lo, hi, "0xkeeper", 1000)
    rm = next(e for e in ev if e["event"] == "Remove")
    assert rm["operator"] == "0xkeeper" and rm["tip"] == inst.param.tip
    assert rm["pic_size"] < 0 and rm["fee"] > 0  # the LP ends short (sold base on the way up) and earned fees
    assert pair.amm.liquidity == pair.active_liquidity_from_ticks()
    assert sqrt_to_wad(pair.amm.sqrt_px96) > 2000 * WAD


def test_depth_matches_the_trade_that_moves_the_price_there():
    from models.depth import depth_to
    from models.tick_math import tick_at_sqrt_ratio
    inst = _lp_inst([(300, 300, 50_000), (3000, 3000, 300_000)], [(40, -20), (-35, 15)])
    pair = inst.pair(E)
    s0 = pair.amm.sqrt_px96
    for bps in (10, 50, 100, 200):
        for up in (True, False):
            target = s0 * (10_000 + (bps if up else -bps)) // 10_000  # sqrt moves half as much: ~2x bps price
            base, quote = depth_to(pair, target)
            assert base > 0 and quote > 0
            # trading exactly that base from a copy lands on (or a rounding step short of) the target price
            pair.begin()
            try:
                inst.trade(E, "0xd", base if up else -base, 10**30, 1000, check=False)
                got = pair.amm.sqrt_px96
            finally:
                pair.rollback()
            assert abs(tick_at_sqrt_ratio(got) - tick_at_sqrt_ratio(target)) <= 1
