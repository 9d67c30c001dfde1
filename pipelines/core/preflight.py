"""Checks at the start of every run, before any step: the node is the chain the settings are for, and warnings
for settings that are legal but surprising against this node (a start block past the head, more confirmations
than blocks).

A refusal is a SettingsRefused whose message is one line: what the settings say, what the node answers, and what
to do.  The RPC URL only appears masked.
"""
import json
from dataclasses import dataclass, field

import yaml

from .config import DEVNET_CHAIN_ID, ROOT, ConfigError, Settings


class SettingsRefused(ConfigError):
    """The settings do not fit the node (or the warehouse): the run stops before any work."""


@dataclass
class NodeFacts:
    chain_id: int
    head: int
    warnings: list[str] = field(default_factory=list)


def _config_for_chain_id(chain_id: int) -> str | None:
    """The shipped config/<chain>.yaml whose chain_id is `chain_id`, if any."""
    for f in sorted((ROOT / "config").glob("*.yaml")):
        try:
            raw = yaml.safe_load(f.read_text()) or {}
        except yaml.YAMLError:
            continue
        if isinstance(raw, dict) and raw.get("chain_id") == chain_id:
            return f.stem
    return None


def check_chain_id(settings: Settings, node_chain_id: int) -> None:
    """Refuse when the node is not the settings' chain.  Devnet settings (OYSTER_CHAIN unset) against a node that
    is not a devnet get their own message: set OYSTER_CHAIN."""
    if node_chain_id == settings.chain_id:
        return
    where = settings.safe_rpc_url
    known = _config_for_chain_id(node_chain_id)
    hint = f"OYSTER_CHAIN={known}" if known else "OYSTER_CHAIN=<name> with config/<name>.yaml (or OYSTER_CONFIG_FILE)"
    if settings.chain == "devnet" and settings.origin.get("chain") != "OYSTER_CHAIN" and \
            node_chain_id != DEVNET_CHAIN_ID:
        raise SettingsRefused(
            f"the node at {where} is chain {node_chain_id}, but OYSTER_CHAIN is not set, so the devnet's settings "
            f"(chain_id {DEVNET_CHAIN_ID}, its contract addresses and start block) were loaded: set {hint}")
    raise SettingsRefused(
        f"bad setting chain_id = {settings.chain_id} (from {settings.origin.get('chain_id', 'default')}): the node "
        f"at {where} answers eth_chainId {node_chain_id}; point rpc_url at a chain {settings.chain_id} node or set "
        f"{hint}")


def head_warnings(settings: Settings, head: int) -> list[str]:
    out = []
    if settings.confirmations > head:
        out.append(f"confirmations = {settings.confirmations} is more than the node's head block {head}: "
                   f"nothing is old enough to ingest")
    target = head - settings.confirmations
    if settings.start_block > target:
        out.append(f"start_block = {settings.start_block} is past the node's head {head}"
                   + (f" less {settings.confirmations} confirmations" if settings.confirmations else "")
                   + ": this run ingests no block (is start_block for another chain?)")
    return out


def check_node(settings: Settings, client) -> NodeFacts:
    """eth_chainId against the settings' chain_id, and the head for the warnings.  `client` is a JsonRpcClient."""
    chain_id = int(client.call("eth_chainId", []), 16)
    check_chain_id(settings, chain_id)
    head = int(client.call("eth_blockNumber", []), 16)
    return NodeFacts(chain_id, head, head_warnings(settings, head))


def devnet_head(settings: Settings) -> int | None:
    """The embedded devnet's head, from its kept history's meta.json (None before the history is built)."""
    from devnet.build import history_dir
    meta = history_dir(settings.devnet_size, layout=settings.devnet_layout) / "meta.json"
    if not meta.exists():
        return None
    return int(json.loads(meta.read_text())["head"])
