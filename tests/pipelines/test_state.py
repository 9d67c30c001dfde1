"""The state builder on hand-written histories, each outcome worked out by hand."""
from models.constants import PERP_EXPIRY, WAD, Status
from models.instrument import Instrument
from models.replay import Replayer
from models.tick_math import sqrt_ratio_at_tick, tick_to_wad, wad_to_sqrt, wad_to_tick
from pipelines.state.state import StateBuilder

E = PERP_EXPIRY
ADDR = "0x00000000000000000000000000000000000000aa"


class Chain:
    """Runs engine actions (as the contract would), one transaction per block, and numbers their events."""

    def __init__(self, spot_wad: int):
        self.inst = Instrument(ADDR)
        self.events: list[dict] = []
        self.block = 0
        self.ts = 1_780_000_000
        self.do(lambda now: self.inst.update_spot(spot_wad, spot_wad, now))

    def do(self, action, dt: int = 60) -> list[dict]:
        self.block += 1
        self.ts += dt
        out = []
        for i, ev in enumerate(action(self.ts)):
            ev = {k: v for k, v in ev.items() if k != "_walk"}
            ev.update(block_number=self.block, tx_index=0, log_index=i, block_timestamp=self.ts,
                      address=ev.get("instrument") if ev.get("source") in ("gate", "market") else ADDR)
            out.append(ev)
        self.events += out
        return out

    def replay(self):
        r = Replayer()
        b = StateBuilder(r)
        r.apply([dict(e) for e in self.events])
        assert r.divergences == []
        return b


def _rows(builder, table, **match):
    from pipelines.state.replay_run import ROW_COLS
    cols = ROW_COLS[table]
    out = [dict(zip(cols, r)) for r in builder.rows[table]]
    return [r for r in out if all(r[k] == v for k, v in match.items())]


def _launch(chain: Chain, expiry: int, spot: int) -> None:
    """The pair starts trading at the spot price (UpdateAmmStatus(TRADING)), as a launch does."""
    chain.do(lambda now: chain.inst.open_pair(expiry, wad_to_sqrt(spot), spot, now))


def _bare(chain: Chain, tick: int = 0):
    a = chain.inst.pair(E).amm
    a.status, a.sqrt_px96, a.tick, a.timestamp = Status.TRADING, sqrt_ratio_at_tick(tick), tick, chain.ts


