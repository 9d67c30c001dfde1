"""Write protocol events to anvil as real logs: ABI-encode each event from models/events.py, route the logs of
one transaction through the LogRouter, and mine blocks at chosen timestamps."""
import json
import subprocess

import requests
from eth_abi import encode

from models.events import EventSpec, spec_of

from .anvil import ROOT, rpc

ROUTER = "0x00000000000000000000000000000000000fa11e"
SENDER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil's first dev account (unlocked)
_CODE_CACHE = ROOT / "data" / "devnet" / "bytecode.json"


def bytecode() -> dict:
    """Deployed bytecode of the emitter contracts, compiled offline with solcjs and cached."""
    src = ROOT / "devnet" / "contracts" / "Emitters.sol"
    if _CODE_CACHE.exists() and _CODE_CACHE.stat().st_mtime >= src.stat().st_mtime:
        return json.loads(_CODE_CACHE.read_text())
    out = subprocess.run(["node", str(ROOT / "devnet" / "contracts" / "compile.cjs")], capture_output=True,
                         text=True, check=True)
    _CODE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    _CODE_CACHE.write_text(out.stdout)
    return json.loads(out.stdout)


def _word(typ: str, value) -> bytes:
    return encode([typ], [value])


def encode_log(spec: EventSpec, ev: dict) -> tuple[list[bytes], bytes]:
    """(topics, data) exactly as the contract's `emit` would produce them."""
    topics = [bytes.fromhex(spec.topic0[2:])]
    for f in spec.indexed:
        topics.append(_word(f.abi_type, ev[f.name]))
    data_fields = spec.data_fields
    data = encode([f.abi_type for f in data_fields], [ev[f.name] for f in data_fields]) if data_fields else b""
    return topics, data


def emitter_payload(topics: list[bytes], data: bytes) -> bytes:
    return bytes([len(topics)]) + b"".join(topics) + data


class ChainWriter:
    """Buffers transactions of logs and mines them into blocks on anvil."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.nonce: int | None = None  # assigned here: concurrent sends must not race for the same nonce

    def install(self, addresses: list[str]) -> None:
        code = bytecode()
        rpc(self.url, "anvil_setCode", [ROUTER, code["LogRouter"]], self.session)
        for a in addresses:
            rpc(self.url, "anvil_setCode", [a, code["LogEmitter"]], self.session)
        rpc(self.url, "evm_setAutomine", [False], self.session)

    @staticmethod
    def tx_calldata(logs: list[tuple[str, dict]]) -> str:
        """logs: [(emitting address, event dict with "event")]."""
        parts = []
        for address, ev in logs:
            spec = spec_of(ev)
            payload = emitter_payload(*encode_log(spec, ev))
            parts.append(bytes.fromhex(address[2:]) + len(payload).to_bytes(2, "big") + payload)
        return "0x" + b"".join(parts).hex()

    def mine_block(self, txs: list[list[tuple[str, dict]]], timestamp: int) -> None:
        """Send every tx of the block (one JSON-RPC batch), then mine it at `timestamp`."""
        if txs:
            if self.nonce is None:
                self.nonce = int(rpc(self.url, "eth_getTransactionCount", [SENDER, "pending"], self.session), 16)
            batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction",
                      "params": [{"from": SENDER, "to": ROUTER, "data": self.tx_calldata(logs),
                                  "gas": hex(2_000_000 + 60_000 * len(logs)), "nonce": hex(self.nonce + i)}]}
                     for i, logs in enumerate(txs)]
            self.nonce += len(txs)
            r = self.session.post(self.url, json=batch, timeout=600)
            r.raise_for_status()
            for res in r.json():
                if "error" in res:
                    raise RuntimeError(f"eth_sendTransaction failed: {res['error']}")
        rpc(self.url, "evm_mine", [timestamp], self.session)
