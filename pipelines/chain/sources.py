"""Log sources: a JSON-RPC node, or a folder of cryo-style Parquet log dumps.  Both hand back raw logs as a
Polars frame with decode.RAW_COLUMNS."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from ..decode import RAW_COLUMNS
from .logs import LogFetcher
from .rpc import JsonRpcClient

RAW_SCHEMA = {"block_number": pl.Int64, "block_timestamp": pl.Int64, "tx_index": pl.Int64, "log_index": pl.Int64,
              "tx_hash": pl.Utf8, "address": pl.Utf8, "block_hash": pl.Utf8, "topic0": pl.Utf8, "topic1": pl.Utf8,
              "topic2": pl.Utf8, "topic3": pl.Utf8, "data": pl.Utf8}


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)


class RpcLogSource:
    def __init__(self, client: JsonRpcClient, max_block_span: int, batch_size: int = 8, in_flight: int = 1):
        self.client = client
        self.max_block_span = max_block_span
        self.batch_size = batch_size
        self.in_flight = in_flight
        self._fetcher: LogFetcher | None = None  # made on first use, with request threads kept across chunks

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.pool.shutdown()
            self._fetcher = None

    def head(self) -> int:
        return int(self.client.call("eth_blockNumber", []), 16)

    def _headers(self, blocks: list[int]) -> dict[int, dict]:
        """Block headers by number, in batches of 100 (missing blocks are left out)."""
        out = {}
        for i in range(0, len(blocks), 100):
            part = blocks[i:i + 100]
            for b, r in zip(part, self.client.batch([("eth_getBlockByNumber", [hex(b), False]) for b in part])):
                if r is not None:
                    out[b] = r
        return out

    def block_hashes(self, blocks: list[int]) -> dict[int, str]:
        return {b: h["hash"] for b, h in self._headers(blocks).items()}

    def _timestamps(self, blocks: list[int]) -> dict[int, int]:
        return {b: int(h["timestamp"], 16) for b, h in self._headers(blocks).items()}

    def logs(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        if not addresses or lo > hi:
            return empty_raw()
        if self._fetcher is None:
            pool = ThreadPoolExecutor(max(1, self.in_flight), thread_name_prefix="rpc")
            self._fetcher = LogFetcher(self.client, self.max_block_span, self.batch_size, self.in_flight, pool)
        frame = self._fetcher.fetch_frame(lo, hi, addresses, topic0)
        missing = frame.filter(pl.col("block_timestamp").is_null())["block_number"].unique().to_list()
        if missing:  # public RPCs may omit blockTimestamp: fall back to batched block headers
            ts = self._timestamps(sorted(missing))
            frame = frame.with_columns(pl.coalesce("block_timestamp", pl.col("block_number").replace_strict(
                ts, default=None, return_dtype=pl.Int64)))
        return frame.select(list(RAW_SCHEMA))


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

    def logs(self, lo: int, hi: int, addresses: list[str], topic0: list[str] | None = None) -> pl.DataFrame:
        addrs = [a.lower() for a in addresses]
        f = self.frame.filter(pl.col("block_number").is_between(lo, hi) & pl.col("address").is_in(addrs))
        return f.filter(pl.col("topic0").is_in(topic0)) if topic0 else f
