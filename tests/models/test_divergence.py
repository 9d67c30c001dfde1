"""The divergence policy (models/divergence.py): size and class of a difference, on both paths and at the edges."""
import pytest

from devnet.simulator import QUOTES, Simulator, numbered_events
from models.divergence import DISCRETE_FIELDS, ROUNDING, ROUNDING_WEI, STRUCTURAL, as_int, classify, size
from models.funding import unpack_funding_index
from models.replay import Replayer

U256 = 2**256 - 1
WAD = 10**18


@pytest.mark.parametrize("d", [1, -1, 2, -3, ROUNDING_WEI, -ROUNDING_WEI])
def test_a_few_wei_on_an_amount_is_rounding(d):
    x = 1_234 * WAD + 17
    r = classify("entry_notional", x, x + d)
    assert r.cls == ROUNDING and r.diff == d and r.abs_diff == abs(d)
    assert r.rel == abs(d) / max(x, x + d)


def test_the_tolerance_boundary():
    x = 5 * WAD
    assert classify("fee", x, x + ROUNDING_WEI).cls == ROUNDING
    assert classify("fee", x, x + ROUNDING_WEI + 1).cls == STRUCTURAL
    assert classify("fee", x, x - ROUNDING_WEI - 1).cls == STRUCTURAL
    assert classify("fee", x, x + ROUNDING_WEI + 1).reason == f"beyond {ROUNDING_WEI} wei"
    # the tolerance is a parameter: 0 makes every difference structural
    assert classify("fee", x, x + 1, tolerance=0).cls == STRUCTURAL


def test_a_large_difference_is_structural_with_its_exact_size():
    r = classify("entry_notional", 2_000 * WAD, 2_010 * WAD)
    assert r.cls == STRUCTURAL and r.diff == 10 * WAD and r.rel == pytest.approx(10 / 2010)


def test_negative_numbers():
    r = classify("pic_size", -3 * WAD, -3 * WAD - 2)  # signed int256 fields
    assert r.cls == ROUNDING and r.diff == -2 and r.abs_diff == 2
    r = classify("pic_balance", "-7", "-3")  # the strings the table keeps
    assert r.cls == ROUNDING and r.diff == 4
    r = classify("net", -1, 1)  # across zero: |diff| 2, relative 2 / max(1, 1, 1)
    assert r.cls == ROUNDING and r.diff == 2 and r.rel == 2.0
    assert classify("pic_size", -WAD, WAD).cls == STRUCTURAL  # the wrong side is never rounding


def test_zero_against_dust_and_the_relative_floor():
    r = classify("fee", 0, 3)
    assert r.cls == ROUNDING and r.rel == 1.0  # |3| / max(0, 3, 1)
    assert classify("fee", 0, 1).rel == 1.0
    assert classify("fee", 0, 5).cls == STRUCTURAL


def test_huge_uint256_values_are_exact():
    r = classify("state_raw", U256, U256 - 3)
    assert r.cls == ROUNDING and r.diff == -3 and 0 < r.rel < 1e-70
    r = classify("state_raw", 0, U256)
    assert r.cls == STRUCTURAL and r.diff == U256 and r.abs_diff == U256 and r.rel == 1.0
    assert str(r.abs_diff) == "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    r = classify("state_raw", str(U256), str(U256 - 2**200))  # as decimal text, beyond any float's precision
    assert r.diff == -(2**200) and r.cls == STRUCTURAL


def test_packed_funding_index_is_compared_half_by_half():
    def pack(long, short):
        return (long & (2**128 - 1)) | ((short & (2**128 - 1)) << 128)
    e = pack(-5 * WAD, 7 * WAD)
    assert unpack_funding_index(e) == (-5 * WAD, 7 * WAD)  # the same layout as the model's
    r = classify("funding_index", e, pack(-5 * WAD, 7 * WAD + 1))  # 1 wei of the short half: 2**128 packed
    assert r.cls == ROUNDING and r.diff == 1
    r = classify("funding_index", e, pack(-5 * WAD - 2, 7 * WAD))
    assert r.cls == ROUNDING and r.diff == -2
    r = classify("funding_index", e, pack(-5 * WAD, 8 * WAD))
    assert r.cls == STRUCTURAL and r.diff == WAD


