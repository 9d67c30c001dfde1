"""No secret of an RPC URL is ever written anywhere: after a successful ingest_job through a node URL whose user
info, path and query hold every awkward shape ('#', '@', '/', '%'-escapes, spaces, non-ASCII, thousands of
characters), and after each kind of failure (a bad setting, a refused connection, a 401 at the first request or in
the middle of a step, a node of another chain), the Dagster storage under its home (event logs, run storage,
compute logs, sqlite blobs decompressed), the DuckDB files (every table's text, and their bytes), the dashboard,
and the captured stdout/stderr hold none of the secret's pieces.  The node is anvil behind a local HTTP server that
checks the credentials and the path it receives (so the success also proves the URL was parsed whole)."""
import base64
import os
import random
import sqlite3
import string
import subprocess
import sys
import zlib
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests

from devnet.anvil import free_port
from pipelines.core.config import ROOT
from pipelines.definitions import defs

from ..pipelines.local_node import LocalNode

pytestmark = pytest.mark.anvil

LONG = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=3000))
USER = "TOKUSERA"
PASSWORD_WRITTEN = f"TOKPWA#TOKPWB@TOKPWC/TOKPWD%23TOKPWE TOKPWF€TOKPWG?TOKPWH{LONG}"
PASSWORD = PASSWORD_WRITTEN.replace("%23", "#")  # what the node must receive (percent-escapes decoded)
REST = "/v2/TOKPATHA#TOKPATHB/TOKPATHC%20TOKPATHD TOKPATHE/é?key=TOKQA&x=TOKQB#TOKQC"
TARGET = "/v2/TOKPATHA%23TOKPATHB/TOKPATHC%20TOKPATHD%20TOKPATHE/%C3%A9?key=TOKQA&x=TOKQB%23TOKQC"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TOKENS = [USER, *(f"TOKPW{c}" for c in "ABCDEFGH"), *(f"TOKPATH{c}" for c in "ABCDE"), "TOKQA", "TOKQB", "TOKQC",
          LONG[1000:1032], AUTH[30:62]]


def secret_url(port: int) -> str:
    return f"http://{USER}:{PASSWORD_WRITTEN}@127.0.0.1:{port}{REST}"


class AuthProxy:
    """Anvil behind HTTP basic auth and a secret path: a request without the exact credentials and path gets 401,
    as does every request once `fail_after` requests were answered (a node that starts refusing mid-run)."""

    def __init__(self, upstream: str, fail_after: int | None = None, always_401: bool = False):
        self.requests = 0
        self.rejected = 0
        session = requests.Session()

        def answer(handler, body):
            self.requests += 1
            ok = handler.headers.get("Authorization") == AUTH and handler.path == TARGET
            if not ok:
                self.rejected += 1
            if always_401 or not ok or (fail_after is not None and self.requests > fail_after):
                return 401, {"error": "unauthorized"}
            r = session.post(upstream, json=body, timeout=60)
            return r.status_code, r.json()

        self.node = LocalNode(answer)
        self.port = self.node.port

    def close(self):
        self.node.close()


def _forms(token: str) -> list[bytes]:
    return [token.encode(), token.encode("unicode_escape")]


def sweep(root: Path, out: str) -> list[str]:
    """Where any token shows up: files under `root` (bytes; sqlite text and blobs, zlib-decompressed; DuckDB
    tables as text) and the captured output."""
    found = []

    def look(where: str, data: bytes):
        for t in TOKENS:
            if any(f in data for f in _forms(t)):
                found.append(f"{t[:12]}... in {where}")

    look("stdout/stderr", out.encode("utf-8", "backslashreplace"))
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        data = f.read_bytes()
        look(str(f), data)
        if data[:16] == b"SQLite format 3\x00":
            con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
            try:
                for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                    for row in con.execute(f'SELECT * FROM "{table}"'):
                        for v in row:
                            if isinstance(v, bytes):
                                try:
                                    v = zlib.decompress(v)
                                except zlib.error:
                                    pass
                                look(f"{f}:{table}", v)
                            elif isinstance(v, str):
                                look(f"{f}:{table}", v.encode())
            finally:
                con.close()
        elif f.suffix == ".duckdb" and not f.name.endswith(".tmp"):
            con = duckdb.connect(str(f), read_only=True)
            try:
                for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
                    text = repr(con.execute(f'SELECT * FROM "{table}"').fetchall())
                    look(f"{f}:{table}", text.encode("utf-8", "backslashreplace"))
            finally:
                con.close()
    return found


