"""SynFutures' Observer (a read-only lens contract, docs/protocol-rules.md): its view calls, and the comparison of the
replayed state with it at a block, as oyster-sdk's Comparator does.

Calls (Observer ABI, oyster-sdk src/abis/Observer.json): getAmm(address,uint32), getPearls(address,uint32,int24[]),
getPosition(address,uint32,address), getRanges(address,uint32,address,uint48[]).  eth_call at a past block
needs an archive node (a full node keeps recent state only; the devnet answers at its head): when the node cannot
serve the state at a block, the calls raise StateUnavailable and the check skips that block instead of failing.
"""
import re

from eth_abi import decode, encode
from eth_utils import keccak

from ..chain.rpc import JsonRpcClient, RpcError

AMM = "(uint32,uint32,uint8,int24,uint160,uint128,uint128,uint128,uint128,uint128,uint128,uint128,uint128,uint128,uint128,int128,int128,uint128,uint128)"
AMM_FIELDS = ("expiry", "timestamp", "status", "tick", "sqrt_px96", "liquidity", "total_liquidity", "total_short",
              "open_interests", "total_long", "involved_fund", "fee_index", "protocol_fee", "long_social_loss_index",
              "short_social_loss_index", "long_funding_index", "short_funding_index", "insurance_fund",
              "settlement_price")
PEARL = "(uint128,int128,uint24,int96,int96,uint128,uint128,int128)"
POSITION = "(int128,int128,uint128,uint128,int128)"
RANGE = "(uint128,uint128,uint96,uint160)"
CALLS = {
    "getAmm": (["address", "uint32"], [AMM]),
    "getPearls": (["address", "uint32", "int24[]"], [f"{PEARL}[]"]),
    "getPosition": (["address", "uint32", "address"], [POSITION]),
    "getRanges": (["address", "uint32", "address", "uint48[]"], [f"{RANGE}[]"]),
}


def calldata(name: str, *args) -> bytes:
    ins, _ = CALLS[name]
    return keccak(text=f"{name}({','.join(ins)})")[:4] + encode(ins, list(args))


def response(name: str, value) -> bytes:
    return encode(CALLS[name][1], [value])


# How nodes say they do not hold the state at a block: anvil ("BlockOutOfRangeError: block height is 265 but
# requested was 260"), geth ("missing trie node", "header not found", "historical state ... not available",
# "required historical state unavailable"), erigon ("state histories haven't been fully indexed"), nethermind
# ("... is pruned", "lowest height"), and providers' "archive" wording.
_NO_STATE = re.compile(r"block ?out ?of ?range|missing trie node|header not found|historical state|state histor|"
                       r"pruned|archive|state (is )?(not available|unavailable)|unknown block|block not found|"
                       r"lowest height|not available", re.IGNORECASE)


class StateUnavailable(RuntimeError):
    """The node cannot serve the state at this block (not an archive node, or past its recent-state window)."""

    def __init__(self, block: int, message: str):
        self.block = block
        self.message = message
        super().__init__(f"the node cannot serve state at block {block}: {message}")


def no_state(e: RpcError) -> bool:
    return bool(_NO_STATE.search(e.message))


class Observer:
    def __init__(self, client: JsonRpcClient, address: str):
        self.client = client
        self.address = address

    def _at(self, method: str, params: list, block: int):
        try:
            return self.client.call(method, params)
        except RpcError as e:
            if no_state(e):
                raise StateUnavailable(block, e.message[:200]) from None
            raise

    def deployed(self, block: int) -> bool:
        return self._at("eth_getCode", [self.address, hex(block)], block) not in ("0x", "0x0", None)

    def call(self, name: str, block: int, *args):
        data = "0x" + calldata(name, *args).hex()
        out = self._at("eth_call", [{"to": self.address, "data": data}, hex(block)], block)
        return decode(CALLS[name][1], bytes.fromhex(out[2:]))[0]


def queries(inst, expiry: int, max_traders: int = 50):
    """What is asked of the Observer for one pair: its initialised ticks, the traders with a position (up to
    max_traders) and each LP's ranges as [(rid, Range)] sorted by rid."""
    pair = inst.pairs[expiry]
    ticks = sorted(t for t, p in pair.pearls.items() if p.initialised)
    traders = sorted({t for (e, t) in inst.positions if e == expiry})[:max_traders]
    owners: dict = {}
    for (e, owner, rid), r in inst.ranges.items():
        if e == expiry:
            owners.setdefault(owner, []).append((rid, r))
    ranges = [(owner, sorted(items, key=lambda x: x[0])) for owner, items in sorted(owners.items())[:max_traders]]
    return ticks, traders, ranges


def compare(state, observer: Observer, block: int, max_traders: int = 50) -> tuple[list[tuple], int]:
    """Differences between the replayed state (a models.replay.ReplayState) and the Observer at `block`:
    [(instrument, expiry, what, field, replay, chain)], and the number of values compared.  Raises
    StateUnavailable when the node does not hold the state at `block` (a call that fails otherwise is a
    difference)."""
    diffs: list[tuple] = []
    n = 0

    def check(inst, expiry, what, fields, ours, theirs):
        nonlocal n
        for f, a, b in zip(fields, ours, theirs):
            n += 1
            if a != b:
                diffs.append((inst, expiry, what, f, str(a), str(b)))

    for addr, inst in sorted(state.instruments.items()):
        for expiry, pair in sorted(inst.pairs.items()):
            if pair.amm.status == 0:
                continue
            try:
                chain_amm = observer.call("getAmm", block, addr, expiry)
            except RpcError as e:
                diffs.append((addr, expiry, "getAmm", "*", "answered", f"call failed: {e.message[:80]}"))
                continue
            check(addr, expiry, "amm", AMM_FIELDS, [int(getattr(pair.amm, f)) for f in AMM_FIELDS], chain_amm)
            ticks, traders, ranges = queries(inst, expiry, max_traders)
            if ticks:
                try:
                    chain_pearls = observer.call("getPearls", block, addr, expiry, ticks)
                except RpcError as e:
                    diffs.append((addr, expiry, "getPearls", "*", "answered", f"call failed: {e.message[:80]}"))
                    chain_pearls = []
                for t, cp in zip(ticks, chain_pearls):
                    check(addr, expiry, f"pearl {t}", ("liquidity_gross", "liquidity_net", "nonce", "left", "taken",
                                                       "fee", "entry_social_loss_index", "entry_funding_index"),
                          pair.pearls[t].as_tuple(), cp)
            for trader in traders:
                try:
                    chain_pos = observer.call("getPosition", block, addr, expiry, trader)
                except RpcError as e:
                    diffs.append((addr, expiry, f"position {trader}", "*", "answered", f"call failed: {e.message[:80]}"))
                    continue
                check(addr, expiry, f"position {trader}", ("balance", "size", "entry_notional",
                                                           "entry_social_loss_index", "entry_funding_index"),
                      inst.positions[(expiry, trader)].as_tuple(), chain_pos)
            for owner, items in ranges:
                try:
                    chain_ranges = observer.call("getRanges", block, addr, expiry, owner, [rid for rid, _ in items])
                except RpcError as e:
                    diffs.append((addr, expiry, f"ranges {owner}", "*", "answered", f"call failed: {e.message[:80]}"))
                    continue
                for (rid, r), cr in zip(items, chain_ranges):
                    check(addr, expiry, f"range {owner}:{rid}", ("liquidity", "entry_fee_index", "balance",
                                                                 "sqrt_entry_px96"),
                          (r.liquidity, r.entry_fee_index, r.balance, r.sqrt_entry_px96), cr)
    return diffs, n
