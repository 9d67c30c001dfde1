"""The LP audit as one self-contained HTML page: summary per instrument, every range in one table (prices, quote
amounts with USD beside them, APR with its window), a price chart per range (paged, every range reachable), and a
"How to read this" section written for LPs."""
import html
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from ..dashboard.charts import chart, fmt_num, fmt_pct, fmt_usd, library_script
from .accounting import MIN_APR_HOURS

METHOD_VERSION = "v2 (event-level)"
PAGE_SIZE = 8  # range cards per page; the table above lists every range
OUT_SHADE = "rgba(220, 38, 38, 0.10)"
BAND_SHADE = "rgba(5, 150, 105, 0.07)"

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111827;background:#f8fafc}
main{max-width:1400px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}h3{font-size:15px;margin:0}
.sub{color:#4b5563;margin:0 0 4px}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
.muted{color:#6b7280}.small{font-size:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px}
.kv{display:grid;grid-template-columns:auto 1fr;gap:2px 14px;margin:8px 0 0}
.kv dt{color:#4b5563}.kv dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
.tablewrap{background:#fff;border:1px solid #e5e7eb;border-radius:8px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:12.5px;font-variant-numeric:tabular-nums}
th{position:sticky;top:0;background:#f1f5f9;text-align:right;font-weight:600;padding:6px 8px;vertical-align:bottom;
   border-bottom:1px solid #cbd5e1}
td{padding:5px 8px;text-align:right;border-bottom:1px solid #eef2f7;vertical-align:top}
th.l,td.l{text-align:left}
td .u{display:block;color:#6b7280;font-size:11.5px}
tr:hover td{background:#f8fafc}
.neg{color:#b91c1c}.pos{color:#047857}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;background:#e5e7eb}
.badge.open{background:#dbeafe;color:#1e40af}
.pager{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:6px 0 12px}
.pager button{font:inherit;padding:3px 10px;border:1px solid #cbd5e1;background:#fff;border-radius:6px;cursor:pointer}
.pager button.on{background:#1e40af;color:#fff;border-color:#1e40af}
.rangecard{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px;margin:0 0 14px}
.rangecard .grid{display:grid;grid-template-columns:400px minmax(0,1fr);gap:18px;align-items:start}
.rangecard .kv{grid-template-columns:150px minmax(0,1fr)}.rangecard .kv dd{overflow-wrap:anywhere}
.cards .kv{grid-template-columns:auto auto auto}.cards .kv dt,.cards .kv dd{white-space:nowrap}
.cards .kv dd.usd{color:#4b5563}
td.m,td .nw,td.l .sym{white-space:nowrap}
.method{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:4px 18px 12px;max-width:980px}
.method dt{font-weight:600;margin-top:10px}.method dd{margin:2px 0 0 0}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
@media (max-width:900px){.rangecard .grid{grid-template-columns:1fr}}
"""

JS = """
function oyShowPage(n){
  document.querySelectorAll('.page').forEach(function(p){p.style.display = p.dataset.page==n ? '' : 'none';});
  document.querySelectorAll('.pager button').forEach(function(b){b.classList.toggle('on', b.dataset.page==n);});
  var s=document.getElementById('pagestatus'); if(s){s.textContent=s.dataset['p'+n];}
}
function oyShowRange(id){
  var c=document.getElementById('r-'+id); if(!c){return;}
  oyShowPage(c.closest('.page').dataset.page); c.scrollIntoView();
}
window.addEventListener('DOMContentLoaded', function(){
  var h=location.hash.slice(1);
  if(h.indexOf('r-')===0){oyShowRange(h.slice(2));} else if(h.indexOf('page-')===0){oyShowPage(h.slice(5));}
});
"""


def _utc(ts) -> str:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%d %H:%M") if ts is not None else "–"


def _dur(hours) -> str:
    if hours is None:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _esc(x) -> str:
    return html.escape(str(x))


def _cls(v) -> str:
    return "" if v is None or v == 0 else (" neg" if v < 0 else " pos")


def _money(q, usd, unit: str, signed: bool = True) -> str:
    """A quote amount with its unit, and the USD value on the line below."""
    c = _cls(q) if signed else ""
    return (f'<td class="m{c}">{_esc(fmt_num(q))} {_esc(unit)}'
            f'<span class="u">{_esc(fmt_usd(usd))}</span></td>')


def _apr_cell(r: dict) -> str:
    if r["apr"] is None:
        short = f"open {_dur(r['hours_open'])} < {MIN_APR_HOURS} h" if r["margin_quote"] else "no margin"
        return (f'<td class="apr">—<span class="u" title="{_esc(r["apr_note"])}">not annualised:<br>{_esc(short)}'
                f'</span></td>')
    return (f'<td class="apr">{_esc(fmt_pct(r["apr"]))}<span class="u">over {_esc(_dur(r["hours_open"]))}</span>'
            f'</td>')


def _tir_cell(r: dict) -> str:
    if r["time_in_range"] is None:
        return '<td class="tir">—<span class="u">opened and closed at once</span></td>'
    return (f'<td class="tir">{_esc(fmt_pct(r["time_in_range"]))}<span class="u">'
            f'{_esc(_dur(r["time_in_range_hours"]))} of {_esc(_dur(r["hours_open"]))}</span></td>')


def _table(rows: list[dict]) -> str:
    head = ("<tr><th class='l'>Range</th><th class='l'>Price range<br><span class='muted small'>quote per base"
            "</span></th><th class='l'>Open</th><th>Margin</th><th>Fees earned</th><th>Impermanent loss</th>"
            "<th>PnL vs hold</th><th>LVR</th><th>Time in range</th><th>Fee APR</th></tr>")
    body = []
    for i, r in enumerate(rows, 1):
        q = r["quote_symbol"]
        status = ('<span class="badge open">open</span>' if r["status"] == "OPEN"
                  else '<span class="badge">removed</span>')
        body.append(
            f'<tr data-range="{_esc(r["range_id"])}">'
            f'<td class="l"><span class="sym">{i}. <a href="#r-{_esc(r["range_id"])}" '
            f'onclick="oyShowRange(\'{_esc(r["range_id"])}\');'
            f'return false;">{_esc(r["symbol"])}</a></span><span class="u mono">id {_esc(r["range_id"])}</span></td>'
            f'<td class="l">{_esc(fmt_num(r["price_lower"]))} – {_esc(fmt_num(r["price_upper"]))}'
            f'<span class="u">entry {_esc(fmt_num(r["entry_price"]))}</span></td>'
            f'<td class="l"><span class="nw">{status} {_esc(_dur(r["hours_open"]))}</span><span class="u nw">from '
            f'{_esc(_utc(r["added_ts"])[5:])}'
            f'</span></td>'
            + _money(r["margin_quote"], r["margin_usd"], q, signed=False)
            + _money(r["fees_quote"], r["fees_usd"], q)
            + _money(r["impermanent_loss_quote"], r["impermanent_loss_usd"], q)
            + _money(r["pnl_vs_hold_quote"], r["pnl_vs_hold_usd"], q)
            + _money(r["lvr_quote"], r["lvr_usd"], q, signed=False)
            + _tir_cell(r) + _apr_cell(r) + "</tr>")
    return (f'<div class="tablewrap"><table id="ranges"><thead>{head}</thead><tbody>{"".join(body)}</tbody>'
            '</table></div>')


def _summary(rows: list[dict]) -> str:
    cards = []
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["symbol"], []).append(r)
    for sym, rs in sorted(by.items()):
        q = rs[0]["quote_symbol"]

        def tot(k, rs=rs):
            return sum(x[k] or 0.0 for x in rs)

        def usd(k, rs=rs):
            vals = [x[k] for x in rs]
            return None if any(v is None for v in vals) else sum(vals)
        open_n = sum(1 for x in rs if x["status"] == "OPEN")
        span = sum(x["hours_open"] for x in rs)
        tin = sum(x["time_in_range_hours"] for x in rs)
        items = [("Ranges", f"{len(rs)}", f"{open_n} open"),
                 ("Margin (sum)", f"{fmt_num(tot('margin_quote'))} {q}", fmt_usd(usd('margin_usd'))),
                 ("Fees earned", f"{fmt_num(tot('fees_quote'))} {q}", fmt_usd(usd('fees_usd'))),
                 ("Impermanent loss", f"{fmt_num(tot('impermanent_loss_quote'))} {q}",
                  fmt_usd(usd('impermanent_loss_usd'))),
                 ("PnL vs hold", f"{fmt_num(tot('pnl_vs_hold_quote'))} {q}", fmt_usd(usd('pnl_vs_hold_usd'))),
                 ("LVR", f"{fmt_num(tot('lvr_quote'))} {q}", fmt_usd(usd('lvr_usd'))),
                 ("Time in range", fmt_pct(tin / span) if span else "–", f"of {_dur(span)} open")]
        dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(a)}</dd><dd class='usd'>{_esc(b)}</dd>" for k, a, b in items)
        generic = sorted({(x["usd_method"] or "").split(";")[0] for x in rs})
        rates = [x["usd_per_quote"] for x in rs if x["usd_per_quote"] is not None]
        spread = (f" ({fmt_usd(min(rates))} to {fmt_usd(max(rates))} per {q} at the ranges' ends)"
                  if rates and max(rates) != min(rates) else "")
        cards.append(f'<div class="card"><h3>{_esc(sym)}</h3><dl class="kv">{dl}</dl>'
                     f'<p class="muted small">USD: {_esc("; ".join(generic) + spread)}</p></div>')
    all_usd = [r["pnl_vs_hold_usd"] for r in rows]
    if len(by) > 1 and all(v is not None for v in all_usd):
        items = [("Fees earned", fmt_usd(sum(r["fees_usd"] for r in rows))),
                 ("Impermanent loss", fmt_usd(sum(r["impermanent_loss_usd"] for r in rows))),
                 ("PnL vs hold", fmt_usd(sum(all_usd))), ("LVR", fmt_usd(sum(r["lvr_usd"] for r in rows)))]
        dl = "".join(f"<dt>{_esc(k)}</dt><dd></dd><dd>{_esc(v)}</dd>" for k, v in items)
        cards.append(f'<div class="card"><h3>All instruments, in USD</h3><dl class="kv">{dl}</dl>'
                     '<p class="muted small">each range converted at its own quote price (see each card)</p></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _ms(ts: int) -> int:
    return int(ts) * 1000


def _option(r: dict, s: pl.DataFrame) -> dict:
    q = r["quote_symbol"]
    end = r["end_ts"]
    price = [[_ms(t), p] for t, p in zip(s["ts"], s["price"])] + [[_ms(end), s["price"][-1]]]
    # the bottom panel: the range's value minus what holding would be worth (the margin), so 0 is the hold line
    value = [[_ms(t), v - r["margin_quote"]] for t, v in zip(s["ts"], s["value_quote"])]
    value.append([_ms(end), value[-1][1]])
    hold = [[_ms(r["added_ts"]), 0.0], [_ms(end), 0.0]]
    fees = [[_ms(t), f] for t, f in zip(s["ts"], s["fee_quote"])] + [[_ms(end), s["fee_quote"][-1]]]
    # out-of-range stretches, from the event that left the range to the one that came back
    areas, start = [], None
    ts, inr = s["ts"].to_list(), s["in_range"].to_list()
    for t, ok in zip(ts, inr):
        if not ok and start is None:
            start = t
        elif ok and start is not None:
            areas.append([{"xAxis": _ms(start), "itemStyle": {"color": OUT_SHADE}}, {"xAxis": _ms(t)}])
            start = None
    if start is not None and end > start:
        areas.append([{"xAxis": _ms(start), "itemStyle": {"color": OUT_SHADE}}, {"xAxis": _ms(end)}])
    areas.insert(0, [{"yAxis": r["price_lower"], "itemStyle": {"color": BAND_SHADE}}, {"yAxis": r["price_upper"]}])
    lo = min(min(s["price"]), r["price_lower"])
    hi = max(max(s["price"]), r["price_upper"])
    pad = (hi - lo) * 0.08 or hi * 0.01
    vals = [x[1] for x in value] + [0.0] + [x[1] for x in fees]
    vlo, vhi = min(vals), max(vals)
    vpad = (vhi - vlo) * 0.1 or abs(vhi) * 0.1 or r["margin_quote"] * 1e-4 or 1
    label = {"color": "#374151", "fontSize": 11}
    axis_label = {"formatter": "fmt:num", "showMinLabel": False, "showMaxLabel": False}
    return {
        "tooltip": {"trigger": "axis", "valueFormatter": "fmt:num"},
        "axisPointer": {"link": [{"xAxisIndex": "all"}]},
        "legend": {"top": 0, "right": 8, "data": ["price", "LP vs hold", "holding (0)", "fees alone"]},
        "grid": [{"left": 64, "right": 24, "top": 48, "height": "40%"},
                 {"left": 64, "right": 24, "top": "64%", "bottom": 28}],
        "xAxis": [{"type": "time", "gridIndex": 0, "axisLabel": {"show": False}, "min": _ms(r["added_ts"]),
                   "max": _ms(end)},
                  {"type": "time", "gridIndex": 1, "min": _ms(r["added_ts"]), "max": _ms(end)}],
        "yAxis": [{"type": "value", "gridIndex": 0, "name": f"price ({q} per base)", "nameTextStyle": {"align": "left"},
                   "min": lo - pad, "max": hi + pad, "axisLabel": axis_label,
                   "splitLine": {"lineStyle": {"color": "#eef2f7"}}},
                  {"type": "value", "gridIndex": 1, "name": f"LP value − holding ({q})",
                   "nameTextStyle": {"align": "left"}, "min": vlo - vpad, "max": vhi + vpad, "axisLabel": axis_label,
                   "splitLine": {"lineStyle": {"color": "#eef2f7"}}}],
        "series": [
            {"name": "price", "type": "line", "step": "end", "showSymbol": False, "xAxisIndex": 0, "yAxisIndex": 0,
             "data": price, "lineStyle": {"width": 1.5, "color": "#1d4ed8"}, "itemStyle": {"color": "#1d4ed8"},
             "markArea": {"silent": True, "data": areas},
             "markLine": {"silent": True, "symbol": "none", "data": [
                 {"yAxis": r["price_upper"], "name": "upper", "lineStyle": {"color": "#059669"},
                  "label": {**label, "position": "insideEndTop", "formatter": f"upper {fmt_num(r['price_upper'])}"}},
                 {"yAxis": r["price_lower"], "name": "lower", "lineStyle": {"color": "#059669"},
                  "label": {**label, "position": "insideEndBottom",
                            "formatter": f"lower {fmt_num(r['price_lower'])}"}},
                 {"yAxis": r["entry_price"], "name": "entry", "lineStyle": {"color": "#6b7280", "type": "dashed"},
                  "label": {**label, "position": "insideStartTop",
                            "formatter": f"entry {fmt_num(r['entry_price'])}"}}]}},
            {"name": "LP vs hold", "type": "line", "step": "end", "showSymbol": False, "xAxisIndex": 1,
             "yAxisIndex": 1, "data": value, "lineStyle": {"width": 1.8, "color": "#7c3aed"},
             "itemStyle": {"color": "#7c3aed"}},
            {"name": "holding (0)", "type": "line", "showSymbol": False, "xAxisIndex": 1, "yAxisIndex": 1,
             "data": hold, "lineStyle": {"width": 1.2, "type": "dashed", "color": "#374151"},
             "itemStyle": {"color": "#374151"}},
            {"name": "fees alone", "type": "line", "step": "end", "showSymbol": False, "xAxisIndex": 1,
             "yAxisIndex": 1, "data": fees, "lineStyle": {"width": 1, "color": "#d97706"},
             "itemStyle": {"color": "#d97706"}},
        ],
    }


def _card(i: int, r: dict, s: pl.DataFrame) -> str:
    q = r["quote_symbol"]
    rid = r["range_id"]

    def num(v, unit=q):
        return f"{fmt_num(v)} {unit}" if v is not None else "–"
    markout = num(r["markout_1h_quote"])
    if r["markout_partial_fills"]:
        markout += f" ({r['markout_partial_fills']} of {r['markout_fills']} fills < 1 h before the data ends)"
    recon = ("matches its Remove event to the wei" if r["reconciled"] else
             "DIFFERS from its Remove event: see the warehouse's replay_divergences" if r["reconciled"] is False
             else "open: valued at the last event")
    items = [
        ("Ticks", f'{r["tick_lower"]} to {r["tick_upper"]}'),
        ("Price range", f'{fmt_num(r["price_lower"])} – {fmt_num(r["price_upper"])} {q}'),
        ("Entry / last price", f'{fmt_num(r["entry_price"])} / {fmt_num(r["last_price"])}'),
        ("Opened", f'{_utc(r["added_ts"])} UTC (block {r["added_block"]})'),
        ("Closed" if r["status"] == "REMOVED" else "Valued at", f'{_utc(r["end_ts"])} UTC'),
        ("Open for", _dur(r["hours_open"])),
        ("Fees earned", f'{num(r["fees_quote"])} · {fmt_usd(r["fees_usd"])}'),
        ("Fee return on margin", f'{fmt_pct(r["fee_return"])} in {_dur(r["hours_open"])}'),
        ("Fee APR", fmt_pct(r["apr"]) + f' (annualised over {_dur(r["hours_open"])})' if r["apr"] is not None
         else f'— ({r["apr_note"]})'),
        ("Impermanent loss", f'{num(r["impermanent_loss_quote"])} · {fmt_usd(r["impermanent_loss_usd"])}'),
        ("PnL vs hold", f'{num(r["pnl_vs_hold_quote"])} · {fmt_usd(r["pnl_vs_hold_usd"])} '
                        f'({fmt_pct(r["pnl_vs_hold_return"])} of margin)'),
        ("Implied position PnL", num(r["implied_position_pnl_quote"])),
        ("LVR", f'{num(r["lvr_quote"])} · {fmt_usd(r["lvr_usd"])}'),
        ("1-hour markout of fills", markout),
        ("Time in range", f'{fmt_pct(r["time_in_range"])} ({_dur(r["time_in_range_hours"])})'),
        ("Avg |net position| / margin", fmt_pct(r["twa_abs_net_over_margin"])),
        ("Inventory held (mean)", _dur(r["inventory_hold_hours"])),
        ("Events in its life", fmt_num(r["events"])),
        ("Check", recon),
    ]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items)
    graph = (chart(f"chart-{rid}", _option(r, s), 400) if s.height else
             '<p class="muted">no pair events in its life</p>')
    return (f'<article class="rangecard" id="r-{_esc(rid)}" data-range-card="{_esc(rid)}">'
            f'<h3>{i}. {_esc(r["symbol"])} · {fmt_num(r["price_lower"])} – {fmt_num(r["price_upper"])} {_esc(q)} '
            f'<span class="muted small">id {_esc(rid)} · {_esc(r["status"].lower())} · owner '
            f'<span class="mono">{_esc(r["owner"])}</span></span></h3>'
            f'<div class="grid"><dl class="kv small">{dl}</dl><div>{graph}'
            '<p class="muted small">Top: the pair\'s price after every event; the green band is the range, red '
            'shading the time it spent out of range, the dashed line its entry price. Bottom: what the LP\'s range '
            'is worth (margin + fees + impermanent loss) minus what holding would be worth (the margin, the 0 line), '
            'and the fees alone.'
            '</p></div></div></article>')


def method_html() -> str:
    return f"""
<section class="method" id="method"><h2>How to read this (method {_esc(METHOD_VERSION)})</h2>
<p>Everything here is recomputed from the protocol's own events, replayed exactly as the contracts compute them
(same integers, same rounding). A range's holdings depend only on the pair's price and fee index, and those change
only when an event happens (a trade, a liquidation, someone adding or removing liquidity). So we value the range
after <b>every</b> event from the block it was added to the block it was removed, not at hourly samples: a range
open for 30 minutes is measured over exactly those 30 minutes.</p>
<dl>
<dt>Prices</dt><dd>Quote per base (e.g. USDC per ETH). The range's bounds are the prices of its lower and upper
tick; the entry price is the pair's price when the range was added.</dd>
<dt>Margin</dt><dd>What the LP put in, in the quote token.</dd>
<dt>Fees earned</dt><dd>Exact, from the fee index: what the Remove event paid plus any fees withdrawn earlier
(WithdrawRangeFee). For an open range, what has accrued up to the last event.</dd>
<dt>Impermanent loss</dt><dd>What the range's holdings are worth minus what holding its entry inventory would be
worth, at the same price. A SynFutures range starts with no net position (its pool inventory is paired with an
offsetting short), so holding means keeping the margin: the charts draw the LP's value against that (0 = as good
as holding). At removal it is read from the Remove event itself (balance paid − margin − fee + 1 wei + keeper
tip) and checked against our recomputation ("Check").</dd>
<dt>PnL vs hold</dt><dd>Impermanent loss + fees: how much better (or worse) the LP did than just holding the
margin, before funding and trading costs of the position the range turns into.</dd>
<dt>Implied position PnL and LVR</dt><dd>After each event the range holds a net position (base). Implied
position PnL is what a trader holding that same position, and changing it at every event, would have made:
Σ position after an event × price change to the next event. LVR (loss versus rebalancing) = implied position
PnL − impermanent loss: what the range lost by trading at the pool's prices rather than at the next price. It is
usually positive; it is a cost the fees must cover.</dd>
<dt>1-hour markout of fills</dt><dd>For each change of the range's net position (a fill it took), that change ×
how much the price moved over the following hour, summed. Negative means its fills were, on average, on the wrong
side of the next hour's move. A fill less than an hour before the end of the data is marked at the last price
(the card says how many).</dd>
<dt>Time in range</dt><dd>The share of the time it was open that the pair's tick was inside [lower, upper), time
weighted between events. A range that opened and closed in the same block shows "—".</dd>
<dt>Fee APR</dt><dd>Fees ÷ margin, scaled to a year over the time the range was open, in %. Only for ranges open
at least {MIN_APR_HOURS} hours: a few hours of fees say nothing about a year, so shorter ranges show "—" with
their (not annualised) fee return on margin in their card.</dd>
<dt>USD</dt><dd>Quote amounts converted at the quote token's USD price at the end of the range's window (its
removal, or the last event for an open range). A stable quote (USDC) counts as $1. A WETH quote is valued with
the protocol's own ETH oracle index (UpdateSpotState of the ETH-USDC instrument) in the last hour with trades at or
before that time, as the warehouse's quote-price table records it. The method used is printed under each
instrument's summary. USD totals across instruments add each range at its own price.</dd>
<dt>Average |net position| / margin</dt><dd>Time-weighted absolute net position × price, as a share of margin:
how far from neutral the range drifted on average.</dd>
<dt>Inventory held</dt><dd>The mean time the net position kept one sign before crossing back through zero; the
last stretch is cut at the end of the window.</dd>
</dl>
<p><b>Limits.</b> The numbers are as good as the replay: a replay divergence (see the dashboard's replay health
panel) would show here as a failed check. Funding, trading fees and PnL of the position a range turns into after
removal are outside the range's audit. USD values use one price per range (at its end), not the price at each
fill. Gas is not counted.</p>
</section>"""


def report(audit_id: str, target, rows: pl.DataFrame, series: dict, out: Path) -> Path:
    recs = rows.to_dicts()
    owners = sorted({r["owner"] for r in recs})
    syms = sorted({r["symbol"] for r in recs})
    end = max(r["end_ts"] for r in recs) if recs else None
    pages = [recs[i:i + PAGE_SIZE] for i in range(0, len(recs), PAGE_SIZE)]
    page_html, buttons, status_attrs = [], [], []
    for k, chunk in enumerate(pages, 1):
        first = (k - 1) * PAGE_SIZE + 1
        cards = "".join(_card(first + j, r, series[r["range_id"]][1]) for j, r in enumerate(chunk))
        style = "" if k == 1 else ' style="display:none"'
        page_html.append(f'<div class="page" data-page="{k}"{style}>{cards}</div>')
        buttons.append(f'<button data-page="{k}" class="{"on" if k == 1 else ""}" onclick="oyShowPage({k})">'
                       f'{first}–{first + len(chunk) - 1}</button>')
        status_attrs.append(f'data-p{k}="showing ranges {first}–{first + len(chunk) - 1} of {len(recs)}"')
    pager = (f'<div class="pager"><span id="pagestatus" {" ".join(status_attrs)}>showing ranges 1–'
             f'{len(pages[0]) if pages else 0} of {len(recs)}</span>{"".join(buttons) if len(pages) > 1 else ""}</div>')
    bottom = f'<div class="pager">{"".join(buttons)}</div>' if len(pages) > 1 else ""
    scope = target.describe() if getattr(target, "is_range", False) else f"{len(recs)} ranges"
    who = ", ".join(owners)
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>LP audit {_esc(audit_id)}</title><style>{CSS}</style>{library_script()}<script>{JS}</script></head>"
        f"<body><main><h1>LP audit · <span class='mono'>{_esc(who)}</span></h1>"
        f"<p class='sub'>{_esc(scope)} on {_esc(', '.join(syms))} · data up to {_esc(_utc(end))} UTC · "
        f"audit {_esc(audit_id)} · method {_esc(METHOD_VERSION)} (<a href='#method'>how to read this</a>)</p>"
        "<h2>Summary</h2>" + _summary(recs)
        + f"<h2>All {len(recs)} ranges</h2><p class='muted small'>Amounts in each pair's quote token, USD below. "
        "Click a range for its chart. Prices are quote per base.</p>" + _table(recs)
        + f"<h2 id='details'>Range by range</h2>{pager}{''.join(page_html)}{bottom}"
        + method_html() + "</main></body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
