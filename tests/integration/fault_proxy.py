"""A JSON-RPC proxy on 127.0.0.1 that injects faults in front of a real node (the only stand-in the tests use):
refuses eth_getLogs spans over `max_span` blocks, answers 429, stalls past the client's timeout, and drops
calls.  Faults are drawn from a seeded RNG; every request loop is bounded by the client's retries.

`fault` names a wrong answer, made with probability `p_fault` per request that it applies to (ANSWER_FAULTS),
or for good (NODE_FAULTS, a node behind by `lag` blocks); counts[fault] says how many were made:
"""
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

ANSWER_FAULTS = {
    "omit": "eth_getLogs: the logs of one block are left out",
    "out_of_range": "eth_getLogs: the range asked for is widened by 3 blocks each side",
    "repeat": "eth_getLogs: a log comes twice",
    "conflict": "eth_getLogs: a second, different log under a log's (block, log index)",
    "removed": "eth_getLogs: `removed: true` copies of logs (another branch's hash) are added",
    "foreign": "eth_getLogs: a log of an address not asked for",
    "wrong_hash": "eth_getLogs: a log carries another branch's block hash",
    "missing_member": "a batch answer lacks one of its members",
    "null_result": "eth_getLogs: a member answers null",
    "null_header": "eth_getBlockByNumber: a member answers null",
}
NODE_FAULTS = {
    "lagging": "answers behind its own head: eth_blockNumber is the real head, but the last `lag` blocks have "
               "no logs and no receipts yet (headers are there)",
    "behind": "eth_blockNumber is `lag` blocks behind, and blocks above it are unknown (null headers, no logs)",
}
FOREIGN = "0x" + "de" * 20


