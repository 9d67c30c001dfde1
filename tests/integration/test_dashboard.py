"""The dashboard in a real browser: headless Chromium (driven over the DevTools protocol, tests/integration/
browser.py) loads the page the pipeline renders from the small devnet history, and checks that every panel is there
with its rows, every chart is drawn by the chart library with named axes, no number on the page (tables, headline
cards, axis labels, tooltips) is in scientific notation, the headline numbers equal their SQL (computed here with
DuckDB, not with the page's query), the instrument and date filters change what is drawn, and the layout follows
the window.  A screenshot at 1440 px is kept as data/screenshots/dashboard.png (a CI artifact)."""
import os
import re
from pathlib import Path

import duckdb
import pytest

from pipelines.dashboard.charts import fmt_num, fmt_usd
from pipelines.dashboard.dashboard import panels, render
from pipelines.definitions import defs

from .browser import CHROMIUM, Browser

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "data" / "screenshots" / "dashboard.png"
SCI = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")
# every text node of the page outside scripts and styles (SVG labels included)
PAGE_TEXT = """(() => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); const out = [];
  while (w.nextNode()) { const p = w.currentNode.parentElement;
    if (p && !p.closest('script,style')) out.push(w.currentNode.nodeValue); } return out.join('\\n'); })()"""
CHARTS = """Object.entries(oysterLens.charts).map(([id, c]) => { const o = c.chart.getOption();
  return {id, x: o.xAxis.map(a => a.name), y: o.yAxis.map(a => a.name),
          series: o.series.map(s => s.name), instruments: o.series.map(s => s.instrument),
          paths: document.getElementById(id).querySelectorAll('path').length,
          width: document.getElementById(id).getBoundingClientRect().width,
          svg: document.getElementById(id).querySelector('svg').innerHTML.length}; })"""
CARDS = """[...document.querySelectorAll('.card')].map(c => ({metric: c.dataset.metric, scope: c.dataset.scope,
  value: Number(c.dataset.value), text: c.querySelector('.value').textContent}))"""


def _expected_headline(con, scope: str | None = None) -> dict[str, float]:
    """The headline numbers from the warehouse's tables, written apart from sql/dashboard/00_headline.sql."""
    inst = "" if scope is None else f" AND instrument IN (SELECT instrument FROM dim_instruments WHERE symbol = '{scope}')"
    t = con.execute("SELECT max(block_timestamp) FROM raw_logs").fetchone()[0]

    def one(sql):
        return con.execute(sql).fetchone()[0] or 0

    out = {}
    for name, days in (("24h", 1), ("7d", 7)):
        lo = t - days * 86400
        out[f"volume_{name}"] = one(f"SELECT sum(notional_usd) FROM fact_trades WHERE kind = 'trade' "
                                    f"AND block_timestamp > {lo}{inst}")
        out[f"fees_{name}"] = one(f"SELECT sum(taker_fee_wad::DOUBLE / 1e18 * quote_usd) FROM fact_trades "
                                  f"WHERE block_timestamp > {lo}{inst}")
        out[f"traders_{name}"] = one(f"SELECT count(DISTINCT trader) FROM fact_trades WHERE kind = 'trade' "
                                     f"AND block_timestamp > {lo}{inst}")
    last_amm = con.execute(f"""
        WITH s AS (SELECT *, row_number() OVER (PARTITION BY instrument, expiry
                                                ORDER BY ts DESC, block_number DESC, log_index DESC, kind DESC) AS n
                   FROM amm_snapshots WHERE ts <= {t}{inst})
        SELECT s.total_long::DOUBLE / 1e18 * s.mark_f, s.total_short::DOUBLE / 1e18 * s.mark_f,
               (SELECT usd FROM mart_quote_prices_hourly p JOIN dim_instruments d ON d.quote = p.quote
                WHERE d.instrument = s.instrument AND epoch(p.hour) <= s.ts AND usd IS NOT NULL
                ORDER BY p.hour DESC LIMIT 1)
        FROM s WHERE n = 1""").fetchall()
    out["oi_long"] = sum(a * u for a, _, u in last_amm)
    out["oi_short"] = sum(b * u for _, b, u in last_amm)
    pairs = con.execute(f"""
        WITH s AS (SELECT *, row_number() OVER (PARTITION BY instrument, expiry ORDER BY ts DESC) AS n
                   FROM pair_hourly WHERE ts <= {t}{inst})
        SELECT s.involved_fund::DOUBLE / 1e18,
               (SELECT usd FROM mart_quote_prices_hourly p JOIN dim_instruments d ON d.quote = p.quote
                WHERE d.instrument = s.instrument AND epoch(p.hour) <= s.ts AND usd IS NOT NULL
                ORDER BY p.hour DESC LIMIT 1)
        FROM s WHERE n = 1""").fetchall()
    assert len(pairs) == (3 if scope is None else 1)  # the dated future's pair is in the TVL
    out["tvl"] = sum(f * u for f, u in pairs)
    out["active_lps"] = one(f"SELECT count(DISTINCT owner) FROM lp_ranges WHERE added_ts <= {t} "
                            f"AND (removed_ts IS NULL OR removed_ts > {t}){inst}")
    return out


