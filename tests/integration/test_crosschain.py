"""Protocol-wide metrics across chains: one warehouse per chain, combined from their published copies."""
import dataclasses
import subprocess
import sys

import duckdb
import pytest

from devnet.anvil import Anvil
from devnet.build import build
from pipelines.core.config import ROOT, load_settings
from pipelines.core.store import writer
from pipelines.marts.assets import build_marts
from pipelines.publish import crosschain
from pipelines.state.replay_run import run_replay

from .test_ingest_anvil import ingest

pytestmark = pytest.mark.anvil


def _warehouse(tmp_path, chain: str, layout: str) -> str:
    s = dataclasses.replace(load_settings(env={"OYSTER_CHAIN": chain}),
                            duckdb_path=str(tmp_path / chain / "published" / "oyster.duckdb"))
    with Anvil(load_state=build("small", layout=layout) / "state.json") as node:
        ingest(s, node.url)
    with writer(s.duckdb_path) as con:
        run_replay(con, s)
        con.execute("CREATE TABLE IF NOT EXISTS warehouse_identity (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.execute("INSERT OR REPLACE INTO warehouse_identity VALUES ('chain', ?), ('chain_id', '31337')", [chain])
        build_marts(con)
    return s.duckdb_path


def test_chains_combine_into_protocol_totals_and_shares(tmp_path):
    a = _warehouse(tmp_path, "devnet", "legacy")
    b = _warehouse(tmp_path, "devnet-current", "current")
    out = tmp_path / "all-chains" / "oyster.duckdb"
    counts = crosschain.build({"devnet": a, "devnet-current": b}, out)
    assert all(counts.values())
    con = duckdb.connect(str(out), read_only=True)
    try:
        per_chain = dict(con.sql("SELECT chain, sum(dailyVolume) FROM crosschain_daily WHERE symbol = 'all' "
                                 "GROUP BY 1").fetchall())
        total = con.sql("SELECT sum(volume_usd) FROM crosschain_protocol_daily").fetchall()[0][0]
        shares = con.sql("SELECT day, sum(volume_share) FROM crosschain_share_daily WHERE volume_usd > 0 "
                         "GROUP BY 1").fetchall()
        inst = con.sql("SELECT day, sum(volume_share_of_protocol) FROM crosschain_instrument_share_daily "
                       "WHERE volume_usd > 0 GROUP BY 1").fetchall()
    finally:
        con.close()
    assert set(per_chain) == {"devnet", "devnet-current"} and all(v > 0 for v in per_chain.values())
    for path, chain in ((a, "devnet"), (b, "devnet-current")):  # each chain's own total, unchanged
        w = duckdb.connect(path, read_only=True)
        own = w.sql("SELECT sum(taker_volume_usd) FROM mart_volume_daily").fetchall()[0][0]
        w.close()
        assert per_chain[chain] == pytest.approx(own, rel=1e-9)
    assert total == pytest.approx(sum(per_chain.values()), rel=1e-9)
    assert shares and all(s == pytest.approx(1.0) for _, s in shares)  # the chains' shares of each day add to 1
    assert inst and all(s == pytest.approx(1.0) for _, s in inst)
    with pytest.raises(ValueError, match="same chain"):  # one warehouse per chain
        crosschain.build({"x": a, "y": a}, tmp_path / "dup.duckdb")


def test_the_command_names_what_to_do_without_warehouses(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "crosschain", "nowhere"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2 and "no published warehouse for 'nowhere'" in r.stderr
