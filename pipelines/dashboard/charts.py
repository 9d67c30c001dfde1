"""Interactive charts for self-contained HTML pages (the dashboard, the LP audit reports): the one place that
inlines the charting library, Apache ECharts (npm `echarts`, pinned in package.json, installed by `make setup`),
so that a page opens offline in any browser with hover values, zoom, legends and shaded areas.

    page = "<html><head>" + library_script() + "</head><body>" + chart("vol", option) + "</body></html>"

`option` is an ECharts option as a JSON-able dict (dates and datetimes become epoch milliseconds, NaN and
infinities become null).  A string "fmt:usd" | "fmt:pct" | "fmt:bps" | "fmt:num" | "fmt:numc" anywhere in it
(an axis label formatter, a tooltip valueFormatter) becomes the page's formatter of that name: the same rules as
fmt_usd / fmt_pct / fmt_bps / fmt_num here, so that a number reads the same in a table, a tooltip and an axis.
Charts draw with the SVG renderer (crisp, and their labels are in the DOM), without animation, and follow the
width of their container.  Numbers are never written in scientific notation.
"""
import json
import math
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ECHARTS_DIR = ROOT / "node_modules" / "echarts"
# "full": every chart type (dist/echarts.min.js, ~1.1 MB); "common": line, bar, pie, scatter with tooltip, legend,
# dataZoom, markLine/markArea, toolbox (dist/echarts.common.min.js, ~0.7 MB)
BUILDS = {"full": "echarts.min.js", "common": "echarts.common.min.js"}
DASH = "–"  # what a missing value shows

_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _sig(ax: float, sig: int) -> str:
    """|x| in fixed point with `sig` significant digits (at most 18 decimals), thousands separators, trailing zeros
    dropped: never an exponent."""
    if ax == 0:
        return "0"
    decimals = min(18, max(0, sig - 1 - math.floor(math.log10(ax))))
    s = f"{ax:,.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _compact(ax: float) -> str:
    """|x| with 3 significant digits and a K/M/B/T suffix from a thousand up: 4.1K, 23.3M, 1.2B."""
    r = float(f"{ax:.2e}")  # rounded to 3 significant digits first, so 999,950 is 1M, not 1,000K
    for unit, suffix in _UNITS:
        if r >= unit:
            return _sig(ax / unit, 3) + suffix
    return _sig(ax, 3)


def _sign(x: float, body: str) -> str:
    return "-" + body if x < 0 and body.strip("$0.,%") else body


def _f(x) -> float:
    return float(x)


def fmt_usd(x) -> str:
    """US dollars: $23.3M, $4.1K, $512, $12.3, $0.0123 (3 significant digits), -$1.2K; '–' when missing."""
    if _missing(x):
        return DASH
    x = _f(x)
    ax = abs(x)
    body = _compact(ax) if ax >= 1e3 else _sig(ax, 3)
    if body == "0" and ax:
        return "≈$0"
    return _sign(x, "$" + body)


def fmt_num(x, compact: bool = False) -> str:
    """A plain number: 9,437 and 11,630 (whole from a thousand up, thousands separators), 123.5, 0.1235 (4
    significant digits below a thousand); compact=True gives 11.6K, 23.3M.  '–' when missing."""
    if _missing(x):
        return DASH
    x = _f(x)
    ax = abs(x)
    if compact and ax >= 1e3:
        body = _compact(ax)
    elif ax >= 1e3:
        body = f"{ax:,.0f}"
    else:
        body = _sig(ax, 4)
    if body == "0" and ax:
        return "≈0"
    return _sign(x, body)


def fmt_pct(x) -> str:
    """A fraction as a percentage with 3 significant digits: 0.1234 -> 12.3%, 2.86 -> 286%, 0.00012 -> 0.012%."""
    if _missing(x):
        return DASH
    x = _f(x) * 100
    body = _sig(abs(x), 3)
    if body == "0" and x:
        return "≈0%"
    return _sign(x, body + "%")


def fmt_bps(x) -> str:
    """A number of basis points (1 bps = 0.01%: pass fraction x 1e4), 3 significant digits: 12.5 bps."""
    if _missing(x):
        return DASH
    x = _f(x)
    body = _sig(abs(x), 3)
    if body == "0" and x:
        return "≈0 bps"
    return _sign(x, body + " bps")


FORMATTERS = {"usd": fmt_usd, "pct": fmt_pct, "bps": fmt_bps, "num": fmt_num,
              "numc": lambda x: fmt_num(x, compact=True)}

