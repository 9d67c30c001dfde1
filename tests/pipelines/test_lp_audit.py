"""LP audits: input validation, the metrics by hand, and an audit of the devnet's replayed ranges."""
import polars as pl
import pytest

from pipelines.lp_audit import AuditInputError, Target, metrics

W = 10**18


@pytest.mark.parametrize("trader,spec,msg", [
    ("0x1234", None, "not an address"),
    ("0x30eb376ebecf7153c2df00895b1a68d7bb61b004' OR 1=1 --", None, "not an address"),
    (None, "0xabc:0xdef:1:2", "instrument:owner"),
    (None, "0x" + "a" * 40 + ":0x" + "b" * 40 + ":10:x", "whole numbers"),
    (None, "0x" + "a" * 40 + ":0x" + "b" * 40 + ":10:5", "below"),
    (None, None, "either"),
])
def test_bad_inputs_get_a_clear_message(trader, spec, msg):
    with pytest.raises(AuditInputError, match=msg):
        Target.parse(trader, spec)


def test_metrics_by_hand():
    # a range open 4 hours with margin 1000: net goes 0 -> -2 -> -3 -> +1 (hourly), prices 100, 101, 103, 99
    r = {"margin": 1000 * W, "status": "REMOVED", "fees_withdrawn": 1 * W, "fee_at_removal": 4 * W,
         "removal_balance": 1000 * W + 4 * W - 7 * W - 1 - 0, "tip": 0, "added_ts": 0, "removed_ts": 4 * 3600}
    s = pl.DataFrame({"ts": [3600, 7200, 10800, 14400], "price": [100.0, 101.0, 103.0, 99.0],
                      "net": [0.0, -2.0, -3.0, 1.0], "value": [1000.0, 999.0, 996.0, 995.0],
                      "fee": [0.0, 1.0, 2.0, 3.0], "pnl": [0.0, -1.0, -3.0, -5.0],
                      "in_range": [True, True, False, True]})
    m = metrics(r, s)
    assert m["fees_quote"] == 5.0  # 4 at removal + 1 withdrawn earlier
    assert m["impermanent_loss_quote"] == -7.0  # balance paid = margin + fee + pnl - 1 wei - tip
    assert m["pnl_vs_hold_quote"] == -2.0
    implied = 0 * 1 + (-2) * 2 + (-3) * (-4)  # Σ n_h (P_{h+1} - P_h)
    assert m["implied_position_pnl_quote"] == implied == 8
    assert m["lvr_quote"] == implied - (-7.0)
    markout = 0 * 1 + (-2) * 2 + (-1) * (-4)  # Σ Δn_h (P_{h+1} - P_h)
    assert m["markout_1h_quote"] == markout == 0
    assert m["time_in_range"] == 0.75 and m["hours_open"] == 4.0
    assert m["apr"] == pytest.approx(5 / 1000 * 8760 / 4)
    assert m["twa_abs_net_quote"] == pytest.approx((0 + 2 * 101 + 3 * 103 + 1 * 99) / 4)
    assert m["inventory_hold_hours"] == pytest.approx(4 / 2)  # signs: (0, -2, -3) then (+1): runs 3 and 1


@pytest.mark.anvil
def test_audit_of_the_devnet_ranges_matches_their_events(tmp_path, monkeypatch, small_history):
    import duckdb

    from pipelines.definitions import defs
    from pipelines.lp_audit import audit, report
    from pipelines.store import writer
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    db = str(tmp_path / "a.duckdb")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", db)
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    con = duckdb.connect(db, read_only=True)
    owner, inst, lo, hi, fee, bal, margin = con.execute(
        "SELECT r.trader, r.address, r.tick_lower, r.tick_upper, r.fee::HUGEINT, r.pic_balance::HUGEINT, "
        "a.range_balance FROM events_remove r JOIN events_add a USING (address, trader, tick_lower, tick_upper) "
        "WHERE r.operator <> r.trader LIMIT 1").fetchall()[0]
    withdrawn = con.execute("SELECT coalesce(sum(fee::HUGEINT), 0) FROM events_withdraw_range_fee WHERE trader = ? "
                            "AND address = ?", [owner, inst]).fetchall()[0][0]
    tip = con.execute("SELECT tip::HUGEINT FROM events_remove WHERE trader = ? AND tick_lower = ? AND tick_upper = ?",
                      [owner, lo, hi]).fetchall()[0][0]
    con.close()
    with writer(db) as con:
        audit_id, rows, series = audit(con, Target.parse(None, f"{inst}:{owner}:{lo}:{hi}"))
        stored = con.execute("SELECT count(*) FROM lp_audit_ranges WHERE audit_id = ?", [audit_id]).fetchall()[0][0]
        with pytest.raises(AuditInputError, match="never provided liquidity"):
            audit(con, Target.parse("0x" + "00" * 19 + "01"))
    row = rows.row(0, named=True)
    assert stored == 1 and row["status"] == "REMOVED"
    assert row["impermanent_loss_quote"] == pytest.approx((bal - margin - fee + 1 + tip) / 1e18, abs=1e-9)
    assert row["fees_quote"] >= fee / 1e18 and row["fees_quote"] <= (fee + withdrawn) / 1e18 + 1e-12
    page = report(audit_id, Target.parse(None, f"{inst}:{owner}:{lo}:{hi}"), rows, series, tmp_path / "r.html")
    text = page.read_text()
    assert audit_id in text and "impermanent_loss_quote" in text and "Method (v1)" in text
