"""Replay benchmark (issue 2): throughput on a realistic >= 1M-event mix, peak memory, and µs per trade with 0, 1
and 10 tick crossings.  Prints figures; asserts nothing.  Run: `uv run python benchmarks/replay_bench.py`.

The events come from the devnet simulator's "large" mix (trades, orders, ranges, funding, liquidations...), kept
as pickled batches so each measurement runs in a fresh process that streams them, as the replay asset reads the
event tables batch by batch.  Baseline in the same run: the driver's floor, grouping the same events into
transactions without executing anything.
"""
import gc
import json
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 50_000


def generate(path: Path) -> int:
    from devnet.simulator import Simulator, numbered_events
    t = time.perf_counter()
    events = numbered_events(Simulator(11, "large").run())
    for e in events:
        e.pop("source", None)
    with open(path, "wb") as f:
        for i in range(0, len(events), BATCH):
            pickle.dump(events[i:i + BATCH], f, protocol=5)
    print(f"generated {len(events):,} events in {time.perf_counter() - t:.1f} s")
    return len(events)


def _batches(path):
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def _hwm_kb() -> int:
    """Peak resident set of this process (VmHWM; ru_maxrss on Linux carries the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path: str, mode: str) -> None:
    from devnet.simulator import QUOTES
    from models.replay import Replayer
    rss0 = _hwm_kb()
    r = Replayer(quote_decimals=QUOTES)
    n, spent = 0, 0.0
    for batch in _batches(path):
        gc.collect()
        t = time.perf_counter()
        if mode == "replay":
            r.apply(batch, flush=False)
        else:  # baseline: only the grouping into transactions
            key, txs = None, 0
            for ev in batch:
                k = (ev["block_number"], ev["tx_index"])
                if k != key:
                    txs += 1
                    key = k
        spent += time.perf_counter() - t
        n += len(batch)
        del batch
    t = time.perf_counter()
    r.flush()
    spent += time.perf_counter() - t
    peak = _hwm_kb()
    print(json.dumps({"events": n, "seconds": spent, "peak_rss_mb": peak / 1024, "start_rss_mb": rss0 / 1024,
                      "divergences": len(r.divergences), "checkpoint_kb": len(r.checkpoint()) / 1024}))


def run_child(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def trade_latency() -> dict:
    """µs per trade that crosses 0, 1 and 10 initialised ticks (range boundaries every 20 ticks)."""
    from models.constants import PERP_EXPIRY as E, WAD
    from models.instrument import Instrument
    from models.pair import InsufficientLiquidity
    from models.tick_math import wad_to_sqrt, wad_to_tick
    out = {}
    for crossings in (0, 1, 10):
        inst = Instrument("0xbench")
        inst.spot = 2000 * WAD
        inst.open_pair(E, wad_to_sqrt(inst.spot), inst.spot, 0)
        t0 = wad_to_tick(2000 * WAD) // 50 * 50
        inst.add(E, "0xwide", t0 - 20000, t0 + 20000, 10**7 * WAD, 0, check=False)
        for k in range(1, 40):  # boundaries at t0 ± 50k: 40 initialised ticks each side
            inst.add(E, f"0xlp{k}", t0 - 50 * k, t0 + 50 * k, 10_000 * WAD, 0, check=False)
        pair = inst.pair(E)
        # find the size whose walk crosses exactly `crossings` ticks going up from the current price
        lo, hi = 1, 10**24
        size = None
        while lo < hi:
            mid = (lo + hi) // 2
            pair.begin()
            try:
                res = pair.walk(mid, 3)
            except InsufficientLiquidity:
                hi = mid
                continue
            finally:
                pair.rollback()
            if res.crossings < crossings or (crossings == 0 and res.crossings == 0):
                lo = mid + 1
                if res.crossings == crossings:
                    size = mid
            else:
                hi = mid
                if res.crossings == crossings:
                    size = mid
        size = size or lo
        pair.begin()
        got = pair.walk(size, 3).crossings
        pair.rollback()
        samples = []
        for i in range(400):
            s = size if i % 2 == 0 else -size  # alternate up and down: the state stays put
            t = time.perf_counter_ns()
            inst.trade(E, "0xtaker", s, 10**30, 0, check=False)
            samples.append((time.perf_counter_ns() - t) / 1000)
        out[crossings] = (statistics.median(samples), got)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.pkl"
        generate(path)
        base = run_child(path, "baseline")
        rep = run_child(path, "replay")
    rate = rep["events"] / rep["seconds"]
    print(f"replay: {rep['events']:,} events in {rep['seconds']:.1f} s = {rate:,.0f} events/s "
          f"(target >= 100,000); divergences {rep['divergences']}")
    print(f"baseline (grouping only): {base['events'] / base['seconds']:,.0f} events/s; replay costs "
          f"{rep['seconds'] / base['seconds']:.1f}x the driver's floor")
    print(f"peak RSS of the replay process: {rep['peak_rss_mb']:.0f} MB (start {rep['start_rss_mb']:.0f} MB; "
          f"target < 1024 MB); checkpoint {rep['checkpoint_kb']:.0f} KB")
    for c, (us, got) in trade_latency().items():
        print(f"trade crossing {c:>2} ticks (measured {got}): median {us:.1f} µs")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