@pytest.mark.parametrize("fld", ["tick", "tick_lower", "tick_upper", "nonce", "expiry", "status", "fee_ratio",
                                 "rid", "funding_hour"])
def test_discrete_fields_are_structural_by_any_amount(fld):
    assert fld in DISCRETE_FIELDS
    r = classify(fld, 100, 101)
    assert r.cls == STRUCTURAL and r.diff == 1 and r.reason == "discrete field differs"


@pytest.mark.parametrize("fld", ["trader", "operator", "target"])
def test_address_fields_are_structural(fld):
    a, b = "0x" + "ab" * 20, "0x" + "ab" * 19 + "ac"
    r = classify(fld, a, b)
    assert r.cls == STRUCTURAL and r.diff is None and r.rel is None and r.reason == "not numeric"
    # an address that happens to be written in decimal digits is still a discrete field, not an amount
    assert classify(fld, "1000", "1001").cls == STRUCTURAL


@pytest.mark.parametrize("expected, actual", [("abc", "abd"), ("1.5", "1.6"), ("0x10", "0x11"), ("True", "False"),
                                              (True, False), (1.0, 2.0), (None, 3), ("", "1"), ("1e3", "1001")])
def test_non_numeric_values_are_structural(expected, actual):
    r = classify("entry_notional", expected, actual)
    assert r.cls == STRUCTURAL and r.diff is None and r.reason == "not numeric"


def test_the_replays_whole_event_rows_are_structural():
    for expected, actual in (("Fill", "not emitted"), ("no such event expected", "Trade"),
                             ("engine accepts", "engine refused: margin"), ("1", "2")):
        r = classify("*", expected, actual)
        assert r.cls == STRUCTURAL and r.diff is None and r.reason == "event missing, unexpected or refused"


def test_same_number_in_different_text_is_not_hidden_as_rounding():
    r = classify("fee", "007", "7")
    assert r.cls == STRUCTURAL and r.diff == 0


def test_as_int_and_size():
    assert as_int(5) == 5 and as_int("-12") == -12 and as_int("+3") == 3 and as_int(" 7 ") == 7
    assert as_int(True) is None and as_int(2.0) is None and as_int("0x1f") is None and as_int("1_000") is None
    assert size(10, 7) == (-3, 0.3) and size(0, 0) == (0, 0.0)


# --- through the replay: the Divergence carries the class and size ---------------------------------------------
def _history(seed=4):
    return [dict(e) for e in numbered_events(Simulator(seed, "small").run())]


def _trade(events, skip=200):
    return next(e for e in events[skip:] if e["event"] == "Trade")


def test_replay_classifies_a_two_wei_drift_as_rounding():
    events = _history()
    trade = _trade(events)
    trade["entry_notional"] += 2
    r = Replayer(quote_decimals=QUOTES)
    r.apply(events)
    (d,) = r.divergences  # the chain's values win: nothing after it diverges
    assert (d.block_number, d.log_index, d.event, d.field) == (trade["block_number"], trade["log_index"], "Trade",
                                                               "entry_notional")
    assert d.cls == ROUNDING and d.diff == 2 and d.ts == trade["block_timestamp"]
    assert d.actual == str(trade["entry_notional"]) and d.expected == str(trade["entry_notional"] - 2)


def test_replay_classifies_a_large_change_and_a_removed_event_as_structural():
    events = _history()
    trade = _trade(events)
    trade["entry_notional"] += 10**15
    r = Replayer(quote_decimals=QUOTES)
    r.apply(events)
    d = next(d for d in r.divergences if d.field == "entry_notional")
    assert d.cls == STRUCTURAL and d.diff == 10**15
    events = _history()
    trade = _trade(events)
    upd = next(e for e in events if e["event"] == "UpdatePosition" and e["block_number"] == trade["block_number"]
               and e["tx_index"] == trade["tx_index"])
    events.remove(upd)
    r = Replayer(quote_decimals=QUOTES)
    r.apply(events)
    assert r.divergences and all(d.cls == STRUCTURAL for d in r.divergences)
    assert any(d.field == "*" and d.expected == "UpdatePosition" and d.actual == "not emitted" for d in r.divergences)