def _check_cards(cards, want, scope):
    assert {c["metric"] for c in cards} == set(want)
    for c in cards:
        w = float(want[c["metric"]])
        assert c["scope"] == scope
        assert c["value"] == pytest.approx(w, rel=1e-9, abs=1e-9), c
        f = fmt_num if c["metric"] in ("active_lps", "traders_24h", "traders_7d") else fmt_usd
        assert c["text"] == f(w), c


@pytest.fixture(scope="module")
def page(tmp_path_factory, small_history):
    assert CHROMIUM, "chromium is missing: `make test` installs Debian's chromium package"
    tmp = tmp_path_factory.mktemp("dash")
    mp = pytest.MonkeyPatch()
    mp.setenv("OYSTER_DEVNET_SIZE", "small")
    mp.setenv("OYSTER_DUCKDB_PATH", str(tmp / "d.duckdb"))
    try:
        assert defs.resolve_job_def("ingest_job").execute_in_process().success
        out = tmp / "dashboard.html"
        counts = render(os.environ["OYSTER_DUCKDB_PATH"], out)
        yield out, counts, os.environ["OYSTER_DUCKDB_PATH"], tmp
    finally:
        mp.undo()


def test_the_page_renders_every_panel_with_named_axes_and_human_numbers(page):
    out, counts, db, tmp = page
    text = out.read_text()
    assert "<script src" not in text and "<link" not in text  # one self-contained file: opens offline
    assert "Apache ECharts" in text
    with Browser(tmp / "chrome") as b:
        b.open(out.as_uri())
        shown = dict(b.js("[...document.querySelectorAll('[data-panel]')].map(e => [e.dataset.panel, e.dataset.rows])"))
        assert set(shown) == {p["name"] for p in panels()}
        assert {k: int(v) for k, v in shown.items()} == counts
        # the peer share needs the sample's days to overlap the small history's: every other panel has rows
        assert all(n > 0 for k, n in counts.items() if k != "10_peer_share"), counts
        charts = b.js(CHARTS)
        drawn = {c["id"].removeprefix("chart-") for c in charts}
        assert drawn == {p["name"] for p in panels() if p["chart"] in ("line", "area", "bar")}
        for c in charts:
            assert c["paths"] > 0 and c["series"], c  # drawn by the library, with its series
            assert all(c["x"]) and all(c["y"]), c  # every axis named
        units = {c["id"]: c["y"][0] for c in charts}
        assert "USD" in units["chart-07_depth"] and "%" in units["chart-05_funding"]
        # header: chain, as-of time, replay health
        head = b.js("document.querySelector('header').innerText")
        assert "devnet (chain id 31337)" in head and "data as of 20" in head and "replay exact" in head
        # tooltips too: show each chart's tooltip at a few points and read it
        tips = b.js("""Object.entries(oysterLens.charts).flatMap(([id, c]) => [0, 1, 2].map(i => {
            c.chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
            const t = document.getElementById(id).querySelector('div[style*="z-index"]');
            return t ? t.innerText : ''; }))""")
        assert any("$" in t for t in tips), tips
        page_text = b.js(PAGE_TEXT) + "\n".join(tips)
        assert re.search(r"\$\d", page_text)
        assert not SCI.findall(page_text), SCI.findall(page_text)[:20]
        # the headline numbers equal their SQL
        with duckdb.connect(db, read_only=True) as con:
            want = _expected_headline(con)
        _check_cards(b.js(CARDS), want, "all")


