"""Fetching logs over a block range with eth_getLogs, splitting ranges a provider refuses and growing back.

Providers cap a request by block span ("block range too large") or by result count ("query returned more than
10000 results"); the span halves on such a refusal and doubles again after successes, but not past the half of
the refused span until PROBE_AFTER requests have passed (a result cap follows the chain's density, which changes):
growing straight back into the cap would have every other request refused.
Spans of a few dozen blocks are the fastest on anvil (docs/architecture.md).  `batch_size` spans go out as one JSON-RPC batch
(the setting spans_per_request: 1 on anvil, which answers single spans 1.4x faster; 8 on a rate-limited provider,
where a batch is one request), and `in_flight` requests are out at once while the answers are parsed in order
(the setting requests_in_flight).

An answer is data to check, not to trust (check()): every member is there with a list of logs (a null result
or a missing member is asked again, never read as "no logs"), every log lies inside the span asked for and
matches the address/topic filter, and no (block, log index) comes twice (an exact repeat is dropped, two
different logs under one key are a bad answer); logs flagged `removed: true` (an orphaned branch's) are dropped.
A bad answer is asked again (the client's retries and backoff), then BadAnswer is raised: a run never lands it.
The block-level checks (headers, hashes, blooms) are RpcLogSource's, over a whole chunk.
"""
import io
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import orjson
import polars as pl

from .rpc import BadAnswer, JsonRpcClient, RpcError, is_size_refusal

_LOG = pl.Struct({"address": pl.Utf8, "topics": pl.List(pl.Utf8), "data": pl.Utf8, "blockNumber": pl.Utf8,
                  "transactionHash": pl.Utf8, "transactionIndex": pl.Utf8, "blockHash": pl.Utf8,
                  "logIndex": pl.Utf8, "blockTimestamp": pl.Utf8, "removed": pl.Boolean})
_BODY = {"id": pl.Int64, "result": pl.List(_LOG), "error": pl.Struct({"code": pl.Int64, "message": pl.Utf8})}


def _hexint(col: str) -> pl.Expr:
    return pl.col(col).str.slice(2).str.to_integer(base=16).cast(pl.Int64)


def _parse(body: bytes) -> pl.DataFrame | None:
    """A batch answer's members (id, result, error); None if Polars cannot read it as eth_getLogs answers."""
    try:
        return pl.read_json(io.BytesIO(body), schema=_BODY)
    except pl.exceptions.PolarsError:
        return None


def _rows(members: pl.DataFrame | list) -> pl.DataFrame:
    """logs_frame's rows plus the member each log came in (`id`) and its `removed` flag."""
    if isinstance(members, list):
        members = pl.DataFrame([{"id": i, "result": r} for i, r in enumerate(members)], schema=_BODY)
    df = members.sort("id").explode("result").drop_nulls("result").unnest("result")
    return df.select(
        "id", _hexint("blockNumber").alias("block_number"), _hexint("blockTimestamp").alias("block_timestamp"),
        _hexint("transactionIndex").alias("tx_index"), _hexint("logIndex").alias("log_index"),
        pl.col("transactionHash").alias("tx_hash"), pl.col("address").str.to_lowercase(),
        pl.col("blockHash").str.to_lowercase().alias("block_hash"),
        *(pl.col("topics").list.get(i, null_on_oob=True).alias(f"topic{i}") for i in range(4)), pl.col("data"),
        pl.col("removed").fill_null(False))


def logs_frame(members: pl.DataFrame | list) -> pl.DataFrame:
    """eth_getLogs results (parsed members of a batch answer, or a list of results) -> one row per log, in order."""
    return _rows(members).drop("id", "removed")


_KEY = (pl.col("block_number") * (1 << 24) + pl.col("log_index"))  # (block, log index) as one sortable Int64


