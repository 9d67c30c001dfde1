"""The eth_getLogs fetcher against a local node that answers like hosted providers do: per-member errors inside
a batch answer, result caps worded as Infura and Alchemy word them (Infura's with the same code as its rate
limit), and rate limits on single members.  Every log must come back once, in chain order, whatever the shape
(spans per request, requests in flight)."""
import threading

import pytest

from pipelines.chain.logs import LogFetcher
from pipelines.chain.rpc import JsonRpcClient, RpcUnavailable, is_size_refusal
from pipelines.chain.sources import RpcLogSource, bloom_bits

from .local_node import LocalNode

ADDR = "0x" + "ab" * 20
INFURA_CAP = {"code": -32005, "message": "query returned more than 10000 results"}
ALCHEMY_CAP = {"code": -32602, "message": "Log response size exceeded. You can make eth_getLogs requests with up "
                                          "to a 2K block range and no limit on the response size"}
RATE = {"code": -32005, "message": "project ID request rate exceeded"}


def _hash(block: int) -> str:
    return "0x" + f"{block + 1:064x}"


BLOOM = "0x" + f"{bloom_bits(bytes.fromhex(ADDR[2:])) | bloom_bits(bytes.fromhex('11' * 32)):0512x}"


def _log(block: int) -> dict:
    word = f"{block:064x}"
    return {"address": ADDR, "topics": ["0x" + "11" * 32, "0x" + word], "data": "0x" + word * 2,
            "blockNumber": hex(block), "blockTimestamp": hex(1_700_000_000 + block),
            "transactionHash": "0x" + f"{block:064x}", "transactionIndex": "0x0", "blockHash": _hash(block),
            "logIndex": hex(block), "removed": False}


def _header(block: int) -> dict:
    return {"number": hex(block), "hash": _hash(block), "parentHash": _hash(block - 1), "logsBloom": BLOOM,
            "timestamp": hex(1_700_000_000 + block)}


class LogsNode(LocalNode):
    """One log per block.  A span over `cap` blocks is refused with `cap_error`; the first `rate_errors`
    members asked for are refused with a rate limit."""

    def __init__(self, cap: int, cap_error: dict, rate_errors: int = 0):
        self.cap, self.cap_error, self.rate_left = cap, cap_error, rate_errors
        self.lock = threading.Lock()
        self.refused = self.rate_limited = self.served = 0
        self.connections: set[int] = set()  # client ports seen
        super().__init__(self._answer)

    def _answer(self, handler, req):
        self.connections.add(handler.client_address[1])
        out = [self._member(m) for m in (req if isinstance(req, list) else [req])]
        return 200, out if isinstance(req, list) else out[0]

    def _member(self, m: dict) -> dict:
        if m["method"] == "eth_getBlockByNumber":
            return {"jsonrpc": "2.0", "id": m["id"], "result": _header(int(m["params"][0], 16))}
        f = m["params"][0]
        lo, hi = int(f["fromBlock"], 16), int(f["toBlock"], 16)
        with self.lock:
            if self.rate_left > 0:
                self.rate_left -= 1
                self.rate_limited += 1
                return {"jsonrpc": "2.0", "id": m["id"], "error": RATE}
            if hi - lo + 1 > self.cap:
                self.refused += 1
                return {"jsonrpc": "2.0", "id": m["id"], "error": self.cap_error}
            self.served += 1
        return {"jsonrpc": "2.0", "id": m["id"], "result": [_log(b) for b in range(lo, hi + 1)]}


@pytest.fixture
def logs_node():
    made = []

    def make(*args, **kw):
        made.append(LogsNode(*args, **kw))
        return made[-1]
    yield make
    for n in made:
        n.close()


@pytest.mark.parametrize("cap_error", [INFURA_CAP, ALCHEMY_CAP], ids=["infura", "alchemy"])
@pytest.mark.parametrize("spans,in_flight", [(1, 1), (4, 1), (1, 4), (3, 3)])
def test_result_caps_split_the_span_and_every_log_comes_back_once(logs_node, cap_error, spans, in_flight):
    node = logs_node(cap=7, cap_error=cap_error)
    client = JsonRpcClient(node.url, backoff=0.001, max_backoff=0.01, seed=1)
    fetcher = LogFetcher(client, max_block_span=64, batch_size=spans, in_flight=in_flight)
    frame = fetcher.fetch_frame(0, 299, [ADDR])
    assert frame["block_number"].to_list() == list(range(300))
    assert frame["block_timestamp"].to_list() == [1_700_000_000 + b for b in range(300)]
    assert node.refused > 0 and fetcher.splits > 0 and fetcher.span <= 7
    # the span does not grow straight back into the cap (that refused 256 members for 75 served)
    assert node.refused < 0.6 * node.served
    assert client.retries == 0  # a cap is split, never retried as it was


def test_a_rate_limited_member_is_retried_not_split(logs_node):
    node = logs_node(cap=1000, cap_error=INFURA_CAP, rate_errors=3)
    client = JsonRpcClient(node.url, backoff=0.001, max_backoff=0.01, seed=1)
    fetcher = LogFetcher(client, max_block_span=50, batch_size=4, in_flight=2)
    frame = fetcher.fetch_frame(0, 399, [ADDR])
    assert frame["block_number"].to_list() == list(range(400))
    assert node.rate_limited == 3 and client.retries > 0 and fetcher.splits == 0


def test_a_node_that_keeps_rate_limiting_gives_up_with_a_clear_error(logs_node):
    node = logs_node(cap=1000, cap_error=INFURA_CAP, rate_errors=10**6)
    client = JsonRpcClient(node.url + "/SECRET", max_retries=2, backoff=0.001, max_backoff=0.01, seed=1)
    with pytest.raises(RpcUnavailable) as err:
        LogFetcher(client, max_block_span=50, batch_size=2).fetch_frame(0, 99, [ADDR])
    assert "kept failing" in str(err.value) and "SECRET" not in str(err.value)


def test_connections_outlive_a_chunk(logs_node):
    """Each chunk used to start its own request threads, and so open new connections (a TLS handshake each on
    a hosted node); the source keeps its threads and their keep-alive connections for its whole life."""
    node = logs_node(cap=1000, cap_error=INFURA_CAP)
    src = RpcLogSource(JsonRpcClient(node.url), max_block_span=10, batch_size=1, in_flight=2)
    try:
        frames = [src.logs(lo, lo + 49, [ADDR]) for lo in range(0, 300, 50)]
    finally:
        src.close()
    assert sum(f.height for f in frames) == 300
    assert len(node.connections) <= 2


@pytest.mark.parametrize("message,size", [
    ("query returned more than 10000 results", True),
    ("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range", True),
    ("block range is too wide", True),
    ("exceed maximum block range: 50000", True),
    ("eth_getLogs is limited to a 10,000 blocks range", True),
    ("Maximum allowed number of requested blocks is 500", True),
    ("query timeout exceeded", True),
    ("project ID request rate exceeded", False),
    ("Too Many Requests", False),
    ("rate limit exceeded, retry later", False),
    ("exceeded the capacity of this endpoint", False),
])
def test_size_refusals_are_told_from_rate_limits(message, size):
    assert is_size_refusal(message) is size