class FaultProxy:
    def __init__(self, upstream: str, max_span: int = 10, p429: float = 0.05, p_stall: float = 0.03,
                 p_drop: float = 0.1, stall_seconds: float = 1.5, seed: int = 1, strip_timestamps: bool = False,
                 fault: str | None = None, p_fault: float = 0.0, lag: int = 5):
        assert fault is None or fault in ANSWER_FAULTS or fault in NODE_FAULTS, fault
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "refused_span": 0, "429": 0, "stall": 0, "drop": 0, fault: 0}
        self.methods: dict[str, int] = {}  # JSON-RPC calls per method (batch members counted one by one)
        self.fault, self.p_fault, self.lag = fault, p_fault, lag
        self.enabled = True  # off: a plain pass-through (to land a clean start through the same proxy)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with proxy.lock:
                    proxy.counts["requests"] += 1
                    roll = proxy.rng.random()
                if roll < p429:
                    proxy.counts["429"] += 1
                    return self._send(429, b'{"error":"rate limited"}')
                if roll < p429 + p_drop:
                    proxy.counts["drop"] += 1
                    return self._send(503, b"upstream dropped")
                if roll < p429 + p_drop + p_stall:
                    proxy.counts["stall"] += 1
                    time.sleep(stall_seconds)
                req = json.loads(body)
                items = req if isinstance(req, list) else [req]
                with proxy.lock:
                    for it in items:
                        proxy.methods[it.get("method")] = proxy.methods.get(it.get("method"), 0) + 1
                for it in items:
                    if it.get("method") == "eth_getLogs":
                        f = it["params"][0]
                        if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > max_span:
                            proxy.counts["refused_span"] += 1
                            err = {"jsonrpc": "2.0", "id": it.get("id"),
                                   "error": {"code": -32600, "message": "block range too large"}}
                            out = [err] if isinstance(req, list) else err
                            return self._send(200, json.dumps(out).encode())
                if proxy.enabled and proxy.fault:
                    code, content = proxy._faulty(req)
                    return self._send(code, content)
                r = requests.post(proxy.upstream, data=body, headers={"Content-Type": "application/json"},
                                  timeout=60)
                content = r.content
                if strip_timestamps and b"blockTimestamp" in content:  # as public RPCs answer eth_getLogs
                    out = json.loads(content)
                    for item in out if isinstance(out, list) else [out]:
                        for log in item.get("result") or []:
                            if isinstance(log, dict):
                                log.pop("blockTimestamp", None)
                    content = json.dumps(out).encode()
                self._send(r.status_code, content)

            def _send(self, code, payload):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _post(self, req):
        return requests.post(self.upstream, json=req, timeout=60).json()

    def _roll(self) -> bool:
        with self.lock:
            return self.rng.random() < self.p_fault

    def _count(self):
        with self.lock:
            self.counts[self.fault] += 1

    def _faulty(self, req) -> tuple[int, bytes]:
        """Forward a request and make its answer wrong as `fault` says."""
        items = req if isinstance(req, list) else [req]
        f = self.fault
        if f in NODE_FAULTS:
            return 200, json.dumps(self._node_fault(req, items)).encode()
        hit = self._roll()
        widened = {}
        if hit and f == "out_of_range":  # real logs, from blocks next to the ones asked for
            for it in items:
                if it.get("method") == "eth_getLogs" and "fromBlock" in it["params"][0]:
                    flt = dict(it["params"][0])
                    widened[it["id"]] = flt
                    flt["fromBlock"] = hex(max(0, int(flt["fromBlock"], 16) - 3))
                    flt["toBlock"] = hex(int(flt["toBlock"], 16) + 3)
                    it["params"] = [flt]
        out = self._post(req)
        members = out if isinstance(out, list) else [out]
        if not hit or (f == "out_of_range" and not widened):
            return 200, json.dumps(out).encode()
        method = {it.get("id"): it.get("method") for it in items}
        logs = [m for m in members if method.get(m.get("id")) == "eth_getLogs" and m.get("result")]
        headers = [m for m in members if method.get(m.get("id")) == "eth_getBlockByNumber" and m.get("result")]
        done = f == "out_of_range"
        if f == "missing_member" and isinstance(out, list) and out:
            out.pop(self.rng.randrange(len(out)))
            done = True
        elif f == "null_result":
            targets = [m for m in members if method.get(m.get("id")) == "eth_getLogs" and "result" in m]
            if targets:
                self.rng.choice(targets)["result"] = None
                done = True
        elif f == "null_header" and headers:
            self.rng.choice(headers)["result"] = None
            done = True
        elif logs:
            m = self.rng.choice(logs)
            res = m["result"]
            i = self.rng.randrange(len(res))
            if f == "omit":
                gone = res[i]["blockNumber"]
                m["result"] = [lg for lg in res if lg["blockNumber"] != gone]
            elif f == "repeat":
                res.insert(i, dict(res[i]))
            elif f == "conflict":
                res.insert(i + 1, {**res[i], "data": "0x" + "00" * 64})
            elif f == "removed":
                for lg in res[i:i + 3]:
                    res.append({**lg, "removed": True, "blockHash": "0x" + "ee" * 32})
            elif f == "foreign":
                res[i] = {**res[i], "address": FOREIGN}
            elif f == "wrong_hash":
                res[i] = {**res[i], "blockHash": "0x" + "ee" * 32}
            done = True
        if done:
            self._count()
        return 200, json.dumps(out).encode()

    def _node_fault(self, req, items):
        """A node `lag` blocks behind: 'lagging' hides the newest blocks' logs and receipts behind a true head,
        'behind' answers as the chain was `lag` blocks ago."""
        head = int(requests.post(self.upstream, json={"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber",
                                                      "params": []}, timeout=60).json()["result"], 16)
        known = head - self.lag  # the newest block whose logs (lagging) or header (behind) the node has
        out = self._post(req)
        members = out if isinstance(out, list) else [out]
        method = {it.get("id"): (it.get("method"), it.get("params")) for it in items}
        for m in members:
            name, params = method.get(m.get("id"), (None, None))
            if name == "eth_blockNumber" and self.fault == "behind":
                m["result"] = hex(known)
                self._count()
            elif name == "eth_getLogs" and isinstance(m.get("result"), list):
                kept = [lg for lg in m["result"] if int(lg["blockNumber"], 16) <= known]
                if len(kept) < len(m["result"]):
                    self._count()
                m["result"] = kept
            elif name in ("eth_getBlockReceipts", "eth_getBlockByNumber") and params:
                b = int(params[0], 16) if str(params[0]).startswith("0x") else head
                if b > known and (name == "eth_getBlockReceipts" or self.fault == "behind"):
                    m["result"] = None
                    self._count()
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()
