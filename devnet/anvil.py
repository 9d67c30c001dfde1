"""Start and stop a local anvil node (npm @foundry-rs/anvil) on 127.0.0.1 and a free port.

The real binary is started directly: npm's .bin/anvil is a Node wrapper that can leave the node running when it
is stopped.
"""
import os
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ANVIL_BIN = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


class AnvilError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list | None = None, session: requests.Session | None = None,
        timeout: float = 120):
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    r = (session or requests).post(url, json=body, timeout=timeout)
    r.raise_for_status()
    out = r.json()
    if "error" in out:
        raise AnvilError(f"{method}: {out['error']}")
    return out["result"]


class Anvil:
    """A running anvil; use as a context manager.  `load_state` is a JSON state file from `dump_state`."""

    def __init__(self, load_state: Path | None = None, port: int | None = None, block_gas_limit: int = 10**12):
        if not ANVIL_BIN.exists():
            raise AnvilError(f"anvil not found at {ANVIL_BIN}: run `npm ci` in {ROOT} (make setup does)")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
                "--gas-limit", str(block_gas_limit), "--code-size-limit", "100000", "--timestamp", "1780000000",
                "--no-request-size-limit"]
        if load_state:
            args += ["--load-state", str(load_state)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while True:
            try:
                rpc(self.url, "eth_chainId", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):
                if self.proc.poll() is not None:
                    raise AnvilError(f"anvil exited: {self.proc.stderr.read().decode()[-2000:]}")
                if time.time() > deadline:
                    self.stop()
                    raise AnvilError("anvil did not answer within 120 s")
                time.sleep(0.05)

    def call(self, method: str, params: list | None = None):
        return rpc(self.url, method, params)

    def dump_state(self, path: Path) -> None:
        """anvil_dumpState answers hex-encoded gzip; --load-state wants plain JSON."""
        import gzip
        blob = self.call("anvil_dumpState")
        data = gzip.decompress(bytes.fromhex(blob[2:]))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
