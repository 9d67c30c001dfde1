"""The JSON-RPC client's own transport (http.client) against a local HTTP server that records what it receives:
the URL's path, query and user info reach the node; a dropped connection and a 429 are retried on a fresh
connection; a 4xx is not retried; the key in the URL never shows in an error."""
import base64

import pytest

from pipelines.chain.rpc import JsonRpcClient, RpcUnavailable

from .local_node import LocalNode


class Node(LocalNode):
    def __init__(self, script: list[str]):
        self.script = list(script)  # what to do with each request: "ok", "drop", "429", "403"
        self.seen: list[tuple[str, str | None, dict]] = []
        super().__init__(self._answer)

    def _answer(self, handler, body):
        self.seen.append((handler.path, handler.headers.get("Authorization"), body))
        action = self.script.pop(0) if self.script else "ok"
        if action == "drop":
            return None
        if action in ("429", "403"):
            return int(action), None
        return 200, {"jsonrpc": "2.0", "id": body["id"], "result": "0x2a"}


@pytest.fixture
def node_factory():
    made = []

    def make(script=()):
        made.append(Node(list(script)))
        return made[-1]
    yield make
    for n in made:
        n.close()


def test_path_query_and_user_info_reach_the_node(node_factory):
    node = node_factory()
    client = JsonRpcClient(f"http://alice:s3cret@127.0.0.1:{node.port}/v2/KEY?chain=base")
    assert client.call("eth_blockNumber", []) == "0x2a"
    path, auth, body = node.seen[0]
    assert path == "/v2/KEY?chain=base"
    assert auth == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert body["method"] == "eth_blockNumber"


def test_dropped_connections_and_429_are_retried(node_factory):
    node = node_factory(["drop", "429", "drop", "ok"])
    client = JsonRpcClient(f"http://127.0.0.1:{node.port}/KEY", backoff=0.001, max_backoff=0.01, seed=1)
    assert client.call("eth_chainId", []) == "0x2a"
    assert client.retries == 3 and len(node.seen) == 4
    assert client.call("eth_chainId", []) == "0x2a"  # the connection made after the drops is reused


def test_a_refusal_is_not_retried_and_the_key_is_not_shown(node_factory):
    node = node_factory(["403"])
    client = JsonRpcClient(f"http://127.0.0.1:{node.port}/v2/SECRET-KEY", backoff=0.001)
    with pytest.raises(RpcUnavailable) as err:
        client.call("eth_chainId", [])
    assert "403" in str(err.value) and "SECRET-KEY" not in str(err.value)
    assert len(node.seen) == 1


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="http"):
        JsonRpcClient("ws://127.0.0.1:8545")