def test_filters_change_what_is_drawn_and_the_layout_follows_the_window(page):
    out, counts, db, tmp = page
    with Browser(tmp / "chrome2") as b:
        b.open(out.as_uri())
        before = {c["id"]: c for c in b.js(CHARTS)}
        assert b.js("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert before["chart-01_volume_daily"]["width"] > 600  # not a fixed 900 px column: two per row at 1440
        symbols = b.js("[...document.querySelectorAll('#f-instrument option')].map(o => o.value).filter(Boolean)")
        assert len(symbols) == 3
        sym = "BTC-WETH-LINK"
        b.js(f"""(() => {{ const s = document.getElementById('f-instrument'); s.value = '{sym}';
                  s.dispatchEvent(new Event('change')); }})()""")
        after = {c["id"]: c for c in b.js(CHARTS)}
        for cid, c in after.items():
            if cid == "chart-12_replay_drift":  # protocol-wide: not per instrument
                continue
            b_series = dict(zip(before[cid]["series"], before[cid]["instruments"]))
            assert c["series"] == [s for s, i in b_series.items() if i == sym], cid  # that instrument's only
            assert len(c["series"]) < len(before[cid]["series"]), cid
            assert c["svg"] != before[cid]["svg"], cid  # the drawing changed
            if not c["series"]:  # the small history has no liquidation on every instrument
                assert b.js(f"document.getElementById('{cid}').innerText").endswith(f"no data for {sym}")
        assert b.js("location.hash") == f"#instrument={sym}"
        hidden = b.js("[...document.querySelectorAll('tr[data-symbol]')].filter(t => t.offsetParent === null)"
                      ".map(t => t.dataset.symbol)")
        assert hidden and sym not in hidden
        with duckdb.connect(db, read_only=True) as con:
            _check_cards(b.js(CARDS), _expected_headline(con, sym), sym)
        # a date range zooms every chart to it
        b.js("""(() => { const f = document.getElementById('f-from'); f.value = f.max;
                 f.dispatchEvent(new Event('change')); })()""")
        zoom = b.js("oysterLens.charts['chart-02_volume_hourly'].chart.getOption().dataZoom[0].startValue")
        last_day = b.js("document.getElementById('f-from').max")
        assert zoom == b.js(f"Date.parse('{last_day}T00:00:00Z')")
        # the shared link opens the same view
        b.open(out.as_uri() + f"#instrument={sym}")
        assert b.js("document.getElementById('f-instrument').value") == sym
        assert {s for c in b.js(CHARTS) for s in c["instruments"] if s} == {sym}
        # a narrower window: one panel per row, each chart as wide as its panel, nothing overflows
        b.set_size(900, 900)
        b.js("new Promise(r => setTimeout(r, 300))")
        fit = b.js("""[...document.querySelectorAll('.oy-chart')].map(e => [e.getBoundingClientRect().width,
                       e.parentElement.clientWidth - 32, e.querySelector('svg').getBoundingClientRect().width])""")
        assert all(abs(w - p) < 1 and abs(svg - w) < 2 for w, p, svg in fit), fit
        assert fit[0][0] != before["chart-01_volume_daily"]["width"]
        assert b.js("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_screenshot_at_1440px(page):
    out, counts, db, tmp = page
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    with Browser(tmp / "chrome3", width=1440) as b:
        b.open(out.as_uri())
        b.screenshot(SHOT)
    assert SHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and SHOT.stat().st_size > 100_000
