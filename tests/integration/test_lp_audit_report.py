"""The LP audit on the devnet's replayed history: numbers that match the events, `audit list` through the CLI, and
the report in headless Chromium at 1440 px (no horizontal overflow, APR and time in range on screen, no
scientific notation, every range present); the screenshot is kept at data/screenshots/lp_audit.png."""
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.audits.lp_audit import AuditInputError, Target, audit, report

pytestmark = pytest.mark.anvil
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOT = Path(__file__).resolve().parents[2] / "data" / "screenshots" / "lp_audit.png"
MEASURE = """<script>window.addEventListener('load', function () { setTimeout(function () {
  var d = document.documentElement, w = document.querySelector('.tablewrap'), b = document.body;
  var last = document.querySelector('#ranges thead th:last-child').getBoundingClientRect();
  var tir = document.querySelector('#ranges td.tir').getBoundingClientRect();
  b.setAttribute('data-page-overflow', String(d.scrollWidth - window.innerWidth));
  b.setAttribute('data-table-overflow', String(w.scrollWidth - w.clientWidth));
  b.setAttribute('data-apr-right', String(Math.round(last.right)));
  b.setAttribute('data-tir-right', String(Math.round(tir.right)));
  b.setAttribute('data-viewport', String(window.innerWidth));
  b.setAttribute('data-charts', String(document.querySelectorAll('.oy-chart svg').length));
}, 300); });</script>"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, small_history):
    from pipelines.definitions import defs
    mp = pytest.MonkeyPatch()
    db = str(tmp_path_factory.mktemp("lpa") / "a.duckdb")
    mp.setenv("OYSTER_DEVNET_SIZE", "small")
    mp.setenv("OYSTER_DUCKDB_PATH", db)
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    yield db
    mp.undo()


def test_audit_of_a_devnet_range_matches_its_events(warehouse):
    from pipelines.core.store import writer
    con = duckdb.connect(warehouse, read_only=True)
    owner, inst, lo, hi, fee, bal, margin, tip = con.execute(
        "SELECT r.trader, r.address, r.tick_lower, r.tick_upper, r.fee::HUGEINT, r.pic_balance::HUGEINT, "
        "a.range_balance, r.tip::HUGEINT FROM events_remove r JOIN events_add a USING (address, trader, tick_lower, "
        "tick_upper) WHERE r.operator <> r.trader LIMIT 1").fetchall()[0]
    withdrawn = con.execute("SELECT coalesce(sum(fee::HUGEINT), 0) FROM events_withdraw_range_fee WHERE trader = ? "
                            "AND address = ?", [owner, inst]).fetchall()[0][0]
    symbol = con.execute("SELECT symbol FROM instruments WHERE address = ?", [inst]).fetchall()[0][0]
    con.close()
    with writer(warehouse) as con:
        audit_id, rows, series = audit(con, Target.parse(None, f"{symbol}:{owner}:{lo}:{hi}"))
        stored = con.execute("SELECT count(*) FROM lp_audit_ranges WHERE audit_id = ?", [audit_id]).fetchall()[0][0]
        with pytest.raises(AuditInputError, match="never provided liquidity"):
            audit(con, Target.parse("0x" + "00" * 19 + "01"))
        everyone = con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'REMOVED') FROM lp_ranges"
                               ).fetchall()[0]
        _, all_rows, _ = audit(con, Target(trader=None, instrument=None))
    row = rows.row(0, named=True)
    assert stored == 1 and row["status"] == "REMOVED" and row["reconciled"]
    assert row["impermanent_loss_quote"] == pytest.approx((bal - margin - fee + 1 + tip) / 1e18, abs=1e-9)
    assert fee / 1e18 - 1e-12 <= row["fees_quote"] <= (fee + withdrawn) / 1e18 + 1e-12
    # every removed range of the devnet, recomputed from the pair's events, matches its Remove event to the wei
    assert all_rows.height == everyone[0]
    assert all_rows.filter(all_rows["status"] == "REMOVED")["reconciled"].to_list() == [True] * everyone[1]


def test_audit_list_through_the_cli(warehouse, capsys):
    from pipelines.cli import main
    assert main(["audit", "list"]) == 0
    out = capsys.readouterr().out
    owner = re.search(r"^(0x[0-9a-f]{40})\s+(\d+)", out, re.M)
    assert owner and "LPs" in out
    assert main(["audit", "list", "--trader", owner.group(1), "--instrument", "eth-usdc-pyth"]) == 0
    ranges = capsys.readouterr().out
    spec = re.search(r"(ETH-USDC-PYTH:\d+-\d+)\s*$", ranges, re.M).group(1)
    assert main(["audit", "--range", spec, "--out", str(Path(warehouse).parent / "one.html")]) == 0
    assert "audit " in capsys.readouterr().out
    assert main(["audit", "list", "--instrument", "NOPE-USDC"]) == 2
    assert "no instrument with the symbol" in capsys.readouterr().err


def test_report_in_headless_chromium_at_1440(warehouse, tmp_path):
    assert CHROMIUM, "chromium is missing: `make test` installs Debian's chromium package"
    from pipelines.core.publish import audit_session
    with duckdb.connect(warehouse, read_only=True) as con:
        owner, n = con.execute("SELECT owner, count(*) FROM lp_ranges GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
                               ).fetchall()[0]
    with audit_session(warehouse) as con:
        audit_id, rows, series = audit(con, Target.parse(owner))
    page = report(audit_id, Target.parse(owner), rows, series, tmp_path / "report.html")
    assert rows.height == n
    text = page.read_text()
    probe = tmp_path / "probe.html"
    head, tail = text.rsplit("</body>", 1)  # the last one: the inlined library has the string too
    probe.write_text(head + MEASURE + "</body>" + tail)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1440,1000",
             "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    attrs = dict(re.findall(r'data-(page-overflow|table-overflow|apr-right|tir-right|viewport|charts)="(-?\d+)"', dom))
    assert attrs["viewport"] == "1440", attrs
    assert int(attrs["page-overflow"]) <= 0 and int(attrs["table-overflow"]) <= 0, attrs
    assert int(attrs["apr-right"]) <= 1440 and int(attrs["tir-right"]) <= 1440, attrs
    assert int(attrs["charts"]) >= 1, attrs  # the visible page's charts drew
    # every range: a table row and a card each, whatever the page it is on
    ids = set(rows["range_id"])
    assert set(re.findall(r'<tr data-range="([^"]+)"', dom)) == ids
    assert set(re.findall(r'data-range-card="([^"]+)"', dom)) == ids
    assert f"All {n} ranges" in dom and f"of {n}" in dom
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S))
    assert not re.search(r"\d[eE][+-]\d", visible), re.search(r".{40}\d[eE][+-]\d.{40}", visible)
    assert "How to read this" in visible and "Fee APR" in visible and "Time in range" in visible
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([CHROMIUM, *flags[:-3], "--window-size=1440,2600", "--virtual-time-budget=5000",
                    f"--user-data-dir={tmp_path / 'chrome'}", f"--screenshot={SHOT}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert SHOT.stat().st_size > 50_000
