"""Protocol-wide metrics across chains: one warehouse per chain, and a cross-chain file built from their published
copies.

Why one warehouse per chain, not a chain column in one file: each chain has its own writer, reorg window, node,
schedule and identity (pipelines.core.warehouse_identity), so a slow or broken node on one chain never holds back or
rewinds another, and each keeps DuckDB's single-writer rule to itself.  The cross-chain file is a read-only
product: `python -m pipelines.cli crosschain` attaches every chain's published warehouse read-only (never the
private file a run writes), unions their marts with a chain column, computes each chain's and instrument's share
of the protocol, and replaces `data/all-chains/oyster.duckdb` atomically (readers of the old copy keep it).

Tables (sql in CROSSCHAIN below):
- crosschain_daily: mart_defillama_daily of every chain (one row per day, chain and instrument, plus the chain's
  'all' row), DefiLlama's keys in USD;
- crosschain_protocol_daily: per day, the protocol over all chains (volume, fees, revenue, OI) and chain count;
- crosschain_share_daily: per day and chain, its share of the protocol's volume and open interest;
- crosschain_instrument_share_daily: per day, chain and instrument, its share of the protocol's volume.
"""
import os
import re
from pathlib import Path

import duckdb

from ..core.config import ROOT

OUT = ROOT / "data" / "all-chains" / "oyster.duckdb"
_NAME = re.compile(r"^[a-z0-9_-]+$")

CROSSCHAIN = """
CREATE OR REPLACE TABLE crosschain_protocol_daily AS
SELECT day, count(DISTINCT chain) AS chains, sum(dailyVolume) AS volume_usd, sum(dailyFees) AS fees_usd,
       sum(dailyRevenue) AS revenue_usd, sum(dailySupplySideRevenue) AS supply_side_revenue_usd,
       sum(openInterestAtEnd) AS open_interest_usd, sum(dailyActiveUsers) AS active_users_sum_over_chains
FROM crosschain_daily WHERE symbol = 'all' GROUP BY day ORDER BY day;

CREATE OR REPLACE TABLE crosschain_share_daily AS
SELECT c.day, c.chain, c.dailyVolume AS volume_usd, c.openInterestAtEnd AS open_interest_usd,
       c.dailyVolume / nullif(p.volume_usd, 0) AS volume_share,
       c.openInterestAtEnd / nullif(p.open_interest_usd, 0) AS open_interest_share
FROM crosschain_daily c JOIN crosschain_protocol_daily p USING (day)
WHERE c.symbol = 'all' ORDER BY c.day, c.chain;

CREATE OR REPLACE TABLE crosschain_instrument_share_daily AS
SELECT c.day, c.chain, c.instrument, c.symbol, c.dailyVolume AS volume_usd,
       c.dailyVolume / nullif(p.volume_usd, 0) AS volume_share_of_protocol
FROM crosschain_daily c JOIN crosschain_protocol_daily p USING (day)
WHERE c.symbol <> 'all' ORDER BY c.day, c.chain, volume_usd DESC;
"""


def published_warehouses(root: Path = ROOT / "data") -> dict[str, Path]:
    """{folder name: published copy} of every warehouse under data/ that has one (data/<chain>/published/...)."""
    out = {}
    for p in sorted(root.glob("*/published/oyster.duckdb")):
        name = p.parent.parent.name
        if name != OUT.parent.name:
            out[name] = p
    return out


def build(warehouses: dict[str, Path], out: Path = OUT) -> dict:
    """Union the warehouses' DefiLlama-keyed marts into `out` (replaced atomically).  Returns row counts."""
    if not warehouses:
        raise ValueError("no published warehouse to combine: run the ingest job of each chain first "
                         "(each publishes data/<chain>/published/oyster.duckdb)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        parts = []
        for i, (name, path) in enumerate(warehouses.items()):
            if not Path(path).exists():
                raise FileNotFoundError(f"no warehouse at {path} ({name})")
            con.execute(f"ATTACH '{Path(path).as_posix()}' AS w{i} (READ_ONLY)")
            has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = "
                              "'mart_defillama_daily'", [f"w{i}"]).fetchall()[0][0]
            if not has:
                raise ValueError(f"{path} ({name}) has no mart_defillama_daily: run its ingest job to the marts")
            # the warehouse's own chain name (warehouse_identity) wins; the folder name stands in for old files
            parts.append(f"SELECT * REPLACE (coalesce(chain, '{_safe(name)}') AS chain) FROM w{i}.mart_defillama_daily")
        con.execute("CREATE TABLE crosschain_daily AS " + " UNION ALL BY NAME ".join(parts))
        dupes = con.execute("SELECT count(*) FROM (SELECT day, chain, instrument FROM crosschain_daily "
                            "GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
        if dupes:
            raise ValueError("two warehouses report the same chain: combine one warehouse per chain")
        con.execute(CROSSCHAIN)
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("crosschain_daily", "crosschain_protocol_daily", "crosschain_share_daily",
                            "crosschain_instrument_share_daily")}
        for i in range(len(warehouses)):
            con.execute(f"DETACH w{i}")
    finally:
        con.close()
    os.replace(tmp, out)
    return counts


def _safe(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"a warehouse name is lowercase letters, digits, - and _: {name!r}")
    return name


def resolve(names: list[str] | None) -> dict[str, Path]:
    """The published warehouses to combine: those named (a chain's folder under data/, or a file path), else all."""
    found = published_warehouses()
    if not names:
        return found
    out = {}
    for n in names:
        p = Path(n)
        if p.suffix == ".duckdb":
            out[p.parent.parent.name if p.parent.name == "published" else p.stem] = p
        elif n in found:
            out[n] = found[n]
        else:
            raise ValueError(f"no published warehouse for {n!r} (found: {', '.join(found) or 'none'}); name a "
                             "folder under data/ or a .duckdb file")
    return out

