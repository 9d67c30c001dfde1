"""Every chain layout SynFutures V3 runs on: Base and Blast speak the legacy ABI with orders every 5 ticks (the
default devnet), newer chains the current ABI with orders on every tick (the devnet built with layout
"current").  Each is ingested from a real anvil, decoded and replayed with no divergence."""
import dataclasses

import duckdb
import pytest

from devnet.anvil import Anvil
from devnet.build import build
from pipelines.core.config import load_settings
from pipelines.core.store import writer
from pipelines.state.replay_run import run_replay

from .test_ingest_anvil import ingest

pytestmark = pytest.mark.anvil


def test_a_current_abi_chain_is_ingested_and_replayed_exactly(tmp_path):
    history = build("small", layout="current")
    settings = dataclasses.replace(load_settings(env={"OYSTER_CHAIN": "devnet-current"}),
                                   duckdb_path=str(tmp_path / "oyster.duckdb"))
    assert settings.order_spacing == 1 and settings.devnet_layout == "current"
    with Anvil(load_state=history / "state.json") as node:
        ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        r = run_replay(con, settings)
    assert r.events > 3000 and r.divergences == 0
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    try:
        variants = con.sql("SELECT DISTINCT abi_variant FROM events_update_param").fetchall()
        off_base = con.sql("SELECT count(*) FROM events_place WHERE tick % 5 <> 0").fetchall()[0][0]
        quarantined = con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0]
    finally:
        con.close()
    assert variants == [("current",)] and off_base > 0 and quarantined == 0
    # the same logs replayed with Base's spacing are refused, loudly
    with writer(settings.duckdb_path) as con:
        wrong = run_replay(con, dataclasses.replace(settings, order_spacing=5), full=True)
    assert wrong.divergences > 0


@pytest.mark.parametrize("chain, chain_id, first_block", [("base", 8453, 15_779_365), ("blast", 81457, 193_838)])
def test_base_and_blast_settings_are_the_legacy_layout(chain, chain_id, first_block):
    s = load_settings(env={"OYSTER_CHAIN": chain, "OYSTER_RPC_URL": "https://node.example/key"})
    assert (s.chain_id, s.start_block, s.order_spacing) == (chain_id, first_block, 5)
    assert len(s.markets) == 4 and s.gate and s.config and s.observer
    assert s.duckdb_path.endswith(f"data/{chain}/oyster.duckdb")  # one warehouse per chain
