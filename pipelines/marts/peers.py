"""Peer volumes for market share: DefiLlama's derivatives overview (totalDataChartBreakdown: [[unix day,
{protocol: daily USD volume}], ...]), read from its API when online, from a file otherwise.  Each row keeps
its source, so a share is never shown without where its denominator came from."""
import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import requests

from ..core.config import ROOT

API = "https://api.llama.fi/overview/derivatives?excludeTotalDataChart=true&excludeTotalDataChartBreakdown=false&dataType=dailyVolume"
SAMPLE = ROOT / "config" / "peers" / "defillama_derivatives_sample.json"
EXCLUDE = {"SynFutures V3", "SynFutures"}  # ourselves: the share's numerator comes from our own data


def parse(doc: dict, source: str, peers: list[str] | None = None) -> pl.DataFrame:
    rows = []
    for ts, breakdown in doc.get("totalDataChartBreakdown", []):
        day = datetime.fromtimestamp(int(ts), tz=timezone.utc).date()
        for name, vol in breakdown.items():
            if name in EXCLUDE or (peers and name not in peers):
                continue
            rows.append((day, name, float(vol), source))
    return pl.DataFrame(rows, schema={"day": pl.Date, "protocol": pl.Utf8, "volume_usd": pl.Float64,
                                      "source": pl.Utf8}, orient="row")


def load(url: str | None = API, file: Path | None = SAMPLE, timeout: float = 10, peers=None) -> pl.DataFrame:
    """The API first (when a URL is given), then the file; raises if neither answers."""
    errors = []
    if url:
        try:
            r = requests.get(url, timeout=timeout)
            r.raise_for_status()
            fetched = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
            return parse(r.json(), f"DefiLlama API overview/derivatives, fetched {fetched}", peers)
        except (requests.RequestException, ValueError) as e:
            errors.append(f"API: {type(e).__name__}")
    if file and Path(file).exists():
        doc = json.loads(Path(file).read_text())
        return parse(doc, f"file {Path(file).name}" + (" (sample, not real volumes)" if "_note" in doc else ""), peers)
    raise FileNotFoundError(f"no peer volumes: {'; '.join(errors) or 'no URL'}; file {file} not found")