@pytest.fixture
def run_env(tmp_path, monkeypatch):
    for k in [k for k in os.environ if k.startswith("OYSTER_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "w" / "oyster.duckdb"))
    return tmp_path


def run_job(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, raise_on_error=False)
        logs = instance.all_logs(result.run_id)
    steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    errors = [e.user_message for e in logs if e.level >= 40]
    for e in result.all_events:
        err = e.event_specific_data.error if e.event_type_value == "STEP_FAILURE" else None
        while err is not None:  # the op's exception is the cause of Dagster's
            errors.append(err.message)
            err = err.cause
    return result, steps, errors


def test_a_successful_run_writes_no_secret(run_env, node, monkeypatch, capfd):
    proxy = AuthProxy(node.url)
    try:
        monkeypatch.setenv("OYSTER_RPC_URL", secret_url(proxy.port))
        result, steps, errors = run_job(run_env)
    finally:
        proxy.close()
    assert result.success, errors
    assert proxy.rejected == 0 and proxy.requests > 10  # every request carried the whole password and path
    assert (run_env / "w" / "dashboard.html").exists()
    out = capfd.readouterr()
    assert "http://***@127.0.0.1:" in out.out + out.err  # the masked URL is what the run shows
    assert sweep(run_env, out.out + out.err) == []


def _failed_run(run_env, capfd, monkeypatch, url: str, expect: str, steps_run: bool = False):
    monkeypatch.setenv("OYSTER_RPC_URL", url)
    result, steps, errors = run_job(run_env)
    assert not result.success
    assert bool(steps) == steps_run, [e.step_key for e in steps]
    assert any(expect in (m or "") for m in errors), errors
    out = capfd.readouterr()
    assert sweep(run_env, out.out + out.err) == []
    return errors


def test_a_bad_setting_stops_the_run_before_any_step_and_writes_no_secret(run_env, capfd, monkeypatch):
    monkeypatch.setenv("OYSTER_MAX_RETRIES", "-1")
    errors = _failed_run(run_env, capfd, monkeypatch, secret_url(8545),
                         "bad setting max_retries = '-1' (from OYSTER_MAX_RETRIES): a whole number from 0 to 100")
    monkeypatch.delenv("OYSTER_MAX_RETRIES")
    _failed_run(run_env, capfd, monkeypatch, "ftp" + secret_url(8545)[4:],
                "bad setting rpc_url = 'ftp://***@127.0.0.1:8545/***'")
    assert not (run_env / "w" / "oyster.duckdb").exists()
    assert errors[0].count("\n") == 0


def test_a_refused_connection_writes_no_secret(run_env, capfd, monkeypatch):
    monkeypatch.setenv("OYSTER_MAX_RETRIES", "1")
    _failed_run(run_env, capfd, monkeypatch, secret_url(free_port()), "gave up after 2 tries")


def test_a_401_at_the_first_request_writes_no_secret(run_env, node, capfd, monkeypatch):
    proxy = AuthProxy(node.url, always_401=True)
    try:
        _failed_run(run_env, capfd, monkeypatch, secret_url(proxy.port), "answered HTTP 401")
    finally:
        proxy.close()


def test_a_401_in_the_middle_of_a_step_writes_no_secret(run_env, node, capfd, monkeypatch):
    proxy = AuthProxy(node.url, fail_after=4)  # the start-of-run checks pass, raw_logs is refused
    try:
        _failed_run(run_env, capfd, monkeypatch, secret_url(proxy.port), "answered HTTP 401", steps_run=True)
    finally:
        proxy.close()
    assert proxy.requests > 4


def test_a_node_of_another_chain_is_refused_before_any_step(run_env, node, capfd, monkeypatch):
    proxy = AuthProxy(node.url)  # anvil answers eth_chainId 31337
    try:
        monkeypatch.setenv("OYSTER_CHAIN", "base")
        _failed_run(run_env, capfd, monkeypatch, secret_url(proxy.port),
                    "bad setting chain_id = 8453 (from base.yaml): the node at http://***@127.0.0.1:")
    finally:
        proxy.close()


def test_dagster_cli_refuses_a_bad_setting_in_one_line_and_runs_no_op(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OYSTER_")}
    env.update(DAGSTER_HOME=str(home), OYSTER_RPC_URL=secret_url(8545), OYSTER_REORG_WINDOW="-5",
               OYSTER_DUCKDB_PATH=str(tmp_path / "w" / "oyster.duckdb"))
    out = subprocess.run([sys.executable, "-m", "dagster", "job", "execute", "-m", "pipelines.definitions",
                          "-j", "ingest_job"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    line = "bad setting reorg_window = '-5' (from OYSTER_REORG_WINDOW): a whole number from 1 to 1,000,000"
    assert any(ln.rstrip().endswith(line) for ln in text.splitlines()), text[-3000:]
    assert "STEP_START" not in text and not (tmp_path / "w" / "oyster.duckdb").exists()
    assert sweep(tmp_path, text) == []