def check(rows: pl.DataFrame, spans: list[tuple[int, int]], flt: dict) -> tuple[pl.DataFrame, str | None]:
    """One answer's logs (_rows) against what was asked -> (the logs, in chain order, without `id`/`removed`;
    what is wrong with the answer, or None).  Vectorised: a few column passes per request."""
    rows = rows.filter(~pl.col("removed"))  # an orphaned branch's logs: never part of the range's answer
    bounds = pl.DataFrame({"id": list(range(len(spans))), "_lo": [a for a, _ in spans],
                           "_hi": [b for _, b in spans]}, schema={"id": pl.Int64, "_lo": pl.Int64, "_hi": pl.Int64})
    rows = rows.join(bounds, on="id", how="left", maintain_order="left")
    outside = rows.filter(~pl.col("block_number").is_between(pl.col("_lo"), pl.col("_hi")).fill_null(False))
    if outside.height:
        return rows, f"{outside.height} logs outside the blocks asked for (e.g. block {outside['block_number'][0]})"
    if rows.select(pl.any_horizontal(pl.col("block_number", "log_index", "block_hash", "topic0").is_null()).any()
                   ).item():
        return rows, "logs without a block number, log index, block hash or topic0"
    foreign = rows.filter(~pl.col("address").is_in(flt["address"]))
    if foreign.height:
        return rows, f"{foreign.height} logs of addresses not asked for (e.g. {foreign['address'][0]})"
    if "topics" in flt and rows.filter(~pl.col("topic0").is_in(flt["topics"][0])).height:
        return rows, "logs with a topic0 not asked for"
    rows = rows.drop("id", "removed", "_lo", "_hi")
    key = rows.select(_KEY.alias("k"))["k"]
    if key.len() > 1 and not (key.diff().drop_nulls() > 0).all():  # out of chain order, or a key repeated
        rows = rows.unique(maintain_order=True).sort("block_number", "log_index")  # exact repeats dropped
        if rows.select(_KEY.is_duplicated().any()).item():
            return rows, "two different logs under one (block, log index)"
    return rows, None


PROBE_AFTER = 32  # successful requests before the span may grow past a refusal again


class LogFetcher:
    """One per log source: the span it learns from refusals holds for every range and address set it fetches."""

    def __init__(self, client: JsonRpcClient, max_block_span: int = 2000, batch_size: int = 8, in_flight: int = 1,
                 pool: ThreadPoolExecutor | None = None):
        self.client = client
        self.bad_answers = 0  # answers that failed check() and were asked again
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
                frame = self._checked(spans, calls, body, flt)
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

    def _checked(self, spans, calls, body, flt: dict) -> pl.DataFrame:
        """An answer -> its checked logs; a bad answer is asked again (with the client's backoff), then raised."""
        for attempt in range(self.client.max_retries + 1):
            frame, problem = check(self._frame(calls, body), spans, flt)
            if problem is None:
                return frame
            self.bad_answers += 1
            if attempt == self.client.max_retries:
                raise BadAnswer(f"eth_getLogs of blocks {spans[0][0]}..{spans[-1][1]}: {problem} "
                                f"({attempt + 1} answers)")
            self.client.retries += 1
            self.client._sleep(attempt)
            body = self.client.batch_raw(calls)
        raise AssertionError("unreachable")

    def _frame(self, calls, body) -> pl.DataFrame:
        """An answer -> its logs (_rows).  Only an answer holding exactly the members asked for, each with a
        list of logs, is read in one vectorised pass; the rest (errors, missing members, null results, a body
        Polars cannot read) goes through the client's batch(): rate limits, missing members and null results are
        asked again there, other errors raised (a size refusal: the span halves)."""
        if isinstance(body, (bytes, bytearray)):
            members = _parse(body)
            if (members is not None and members.height == len(calls) and members["error"].is_null().all()
                    and not members["result"].is_null().any()
                    and members["id"].sort().to_list() == list(range(len(calls)))):
                return _rows(members)
            try:
                first = orjson.loads(body)
            except orjson.JSONDecodeError:  # a mangled answer: asked again
                first = None
            body = self.client.batch(calls, first=first)
        return _rows(body)
