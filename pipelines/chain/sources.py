"""Log sources: a JSON-RPC node, or a folder of cryo-style Parquet log dumps.  Both hand back raw logs as a
Polars frame with RAW_COLUMNS (pipelines.core.store).

RpcLogSource checks every chunk against the chain's block headers (fetched in batches, ~1 KB each, beside
the logs): the headers of the chunk form one chain (each one's parentHash is the hash of the one before, and
the first one's is the hash already verified or stored for the block before); every log's block hash and
timestamp are its block header's (a log from a block the headers do not know is a node behind, or on another
branch); every log's address is in its block's logsBloom; and wherever a block's logsBloom says one of the
addresses asked for (with one of the topics asked for) may have logged in it but no log of that address came
back, the block's receipts settle it (eth_getBlockReceipts; a bloom is allowed false positives, receipts are
not).  A chunk that fails is fetched again, then BadAnswer is raised: nothing of it lands.

`verify_depth` bounds what that costs on a busy chain (Base's blooms are nearly full, so almost every block would
need its receipts): only chunks reaching into the newest `verify_depth` blocks below the node's head, where
load-balanced nodes lag and reorgs happen, get the full check.  Older chunks (a backfill) check each log against
its own block's header (hash, timestamp, bloom), which catches logs from another branch, but not a log left out.
0 checks every chunk in full.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from eth_utils import keccak

from ..core.store import RAW_COLUMNS
from .logs import LogFetcher
from .rpc import BadAnswer, JsonRpcClient, RpcError

RAW_SCHEMA = {"block_number": pl.Int64, "block_timestamp": pl.Int64, "tx_index": pl.Int64, "log_index": pl.Int64,
              "tx_hash": pl.Utf8, "address": pl.Utf8, "block_hash": pl.Utf8, "topic0": pl.Utf8, "topic1": pl.Utf8,
              "topic2": pl.Utf8, "topic3": pl.Utf8, "data": pl.Utf8}


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)


def bloom_bits(item: bytes) -> int:
    """The 3 bits an address or topic sets in a logsBloom (yellow paper: the low 11 bits of the first three
    byte pairs of its keccak), as an integer mask over the bloom read as one big-endian number."""
    h = keccak(item)
    return sum(1 << (int.from_bytes(h[i:i + 2], "big") & 2047) for i in (0, 2, 4))


def _mask(hex_item: str) -> int:
    return bloom_bits(bytes.fromhex(hex_item[2:]))


class RpcLogSource:
    HEADERS_PER_REQUEST = 100

    def __init__(self, client: JsonRpcClient, max_block_span: int, batch_size: int = 8, in_flight: int = 1,
                 verify: bool = True, verify_depth: int = 0):
        self.client = client
        self.verify_depth = verify_depth
        self._head: int | None = None  # the node's head, as last asked
        self.max_block_span = max_block_span
        self.batch_size = batch_size
        self.in_flight = in_flight
        self.verify = verify
        self._fetcher: LogFetcher | None = None  # made on first use, with request threads kept across chunks
        self._lock = threading.Lock()
        self._verified: dict[int, str] = {}  # block -> hash, from the headers of chunks that passed (the newest)
        self.refetched = 0  # chunks fetched again because they failed verification
        self.confirmed = 0  # blocks whose receipts were read because their bloom could not be ruled out

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.pool.shutdown()
            self._fetcher = None

    def head(self) -> int:
        self._head = int(self.client.call("eth_blockNumber", []), 16)
        return self._head

    def _settled_to(self) -> int:
        """The newest block checked the cheap way (-1: every block gets the full check)."""
        if not self.verify_depth:
            return -1
        head = self._head if self._head is not None else self.head()
        return head - self.verify_depth

    def _pool(self) -> ThreadPoolExecutor:
        if self._fetcher is None:
            pool = ThreadPoolExecutor(max(1, self.in_flight), thread_name_prefix="rpc")
            self._fetcher = LogFetcher(self.client, self.max_block_span, self.batch_size, self.in_flight, pool)
        return self._fetcher.pool

    def _headers(self, blocks: list[int]) -> dict[int, dict]:
        """Block headers by number, in batches of HEADERS_PER_REQUEST, up to in_flight batches at once.  A null
        header (a block the node does not have) is asked again by the client, then raised: never left out."""
        parts = [blocks[i:i + self.HEADERS_PER_REQUEST] for i in range(0, len(blocks), self.HEADERS_PER_REQUEST)]
        get = lambda part: self.client.batch([("eth_getBlockByNumber", [hex(b), False]) for b in part])  # noqa: E731
        answers = self._pool().map(get, parts)  # on the request threads' keep-alive connections
        out = {}
        for part, answer in zip(parts, answers):
            for b, r in zip(part, answer):
                if not isinstance(r, dict) or _int(r.get("number")) != b or not r.get("hash"):
                    raise BadAnswer(f"eth_getBlockByNumber({b}) answered another block or no block")
                out[b] = r
        return out

    def block_hashes(self, blocks: list[int]) -> dict[int, str]:
        """The node's current hashes of these blocks (the reorg check: always asked, never cached)."""
        return {b: h["hash"].lower() for b, h in self._headers(blocks).items()}

    def chunk_end_hash(self, block: int) -> str | None:
        """The hash of a chunk's last block as verified with its logs (asked if that chunk was not verified)."""
        with self._lock:
            h = self._verified.get(block)
        return h if h is not None else self.block_hashes([block]).get(block)

    def anchor(self, block: int, block_hash: str | None) -> None:
        """The stored hash of the block before the next chunk: the next chunk's first header must descend from
        it (a reorg between the reorg check and the fetch fails the chunk instead of landing a fork)."""
        with self._lock:
            self._verified.clear()  # hashes verified before (another run of this source) may be a fork's now
            if block_hash:
                self._verified[block] = block_hash.lower()

    def logs(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        if not addresses or lo > hi:
            return empty_raw()
        self._pool()
        retries = self.client.max_retries
        for attempt in range(retries + 1):
            frame = self._fetcher.fetch_frame(lo, hi, addresses, topic0)
            if not self.verify:
                return self._timestamps_from_headers(frame)
            frame, headers, problem = self._check(frame, lo, hi, addresses, topic0)
            if problem is None:
                with self._lock:
                    if len(self._verified) > 100_000:
                        self._verified.clear()
                    self._verified[hi] = headers[hi]["hash"].lower()
                return frame.select(list(RAW_SCHEMA))
            self.refetched += 1
            if attempt == retries:
                raise BadAnswer(f"blocks {lo}..{hi}: {problem} ({attempt + 1} fetches); nothing of them was written")
            self.client.retries += 1
            self.client._sleep(attempt)
        raise AssertionError("unreachable")

    def _check(self, frame, lo, hi, addresses, topic0) -> tuple[pl.DataFrame, dict, str | None]:
        """Blocks up to the settled depth: each log against its own block's header; newer ones: every block."""
        cut = min(hi, self._settled_to())
        parts, headers, problem = [], {}, None
        if lo <= cut:
            part = frame.filter(pl.col("block_number") <= cut)
            hdrs = self._headers(sorted(set(part["block_number"].to_list()) | {cut}))
            part, problem = self._check_logs(part, hdrs)
            parts.append(part)
            headers.update(hdrs)
            if problem is None and cut < hi:
                with self._lock:
                    self._verified[cut] = hdrs[cut]["hash"].lower()  # the newer part descends from it
        if problem is None and cut < hi:
            part = frame.filter(pl.col("block_number") > cut)
            first = max(lo, cut + 1)
            hdrs = self._headers(list(range(first, hi + 1)))
            part, problem = self._check_blocks(part, first, hi, hdrs, addresses, topic0)
            parts.append(part)
            headers.update(hdrs)
        return (pl.concat(parts) if parts else frame), headers, problem

    def _timestamps_from_headers(self, frame: pl.DataFrame) -> pl.DataFrame:
        missing = frame.filter(pl.col("block_timestamp").is_null())["block_number"].unique().to_list()
        if missing:  # public RPCs may omit blockTimestamp: fall back to batched block headers
            ts = {b: int(h["timestamp"], 16) for b, h in self._headers(sorted(missing)).items()}
            frame = frame.with_columns(pl.coalesce("block_timestamp", pl.col("block_number").replace_strict(
                ts, default=None, return_dtype=pl.Int64)))
        return frame.select(list(RAW_SCHEMA))

    def _check_blocks(self, frame: pl.DataFrame, lo: int, hi: int, headers: dict[int, dict], addresses: list[str],
                      topic0: list[str] | None) -> tuple[pl.DataFrame, str | None]:
        """A chunk's logs against its block headers -> (logs with header timestamps, what is wrong or None)."""
        hashes = {b: h["hash"].lower() for b, h in headers.items()}
        with self._lock:
            before = self._verified.get(lo - 1)
        parent = {b: str(h.get("parentHash", "")).lower() for b, h in headers.items()}
        if before is not None and parent[lo] != before:
            return frame, f"block {lo} does not descend from the block {lo - 1} already landed (a reorg under the run)"
        for b in range(lo + 1, hi + 1):
            if parent[b] != hashes[b - 1]:
                return frame, f"the headers of blocks {b - 1} and {b} are not one chain (the node's view changed)"
        frame, problem = self._check_logs(frame, headers)
        if problem is not None:
            return frame, problem
        blooms = {b: int(h["logsBloom"], 16) for b, h in headers.items()}
        masks = {a.lower(): _mask(a) for a in addresses}
        topic_masks = [_mask(t) for t in topic0] if topic0 else None
        seen: dict[int, set] = {}
        for b, a in frame.select("block_number", "address").unique().iter_rows():
            seen.setdefault(b, set()).add(a)
        # every (block, address asked for) whose bloom bits are set, with one of the topics asked for, has a log
        # or receipts that say it has none
        maybe = []
        for b, bloom in blooms.items():
            if not bloom:
                continue
            if topic_masks is not None and not any(bloom & m == m for m in topic_masks):
                continue
            got = seen.get(b, ())
            if any(bloom & m == m and a not in got for a, m in masks.items()):
                maybe.append(b)
        if maybe:
            missed = self._receipt_logs(maybe, hashes, {a for a in masks}, topic0, seen)
            if missed:
                return frame, (f"{missed} logs missing from the answer (blocks' receipts have them; e.g. block "
                               f"{maybe[0]})")
        return frame, None

    @staticmethod
    def _check_logs(frame: pl.DataFrame, headers: dict[int, dict]) -> tuple[pl.DataFrame, str | None]:
        """Each log against its own block's header: hash, timestamp (taken from the header), and its address in
        the block's logsBloom -> (logs with header timestamps, what is wrong or None)."""
        hashes = {b: h["hash"].lower() for b, h in headers.items()}
        ts = {b: _int(h["timestamp"]) for b, h in headers.items()}
        header_hash = pl.col("block_number").replace_strict(hashes, default=None, return_dtype=pl.Utf8)
        header_ts = pl.col("block_number").replace_strict(ts, default=None, return_dtype=pl.Int64)
        frame = frame.with_columns(header_hash.alias("_hash"), header_ts.alias("_ts"))
        wrong = frame.filter((pl.col("block_hash") != pl.col("_hash")).fill_null(True))
        if wrong.height:
            return frame, (f"{wrong.height} logs carry a block hash the headers do not know (e.g. block "
                           f"{wrong['block_number'][0]}: a node behind, or on another branch)")
        if frame.filter(pl.col("block_timestamp").is_not_null() & (pl.col("block_timestamp") != pl.col("_ts"))).height:
            return frame, "logs whose blockTimestamp is not their block's"
        frame = frame.with_columns(pl.col("_ts").alias("block_timestamp")).drop("_hash", "_ts")
        blooms = {b: int(h["logsBloom"], 16) for b, h in headers.items()}
        for b, a in frame.select("block_number", "address").unique().iter_rows():
            m = _mask(a)
            if blooms[b] & m != m:
                return frame, f"a log of {a} in block {b} whose logsBloom says it has none"
        return frame, None

    def _receipt_logs(self, blocks: list[int], hashes: dict[int, str], addresses: set, topic0, seen) -> int:
        """How many logs of the addresses (and topics) asked for, in blocks where none of their address came
        back, the blocks' receipts hold (0: the blooms were false positives)."""
        self.confirmed += len(blocks)
        try:
            answers = self.client.batch([("eth_getBlockReceipts", [hex(b)]) for b in blocks])
        except RpcError:  # a node without eth_getBlockReceipts: the logs of each block, by its hash (EIP-234)
            flt = {"address": sorted(addresses), **({"topics": [topic0]} if topic0 else {})}
            answers = self.client.batch([("eth_getLogs", [{"blockHash": hashes[b], **flt}]) for b in blocks])
            answers = [[{"logs": logs, "blockHash": hashes[b]}] for b, logs in zip(blocks, answers)]
        n = 0
        for b, receipts in zip(blocks, answers):
            for rc in receipts:
                if str(rc.get("blockHash", "")).lower() != hashes[b]:
                    raise BadAnswer(f"receipts of block {b} are another block's")
                for lg in rc.get("logs") or []:
                    a = str(lg.get("address", "")).lower()
                    topics = lg.get("topics") or [None]
                    if a in addresses and a not in seen.get(b, ()) and (not topic0 or topics[0] in topic0):
                        n += 1
        return n


def _int(value) -> int | None:
    return int(value, 16) if isinstance(value, str) else None


class ParquetLogSource:
    """cryo `logs` Parquet files (block_number, block_hash, transaction_index, log_index, transaction_hash,
    address, topic0..3, data as binary or hex).  cryo logs carry no timestamp: a `blocks` dump beside them
    (block_number, timestamp) supplies it, else the timestamp is unknown (0) and says so."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        files = sorted(self.folder.glob("*logs*.parquet")) or sorted(self.folder.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"no Parquet log files in {self.folder}")
        self.frame = self._load(files)

    @staticmethod
    def _hex(col: str, schema) -> pl.Expr:
        if schema[col] == pl.Binary:
            return pl.lit("0x") + pl.col(col).bin.encode("hex")
        return pl.col(col).cast(pl.Utf8).str.to_lowercase()

    def _load(self, files) -> pl.DataFrame:
        df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
        s = df.schema
        ts = pl.lit(0, pl.Int64)
        blocks = sorted(self.folder.glob("*blocks*.parquet"))
        out = df.select(
            pl.col("block_number").cast(pl.Int64), pl.col("transaction_index").cast(pl.Int64).alias("tx_index"),
            pl.col("log_index").cast(pl.Int64), self._hex("transaction_hash", s).alias("tx_hash"),
            self._hex("address", s).alias("address"), self._hex("block_hash", s).alias("block_hash"),
            *(self._hex(f"topic{i}", s).alias(f"topic{i}") for i in range(4)), self._hex("data", s).alias("data"))
        if blocks:
            b = pl.concat([pl.read_parquet(f).select(pl.col("block_number").cast(pl.Int64),
                                                     pl.col("timestamp").cast(pl.Int64).alias("block_timestamp"))
                           for f in blocks])
            out = out.join(b, on="block_number", how="left")
        else:
            out = out.with_columns(ts.alias("block_timestamp"))
        return out.select(RAW_COLUMNS).sort("block_number", "log_index")

    def head(self) -> int:
        return int(self.frame["block_number"].max() or 0)

    def block_hashes(self, blocks: list[int]) -> dict[int, str]:
        f = self.frame.filter(pl.col("block_number").is_in(blocks)).unique("block_number")
        return dict(zip(f["block_number"].to_list(), f["block_hash"].to_list()))

    def chunk_end_hash(self, block: int) -> str | None:
        return self.block_hashes([block]).get(block)

    def logs(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        addrs = [a.lower() for a in addresses]
        f = self.frame.filter(pl.col("block_number").is_between(lo, hi) & pl.col("address").is_in(addrs))
        return f.filter(pl.col("topic0").is_in(topic0)) if topic0 else f
