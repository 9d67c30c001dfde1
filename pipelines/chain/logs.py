"""Fetching logs over a block range with eth_getLogs, splitting ranges a provider refuses and growing back.

Providers cap a request by block span ("block range too large") or by result count ("query returned more than
10000 results"); the span halves on such a refusal and doubles again after successes, up to max_block_span.
Requests of a few dozen blocks with several in flight are the fastest on anvil (STACK.md), so spans go out as
batches of `batch_size` requests.
"""
import re

from .rpc import JsonRpcClient, RpcError

_TOO_BIG = re.compile(r"(range|too large|too many|more than|limit|exceed|10000|response size|timeout)", re.I)


class LogFetcher:
    def __init__(self, client: JsonRpcClient, addresses: list[str], max_block_span: int = 2000,
                 batch_size: int = 8):
        self.client = client
        self.addresses = [a.lower() for a in addresses]
        self.max_span = max_block_span
        self.span = max_block_span
        self.batch_size = batch_size
        self.splits = 0

    def _params(self, lo: int, hi: int) -> list:
        return [{"fromBlock": hex(lo), "toBlock": hex(hi), "address": self.addresses}]

    def fetch(self, lo: int, hi: int) -> list[dict]:
        """Every log of the addresses in [lo, hi], in chain order."""
        out: list[dict] = []
        cur = lo
        while cur <= hi:
            spans = []
            s = cur
            for _ in range(self.batch_size):
                if s > hi:
                    break
                e = min(hi, s + self.span - 1)
                spans.append((s, e))
                s = e + 1
            try:
                results = self.client.batch([("eth_getLogs", self._params(a, b)) for a, b in spans])
            except RpcError as err:
                if not _TOO_BIG.search(err.message) or self.span == 1:
                    raise
                self.splits += 1
                self.span = max(1, self.span // 2)
                continue
            for r in results:
                out.extend(r)
            cur = spans[-1][1] + 1
            if self.span < self.max_span:
                self.span = min(self.max_span, self.span * 2)
        return out
