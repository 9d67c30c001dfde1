"""Ingestion benchmark (issue 3): chain -> DuckDB logs/s beside the node's raw eth_getLogs ceiling and a naive
web3 get_logs + process_log baseline, all against the same anvil in one run; and decoding µs per log, ours
against process_log.  Prints figures; asserts nothing.  Run: `uv run python benchmarks/ingest_bench.py [size]`.
"""
import dataclasses
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from web3 import Web3  # noqa: E402

from devnet.anvil import Anvil  # noqa: E402
from devnet.build import build  # noqa: E402
from models.events import BY_TOPIC0  # noqa: E402
from pipelines.chain.logs import LogFetcher  # noqa: E402
from pipelines.chain.rpc import JsonRpcClient  # noqa: E402
from pipelines.chain.sources import RpcLogSource  # noqa: E402
from pipelines.config import load_settings  # noqa: E402
from pipelines.decode import decode_frame  # noqa: E402
from pipelines.ingest import decode, land  # noqa: E402
from pipelines.store import writer  # noqa: E402
from tests.pipelines.test_decode import _abi  # noqa: E402  (the ABI built from the catalogue)


def addresses(settings, url):
    client = JsonRpcClient(url)
    src = RpcLogSource(client, settings.max_block_span)
    gate = src.logs(0, src.head(), [settings.gate])
    from pipelines.ingest import NEW_INSTRUMENT
    from eth_abi import decode as d
    insts = [d(["bytes32", "address", "address", "address", "string", "uint256"],
               bytes.fromhex(r["data"][2:]))[1].lower()
             for r in gate.filter(gate["topic0"] == NEW_INSTRUMENT).iter_rows(named=True)]
    return [settings.gate, settings.config, *settings.markets.values(), *insts]


def ceiling(url, addrs, head, span, batch, in_flight):
    """The node's limit: eth_getLogs bodies received but not parsed, `batch` spans per request and `in_flight`
    requests at a time (each thread has its own keep-alive connection)."""
    client = JsonRpcClient(url)
    f = LogFetcher(client, addrs, span, batch)
    groups, lo = [], 0
    while lo <= head:
        groups.append(f._spans(lo, head))
        lo = groups[-1][-1][1] + 1
    t = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        n = sum(pool.map(lambda g: client.batch_raw([("eth_getLogs", f._params(a, b)) for a, b in g])
                         .count(b'"logIndex"'), groups))
    return n, time.perf_counter() - t


def ours(settings, url):
    t = time.perf_counter()
    with writer(settings.duckdb_path) as con:
        r = land(con, RpcLogSource(JsonRpcClient(url), settings.max_block_span), settings)
        decode(con)
    return r.logs, time.perf_counter() - t


def naive(url, addrs, head, span, limit):
    """web3's get_logs per span, process_log per log (what a first script would do)."""
    w3 = Web3(Web3.HTTPProvider(url))
    events = {t: w3.eth.contract(abi=[_abi(s)]).events[s.name]() for t, s in BY_TOPIC0.items()}
    cs = [Web3.to_checksum_address(a) for a in addrs]
    n = 0
    t = time.perf_counter()
    for lo in range(0, head + 1, span):
        for log in w3.eth.get_logs({"fromBlock": lo, "toBlock": min(head, lo + span - 1), "address": cs}):
            events["0x" + log["topics"][0].hex().removeprefix("0x")].process_log(log)
            n += 1
        if n >= limit:
            break
    return n, time.perf_counter() - t


def decode_cost(frame, reps=5):
    ours_us = statistics.median(_time(lambda: decode_frame(frame)) for _ in range(reps)) / frame.height * 1e6
    w3 = Web3()
    sample = frame.head(3000).to_dicts()
    evs = {t: w3.eth.contract(abi=[_abi(s)]).events[s.name]() for t, s in BY_TOPIC0.items()}
    logs = [{"address": Web3.to_checksum_address(r["address"]), "blockHash": bytes.fromhex(r["block_hash"][2:]),
             "blockNumber": r["block_number"], "transactionHash": bytes.fromhex(r["tx_hash"][2:]),
             "transactionIndex": r["tx_index"], "logIndex": r["log_index"],
             "topics": [bytes.fromhex(r[f"topic{i}"][2:]) for i in range(4) if r[f"topic{i}"]],
             "data": bytes.fromhex(r["data"][2:])} for r in sample]
    t = time.perf_counter()
    for lg, r in zip(logs, sample):
        evs[r["topic0"]].process_log(lg)
    web3_us = (time.perf_counter() - t) / len(sample) * 1e6
    return ours_us, web3_us


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    size = sys.argv[1] if len(sys.argv) > 1 else "medium"
    hist = build(size)
    base = load_settings(env={})
    span = 40  # 20-50 block requests with ~8 in flight are anvil's sweet spot (STACK.md)
    with Anvil(load_state=hist / "state.json") as node, tempfile.TemporaryDirectory() as d:
        settings = dataclasses.replace(base, duckdb_path=str(Path(d) / "bench.duckdb"), max_block_span=span)
        head = int(node.call("eth_blockNumber"), 16)
        addrs = addresses(settings, node.url)
        # the node's best request shape: batches of 8 one at a time (what ours sends), or single requests in parallel
        shapes = {(b, k): ceiling(node.url, addrs, head, span, b, k) for b, k in ((8, 1), (1, 1), (1, 2), (1, 4))}
        (best_b, best_k), (n_raw, t_raw) = max(shapes.items(), key=lambda kv: kv[1][0] / kv[1][1])
        n_ours, t_ours = ours(settings, node.url)
        n_naive, t_naive = naive(node.url, addrs, head, span, limit=30_000)
        src = RpcLogSource(JsonRpcClient(node.url), span)
        frame = src.logs(0, head, addrs)
    c, o, nv = n_raw / t_raw, n_ours / t_ours, n_naive / t_naive
    print(f"history '{size}': {n_raw:,} logs over {head:,} blocks")
    for (b, k), (n, t) in shapes.items():
        print(f"         eth_getLogs {b} span(s)/request, {k} in flight: {n / t:>10,.0f} logs/s")
    print(f"ceiling  the best of those (bodies, not parsed): {c:>10,.0f} logs/s")
    print(f"ours     land + decode into DuckDB:          {o:>10,.0f} logs/s = {o / c:.0%} of the ceiling (target >= 70%)")
    print(f"naive    web3 get_logs + process_log:        {nv:>10,.0f} logs/s ({n_naive:,} logs); ours is {o / nv:.0f}x")
    ours_us, web3_us = decode_cost(frame)
    print(f"decoding per log: ours {ours_us:.2f} µs (vectorised), process_log {web3_us:.0f} µs: "
          f"{web3_us / ours_us:.0f}x faster (target >= 100x)")


if __name__ == "__main__":
    main()
