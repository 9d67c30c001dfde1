"""pipelines/dashboard/charts.py: the number formats (never scientific notation), the same in Python and on the page
(node runs the page-side formatters), the inlined library, and chart()'s markup."""
import json
import re
import shutil
import subprocess

import pytest

from pipelines.dashboard.charts import _RUNTIME, chart, fmt_bps, fmt_num, fmt_pct, fmt_usd, library_script, to_json

VALUES = [0, 1, -1, 0.5, 0.0123456, 1.5e-9, 3e-25, 12.3456, 999.4, 999.96, 1000, 4100, 4149.9, 9437, 11630.4,
          999_950, 1_000_000, 23_300_000, 23_349_999, 1.2345e9, 7.7e12, 4.2e15, 1e22, -23_300_000, -4100.7,
          286.0, 0.286, 0.000123, 123456789.123]
SCI = re.compile(r"\d[eE][+-]?\d")


def test_formats_read_like_a_person_writes_them():
    assert fmt_usd(23_300_000) == "$23.3M"
    assert fmt_usd(4100) == "$4.1K"
    assert fmt_usd(999_950) == "$1M"
    assert fmt_usd(512.4) == "$512"
    assert fmt_usd(0.0123456) == "$0.0123"
    assert fmt_usd(-4100.7) == "-$4.1K"
    assert fmt_usd(None) == "–" and fmt_usd(float("nan")) == "–"
    assert fmt_num(9437) == "9,437" and fmt_num(11630.4) == "11,630"  # one column, one format
    assert fmt_num(11630.4, compact=True) == "11.6K"
    assert fmt_num(0.1234567) == "0.1235" and fmt_num(12) == "12"
    assert fmt_pct(0.1234) == "12.3%" and fmt_pct(2.86) == "286%" and fmt_pct(286) == "28,600%"
    assert fmt_pct(0.00012) == "0.012%"
    assert fmt_bps(12.46) == "12.5 bps"


@pytest.mark.parametrize("f", [fmt_usd, fmt_num, fmt_pct, fmt_bps, lambda x: fmt_num(x, compact=True)])
def test_never_scientific(f):
    for v in VALUES:
        assert not SCI.search(f(v)), (v, f(v))


@pytest.mark.skipif(not shutil.which("node"), reason="node is installed by `make setup`")
def test_page_formatters_agree_with_python():
    js = ("global.window = {};\n" + _RUNTIME + "\nconst f = window.oysterLens.fmt;\n"
          f"const v = {json.dumps(VALUES)};\n"
          "console.log(JSON.stringify(v.map(x => [f.usd(x), f.num(x), f.numc(x), f.pct(x), f.bps(x)])));")
    out = json.loads(subprocess.run(["node", "-e", js], capture_output=True, text=True, check=True).stdout)
    py = [[fmt_usd(x), fmt_num(x), fmt_num(x, compact=True), fmt_pct(x), fmt_bps(x)] for x in VALUES]
    assert out == py


def test_library_is_inlined_and_chart_markup_is_safe():
    lib = library_script()
    assert lib.startswith("<script>/* Apache ECharts ") and "oysterLens" in lib
    assert lib.count("</script>") == 2  # nothing inside the library closes its tag early
    assert len(library_script("common")) < len(lib)
    html = chart("c1", {"title": {"text": "</script><b>"}, "xAxis": {"type": "time"},
                        "series": [{"data": [[__import__("datetime").date(2024, 1, 2), float("nan")]]}]}, height=200)
    assert 'id="c1"' in html and "height:200px" in html and html.count("</script>") == 1
    assert "[[1704153600000,null]]" in html
    assert to_json({"a": "\u2028"}) == '{"a":"\\u2028"}'
