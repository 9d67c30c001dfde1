"""Fetching logs over a block range with eth_getLogs, splitting ranges a provider refuses and growing back.

Providers cap a request by block span ("block range too large") or by result count ("query returned more than
10000 results"); the span halves on such a refusal and doubles again after successes, but not past the half of
the refused span until PROBE_AFTER requests have passed (a result cap follows the chain's density, which changes):
growing straight back into the cap would have every other request refused.
Spans of a few dozen blocks are the fastest on anvil (STACK.md).  `batch_size` spans go out as one JSON-RPC batch
(the setting spans_per_request: 1 on anvil, which answers single spans 1.4x faster; 8 on a rate-limited provider,
where a batch is one request), and `in_flight` requests are out at once while the answers are parsed in order
(the setting requests_in_flight).
"""
import io
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import orjson
import polars as pl

from .rpc import JsonRpcClient, RpcError, is_size_refusal

_LOG = pl.Struct({"address": pl.Utf8, "topics": pl.List(pl.Utf8), "data": pl.Utf8, "blockNumber": pl.Utf8,
                  "transactionHash": pl.Utf8, "transactionIndex": pl.Utf8, "blockHash": pl.Utf8,
                  "logIndex": pl.Utf8, "blockTimestamp": pl.Utf8})
_BODY = {"id": pl.Int64, "result": pl.List(_LOG), "error": pl.Struct({"code": pl.Int64, "message": pl.Utf8})}


def _hexint(col: str) -> pl.Expr:
    return pl.col(col).str.slice(2).str.to_integer(base=16).cast(pl.Int64)


def _parse(body: bytes) -> pl.DataFrame | None:
    """A batch answer's members (id, result, error); None if Polars cannot read it as eth_getLogs answers."""
    try:
        return pl.read_json(io.BytesIO(body), schema=_BODY)
    except pl.exceptions.PolarsError:
        return None


def logs_frame(members: pl.DataFrame | list) -> pl.DataFrame:
    """eth_getLogs results (parsed members of a batch answer, or a list of results) -> one row per log, in order."""
    if isinstance(members, list):
        members = pl.DataFrame([{"id": i, "result": r} for i, r in enumerate(members)], schema=_BODY)
    df = members.sort("id").explode("result").drop_nulls("result").unnest("result")
    return df.select(
        _hexint("blockNumber").alias("block_number"), _hexint("blockTimestamp").alias("block_timestamp"),
        _hexint("transactionIndex").alias("tx_index"), _hexint("logIndex").alias("log_index"),
        pl.col("transactionHash").alias("tx_hash"), pl.col("address").str.to_lowercase(),
        pl.col("blockHash").alias("block_hash"),
        *(pl.col("topics").list.get(i, null_on_oob=True).alias(f"topic{i}") for i in range(4)), pl.col("data"))


PROBE_AFTER = 32  # successful requests before the span may grow past a refusal again


class LogFetcher:
    """One per log source: the span it learns from refusals holds for every range and address set it fetches."""

    def __init__(self, client: JsonRpcClient, max_block_span: int = 2000, batch_size: int = 8, in_flight: int = 1,
                 pool: ThreadPoolExecutor | None = None):
        self.client = client
        self.max_span = max_block_span
        self.span = max_block_span
        self.batch_size = batch_size
        self.in_flight = max(1, in_flight)
        self.pool = pool  # request threads kept across calls (their keep-alive connections with them)
        self.splits = 0
        self.cap = max_block_span  # the span may grow up to here
        self.since_refusal = 0

    def _refused(self, spans) -> None:
        self.splits += 1
        widest = max(b - a + 1 for a, b in spans)
        self.span = self.cap = max(1, min(self.span, widest // 2))
        self.since_refusal = 0

    def _served(self) -> None:
        self.since_refusal += 1
        if self.since_refusal >= PROBE_AFTER:
            self.cap = self.max_span
        self.span = min(self.cap, self.max_span, self.span * 2)

    @staticmethod
    def log_filter(addresses: list[str], topic0: list[str] | None = None) -> dict:
        f = {"address": [a.lower() for a in addresses]}
        if topic0:
            f["topics"] = [topic0]
        return f

    def _spans(self, cur: int, hi: int) -> list[tuple[int, int]]:
        spans = []
        for _ in range(self.batch_size):
            if cur > hi:
                break
            e = min(hi, cur + self.span - 1)
            spans.append((cur, e))
            cur = e + 1
        return spans

    def fetch_frame(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        """Every log of the addresses (and topic0s) in [lo, hi] as a frame (logs_frame columns), in chain order.

        Up to `in_flight` requests are out at once (each on its own keep-alive connection) while the answers
        are parsed in order here: the node is never idle waiting for us, and a remote node's latency overlaps.
        A refusal for size halves the span: the requests planned after it are dropped and planned again.
        """
        flt = self.log_filter(addresses, topic0)
        if self.pool is None:
            with ThreadPoolExecutor(self.in_flight) as pool:
                return self._fetch(lo, hi, flt, pool)
        return self._fetch(lo, hi, flt, self.pool)

    def _fetch(self, lo: int, hi: int, flt: dict, pool: ThreadPoolExecutor) -> pl.DataFrame:
        frames: list[pl.DataFrame] = []
        out: deque = deque()  # (spans, calls, future) in block order
        cur = lo

        def top_up():
            nonlocal cur
            while len(out) < self.in_flight and cur <= hi:
                spans = self._spans(cur, hi)
                cur = spans[-1][1] + 1
                calls = self.calls(spans, flt)
                out.append((spans, calls, pool.submit(self.client.batch_raw, calls)))
        top_up()
        while out:
            spans, calls, fut = out.popleft()
            try:
                body = fut.result()
                top_up()  # the next requests go out while this answer is parsed
                frame = self._frame(calls, body)
            except RpcError as err:
                if not is_size_refusal(err.message) or max(b - a for a, b in spans) == 0:
                    raise
                self._refused(spans)
                for _, _, later in out:  # planned with the old span; answers (or errors) are discarded
                    later.cancel()
                out.clear()
                cur = spans[0][0]
                top_up()
                continue
            self._served()
            frames.append(frame)
        return pl.concat(frames) if frames else logs_frame([])

    @staticmethod
    def calls(spans, flt: dict) -> list:
        """The eth_getLogs calls of one request."""
        return [("eth_getLogs", [{"fromBlock": hex(a), "toBlock": hex(b), **flt}]) for a, b in spans]

    def _frame(self, calls, body) -> pl.DataFrame:
        """An answer -> its logs.  Members that are errors (or a body Polars cannot read) go through the
        client's batch(): rate limits are retried there, other errors raised (a size refusal: the span halves)."""
        if isinstance(body, (bytes, bytearray)):
            members = _parse(body)
            if members is not None and members["error"].is_null().all():
                return logs_frame(members)
            try:
                first = orjson.loads(body)
            except orjson.JSONDecodeError:  # a mangled answer: asked again
                first = None
            body = self.client.batch(calls, first=first)
        return logs_frame(body)
