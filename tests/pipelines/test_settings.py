"""Settings: one validated model (every bad value refused in one line naming it), RPC URLs parsed without losing a
character and masked, the node's chain id checked, and a warehouse that knows what it holds."""
import base64
import shutil
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.chain.rpc import JsonRpcClient, RpcUnavailable
from pipelines.core import warehouse_identity
from pipelines.core.config import ROOT, ConfigError, load_settings
from pipelines.core.preflight import SettingsRefused, check_chain_id, check_node, head_warnings
from pipelines.core.secrets import mask_url, parse_rpc_url, scrub
from pipelines.core.store import writer

from .local_node import LocalNode

BASE = {"OYSTER_CHAIN": "base", "OYSTER_RPC_URL": "https://node.example/v2/KEY"}


def refused(env=None, path=None) -> str:
    with pytest.raises(ConfigError) as e:
        load_settings(path, env=env or {})
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


# ---------------------------------------------------------------- bad settings: one line naming each

@pytest.mark.parametrize("var,value,words", [
    ("OYSTER_REORG_WINDOW", "-5", ["reorg_window = '-5'", "OYSTER_REORG_WINDOW", "from 1 to"]),
    ("OYSTER_MAX_RETRIES", "-1", ["max_retries = '-1'", "from 0 to 100"]),
    ("OYSTER_START_BLOCK", "ten", ["start_block = 'ten'", "whole number"]),
    ("OYSTER_CONFIRMATIONS", "-1", ["confirmations", "from 0"]),
    ("OYSTER_MAX_BLOCK_SPAN", "0", ["max_block_span = '0'", "from 1"]),
    ("OYSTER_REQUESTS_PER_SECOND", "-2", ["requests_per_second = '-2'", "a number >= 0"]),
    ("OYSTER_REQUESTS_PER_SECOND", "nan", ["requests_per_second", "a number >= 0"]),
    ("OYSTER_SPANS_PER_REQUEST", "0", ["spans_per_request", "from 1 to 1,000"]),
    ("OYSTER_REQUESTS_IN_FLIGHT", "1000", ["requests_in_flight", "from 1 to 64"]),
    ("OYSTER_DEVNET_SIZE", "huge", ["devnet_size = 'huge'", "small, default, medium, large"]),
    ("OYSTER_GATE", "0x1234", ["gate = '0x1234'", "20-byte hex address"]),
    ("OYSTER_OBSERVER", "nope", ["observer = 'nope'", "or '' for none"]),
    ("OYSTER_OBSERVER_SAMPLES", "0", ["observer_samples", "from 1"]),
    ("OYSTER_CHAIN_ID", "1", ["chain_id = 1", "31337 with rpc_url 'devnet'"]),
    ("OYSTER_CHAIN", "Base!", ["chain = 'Base!'", "lowercase"]),
    ("OYSTER_RPC_URL", "ftp://u:SECRETPW@host/KEYPATH", ["rpc_url = 'ftp://***@host/***'", "http:// or https://"]),
    ("OYSTER_RPC_URL", "host:8545/KEYPATH", ["rpc_url", "no '://'"]),
    ("OYSTER_DEVNET_LAYOUT", "newest", ["devnet_layout = 'newest'", "legacy, current"]),
    ("OYSTER_ORDER_SPACING", "3", ["order_spacing = '3'", "5 (Base, Blast) or 1"]),
    ("OYSTER_ORDER_SPACING", "1", ["order_spacing = 1", "5 for the legacy devnet layout"]),
    ("OYSTER_BACKFILL_PARTITION_BLOCKS", "5", ["backfill_partition_blocks = '5'", "from 10 to 100,000,000"]),
    ("OYSTER_BACKFILL_PARTITION_BLOCKS", "1e5", ["backfill_partition_blocks = '1e5'", "whole number"]),
])
def test_each_bad_variable_is_refused_in_one_line_naming_it(var, value, words):
    msg = refused({var: value})
    assert msg.startswith("bad setting ")
    for w in words:
        assert w in msg, msg
    assert "SECRETPW" not in msg and "KEYPATH" not in msg


