"""Build a devnet history once and keep it: simulate, write the logs to a fresh anvil, dump its state.

data/devnet/<size>-<seed>/ holds state.json (anvil --load-state), expected.parquet (every event the simulator
emitted, numbered as the chain numbers it) and meta.json.  A second call finds them and returns at once.
"""
import json
import os
import sys
import time
from pathlib import Path

import polars as pl

from models.events import spec_of
from pipelines.core.progress import Progress

from .anvil import ROOT, Anvil, rpc
from .chain_writer import ChainWriter, bytecode
from .observer import install as install_observer
from .simulator import Simulator, numbered_events

VERSION = 11  # bump when the simulator's output changes, so cached histories are rebuilt
DEFAULT_SEED = 3  # its small history holds every path: liquidations, sweeps, third-party removals, partial cancels


def history_dir(size: str, seed: int = DEFAULT_SEED, layout: str = "legacy") -> Path:
    suffix = "" if layout == "legacy" else f"-{layout}"
    return ROOT / "data" / "devnet" / f"{size}-{seed}-v{VERSION}{suffix}"


def expected_frame(events: list[dict]) -> pl.DataFrame:
    """Events as rows: meta columns plus the fields the log encodes, as text (exact), for row-by-row comparison."""
    meta = ("block_number", "tx_index", "log_index", "address", "block_timestamp", "event")
    rows = [{**{k: e[k] for k in meta},
             "fields": json.dumps({f.name: (e[f.name].hex() if isinstance(e[f.name], bytes) else e[f.name])
                                   for f in spec_of(e).fields}, default=str, sort_keys=True)} for e in events]
    return pl.DataFrame(rows)


def build(size: str = "small", seed: int = DEFAULT_SEED, force: bool = False, layout: str = "legacy") -> Path:
    """`layout`: "legacy" (Base's and Blast's ABI, order spacing 5) or "current" (newer chains, spacing 1)."""
    d = history_dir(size, seed, layout)
    if (d / "meta.json").exists() and not force:
        return d
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    say(f"devnet: simulating the {size} history ({layout} layout)...")
    sim = Simulator(seed, size, layout)
    hist = sim.run()
    progress = Progress(f"devnet {size}: writing to anvil", len(hist.blocks), say, every=5)
    with Anvil() as node:
        w = ChainWriter(node.url)
        w.install(hist.addresses)
        first = int(rpc(node.url, "eth_blockNumber"), 16) + 1
        for ts, txs in hist.blocks:
            w.mine_block(txs, ts)
            progress(1, sum(len(tx) for tx in txs))
        # the Observer answers from the final state; an empty block after it makes those answers visible there
        install_observer(node.url, bytecode()["ResponseTable"], sim)
        w.mine_block([], hist.blocks[-1][0] + 1)
        node.dump_state(d / "state.json")
        head = int(rpc(node.url, "eth_blockNumber"), 16)
    events = numbered_events(hist, first)
    expected_frame(events).write_parquet(d / "expected.parquet")
    meta = {"size": size, "seed": seed, "layout": layout, "version": VERSION, "first_block": first, "head": head,
            "events": len(events), "seconds": round(time.time() - t0, 1)}
    tmp = d / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, d / "meta.json")
    return d


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Build (once) and keep a devnet history.")
    ap.add_argument("size", nargs="?", default="default", choices=["small", "default", "medium", "large"])
    ap.add_argument("--layout", default="legacy", choices=["legacy", "current"],
                    help="legacy: Base/Blast ABI, order spacing 5; current: newer chains' ABI, order spacing 1")
    args = ap.parse_args()
    print(build(args.size, layout=args.layout))
