"""The devnet's Observer: the ResponseTable contract at the Observer address, holding the answers the real
Observer would give at the head, computed from the simulator's state (the same calls pipelines.state.observer makes)."""
import requests
from eth_utils import keccak

from pipelines.state.observer import AMM_FIELDS, calldata, queries, response

from .anvil import rpc

OBSERVER_ADDR = "0xdb166a6e454d2a273cd50ccd6420703564b2a830"  # Base's Observer (docs/protocol-rules.md)


def answers(sim, max_traders: int = 50) -> dict[bytes, bytes]:
    """{calldata: ABI-encoded answer} for the simulator's final state."""
    out = {}
    for m in sim.markets:
        inst = m.inst
        addr = inst.address
        for expiry, pair in inst.pairs.items():
            if pair.amm.status == 0:
                continue
            out[calldata("getAmm", addr, expiry)] = response("getAmm", tuple(int(getattr(pair.amm, f))
                                                                             for f in AMM_FIELDS))
            ticks, traders, ranges = queries(inst, expiry, max_traders)
            if ticks:
                out[calldata("getPearls", addr, expiry, ticks)] = response(
                    "getPearls", [pair.pearls[t].as_tuple() for t in ticks])
            for trader in traders:
                out[calldata("getPosition", addr, expiry, trader)] = response(
                    "getPosition", inst.positions[(expiry, trader)].as_tuple())
            for owner, items in ranges:
                out[calldata("getRanges", addr, expiry, owner, [rid for rid, _ in items])] = response(
                    "getRanges", [(r.liquidity, r.entry_fee_index, r.balance, r.sqrt_entry_px96) for _, r in items])
    return out


def install(url: str, code: str, sim) -> int:
    """Put the ResponseTable at the Observer address and store every answer; returns how many."""
    rpc(url, "anvil_setCode", [OBSERVER_ADDR, code])
    table = answers(sim)
    session = requests.Session()
    calls = []
    for data, answer in table.items():
        key = int.from_bytes(keccak(data), "big")
        calls.append((key, len(answer)))
        for i in range(0, len(answer), 32):
            calls.append((key + 1 + i // 32, int.from_bytes(answer[i:i + 32].ljust(32, b"\0"), "big")))
    for i in range(0, len(calls), 500):
        batch = [{"jsonrpc": "2.0", "id": j, "method": "anvil_setStorageAt",
                  "params": [OBSERVER_ADDR, hex(slot % 2**256), "0x" + value.to_bytes(32, "big").hex()]}
                 for j, (slot, value) in enumerate(calls[i:i + 500])]
        r = session.post(url, json=batch, timeout=120)
        r.raise_for_status()
        if any("error" in x for x in r.json()):
            raise RuntimeError("anvil_setStorageAt failed")
    return len(table)