def _file(tmp_path, text: str) -> Path:
    devnet = (ROOT / "config" / "devnet.yaml").read_text()
    f = tmp_path / "s.yaml"
    f.write_text(devnet + text)
    return f


@pytest.mark.parametrize("extra,words", [
    ("reorg_window: -5\n", ["reorg_window = -5", "(from s.yaml)", "from 1 to"]),
    ("max_retries: -1\n", ["max_retries = -1", "from 0 to 100"]),
    ("max_retries: true\n", ["max_retries = True", "whole number"]),
    ("start_block: 1.5\n", ["start_block = 1.5", "whole number"]),
    ("quote_decimals:\n  \"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913\": -6\n",
     ["quote_decimals.0x833589fcd6edb6e08f4c7c32d4f71b54bda02913 = -6", "from 0 to 18"]),
    ("quote_decimals:\n  \"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913\": 19\n", ["from 0 to 18"]),
    ("start_blok: 5\n", ["start_blok", "unknown setting"]),
    ("markets:\n  LINK: \"0x12\"\n", ["markets.LINK = '0x12'", "20-byte hex"]),
    ("rpc_url: ${UNSET_VARIABLE_FOR_TEST}\n", ["rpc_url", "${UNSET_VARIABLE_FOR_TEST}", "not set"]),
    ("rpc_url: http://u:${UNSET_VARIABLE_FOR_TEST}@h/\n", ["rpc_url", "${UNSET_VARIABLE_FOR_TEST}", "not set"]),
    ("gate: ${lower-case}\n", ["gate", "${NAME}"]),
])
def test_each_bad_value_in_a_file_is_refused_in_one_line_naming_it(tmp_path, extra, words):
    msg = refused(path=_file(tmp_path, extra))
    for w in words:
        assert w in msg, msg


def test_an_unset_reference_is_refused_even_when_the_variable_overrides_the_setting(tmp_path):
    # a file naming a variable that is not set is a mistake whatever overrides it
    msg = refused({"OYSTER_RPC_URL": "http://127.0.0.1:8545"}, _file(tmp_path, "rpc_url: ${UNSET_VARIABLE_FOR_TEST}\n"))
    assert "UNSET_VARIABLE_FOR_TEST" in msg
    s = load_settings(_file(tmp_path, "rpc_url: http://127.0.0.1:${PORT_FOR_TEST}/x\n"), env={"PORT_FOR_TEST": "9"})
    assert s.rpc_url == "http://127.0.0.1:9/x"


def test_base_without_a_url_names_the_variable_to_set():
    msg = refused({"OYSTER_CHAIN": "base"})
    assert "OYSTER_RPC_URL" in msg and "not set" in msg
    assert "no settings file" in refused({"OYSTER_CHAIN": "basee"})


def test_a_typo_in_a_variable_is_warned_about():
    s = load_settings(env={"OYSTER_START_BLOK": "5"})
    assert any("OYSTER_START_BLOK" in w for w in s.warnings)
    assert not load_settings(env={"OYSTER_START_BLOCK": "5"}).warnings


def test_the_backfill_partition_size_is_per_chain_and_can_be_overridden():
    # real chains: 100,000 blocks a partition (~2.3 days of 2 s blocks); the devnets: 50 (several partitions)
    base = load_settings(env=BASE)
    assert (base.backfill_partition_blocks, base.origin["backfill_partition_blocks"]) == (100_000, "base.yaml")
    devnet = load_settings(env={})
    assert (devnet.backfill_partition_blocks, devnet.origin["backfill_partition_blocks"]) == (50, "devnet.yaml")
    assert load_settings(env={"OYSTER_CHAIN": "devnet-current"}).backfill_partition_blocks == 50
    s = load_settings(env={**BASE, "OYSTER_BACKFILL_PARTITION_BLOCKS": "250_000"})
    assert (s.backfill_partition_blocks, s.origin["backfill_partition_blocks"]) == (
        250_000, "OYSTER_BACKFILL_PARTITION_BLOCKS")


