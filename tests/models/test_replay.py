"""The replay driver against the simulator's histories: agreement, divergence reporting, checkpoints."""
import pytest

from devnet.simulator import QUOTES, Simulator, numbered_events
from models.replay import Replayer


def _history(seed):
    sim = Simulator(seed, "small")
    return sim, numbered_events(sim.run())


def _state(inst):
    return ({e: (p.amm.as_dict(), {t: pl.as_tuple() for t, pl in p.pearls.items()},
                 {k: (r.taken, r.fee) for k, r in p.records.items()}, dict(p.bitmap.words))
             for e, p in inst.pairs.items()},
            {k: p.as_tuple() for k, p in inst.positions.items()},
            {k: (o.balance, o.size, o.nonce) for k, o in inst.orders.items()},
            {k: (r.liquidity, r.entry_fee_index, r.balance, r.sqrt_entry_px96) for k, r in inst.ranges.items()})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_rebuilds_the_simulator_state_exactly(seed):
    sim, events = _history(seed)
    r = Replayer(quote_decimals=QUOTES)
    r.apply([dict(e) for e in events])
    assert r.divergences == []
    for m in sim.markets:
        assert _state(r.state.instruments[m.inst.address]) == _state(m.inst)


def test_a_corrupted_event_is_reported_at_its_location():
    _, events = _history(4)
    events = [dict(e) for e in events]
    trade = next(e for e in events[200:] if e["event"] == "Trade")
    trade["entry_notional"] += 1
    upd = next(e for e in events[400:] if e["event"] == "UpdatePosition")
    upd["pic_balance"] -= 7
    r = Replayer(quote_decimals=QUOTES)
    r.apply(events)
    where = {(d.block_number, d.log_index, d.event, d.field) for d in r.divergences}
    assert (trade["block_number"], trade["log_index"], "Trade", "entry_notional") in where
    assert (upd["block_number"], upd["log_index"], "UpdatePosition", "pic_balance") in where
    # the chain's values win: right after that transaction the position holds the reported balance
    upto = [e for e in events if (e["block_number"], e["tx_index"]) <= (upd["block_number"], upd["tx_index"])]
    r2 = Replayer(quote_decimals=QUOTES)
    r2.apply([dict(e) for e in upto])
    assert r2.state.instruments[upd["address"]].positions[(upd["expiry"], upd["trader"])].balance == upd["pic_balance"]


def test_checkpoint_round_trip_resumes_identically():
    _, events = _history(5)
    full = Replayer(quote_decimals=QUOTES)
    full.apply([dict(e) for e in events])
    half = len(events) // 2
    cut = next(i for i in range(half, len(events))
               if (events[i]["block_number"], events[i]["tx_index"]) != (events[i - 1]["block_number"],
                                                                         events[i - 1]["tx_index"]))
    first = Replayer(quote_decimals=QUOTES)
    first.apply([dict(e) for e in events[:cut]])
    blob = first.checkpoint()
    resumed = Replayer.from_checkpoint(blob)
    resumed.apply([dict(e) for e in events])  # events already applied are skipped by the cursor
    assert resumed.divergences == [] and first.divergences == []
    assert resumed.state.cursor == full.state.cursor
    assert resumed.state.events_applied == full.state.events_applied
    for addr, inst in full.state.instruments.items():
        assert _state(resumed.state.instruments[addr]) == _state(inst)
    assert len(blob) < 200_000  # compact: a few hundred bytes per open position/order/range


def test_batches_that_split_a_transaction_replay_like_one_call():
    _, events = _history(6)
    whole = Replayer(quote_decimals=QUOTES)
    whole.apply([dict(e) for e in events])
    streamed = Replayer(quote_decimals=QUOTES)
    for i in range(0, len(events), 97):  # 97 cuts through many multi-log transactions
        streamed.apply([dict(e) for e in events[i:i + 97]], flush=False)
    streamed.flush()
    assert streamed.divergences == whole.divergences == []
    for addr, inst in whole.state.instruments.items():
        assert _state(streamed.state.instruments[addr]) == _state(inst)


def test_the_small_devnet_history_exercises_every_path():
    from collections import Counter
    from devnet.build import DEFAULT_SEED
    sim = Simulator(DEFAULT_SEED, "small")
    events = numbered_events(sim.run())
    c = Counter(e["event"] for e in events)
    for name in ("Trade", "Place", "Cancel", "Fill", "Add", "Remove", "WithdrawRangeFee", "Adjust", "Liquidate",
                 "Sweep", "Settle", "UpdateFundingIndex", "FundingFee", "UpdateParam", "UpdateFundingHour",
                 "UpdateAmmStatus", "UpdateSocialLossInsuranceFund", "NewInstrument", "UpdateSpotState"):
        assert c[name] > 0, name
    assert any(e["event"] == "Remove" and e["operator"] != e["trader"] for e in events)  # third-party removal
    assert any(e["event"] == "Cancel" and e["pic_size"] != 0 for e in events)  # partly filled, then cancelled
    assert {m.quote for m in sim.markets} == {"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
                                              "0x4200000000000000000000000000000000000006"}
    assert any(e["event"] == "UpdateAmmStatus" and e["status"] == 3 for e in events)  # a dated future settled
    assert any(e.get("abi_variant") == "current" for e in events)  # the newer ABI layout, beside Base's legacy one


def test_events_out_of_order_are_refused_not_skipped():
    _, events = _history(7)
    events = [dict(e) for e in events]
    events[100], events[300] = events[300], events[100]
    r = Replayer(quote_decimals=QUOTES)
    with pytest.raises(ValueError, match="out of order"):
        r.apply(events)


def test_a_current_abi_history_with_order_spacing_1_replays_exactly():
    """Newer chains: the current ABI (other UpdateParam/SetQuoteParam topics) and orders on every tick."""
    sim = Simulator(3, "small", layout="current")
    events = numbered_events(sim.run())
    places = [e["tick"] for e in events if e["event"] == "Place"]
    assert any(t % 5 for t in places)  # orders off the Base spacing
    assert all(e.get("abi_variant") == "current" for e in events if e["event"] in ("UpdateParam", "SetQuoteParam"))
    r = Replayer(quote_decimals=QUOTES, order_spacing=1)
    r.apply([dict(e) for e in events])
    assert r.divergences == []
    for m in sim.markets:
        assert _state(r.state.instruments[m.inst.address]) == _state(m.inst)
    # the same history replayed with Base's spacing is refused loudly, not silently wrong
    wrong = Replayer(quote_decimals=QUOTES)
    wrong.apply([dict(e) for e in events])
    assert any(d.event == "Place" for d in wrong.divergences)
