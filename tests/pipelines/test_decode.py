"""The vectorised decoder against web3's process_log, for every event in the catalogue."""
import random

import polars as pl
import pytest
from web3 import Web3

from devnet.chain_writer import encode_log
from models.events import EVENTS
from pipelines.ingest.decode import RAW_COLUMNS, decode_frame, type_bits

W3 = Web3()


def _abi(spec):
    inputs, groups = [], {}
    for f in spec.fields:
        if f.group is None:
            inputs.append({"name": f.name, "type": f.abi_type, "indexed": f.indexed})
        else:
            if f.group not in groups:
                groups[f.group] = {"name": f.group, "type": "tuple", "indexed": False, "components": []}
                inputs.append(groups[f.group])
            groups[f.group]["components"].append({"name": f.name[len(f.group) + 1:], "type": f.abi_type})
    return {"type": "event", "name": spec.name, "anonymous": False, "inputs": inputs}


def _value(abi_type, rng, edge):
    if abi_type == "address":
        return "0x" + rng.randbytes(20).hex()
    if abi_type == "bool":
        return rng.random() < 0.5
    if abi_type == "bytes32":
        return rng.randbytes(32)
    if abi_type == "string":
        return rng.choice(["ETH-USDC-PYTH", "", "BTC-WETH-LINK" * 5, "ünï"])
    bits = type_bits(abi_type)
    if abi_type.startswith("int"):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        # wider than 128 bits: the edges of what the Int128 fast path may take, and just past them
        wide = [-(2**127), -(2**127) - 1, 2**127 - 1, 2**127] if bits > 128 else []
        return rng.choice([lo, hi, -1, 0, 1, *wide]) if edge else rng.randint(lo, hi)
    hi = 2**bits - 1
    return rng.choice([0, hi, 2**127, 2**127 - 1, 2**63]) if edge and hi >= 2**127 else (
        rng.choice([0, hi]) if edge else rng.randint(0, hi))


def _logs(spec, n, seed):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ev = {f.name: _value(f.abi_type, rng, edge=i % 3 == 0) for f in spec.fields}
        topics, data = encode_log(spec, ev)
        t = ["0x" + x.hex() for x in topics] + [None] * (4 - len(topics))
        rows.append((100 + i, 1_700_000_000, 0, i, "0x" + "ab" * 32, "0x" + "11" * 20, "0x" + "cd" * 32,
                     *t, "0x" + data.hex()))
    return pl.DataFrame(rows, schema=RAW_COLUMNS, orient="row")


def _normalise(args, spec):
    out = {}
    for f in spec.fields:
        v = args[f.group][f.name[len(f.group) + 1:]] if f.group else args[f.name]
        if f.abi_type == "address":
            v = v.lower()
        elif f.abi_type == "bytes32":
            v = "0x" + v.hex()
        out[f.name] = v
    return out


def _ours(row, spec):
    out = {}
    for f in spec.fields:
        v = row[f.name]
        if f.abi_type not in ("address", "bytes32", "string", "bool"):
            v = int(v)
        out[f.name] = v
    return out


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: f"{s.name}-{s.variant or 'base'}")
def test_every_event_decodes_like_process_log(spec):
    raw = _logs(spec, 30, hash(spec.topic0) % 1000)
    tables, bad = decode_frame(raw)
    assert bad.height == 0, bad["reason"].to_list()[:3]
    ours = tables[spec.table].sort("log_index").to_dicts()
    contract = W3.eth.contract(abi=[_abi(spec)])
    event = getattr(contract.events, spec.name)()
    for row, r in zip(raw.iter_rows(named=True), ours):
        log = {"address": Web3.to_checksum_address(r["address"]), "blockHash": bytes.fromhex(row["block_hash"][2:]),
               "blockNumber": row["block_number"], "transactionHash": bytes.fromhex(row["tx_hash"][2:]),
               "transactionIndex": 0, "logIndex": row["log_index"],
               "topics": [bytes.fromhex(row[f"topic{i}"][2:]) for i in range(4) if row[f"topic{i}"]],
               "data": bytes.fromhex(row["data"][2:])}
        expected = _normalise(event.process_log(log)["args"], spec)
        assert _ours(r, spec) == expected
        assert r["abi_variant"] == spec.variant


def test_malformed_and_unknown_logs_are_quarantined_with_a_reason():
    spec = next(s for s in EVENTS if s.name == "Trade")
    raw = _logs(spec, 4, 1)
    short = raw[0].with_columns(pl.col("data").str.slice(0, 66))
    badpad = raw[1].with_columns(("0x" + pl.lit("ff" * 4) + pl.col("topic2").str.slice(10)).alias("topic2"))
    unknown = raw[2].with_columns(pl.lit("0x" + "99" * 32).alias("topic0"))
    tables, bad = decode_frame(pl.concat([short, badpad, unknown, raw[3]]))
    reasons = sorted(bad["reason"].to_list())
    assert len(reasons) == 3
    assert any("data bytes" in r for r in reasons) and any("padding" in r for r in reasons)
    assert "unknown topic0" in reasons
    assert tables["events_trade"].height == 1  # the good one still lands


def test_two_layouts_of_one_event_decode_in_chain_order():
    legacy = next(s for s in EVENTS if s.name == "UpdateParam" and s.variant == "legacy")
    current = next(s for s in EVENTS if s.name == "UpdateParam" and s.variant == "current")
    a, b = _logs(legacy, 3, 1), _logs(current, 3, 2)
    a = a.with_columns(pl.Series("block_number", [10, 30, 50]))
    b = b.with_columns(pl.Series("block_number", [20, 40, 60]))
    tables, _ = decode_frame(pl.concat([a, b]).sort("block_number"))
    assert tables["events_update_param"]["block_number"].to_list() == [10, 20, 30, 40, 50, 60]