def test_environment_overrides_the_file_and_says_where_each_setting_came_from():
    s = load_settings(env={**BASE, "OYSTER_CONFIRMATIONS": "3", "OYSTER_MAX_RETRIES": "2",
                           "OYSTER_REORG_WINDOW": "10", "OYSTER_REQUESTS_PER_SECOND": "2.5"})
    assert (s.confirmations, s.max_retries, s.reorg_window, s.requests_per_second) == (3, 2, 10, 2.5)
    assert s.origin["confirmations"] == "OYSTER_CONFIRMATIONS" and s.origin["gate"] == "base.yaml"


# ---------------------------------------------------------------- the warehouse file: per chain, per devnet size

def test_the_default_warehouse_is_per_chain_and_per_devnet_size():
    assert Path(load_settings(env={}).duckdb_path) == ROOT / "data" / "devnet-default" / "oyster.duckdb"
    assert Path(load_settings(env={"OYSTER_DEVNET_SIZE": "small"}).duckdb_path) == \
        ROOT / "data" / "devnet-small" / "oyster.duckdb"
    assert Path(load_settings(env=BASE).duckdb_path) == ROOT / "data" / "base" / "oyster.duckdb"
    assert load_settings(env={**BASE, "OYSTER_DUCKDB_PATH": "/tmp/x.duckdb"}).duckdb_path == "/tmp/x.duckdb"
    assert Path(load_settings(env={"OYSTER_CHAIN": "devnet-current"}).duckdb_path) == \
        ROOT / "data" / "devnet-default-current" / "oyster.duckdb"


def test_variables_a_settings_file_refers_to_are_not_taken_for_typos(tmp_path):
    f = tmp_path / "chain.yaml"
    f.write_text((ROOT / "config" / "base.yaml").read_text().replace('"0xB63902d38738e353f3f52AdD203C418A0bFEa172"',
                                                                    "${OYSTER_CONFIG_ADDRESS}"))
    s = load_settings(f, env={"OYSTER_RPC_URL": "https://h.io/k", "OYSTER_CONFIG_ADDRESS": "0x" + "22" * 20})
    assert s.config == "0x" + "22" * 20 and not s.warnings


# ---------------------------------------------------------------- RPC URLs: every character kept, always masked

SHAPES = {  # url -> (host, port, username, password, request target)
    "http://user:PASSA#PASSB@host.example/": ("host.example", None, "user", "PASSA#PASSB", "/"),
    "https://user:PASS@WORD@host.example:8443/v2": ("host.example", 8443, "user", "PASS@WORD", "/v2"),
    "http://user:PA/SS?WD@127.0.0.1:8545": ("127.0.0.1", 8545, "user", "PA/SS?WD", "/"),
    "http://us%40er:PA%23SS%2FWD@h.io/k%20ey": ("h.io", None, "us@er", "PA#SS/WD", "/k%20ey"),
    "http://user:PA SS@h.io/KEY A?q=B C": ("h.io", None, "user", "PA SS", "/KEY%20A?q=B%20C"),
    "http://user:pässwörd@h.io/clé": ("h.io", None, "user", "pässwörd", "/cl%C3%A9"),
    "https://h.io/v2/KEY#PART?x=1": ("h.io", None, "", None, "/v2/KEY%23PART?x=1"),
    "https://h.io/v2?email=a@b.com": ("h.io", None, "", None, "/v2?email=a@b.com"),
    "https://h.io:8545/v2?email=a@b.com": ("h.io", 8545, "", None, "/v2?email=a@b.com"),
    "https://APIKEY@h.io": ("h.io", None, "APIKEY", None, "/"),
    "http://[::1]:8545/KEY": ("[::1]", 8545, "", None, "/KEY"),
}


@pytest.mark.parametrize("url", list(SHAPES))
def test_url_parts_keep_every_character(url):
    host, port, user, password, target = SHAPES[url]
    u = parse_rpc_url(url)
    assert (u.host, u.port, u.username, u.password, u.target) == (host, port, user, password, target)
    masked = mask_url(url)
    for secret in (user, password, target.strip("/")):
        if secret and len(secret) > 2:
            assert secret not in masked, masked
    assert masked.startswith(url.split("://")[0] + "://") and host in masked


def test_a_very_long_secret_is_masked_and_scrubbed():
    key = "K" * 5000
    url = f"https://user:{key}@h.io/{key}?k={key}"
    u = parse_rpc_url(url)
    assert u.password == key and mask_url(url) == "https://***@h.io/***"
    text = f"failed: {url} / {u.target} / {u.authorization} / {key}"
    assert "KKK" not in scrub(text, url)