# The page-side twins of the formatters above (same rules; tests/pipelines/test_charts.py checks they agree) and
# the renderer: resolves "fmt:<name>" strings, draws with SVG, resizes with its container, keeps each chart's
# instance and option in oysterLens.charts[id] for the page's own filters.
_RUNTIME = r"""
(function () {
  var L = window.oysterLens = window.oysterLens || {charts: {}};
  var DASH = "\u2013";
  var UNITS = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  function missing(x) { return x === null || x === undefined || typeof x !== "number" || !isFinite(x); }
  function group(s) { return s.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function fixed(ax, d) {
    if (ax >= 1e21) { return group(BigInt(Math.round(ax)).toString()); }
    var s = ax.toFixed(d), i = s.indexOf(".");
    return i < 0 ? group(s) : group(s.slice(0, i)) + s.slice(i);
  }
  function sig(ax, n) {
    if (ax === 0) { return "0"; }
    var d = Math.min(18, Math.max(0, n - 1 - Math.floor(Math.log10(ax))));
    var s = fixed(ax, d);
    return s.indexOf(".") < 0 ? s : s.replace(/0+$/, "").replace(/\.$/, "");
  }
  function compact(ax) {
    var r = Number(ax.toPrecision(3));
    for (var k = 0; k < UNITS.length; k++) {
      if (r >= UNITS[k][0]) { return sig(ax / UNITS[k][0], 3) + UNITS[k][1]; }
    }
    return sig(ax, 3);
  }
  function sign(x, body) { return x < 0 && body.replace(/[$0.,%]/g, "") ? "-" + body : body; }
  function val(x) { return Array.isArray(x) ? x[x.length - 1] : x; }
  var fmt = {
    usd: function (x) {
      x = val(x); if (missing(x)) { return DASH; }
      var ax = Math.abs(x), body = ax >= 1e3 ? compact(ax) : sig(ax, 3);
      if (body === "0" && ax) { return "\u2248$0"; }
      return sign(x, "$" + body);
    },
    num: function (x, c) {
      x = val(x); if (missing(x)) { return DASH; }
      var ax = Math.abs(x);
      var body = c === true && ax >= 1e3 ? compact(ax) : ax >= 1e3 ? fixed(ax, 0) : sig(ax, 4);
      if (body === "0" && ax) { return "\u22480"; }
      return sign(x, body);
    },
    pct: function (x) {
      x = val(x); if (missing(x)) { return DASH; }
      x = x * 100;
      var body = sig(Math.abs(x), 3);
      if (body === "0" && x) { return "\u22480%"; }
      return sign(x, body + "%");
    },
    bps: function (x) {
      x = val(x); if (missing(x)) { return DASH; }
      var body = sig(Math.abs(x), 3);
      if (body === "0" && x) { return "\u22480 bps"; }
      return sign(x, body + " bps");
    }
  };
  fmt.numc = function (x) { return fmt.num(x, true); };
  L.fmt = fmt;
  function resolve(o) {
    if (typeof o === "string" && o.indexOf("fmt:") === 0 && fmt[o.slice(4)]) {
      var f = fmt[o.slice(4)];
      return function (v) { return f(v); };
    }
    if (Array.isArray(o)) { return o.map(resolve); }
    if (o && typeof o === "object") {
      var r = {};
      for (var k in o) { if (Object.prototype.hasOwnProperty.call(o, k)) { r[k] = resolve(o[k]); } }
      return r;
    }
    return o;
  }
  L.resolve = resolve;
  function names(axes) {
    return [].concat(axes || []).map(function (a) { return a && a.name ? a.name : ""; }).join("|");
  }
  L.render = function (id, option) {
    var el = document.getElementById(id);
    if (!window.echarts) { el.textContent = "the chart library did not load"; return null; }
    var opt = resolve(option);
    if (opt.animation === undefined) { opt.animation = false; }
    var chart = echarts.init(el, null, {renderer: "svg"});
    chart.setOption(opt);
    L.charts[id] = {chart: chart, option: opt, source: option};
    el.setAttribute("data-x-name", names(option.xAxis));
    el.setAttribute("data-y-name", names(option.yAxis));
    el.setAttribute("data-series", String([].concat(option.series || []).length));
    if (window.ResizeObserver) { new ResizeObserver(function () { chart.resize(); }).observe(el); }
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  };
})();
"""


def library_script(build: str = "full") -> str:
    """The <script> tags to put once in a page's <head>: ECharts inlined from node_modules (no network), then the
    page-side formatters and oysterLens.render.  build="common" inlines the smaller build (line, bar, pie,
    scatter)."""
    f = ECHARTS_DIR / "dist" / BUILDS[build]
    if not f.is_file():
        raise FileNotFoundError(f"{f} is missing: the chart library is an npm package; run `make setup` "
                                "(npm install) in the repository root")
    version = json.loads((ECHARTS_DIR / "package.json").read_text())["version"]
    js = f.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return (f"<script>/* Apache ECharts {version} ({BUILDS[build]}), Apache License 2.0 */\n{js}\n</script>"
            f"<script>{_RUNTIME}</script>")


def _jsonable(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Decimal):
        return _jsonable(float(v))
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return int(v.timestamp() * 1000)
    if isinstance(v, date):
        return int(datetime(v.year, v.month, v.day, tzinfo=timezone.utc).timestamp() * 1000)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if hasattr(v, "item"):  # numpy / polars scalars
        return _jsonable(v.item())
    return str(v)


def to_json(value) -> str:
    """JSON safe to put inside a <script>: dates as epoch ms, NaN as null, no '</' sequence."""
    return (json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
            .replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def chart(element_id: str, option: dict, height: int = 320) -> str:
    """A full-width <div> and the <script> that draws `option` (an ECharts option, JSON-able) into it; it follows
    the width of its container and the window.  Needs library_script() earlier in the page."""
    eid = json.dumps(element_id)
    return (f'<div class="oy-chart" id="{element_id}" style="width:100%;height:{int(height)}px"></div>'
            f"<script>oysterLens.render({eid}, {to_json(option)});</script>")
