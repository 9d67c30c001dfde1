"""The chain resource: a JSON-RPC node, the embedded devnet (anvil started with the kept history for the duration
of a step, so the main job runs with no node of the user's own), or cryo Parquet dumps.  Its setup, the earliest
hook of a run, checks the node's chain id against the settings (pipelines.core.preflight)."""
from contextlib import closing, contextmanager

import dagster as dg
from pydantic import PrivateAttr

from ..core.preflight import check_node, devnet_head, head_warnings
from ..core.resources import OysterConfig, _refuse
from .rpc import JsonRpcClient
from .sources import ParquetLogSource, RpcLogSource


class ChainSource(dg.ConfigurableResource):
    config: dg.ResourceDependency[OysterConfig]
    parquet_dir: str = ""  # read cryo-style Parquet log dumps instead of a node
    _checked: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            for w in self.preflight():
                context.log.warning(w)
        except Exception as e:  # noqa: BLE001 - a refusal, or a node that cannot be reached (masked messages)
            _refuse(context, e)

    def preflight(self) -> list[str]:
        """The node is the settings' chain (eth_chainId); the warnings about start block and confirmations."""
        s = self.config.settings()
        if self.parquet_dir:
            return []
        if s.is_devnet:  # anvil's chain id is the settings' (checked on load); the head is the history's
            head = devnet_head(s)
            self._checked = True
            return head_warnings(s, head) if head is not None else []
        with closing(self._rpc(s.rpc_url, s)) as src:
            facts = check_node(s, src.client)
        self._checked = True
        return facts.warnings

    @contextmanager
    def open(self):
        s = self.config.settings()
        if self.parquet_dir:
            yield ParquetLogSource(self.parquet_dir)
        elif s.is_devnet:
            from devnet.anvil import Anvil
            from devnet.build import build
            hist = build(s.devnet_size, layout=s.devnet_layout)
            with Anvil(load_state=hist / "state.json") as node, closing(self._rpc(node.url, s)) as src:
                yield src
        else:
            if not self._checked:  # opened outside a run: check the node first
                self.preflight()
            with closing(self._rpc(s.rpc_url, s)) as src:
                yield src

    @staticmethod
    def _rpc(url: str, s) -> RpcLogSource:
        return RpcLogSource(JsonRpcClient(url, s.requests_per_second, s.max_retries), s.max_block_span,
                            s.spans_per_request, s.requests_in_flight, verify_depth=s.verify_depth)