def test_scrub_removes_every_form_of_a_secret():
    url = "http://us%40er:PA%23SS WD€@h.io/v2/KE Y?apikey=QKEY"
    u = parse_rpc_url(url)
    forms = ["PA%23SS WD€", "PA#SS WD€", "PA%23SS%20WD%E2%82%AC", u.authorization.split()[1], "v2/KE Y", "KE%20Y",
             "QKEY", "us@er"]
    out = scrub(" | ".join(forms), url)
    for f in forms:
        assert f not in out, out


def test_the_client_sends_the_whole_password_and_path():
    seen = []

    def answer(handler, body):
        seen.append((handler.headers.get("Authorization"), handler.path))
        return 200, {"jsonrpc": "2.0", "id": body["id"], "result": "0x7a69"}

    node = LocalNode(answer)
    try:
        port = node.port
        url = f"http://user:PASSA#PASSB@127.0.0.1:{port}/v2/KE Y#X?k=é"
        assert JsonRpcClient(url).call("eth_chainId", []) == "0x7a69"
    finally:
        node.close()
    auth, path = seen[0]
    assert base64.b64decode(auth.split()[1]).decode() == "user:PASSA#PASSB"
    assert path == "/v2/KE%20Y%23X?k=%C3%A9"


def test_client_errors_name_no_secret():
    def answer(handler, body):
        return 401, {"error": "unauthorized"}

    node = LocalNode(answer)
    try:
        url = f"http://user:PASSA#PASSB@127.0.0.1:{node.port}/KEYPATH"
        with pytest.raises(RpcUnavailable) as e:
            JsonRpcClient(url, max_retries=0).call("eth_chainId", [])
    finally:
        node.close()
    assert "401" in str(e.value) and "PASS" not in str(e.value) and "KEYPATH" not in str(e.value)
    with pytest.raises(ValueError, match="max_retries"):
        JsonRpcClient("http://127.0.0.1:1", max_retries=-1)


# ---------------------------------------------------------------- the node: its chain id, and surprising settings

def _node(chain_id: int, head: int = 100):
    def answer(handler, body):
        result = {"eth_chainId": hex(chain_id), "eth_blockNumber": hex(head)}[body["method"]]
        return 200, {"jsonrpc": "2.0", "id": body["id"], "result": result}
    return LocalNode(answer)


def test_devnet_settings_against_another_chain_say_to_set_oyster_chain():
    node = _node(8453)
    try:
        s = load_settings(env={"OYSTER_RPC_URL": node.url + "/SECRETKEY"})  # OYSTER_CHAIN not set
        with pytest.raises(SettingsRefused) as e:
            check_node(s, JsonRpcClient(s.rpc_url))
    finally:
        node.close()
    msg = str(e.value)
    assert "OYSTER_CHAIN is not set" in msg and "set OYSTER_CHAIN=base" in msg and "8453" in msg
    assert "SECRETKEY" not in msg and "\n" not in msg


def test_a_chain_id_that_is_not_the_nodes_is_refused():
    s = load_settings(env=BASE)
    check_chain_id(s, 8453)
    with pytest.raises(SettingsRefused, match=r"bad setting chain_id = 8453 \(from base.yaml\).*eth_chainId 1;"):
        check_chain_id(s, 1)
    with pytest.raises(SettingsRefused, match="OYSTER_CHAIN=devnet"):  # names the shipped file of that id
        check_chain_id(s, 31337)


def test_surprising_settings_against_the_head_are_warned_about():
    node = _node(31337, head=265)
    try:
        s = load_settings(env={"OYSTER_RPC_URL": node.url, "OYSTER_START_BLOCK": "100000",
                               "OYSTER_CONFIRMATIONS": "300"})
        warnings = check_node(s, JsonRpcClient(s.rpc_url)).warnings
    finally:
        node.close()
    assert any("start_block = 100000 is past the node's head 265" in w for w in warnings)
    assert any("confirmations = 300 is more than the node's head block 265" in w for w in warnings)
    assert head_warnings(load_settings(env={}), 265) == []


