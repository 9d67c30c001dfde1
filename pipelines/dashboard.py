"""The SQL dashboard: every panel is a query in sql/dashboard/, run on the DuckDB file opened read-only and
rendered into one self-contained HTML page (inline SVG charts, no scripts, no network), so a person can open
data/dashboard.html in any browser.  A panel's header comments say its title and chart:
  -- title: ...    -- chart: line | bar | table    -- x: column    -- y: column    -- series: column (optional)
  -- zero: no   (optional: let the y axis leave out zero)
"""
import html
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

from .store import SQL_DIR, reader

COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"]
W, H, PAD, LEGEND = 900, 240, 48, 150


def panels() -> list[dict]:
    out = []
    for f in sorted((SQL_DIR / "dashboard").glob("*.sql")):
        meta = {"name": f.stem, "sql": f.read_text(), "chart": "table"}
        for line in meta["sql"].splitlines():
            if line.startswith("-- ") and ":" in line:
                k, v = line[3:].split(":", 1)
                meta[k.strip()] = v.strip()
        out.append(meta)
    return out


def _num(v) -> float:
    if isinstance(v, datetime):
        return v.timestamp()
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day).timestamp()
    return float(v)


def _label(v) -> str:
    if isinstance(v, datetime):
        return v.strftime("%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return f"{v:,.4g}" if isinstance(v, float) else str(v)


def _chart(p: dict, cols: list[str], rows: list[tuple]) -> str:
    xi, yi = cols.index(p["x"]), cols.index(p["y"])
    si = cols.index(p["series"]) if p.get("series") in cols else None
    series: dict = defaultdict(list)
    for r in rows:
        if r[yi] is not None and r[xi] is not None:
            series[r[si] if si is not None else p["y"]].append((r[xi], float(r[yi])))
    if not series:
        return ""
    xs = sorted({x for pts in series.values() for x, _ in pts}, key=_num)
    ys = [y for pts in series.values() for _, y in pts] + ([0.0] if p.get("zero", "yes") == "yes" else [])
    lo, hi = min(ys), max(ys)
    hi = hi if hi > lo else lo + 1
    plot_w = W - 2 * PAD - LEGEND
    xpos = {x: PAD + plot_w * (i / max(1, len(xs) - 1) if p["chart"] == "line" else (i + 0.5) / len(xs))
            for i, x in enumerate(xs)}

    def ypos(y):
        return H - PAD + (PAD * 2 - H) * (y - lo) / (hi - lo)

    base = min(max(0.0, lo), hi)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">',
             f'<line x1="{PAD}" y1="{ypos(base):.1f}" x2="{PAD + plot_w}" y2="{ypos(base):.1f}" stroke="#9ca3af"/>',
             f'<text x="4" y="{PAD - 8}" font-size="11">{html.escape(_label(hi))}</text>',
             f'<text x="4" y="{H - PAD + 14}" font-size="11">{html.escape(_label(lo))}</text>',
             f'<text x="{PAD}" y="{H - 8}" font-size="11">{html.escape(_label(xs[0]))}</text>',
             f'<text x="{PAD + plot_w}" y="{H - 8}" font-size="11" text-anchor="end">{html.escape(_label(xs[-1]))}'
             '</text>']
    n = len(series)
    for k, (name, pts) in enumerate(sorted(series.items(), key=lambda kv: str(kv[0]))):
        color = COLORS[k % len(COLORS)]
        pts.sort(key=lambda pt: _num(pt[0]))
        if p["chart"] == "line":
            path = " ".join(f"{xpos[x]:.1f},{ypos(y):.1f}" for x, y in pts)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        else:
            bw = plot_w / len(xs) / (n + 1)
            for x, y in pts:
                x0 = xpos[x] - bw * n / 2 + k * bw
                top, bottom = sorted((ypos(y), ypos(base)))
                parts.append(f'<rect x="{x0:.1f}" y="{top:.1f}" width="{bw:.1f}" height="{bottom - top:.1f}" '
                             f'fill="{color}"/>')
        parts.append(f'<text x="{PAD + plot_w + 12}" y="{PAD + 14 * k}" font-size="11" fill="{color}">'
                     f'{html.escape(str(name))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(db_path: str, out: Path, max_rows: int = 200) -> dict[str, int]:
    """Write the page; returns {panel: rows}."""
    counts: dict[str, int] = {}
    sections = []
    with reader(db_path) as con:
        for p in panels():
            cur = con.execute(p["sql"])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            counts[p["name"]] = len(rows)
            chart = _chart(p, cols, rows) if p["chart"] in ("line", "bar") and rows else ""
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(_label(v) if v is not None else '')}</td>" for v in r)
                           + "</tr>" for r in rows[:max_rows])
            more = f"<p class='more'>{len(rows) - max_rows} more rows</p>" if len(rows) > max_rows else ""
            sections.append(
                f'<section class="panel" data-panel="{p["name"]}" data-rows="{len(rows)}">'
                f'<h2>{html.escape(p.get("title", p["name"]))}</h2>{chart}'
                f'<details{" open" if p["chart"] == "table" else ""}><summary>{len(rows)} rows · '
                f'sql/dashboard/{p["name"]}.sql</summary><div class="scroll"><table><thead><tr>{head}</tr></thead>'
                f'<tbody>{body}</tbody></table></div>{more}</details></section>')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>oyster-lens dashboard</title><style>"
            "body{font:14px system-ui,sans-serif;margin:24px;color:#111}h1{font-size:20px}"
            ".panel{border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:16px 0}"
            "h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;font-size:12px}"
            "td,th{border-bottom:1px solid #f3f4f6;padding:2px 8px;text-align:right;white-space:nowrap}"
            ".scroll{max-height:320px;overflow:auto}summary{color:#6b7280;cursor:pointer}</style></head><body>"
            f"<h1>oyster-lens · SynFutures V3</h1><p>DuckDB: {html.escape(db_path)} (read-only)</p>"
            + "".join(sections) + "</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(out)
    return counts
