"""The SQL dashboard: every panel is a query in sql/dashboard/, run on the DuckDB file opened read-only and
rendered into one self-contained HTML page that opens offline in any browser: the chart library (Apache ECharts,
inlined by pipelines/dashboard/charts.py) and the data are in the file, nothing is fetched.

The page: a header with the chain, the data's as-of time and the replay's health; headline numbers (24h and 7d
volume and fees, open interest long and short, TVL, active LPs and traders) each with its change against the
period before; an instrument filter and a date range that apply to every chart, table and headline (and are kept
in the page's address, #instrument=…&from=…&to=…, so a view can be shared); then the panels, grouped in sections.

A panel's header comments say how it is drawn (one `-- key: value` per line):
  -- title: ...      -- section: ...     -- chart: line | area | bar | table | headline
  -- x: column       -- y: column        -- series: column[, column]   (the series name; `symbol` is the instrument)
  -- unit: usd | pct | bps | num          (the y values: formats the axis, tooltips and the y column)
  -- x_name: ...     -- y_name: ...       (the axis names, with their units)
  -- stack: yes      -- table: no         -- note: ... (what the numbers are; several lines join)
Table cells are formatted by column name: *_usd and DefiLlama's daily*/…OpenInterest* keys as dollars ($23.3M),
*share*/rate* as percentages, *_bps as basis points, *_wei as exact integers, other numbers with separators; never in
scientific notation.
"""
import html
import re
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

from ..core.store import SQL_DIR, reader
from .charts import DASH, chart, fmt_bps, fmt_num, fmt_pct, fmt_usd, library_script, to_json

COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"]
KEYS = {"title", "section", "chart", "x", "y", "series", "unit", "x_name", "y_name", "stack", "table", "note",
        "zero"}
SECTIONS = ["Volume", "Fees", "Open interest and funding", "Liquidations", "Liquidity", "Market structure",
            "DefiLlama keys", "Replay health"]
SECOND_SIDE = {"short", "down"}  # drawn dashed, in the instrument's colour
UNIT_AXIS = {"usd": "fmt:usd", "pct": "fmt:pct", "bps": "fmt:bps", "num": "fmt:numc"}
UNIT_TIP = {"usd": "fmt:usd", "pct": "fmt:pct", "bps": "fmt:bps", "num": "fmt:num"}


def panels() -> list[dict]:
    out = []
    for f in sorted((SQL_DIR / "dashboard").glob("*.sql")):
        meta = {"name": f.stem, "sql": f.read_text(), "chart": "table"}
        notes = []
        for line in meta["sql"].splitlines():
            m = re.match(r"-- ([a-z_]+):\s?(.*)$", line)
            if m and m.group(1) in KEYS:
                if m.group(1) == "note":
                    notes.append(m.group(2).strip())
                else:
                    meta[m.group(1)] = m.group(2).strip()
        if notes:
            meta["note"] = " ".join(notes)
        out.append(meta)
    return out


# --- formatting ---------------------------------------------------------------------------------------------

def column_format(col: str) -> str:
    c = col.lower()
    if c.endswith("_wei"):
        return "exact"
    if c.endswith("_usd") or (c.startswith("daily") and "users" not in c) or "openinterest" in c:
        return "usd"
    if c.endswith("_bps"):
        return "bps"
    if "share" in c or c.startswith("rate") or c.endswith("_pct") or c == "change":
        return "pct"
    return "num"


def fmt_cell(v, fmt: str = "num") -> str:
    if v is None:
        return DASH
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(timezone.utc)
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool) or isinstance(v, str):
        return str(v)
    if isinstance(v, int) and fmt in ("num", "exact"):
        return f"{v:,}"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return {"usd": fmt_usd, "pct": fmt_pct, "bps": fmt_bps}.get(fmt, fmt_num)(x)


def _utc(v):
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(timezone.utc)
    return v


# --- charts -------------------------------------------------------------------------------------------------

