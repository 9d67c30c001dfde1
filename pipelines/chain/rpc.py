"""A raw JSON-RPC client for the hot path: batched requests, retries with exponential backoff and jitter
(batches included, which web3's provider does not retry), and a requests-per-second limit.

It replaces web3.py's provider on the hot path (web3's get_logs adds ~85 µs per log, docs/architecture.md; the ingest
benchmark's naive web3 baseline is ~25x slower); web3's stack stays where it is good: eth-abi encodes and
decodes the Observer calls, and web3's process_log is the decoder's test oracle.  Errors never show the URL,
which may hold an API key: it is parsed by pipelines.core.secrets (a '#', '/' or '@' in the password stays the
password's) and shown masked.

The transport is the standard library's http.client, one keep-alive connection per thread: on a 156 MB run of
eth_getLogs bodies it spent 0.06 s of CPU where requests spent 0.35 s (requests reads a body in small chunks).
"""
import http.client
import random
import re
import threading
import time

import orjson

from ..core.secrets import UrlError, parse_rpc_url, scrub


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error (not retried unless it is a rate limit)."""

    def __init__(self, method: str, error: dict):
        self.code = error.get("code")
        self.message = str(error.get("message", ""))
        super().__init__(f"{method}: {self.code} {self.message}")


class RpcUnavailable(RuntimeError):
    """Retries ran out: the node cannot be reached or keeps refusing."""


class BadAnswer(RpcUnavailable):
    """The node kept answering with data that fails verification (a null result, a missing batch member, logs
    outside the range or filter asked for, logs the block headers disagree with): retried, then raised."""


class NodeBehind(BadAnswer):
    """The node's head is below the head already landed: it answers from an older view of the chain."""


# Methods whose result is never null for what we ask (blocks at or below the node's head): a null result is a
# node that does not have the data (lagging, pruned, load-balanced onto a node behind), never an empty answer.
NEVER_NULL = frozenset({"eth_getLogs", "eth_blockNumber", "eth_getBlockByNumber", "eth_getBlockByHash",
                        "eth_getBlockReceipts", "eth_chainId"})


class _Retry(Exception):
    """A transient transport failure (HTTP 429 or 5xx)."""


_TRANSIENT = (OSError, http.client.HTTPException, _Retry, orjson.JSONDecodeError)  # OSError: refused, reset, timeout


_RATE_WORDS = ("rate limit", "too many requests", "exceeded", "capacity")
# A refusal of an eth_getLogs request for its size (a span or result cap, as providers word it): not retried
# as it is, the caller splits the range.  Checked before the rate-limit signs: Infura answers both a result cap
# and a rate limit with -32005, and Alchemy's "Log response size exceeded" holds "exceeded".
_SIZE_REFUSAL = re.compile(r"blocks? range|range (is )?too|too (large|wide|big)|max(imum)?( allowed)?( block)? range|"
                           r"more than [\d,]+|[\d,]+ blocks|requested blocks|response size|result size|max results|"
                           r"too many (results|logs|blocks)|timeout|timed out", re.IGNORECASE)


def is_size_refusal(message: str) -> bool:
    return bool(_SIZE_REFUSAL.search(message))


class RateLimiter:
    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next = 0.0
        self.lock = threading.Lock()
        self.throttled = 0  # requests held back by the limit, and the seconds they waited (progress reports)
        self.waited = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            delay = self.next - now
            self.next = max(now, self.next) + self.interval
            if delay > 0:
                self.throttled += 1
                self.waited += delay
        if delay > 0:
            time.sleep(delay)