def test_order_partly_filled_then_cancelled():
    c = Chain(WAD)
    _bare(c)
    c.do(lambda now: c.inst.place(E, "0xmaker", 100, -10 * WAD, 5 * WAD, now, check=False))
    c.do(lambda now: c.inst.trade(E, "0xtaker", 4 * WAD, 2 * WAD, now, check=False))
    c.do(lambda now: c.inst.cancel(E, "0xmaker", 100, 0, now, check=False))
    # replay from a pair opened at tick 0 with no liquidity, as the engine was
    r = Replayer()
    r.state.instruments[ADDR] = Instrument(ADDR)
    inst = r.state.instruments[ADDR]
    a = inst.pair(E).amm
    a.status, a.sqrt_px96, a.tick, a.timestamp = Status.TRADING, sqrt_ratio_at_tick(0), 0, c.events[0]["block_timestamp"]
    b = StateBuilder(r)
    r.apply([dict(e) for e in c.events])
    assert r.divergences == []
    value = (tick_to_wad(100) * 4 * WAD + WAD // 2) // WAD
    maker_fee = value * 3 // 10_000
    (order,) = b.touched_orders.values()
    assert order[10] == "PARTIAL_CANCELLED" and order[11] == str(-4 * WAD) and order[12] == str(maker_fee)
    (market,) = _rows(b, "fills", kind="MARKET")
    assert market["taken_size"] == str(4 * WAD) and market["curve_size"] == "0" and market["notional"] == str(value)
    assert market["fee"] == str(-(-value * 5 // 10_000))  # the taker fee rounds up
    # no liquidity: the maker's rebate and the rest to the protocol, adding up to the fee
    assert int(market["maker_fee"]) + int(market["protocol_fee"]) == int(market["fee"]) and market["lp_fee"] == "0"
    (limit,) = _rows(b, "fills", kind="LIMIT")
    assert limit["trader"] == "0xmaker" and limit["size"] == str(-4 * WAD) and limit["notional"] == str(value)
    assert limit["tick"] == 100 and limit["nonce"] == 0 and limit["fee"] == str(-maker_fee)  # a rebate


def test_range_crossed_twice_then_removed_by_a_third_party():
    c = Chain(2000 * WAD)
    _launch(c, E, 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    lo, hi = (t0 - 300) // 50 * 50, -(-(t0 + 300) // 50) * 50
    c.do(lambda now: c.inst.add(E, "0xlp", lo, hi, 50_000 * WAD, now, check=False))
    c.do(lambda now: c.inst.add(E, "0xdeep", t0 // 50 * 50 - 5000, t0 // 50 * 50 + 5000, 400_000 * WAD, now,
                                check=False))
    up = c.do(lambda now: c.inst.trade(E, "0xt", 260 * WAD, 10**30, now, check=False))
    out_block = up[0]["block_number"]
    assert c.inst.pair(E).amm.tick >= hi
    c.do(lambda now: c.inst.trade(E, "0xt", -260 * WAD, 0, now, check=False))  # back in range
    assert lo <= c.inst.pair(E).amm.tick < hi
    up2 = c.do(lambda now: c.inst.trade(E, "0xt", 300 * WAD, 10**30, now, check=False))  # out again
    rm = c.do(lambda now: c.inst.remove(E, "0xlp", lo, hi, "0xkeeper", now))
    b = c.replay()
    history = [r for r in b.rows["amm_snapshots"]]
    assert any(row[3] == out_block for row in history)
    (rng,) = [r for r in b.touched_ranges.values() if r[2] == "0xlp"]
    remove = next(e for e in rm if e["event"] == "Remove")
    assert rng[13] == "REMOVED" and rng[18] == "0xkeeper" and rng[19] == str(c.inst.param.tip)
    assert rng[15] == str(remove["fee"]) and int(rng[15]) > 0
    assert rng[22] == up2[0]["block_number"]  # out of range since the second crossing, not the first
    (fill,) = _rows(b, "fills", kind="RANGE")
    assert fill["counterparty"] == "0xkeeper" and int(fill["size"]) < 0  # sold base on the way up: short


def test_take_over_liquidation():
    c = Chain(2000 * WAD)
    _launch(c, E, 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    c.do(lambda now: c.inst.add(E, "0xlp", t0 // 50 * 50 - 3000, t0 // 50 * 50 + 3000, 500_000 * WAD, now,
                                check=False))
    c.do(lambda now: c.inst.trade(E, "0xlev", 10 * WAD, 2_100 * WAD, now, check=False))  # ~9.5x long
    c.do(lambda now: c.inst.update_spot(1_850 * WAD, 1_850 * WAD, now))  # mark falls 7.5%: below MMR
    size = c.inst.positions[(E, "0xlev")].size
    c.do(lambda now: c.inst.liquidate(E, "0xliq", "0xlev", size, 5_000 * WAD, now))
    b = c.replay()
    takeover = _rows(b, "fills", kind="TAKE_OVER")
    by = {r["trader"]: r for r in takeover}
    assert by["0xliq"]["size"] == str(size) and by["0xlev"]["size"] == str(-size)
    assert by["0xliq"]["notional"] == str(size * 1_850 * WAD // WAD)
    assert by["0xliq"]["counterparty"] == "0xlev"
    last = _rows(b, "positions", trader="0xlev")[-1]
    assert last["size"] == "0"


def test_dated_future_settles():
    expiry = 1_780_041_600
    c = Chain(150 * WAD)
    _launch(c, expiry, 150 * WAD)
    t0 = wad_to_tick(150 * WAD)
    c.do(lambda now: c.inst.add(expiry, "0xlp", t0 // 50 * 50 - 2000, t0 // 50 * 50 + 2000, 30_000 * WAD, now,
                                check=False))
    c.do(lambda now: c.inst.trade(expiry, "0xt", 20 * WAD, 1_000 * WAD, now, check=False))
    c.do(lambda now: c.inst.update_status(expiry, Status.SETTLING, now))
    c.do(lambda now: c.inst.update_status(expiry, Status.SETTLED, now, 160 * WAD))
    settle = c.do(lambda now: c.inst.settle(expiry, "0xt", "0xkeeper", now))
    b = c.replay()
    head = settle[0]
    pos_entry = next(e for e in c.events if e["event"] == "UpdatePosition" and e["trader"] == "0xt")
    # paid out: balance + (settlement * size - entry notional), by hand from the position before settlement
    expected = pos_entry["pic_balance"] + (160 * WAD * 20 * WAD + WAD // 2) // WAD - pos_entry["pic_entry_notional"]
    assert head["event"] == "Settle" and head["balance"] == expected and head["settlement"] == 160 * WAD
    statuses = [row[7] for row in b.rows["amm_snapshots"] if row[1] == expiry]
    assert statuses[-1] == Status.SETTLED
    assert _rows(b, "positions", trader="0xt")[-1]["size"] == "0"


def test_range_status_index_agrees_with_a_full_scan_across_checkpoints():
    """The bound index visits only crossed ranges; after every price-moving event of whole simulator histories,
    resumed from a checkpoint in between, each open range of that pair must be flagged out of range exactly
    when a scan of all of them says so."""
    from devnet.simulator import Simulator, numbered_events
    from pipelines.state.state import MOVES_AMM
    checked = 0
    for seed in (3, 5):
        events = numbered_events(Simulator(seed, "small").run())
        r, cut = Replayer(), len(events) // 2
        for part in (events[:cut], events[cut:]):
            b = StateBuilder(r)
            on_event = b._on_event

            def check(ev, exp, b=b, on_event=on_event):
                nonlocal checked
                on_event(ev, exp)
                if ev["event"] not in MOVES_AMM:
                    return
                for (addr, expiry, _, _), row in b.open_ranges.items():
                    if (addr, expiry) != (ev["address"], ev.get("expiry")):
                        continue
                    tick = r.state.instruments[addr].pairs[expiry].amm.tick
                    assert (row[22] is None) == (row[3] <= tick < row[4]), (ev["block_number"], row)
                    checked += 1
            r.on_applied = check
            r.apply([dict(e) for e in part])
            r = Replayer.from_checkpoint(r.checkpoint())
    assert checked > 5_000


def test_an_order_and_a_range_placed_again_after_closing_keep_both_rows():
    """The same order id (same tick, same epoch after a full cancel) and the same range bounds can come back in
    one replay run: each placement is its own row, neither overwrites the other."""
    import duckdb

    from pipelines.core.store import init_schema
    from pipelines.state.replay_run import _write
    c = Chain(2000 * WAD)
    _launch(c, E, 2000 * WAD)
    t0 = wad_to_tick(2000 * WAD)
    lo, hi = t0 // 50 * 50 - 500, t0 // 50 * 50 + 500
    bid = t0 // 5 * 5 - 50
    for _ in range(2):
        c.do(lambda now: c.inst.add(E, "0xlp", lo, hi, 50_000 * WAD, now, check=False))
        c.do(lambda now: c.inst.place(E, "0xm", bid, WAD, 1_000 * WAD, now, check=False))
        c.do(lambda now: c.inst.cancel(E, "0xm", bid, 0, now, check=False))
        c.do(lambda now: c.inst.remove(E, "0xlp", lo, hi, "0xlp", now, check=False))
    b = c.replay()
    con = duckdb.connect()
    init_schema(con)
    _write(con, b, b.r)
    orders = con.sql("SELECT nonce, status, placed_block FROM orders ORDER BY placed_block").fetchall()
    ranges = con.sql("SELECT status, added_block FROM lp_ranges ORDER BY added_block").fetchall()
    assert [o[:2] for o in orders] == [(0, "CANCELLED"), (0, "CANCELLED")] and orders[0][2] < orders[1][2]
    assert [r[0] for r in ranges] == ["REMOVED", "REMOVED"] and ranges[0][1] < ranges[1][1]