def chart_option(p: dict, cols: list[str], rows: list[tuple], colors: dict[str, str]) -> dict | None:
    """The ECharts option of a line / area / bar panel: one series per distinct value of the series columns,
    each tagged with its instrument (the `symbol` column) for the page's filter."""
    xi, yi = cols.index(p["x"]), cols.index(p["y"])
    keys = [c.strip() for c in p.get("series", "").split(",") if c.strip() in cols]
    si = [cols.index(c) for c in keys]
    ii = cols.index("symbol") if "symbol" in cols else None
    series: dict = defaultdict(list)
    inst: dict = {}
    for r in rows:
        if r[xi] is None or r[yi] is None:
            continue
        name = " · ".join(str(r[i]) for i in si) if si else p["y"]
        series[name].append([_utc(r[xi]), float(r[yi])])
        inst[name] = r[ii] if ii is not None else None
        if si:
            inst.setdefault("_last", None)
    inst.pop("_last", None)
    if not series:
        return None
    unit = p.get("unit", "num")
    kind = p["chart"]
    timeaxis = isinstance(rows[0][xi], (date, datetime))
    daily = timeaxis and not isinstance(rows[0][xi], datetime)
    out = []
    for name in sorted(series):
        pts = sorted(series[name], key=lambda pt: pt[0])
        sym = inst.get(name)
        second = any(part in SECOND_SIDE for part in name.split(" · ")[1:])
        s = {"name": name, "type": "bar" if kind == "bar" else "line", "data": pts, "instrument": sym,
             "emphasis": {"focus": "series"}}
        if sym in colors:
            s["itemStyle"] = {"color": colors[sym]}
            s["lineStyle"] = {"color": colors[sym], "type": "dashed" if second else "solid", "width": 1.6}
        if kind != "bar":
            s.update(showSymbol=len(pts) < 3, symbolSize=5, connectNulls=False)
        if kind == "area":
            s["areaStyle"] = {"opacity": 0.35}
        if p.get("stack") == "yes":
            s["stack"] = "total"
        if kind == "bar":
            s["barMaxWidth"] = 36
        out.append(s)
    return {
        "useUTC": True,
        "color": COLORS,
        "textStyle": {"fontFamily": "system-ui, sans-serif"},
        # the legend wraps (3 entries a row at the narrowest panel); the plot starts below it and the y axis name
        "grid": {"left": 12, "right": 28, "top": 42 + 22 * -(-len(out) // 3), "bottom": 64, "containLabel": True},
        "legend": {"type": "plain", "top": 0, "left": 0, "right": 0, "itemGap": 14},
        "tooltip": {"trigger": "axis", "valueFormatter": UNIT_TIP.get(unit, "fmt:num"), "confine": True},
        "xAxis": {"type": "time" if timeaxis else "category", "name": p.get("x_name", p["x"]),
                  "nameLocation": "middle", "nameGap": 26, "axisLabel": {"hideOverlap": True},
                  **({"minInterval": 86_400_000} if daily else {})},
        "yAxis": {"type": "value", "name": p.get("y_name", p["y"]), "nameLocation": "end", "nameGap": 12,
                  "nameTextStyle": {"align": "left"}, "axisLabel": {"formatter": UNIT_AXIS.get(unit, "fmt:numc")},
                  "scale": p.get("zero", "yes") == "no"},
        "dataZoom": [{"type": "inside", "filterMode": "none"},
                     {"type": "slider", "height": 16, "bottom": 6, "filterMode": "none",
                      "labelFormatter": ""}],
        "series": out,
    }


# --- the page -----------------------------------------------------------------------------------------------

def _table(p: dict, cols: list[str], rows: list[tuple], max_rows: int) -> str:
    fmts = [column_format(c) for c in cols]
    ii = cols.index("symbol") if "symbol" in cols else None
    numeric = [any(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows) for i in
               range(len(cols))]
    head = "".join(f'<th class="{"n" if numeric[i] else "t"}">{html.escape(c)}</th>' for i, c in enumerate(cols))
    body = []
    for r in rows[:max_rows]:
        sym = f' data-symbol="{html.escape(str(r[ii]))}"' if ii is not None else ""
        body.append(f"<tr{sym}>" + "".join(
            f'<td class="{"n" if numeric[i] else "t"}">{html.escape(fmt_cell(v, fmts[i]))}</td>'
            for i, v in enumerate(r)) + "</tr>")
    more = f"<p class='more'>{len(rows) - max_rows} more rows in the warehouse</p>" if len(rows) > max_rows else ""
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f"{more}")


def _cards(rows: list[dict]) -> tuple[str, dict]:
    """Headline cards for the 'all' scope, and every scope's numbers for the page's filter."""
    by_scope: dict = defaultdict(dict)
    for r in rows:
        by_scope[r["scope"]][r["metric"]] = {k: r[k] for k in ("label", "value", "prior", "change", "unit",
                                                                 "versus")}
    cards = []
    for r in sorted((r for r in rows if r["scope"] == "all"), key=lambda r: r["pos"]):
        cards.append(
            f'<div class="card" data-metric="{r["metric"]}" data-scope="all" data-value="{r["value"]!r}">'
            f'<div class="label">{html.escape(r["label"])}</div>'
            f'<div class="value">{html.escape(_fmt_unit(r["value"], r["unit"]))}</div>'
            f'<div class="delta {_delta_class(r["change"])}">{html.escape(_delta_text(r))}</div></div>')
    return "".join(cards), by_scope


def _fmt_unit(v, unit):
    return fmt_usd(v) if unit == "usd" else fmt_num(v)


def _delta_class(change):
    return "flat" if change is None or change == 0 else ("up" if change > 0 else "down")


def _delta_text(r) -> str:
    if r["change"] is None:
        return f"no data for {r['versus']}"
    arrow = "▲" if r["change"] > 0 else "▼" if r["change"] < 0 else "="
    return f"{arrow} {fmt_pct(abs(r['change']))} vs {r['versus']} ({_fmt_unit(r['prior'], r['unit'])})"


def _one(con, sql, default=None):
    try:
        rows = con.execute(sql).fetchall()
    except Exception:  # a table an older warehouse does not have
        return default
    return rows[0][0] if rows and rows[0][0] is not None else default


def _header(con, health: dict | None) -> str:
    chain = _one(con, "SELECT max(value) FILTER (WHERE key = 'chain') FROM warehouse_identity")
    chain_id = _one(con, "SELECT max(value) FILTER (WHERE key = 'chain_id') FROM warehouse_identity")
    as_of = _one(con, "SELECT max(block_timestamp) FROM raw_logs")
    block = _one(con, "SELECT max(to_block) FROM ingested_ranges") or _one(con, "SELECT max(block_number) FROM raw_logs")
    when = datetime.fromtimestamp(as_of, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if as_of else DASH
    chain_txt = f"{chain or 'unknown chain'}" + (f" (chain id {chain_id})" if chain_id else "")
    if health is None:
        badge, cls = "replay: no health data", "warn"
    elif (health.get("structural") or 0) > 0:
        badge, cls = f"replay: {fmt_num(health['structural'])} structural divergences", "bad"
    elif (health.get("rounding_drift") or 0) > 0:
        badge, cls = (f"replay exact but {fmt_num(health['rounding_drift'])} rounding drifts "
                      f"(≤ {fmt_num(health.get('rounding_max_abs_wei') or 0)} wei)"), "warn"
    else:
        badge, cls = "replay exact: 0 divergences", "ok"
    events = fmt_num(health.get("events_replayed")) if health else DASH
    extra = (f" · {events} events replayed · {fmt_num(health.get('quarantined_logs') or 0)} quarantined logs · "
             f"{fmt_num(health.get('reorgs_repaired') or 0)} reorgs repaired") if health else ""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<header><h1>oyster-lens · SynFutures V3</h1><div class="meta">'
            f'<span class="chip" data-chain>{html.escape(chain_txt)}</span>'
            f'<span class="chip" data-as-of="{as_of or ""}">data as of {when}'
            f'{f" · block {block:,}" if isinstance(block, int) else ""}</span>'
            f'<span class="chip {cls}" data-replay-health="{cls}">{html.escape(badge)}</span>'
            f'<span class="sub">{html.escape(extra)} · page generated {generated}</span></div></header>')


def render(db_path: str, out: Path, max_rows: int = 200) -> dict[str, int]:
    """Write the page; returns {panel: rows}."""
    counts: dict[str, int] = {}
    results = []
    with reader(db_path) as con:
        for p in panels():
            cur = con.execute(p["sql"])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            counts[p["name"]] = len(rows)
            results.append((p, cols, rows))
        health_rows = [dict(zip(c, r[0])) for p, c, r in results if p["name"] == "11_replay_health" and r]
        header = _header(con, health_rows[0] if health_rows else None)
    symbols = sorted({str(r[c.index("symbol")]) for _, c, rows in results if "symbol" in c for r in rows
                      if r[c.index("symbol")] not in (None, "all")})
    colors = {s: COLORS[i % len(COLORS)] for i, s in enumerate(symbols)}
    days = sorted({_utc(r[c.index(p["x"])]) for p, c, rows in results if p.get("x") in c for r in rows
                   if isinstance(r[c.index(p["x"])], (date, datetime))}, key=lambda d: d.isoformat())
    first = days[0].date() if days and isinstance(days[0], datetime) else (days[0] if days else None)
    last = max((d.date() if isinstance(d, datetime) else d) for d in days) if days else None

    cards, scopes = "", {}
    by_section: dict = defaultdict(list)
    for p, cols, rows in results:
        if p["chart"] == "headline":
            cards, scopes = _cards([dict(zip(cols, r)) for r in rows])
            by_section["_headline"].append(
                f'<section class="panel wide headline" data-panel="{p["name"]}" data-rows="{len(rows)}">'
                f'<div class="cards">{cards}</div>'
                f'<p class="note">{html.escape(_headline_note(rows, cols))}</p></section>')
            continue
        opt = chart_option(p, cols, rows, colors) if p["chart"] in ("line", "area", "bar") and rows else None
        drawn = chart(f"chart-{p['name']}", opt, height=340) if opt else ""
        note = f'<p class="note">{html.escape(p["note"])}</p>' if p.get("note") else ""
        table = ""
        if p.get("table", "yes") != "no" or not opt:
            table = (f'<details{"" if opt else " open"}><summary>{len(rows)} rows · sql/dashboard/{p["name"]}.sql'
                     f'</summary>{_table(p, cols, rows, max_rows)}</details>')
        else:
            table = f'<p class="src">sql/dashboard/{p["name"]}.sql · {len(rows)} rows</p>'
        wide = "" if opt else " wide"
        by_section[p.get("section", "More")].append(
            f'<section class="panel{wide}" data-panel="{p["name"]}" data-rows="{len(rows)}" '
            f'data-chart="{p["chart"] if opt else "table"}"><h3>{html.escape(p.get("title", p["name"]))}</h3>'
            f'{note}{drawn}{table}</section>')

    body = [header, _filters(symbols, first, last)]
    body.append(f'<div class="grid">{"".join(by_section.pop("_headline", []))}</div>')
    for s in SECTIONS + sorted(k for k in by_section if k not in SECTIONS):
        if by_section.get(s):
            body.append(f'<h2>{html.escape(s)}</h2><div class="grid">{"".join(by_section[s])}</div>')
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>oyster-lens · SynFutures V3 dashboard</title><style>{CSS}</style>"
            f"{library_script('common')}</head><body>" + "".join(body)
            + f"<script>var OY_HEADLINE = {to_json(scopes)};</script><script>{PAGE_JS}</script></body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(out)
    return counts


def _headline_note(rows, cols) -> str:
    as_of = rows[0][cols.index("as_of")] if rows else None
    when = _utc(as_of).strftime("%Y-%m-%d %H:%M UTC") if isinstance(as_of, datetime) else DASH
    return (f"As of {when} (the newest block). Volume: taker Trade notional, USD (WETH converted at the oracle). "
            "Fees: taker fees. Open interest: each side at mark, one-sided (do not add them). TVL: every pair's "
            "involvedFund, the dated future included. Active LPs: owners with an open range. "
            "sql/dashboard/00_headline.sql")


def _filters(symbols, first, last) -> str:
    opts = "".join(f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in symbols)
    lo = first.isoformat() if first else ""
    hi = last.isoformat() if last else ""
    return ('<nav class="filters"><label>Instrument <select id="f-instrument"><option value="">All instruments'
            f'</option>{opts}</select></label>'
            f'<label>From <input type="date" id="f-from" min="{lo}" max="{hi}"></label>'
            f'<label>To <input type="date" id="f-to" min="{lo}" max="{hi}"></label>'
            '<button id="f-reset" type="button">Reset</button>'
            f'<span class="sub">data {lo} → {hi} (UTC) · drag or scroll a chart to zoom · click a legend '
            'entry to hide it</span></nav>')


CSS = """
*{box-sizing:border-box}body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#111827;
background:#f8fafc}header{padding:16px 24px 8px;background:#fff;border-bottom:1px solid #e5e7eb}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:24px 24px 8px;color:#374151}
h3{font-size:14px;margin:0 0 4px}.meta{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.chip{border:1px solid #d1d5db;border-radius:999px;padding:2px 10px;background:#f9fafb;font-size:13px}
.chip.ok{background:#ecfdf5;border-color:#6ee7b7;color:#065f46}.chip.warn{background:#fffbeb;border-color:#fcd34d;
color:#92400e}.chip.bad{background:#fef2f2;border-color:#fca5a5;color:#991b1b}.sub{color:#6b7280;font-size:12px}
.filters{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;gap:16px;align-items:center;padding:8px 24px;
background:#fff;border-bottom:1px solid #e5e7eb}.filters select,.filters input,.filters button{font:inherit;
padding:2px 6px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,600px),1fr));gap:16px;
padding:0 24px}.panel{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;min-width:0}
.panel.wide{grid-column:1/-1}.headline{margin-top:16px}.cards{display:grid;
grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}.card{border:1px solid #e5e7eb;border-radius:8px;
padding:10px 12px}.card .label{color:#6b7280;font-size:12px}.card .value{font-size:22px;font-weight:600;
font-variant-numeric:tabular-nums}.delta{font-size:12px}.delta.up{color:#047857}.delta.down{color:#b91c1c}
.delta.flat{color:#6b7280}.note,.src{color:#6b7280;font-size:12px;margin:2px 0 6px}
table{border-collapse:collapse;font-size:12px;width:100%}th{position:sticky;top:0;background:#f9fafb}
td,th{border-bottom:1px solid #f3f4f6;padding:3px 8px;white-space:nowrap}.n{text-align:right;
font-variant-numeric:tabular-nums}.t{text-align:left}.scroll{max-height:360px;overflow:auto}
summary{color:#6b7280;cursor:pointer;font-size:12px;margin-top:4px}tr.hidden{display:none}
footer{padding:24px;color:#6b7280;font-size:12px}
"""

PAGE_JS = r"""
(function () {
  var L = window.oysterLens, sel = document.getElementById("f-instrument"),
      from = document.getElementById("f-from"), to = document.getElementById("f-to");
  function ms(d, end) { return d ? Date.parse(d + "T00:00:00Z") + (end ? 86400000 - 1 : 0) : null; }
  function cards(scope) {
    var data = OY_HEADLINE[scope || "all"] || {};
    document.querySelectorAll(".card").forEach(function (c) {
      var m = data[c.getAttribute("data-metric")];
      c.setAttribute("data-scope", scope || "all");
      if (!m) { c.querySelector(".value").textContent = "\u2013"; return; }
      var f = m.unit === "usd" ? L.fmt.usd : L.fmt.num;
      c.setAttribute("data-value", String(m.value));
      c.querySelector(".value").textContent = f(m.value);
      var d = c.querySelector(".delta");
      if (m.change === null || m.change === undefined) {
        d.className = "delta flat"; d.textContent = "no data for " + m.versus;
      } else {
        d.className = "delta " + (m.change > 0 ? "up" : m.change < 0 ? "down" : "flat");
        d.textContent = (m.change > 0 ? "\u25b2 " : m.change < 0 ? "\u25bc " : "= ") + L.fmt.pct(Math.abs(m.change)) +
          " vs " + m.versus + " (" + f(m.prior) + ")";
      }
    });
  }
  function apply(push) {
    var sym = sel.value, lo = ms(from.value, false), hi = ms(to.value, true);
    Object.keys(L.charts).forEach(function (id) {
      var c = L.charts[id], src = c.source;
      var series = src.series.filter(function (s) { return !sym || s.instrument === sym || s.instrument === null; });
      var o = Object.assign({}, src, {series: series});
      o.dataZoom = src.dataZoom.map(function (z) {
        return Object.assign({}, z, {startValue: lo === null ? undefined : lo, endValue: hi === null ? undefined : hi});
      });
      if (!series.length) {
        o.title = {text: "no data for " + sym, left: "center", top: "middle", textStyle: {color: "#6b7280", fontSize: 13}};
      }
      o = L.resolve(o); o.animation = false;
      c.chart.setOption(o, {notMerge: true});
      document.getElementById(id).setAttribute("data-series", String(series.length));
    });
    document.querySelectorAll("tr[data-symbol]").forEach(function (tr) {
      var s = tr.getAttribute("data-symbol");
      tr.classList.toggle("hidden", !!sym && s !== sym && s !== "all");
    });
    cards(sym);
    if (push) {
      var h = [];
      if (sym) { h.push("instrument=" + encodeURIComponent(sym)); }
      if (from.value) { h.push("from=" + from.value); }
      if (to.value) { h.push("to=" + to.value); }
      history.replaceState(null, "", h.length ? "#" + h.join("&") : location.pathname + location.search);
    }
  }
  var q = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("="); if (i > 0) { q[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); }
  });
  if (q.instrument) { sel.value = q.instrument; }
  if (q.from) { from.value = q.from; }
  if (q.to) { to.value = q.to; }
  [sel, from, to].forEach(function (e) { e.addEventListener("change", function () { apply(true); }); });
  document.getElementById("f-reset").addEventListener("click", function () {
    sel.value = ""; from.value = ""; to.value = ""; apply(true);
  });
  if (q.instrument || q.from || q.to) { apply(false); }
  window.oysterLens.applyFilters = apply;
})();
"""