class JsonRpcClient:
    def __init__(self, url: str, requests_per_second: float = 0, max_retries: int = 6, timeout: float = 60,
                 backoff: float = 0.25, max_backoff: float = 8.0, seed: int | None = None):
        self.url = url
        try:
            parts = parse_rpc_url(url)
        except UrlError as e:
            raise ValueError(f"rpc_url must be an http(s) URL ({e})") from None
        self.safe_url = parts.masked
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"rpc_url must be an http(s) URL, got {self.safe_url}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        self._conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._host, self._port = parts.host.strip("[]"), parts.port
        self._path = parts.target
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if parts.authorization:  # basic auth given in the URL
            self._headers["Authorization"] = parts.authorization
        self._local = threading.local()
        self.limiter = RateLimiter(requests_per_second)
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.rng = random.Random(seed)
        self.calls = 0
        self.retries = 0

    def _scrub(self, text: str) -> str:
        """Remove every part of the URL that may hold a key (path, query, user info) from an error text."""
        return scrub(text, self.url)[:300]

    def _sleep(self, attempt: int) -> None:
        base = min(self.max_backoff, self.backoff * 2 ** attempt)
        time.sleep(base / 2 + self.rng.random() * base / 2)  # "equal jitter"

    def _send(self, body: bytes) -> tuple[int, bytes]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._conn_class(self._host, self._port, timeout=self.timeout)
        try:
            conn.request("POST", self._path, body=body, headers=self._headers)
            r = conn.getresponse()
            return r.status, r.read()
        except BaseException:
            conn.close()  # a broken or timed-out connection is never reused
            self._local.conn = None
            raise

    def _post(self, body: bytes, raw: bool = False):
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            self.calls += 1
            try:
                status, content = self._send(body)
                if status == 429 or status >= 500:
                    raise _Retry(f"HTTP {status}")
                if status >= 400:
                    raise RpcUnavailable(f"{self.safe_url} answered HTTP {status}")
                if raw and content[:1] == b"[":
                    return content  # a batch answer: the caller parses it (vectorised) and checks its members
                return orjson.loads(content)
            except _TRANSIENT as e:
                if attempt == self.max_retries:
                    raise RpcUnavailable(f"{self.safe_url}: gave up after {attempt + 1} tries "
                                         f"({type(e).__name__}: {self._scrub(str(e))})") from None
                self.retries += 1
                self._sleep(attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _retryable(err: dict) -> bool:
        msg = str(err.get("message", "")).lower()
        if is_size_refusal(msg):
            return False
        return err.get("code") in (429, -32005) or any(w in msg for w in _RATE_WORDS)

    def call(self, method: str, params: list):
        for attempt in range(self.max_retries + 1):
            out = self._post(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            if isinstance(out, dict) and "error" in out:
                if self._retryable(out["error"]) and attempt < self.max_retries:
                    self.retries += 1
                    self._sleep(attempt)
                    continue
                raise RpcError(method, out["error"])
            result = out.get("result") if isinstance(out, dict) else None
            if result is None and (method in NEVER_NULL or not isinstance(out, dict) or "result" not in out):
                if attempt < self.max_retries:  # a null or malformed answer: asked again, never taken as empty
                    self.retries += 1
                    self._sleep(attempt)
                    continue
                raise BadAnswer(f"{self.safe_url}: {method} kept answering without a result")
            return result
        raise AssertionError("unreachable")

    def batch_raw(self, calls: list[tuple[str, list]]) -> bytes | list:
        """Like batch(), but a batch answer comes back as the raw JSON body (bytes) for vectorised parsing.  Its
        members may be errors: the caller checks while it parses (no second pass over the body) and hands such
        an answer to batch(calls, first=...), which retries rate limits and raises the rest."""
        body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
        out = self._post(body, raw=True)
        if isinstance(out, bytes):
            return out
        return self.batch(calls, first=out)

    def batch(self, calls: list[tuple[str, list]], first=None) -> list:
        """Results in order; the members that fail with a retryable error are retried (as a smaller batch)."""
        results: list = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(self.max_retries + 1):
            if first is not None:
                out, first = first, None
            else:
                body = orjson.dumps([{"jsonrpc": "2.0", "id": i, "method": calls[i][0], "params": calls[i][1]}
                                     for i in pending])
                out = self._post(body)
            if not isinstance(out, list):  # some nodes answer a whole batch with one error object
                err = out.get("error", {}) if isinstance(out, dict) else {}
                if attempt < self.max_retries:
                    self.retries += 1
                    self._sleep(attempt)
                    continue
                raise RpcError("batch", err)
            by_id = {item.get("id"): item for item in out if isinstance(item, dict)}
            retry = []
            bad = 0  # members missing from the answer, or answered without a result
            for i in pending:
                item = by_id.get(i)
                if item is None or ("error" in item and self._retryable(item["error"])):
                    bad += item is None
                    retry.append(i)
                elif "error" in item:
                    raise RpcError(calls[i][0], item["error"])
                elif item.get("result") is None and ("result" not in item or calls[i][0] in NEVER_NULL):
                    bad += 1
                    retry.append(i)
                else:
                    results[i] = item["result"]
            if not retry:
                return results
            if attempt == self.max_retries:
                if bad:
                    raise BadAnswer(f"{self.safe_url}: {bad} batch members kept coming back missing or null "
                                    f"({calls[retry[0]][0]})")
                raise RpcUnavailable(f"{self.safe_url}: {len(retry)} batch members kept failing")
            pending = retry
            self.retries += 1
            self._sleep(attempt)
        raise AssertionError("unreachable")


# A scheduled tick or a sensor asks the node with short timeouts and few retries (or the settings' max_retries if
# fewer): it must end well inside Dagster's default 60 s for an evaluation (worst case, two requests timing out on
# every try: ~32 s).  A run asks with the full budget (60 s, max_retries).
TICK_TIMEOUT = 5.0
TICK_RETRIES = 2


def tick_client(url: str, requests_per_second: float, max_retries: int) -> "JsonRpcClient":
    return JsonRpcClient(url, requests_per_second, min(max_retries, TICK_RETRIES), timeout=TICK_TIMEOUT)
