"""A JSON-RPC proxy on 127.0.0.1 that injects faults in front of a real node (the only stand-in the tests use):
refuses eth_getLogs spans over `max_span` blocks, answers 429, stalls past the client's timeout, and drops
calls.  Faults are drawn from a seeded RNG; every request loop is bounded by the client's retries."""
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class FaultProxy:
    def __init__(self, upstream: str, max_span: int = 10, p429: float = 0.05, p_stall: float = 0.03,
                 p_drop: float = 0.1, stall_seconds: float = 1.5, seed: int = 1, strip_timestamps: bool = False):
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "refused_span": 0, "429": 0, "stall": 0, "drop": 0}
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
                for it in items:
                    if it.get("method") == "eth_getLogs":
                        f = it["params"][0]
                        if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > max_span:
                            proxy.counts["refused_span"] += 1
                            err = {"jsonrpc": "2.0", "id": it.get("id"),
                                   "error": {"code": -32600, "message": "block range too large"}}
                            out = [err] if isinstance(req, list) else err
                            return self._send(200, json.dumps(out).encode())
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

    def close(self):
        self.server.shutdown()
        self.server.server_close()
