"""The dashboard in a real browser: headless Chromium loads the page the pipeline renders, and every panel
shows data (charts drawn where the panel has one)."""
import os
import re
import shutil
import subprocess

import pytest

from pipelines.dashboard import panels, render
from pipelines.definitions import defs

pytestmark = pytest.mark.anvil
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_every_panel_renders_with_data_in_headless_chromium(tmp_path, monkeypatch, small_history):
    assert CHROMIUM, "chromium is missing: `make test` installs Debian's chromium package"
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "d.duckdb"))
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    page = tmp_path / "dashboard.html"
    counts = render(os.environ["OYSTER_DUCKDB_PATH"], page)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chrome'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    shown = dict(re.findall(r'data-panel="([^"]+)" data-rows="(\d+)"', dom))
    expected = {p["name"]: p["chart"] for p in panels()}
    assert set(shown) == set(expected)
    # the peer share needs the sample's days to overlap the small history's: every other panel must have rows
    assert all(int(n) > 0 for name, n in shown.items()), shown
    sections = re.findall(r'<section class="panel" data-panel="([^"]+)".*?</section>', dom, re.S)
    assert len(sections) == len(expected)
    for name, chart in expected.items():
        body = re.search(rf'data-panel="{name}".*?</section>', dom, re.S).group(0)
        if chart in ("line", "bar"):
            assert "<svg" in body and ("<polyline" in body or "<rect" in body), name
    shot = tmp_path / "dashboard.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1000,3000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    assert counts == {k: int(v) for k, v in shown.items()}