# ---------------------------------------------------------------- the warehouse's identity

def _ident(path, env):
    s = load_settings(env={**env, "OYSTER_DUCKDB_PATH": str(path)})
    with writer(s.duckdb_path) as con:
        return warehouse_identity.check(con, s, s.duckdb_path)


def test_a_warehouse_refuses_settings_of_anything_else(tmp_path):
    db = tmp_path / "w.duckdb"
    first = _ident(db, {"OYSTER_DEVNET_SIZE": "small"})
    assert first["chain_id"] == "31337" and first["history"].startswith("devnet small-")
    assert _ident(db, {"OYSTER_DEVNET_SIZE": "small"}) == {**first, "recorded_at": _recorded(db)}
    for env, key in [({"OYSTER_DEVNET_SIZE": "default"}, "history"),
                     ({"OYSTER_DEVNET_SIZE": "small", "OYSTER_START_BLOCK": "7"}, "start_block"),
                     ({"OYSTER_DEVNET_SIZE": "small", "OYSTER_GATE": "0x" + "11" * 20}, "gate"),
                     ({"OYSTER_DEVNET_SIZE": "small", "OYSTER_RPC_URL": "http://127.0.0.1:1"}, "history"),
                     ({**BASE}, "chain_id")]:
        with pytest.raises(SettingsRefused) as e:
            _ident(db, env)
        msg = str(e.value)
        assert f"{key}: warehouse " in msg and "settings " in msg and "cli reset --yes" in msg, msg
        assert "KEY" not in msg.replace("OYSTER", "")


def _recorded(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT value FROM warehouse_identity WHERE key = 'recorded_at'").fetchall()[0][0]
    finally:
        con.close()


def test_a_warehouse_with_data_of_unknown_origin_is_refused(tmp_path):
    db = tmp_path / "old.duckdb"
    with writer(str(db)) as con:
        con.execute("INSERT INTO ingestion_state VALUES ('covered_to', '10')")
    with pytest.raises(SettingsRefused, match="no record of which chain"):
        _ident(db, {})


def _cli(*args, env):
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "HOME")}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**keep, **env}, timeout=120)


def test_cli_refuses_a_bad_setting_in_one_line_before_any_work(tmp_path):
    url = "http://user:PASSA#PASSB@127.0.0.1:1/KEYPATH"
    for args in (["summary"], ["dashboard"], ["check"], ["reset", "--yes"]):
        out = _cli(*args, env={"OYSTER_RPC_URL": url, "OYSTER_MAX_RETRIES": "-1",
                               "OYSTER_DUCKDB_PATH": str(tmp_path / "x.duckdb")})
        assert out.returncode == 2, out.stderr
        assert out.stderr == "error: bad setting max_retries = '-1' (from OYSTER_MAX_RETRIES): a whole number from " \
                             "0 to 100\n"
        assert "PASS" not in out.stdout + out.stderr and not (tmp_path / "x.duckdb").exists()


def test_cli_reset_empties_the_warehouse_so_other_settings_can_use_it(tmp_path):
    db = tmp_path / "w.duckdb"
    _ident(db, {"OYSTER_DEVNET_SIZE": "small"})
    db.with_name("dashboard.html").write_text("<html/>")
    (tmp_path / "published").mkdir()
    shutil.copy(db, tmp_path / "published" / "w.duckdb")  # the copy readers open, as a run publishes it
    env = {"OYSTER_DEVNET_SIZE": "default", "OYSTER_DUCKDB_PATH": str(db)}
    out = _cli("summary", env=env)
    assert out.returncode == 2 and "history: warehouse devnet small" in out.stderr and "reset --yes" in out.stderr
    out = _cli("reset", env=env)
    assert out.returncode == 1 and db.exists() and "--yes" in out.stderr
    out = _cli("reset", "--yes", env=env)
    assert out.returncode == 0, out.stderr
    assert not db.exists() and not db.with_name("dashboard.html").exists()
    assert not (tmp_path / "published" / "w.duckdb").exists()
    assert _ident(db, {"OYSTER_DEVNET_SIZE": "default"})["history"].startswith("devnet default-")
