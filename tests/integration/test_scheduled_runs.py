"""Scheduled runs (issue 12): a run with nothing new stops after raw_logs; readers open the published copy, which
only a whole successful run replaces; two writing runs never overlap; the Observer check skips, and the run
succeeds, when the node cannot serve the state at a past block."""
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.core.publish import manifest, published_path
from pipelines.definitions import defs

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path, monkeypatch, small_history):
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "w" / "oyster.duckdb"))
    monkeypatch.delenv("OYSTER_CONFIRMATIONS", raising=False)
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return tmp_path


def _run(instance=None):
    result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance)
    assert result.success
    return result


def _steps(result, kind: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == kind}


def test_a_run_with_nothing_new_stops_after_raw_logs(env):
    db = os.environ["OYSTER_DUCKDB_PATH"]
    first = _run()
    assert {"raw_logs", "event_tables", "replay", "marts", "dashboard", "published_warehouse"} <= _steps(
        first, "STEP_SUCCESS")
    pub = published_path(db)
    published = pub.stat().st_mtime_ns, os.stat(db).st_mtime_ns

    idle = _run()
    assert _steps(idle, "STEP_SUCCESS") == {"raw_logs"}
    assert {"event_tables", "replay", "peer_volumes", "marts", "dashboard", "published_warehouse"} == _steps(
        idle, "STEP_SKIPPED")  # the checks run in their tables' steps: no step of their own
    assert not idle.get_asset_materialization_events() and not idle.get_asset_check_evaluations()
    assert (pub.stat().st_mtime_ns, os.stat(db).st_mtime_ns) == published  # neither file was touched

    # a writer outside a run (here: a bare connection) changes the private file: the next run publishes it
    with duckdb.connect(db) as con:
        con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    again = _run()
    assert "published_warehouse" in _steps(again, "STEP_SUCCESS")
    with duckdb.connect(str(pub), read_only=True) as con:
        assert con.execute("SELECT x FROM scratch").fetchall() == [(1,)]


CONSISTENCY = """SELECT
  (SELECT count(*) FROM raw_logs),
  (SELECT count(*) FROM decoded_logs) + (SELECT count(*) FROM quarantine),
  (SELECT value FROM ingestion_state WHERE key = 'covered_to'),
  (SELECT value FROM ingestion_state WHERE key = 'decoded_to'),
  (SELECT count(*) FROM events_trade WHERE block_number > (SELECT max(cursor_block) FROM replay_checkpoints)),
  (SELECT sum(taker_volume_wad) FROM mart_volume_hourly) = (SELECT sum(entry_notional::HUGEINT) FROM events_trade),
  (SELECT count(*) FROM events_trade)"""


def _whole(row) -> bool:
    raw, decoded, covered, decoded_to, unreplayed, volumes_match, _ = row
    return raw == decoded and covered == decoded_to and unreplayed == 0 and volumes_match


def _dagster(confirmations: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dagster", "job", "execute", "-m", "pipelines.definitions", "-j",
                             "ingest_job"], cwd=ROOT, env={**os.environ, "OYSTER_CONFIRMATIONS": str(confirmations)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _locked(path: str) -> bool:
    """Whether a run holds the run lock of this warehouse now."""
    import fcntl
    with open(path + ".run.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_readers_hold_the_published_copy_through_three_runs_and_see_only_whole_runs(env, monkeypatch):
    db = os.environ["OYSTER_DUCKDB_PATH"]
    monkeypatch.setenv("OYSTER_CONFIRMATIONS", "200")
    _run()  # run 1: blocks up to head - 200
    pub = str(published_path(db))
    held = duckdb.connect(pub, read_only=True)  # a BI tool's connection, open through the next runs
    first = held.execute(CONSISTENCY).fetchall()[0]
    assert _whole(first) and first[6] > 0
    trader = held.execute("SELECT owner FROM lp_ranges ORDER BY owner LIMIT 1").fetchall()[0][0]
    seen, during = [], []
    for confirmations in (100, 40, 0):  # runs 2, 3, 4: each lands new blocks
        proc = _dagster(confirmations)
        cli_done = False
        while proc.poll() is None:
            assert held.execute(CONSISTENCY).fetchall()[0] == first  # the held connection: the old file, whole
            with duckdb.connect(pub, read_only=True) as fresh:  # a new connection: the last published run, whole
                row = fresh.execute(CONSISTENCY).fetchall()[0]
                assert _whole(row), row
                seen.append(row)
            if not cli_done and _locked(db):  # the CLI while the run holds the warehouse
                outs, ended_locked = [], False
                for args in (("summary",), ("dashboard", "--out", str(env / "dash.html")),
                             ("audit", "--trader", trader, "--out", str(env / "audit.html"))):
                    outs.append(_cli(*args))
                    ended_locked |= _locked(db)  # this command began and ended while the run held the lock
                during.append((ended_locked, outs))
                cli_done = True
            time.sleep(0.2)
        out = proc.stdout.read()
        assert proc.returncode == 0 and "RUN_SUCCESS" in out, out[-3000:]
    assert len(during) == 3
    for still_running, outs in during:
        for o in outs:
            assert o.returncode == 0, o.stderr[-2000:]
            assert "Traceback" not in o.stderr + o.stdout
        assert "published" in outs[0].stdout and "raw_logs" in outs[0].stdout
    assert any(r for r, _ in during)  # at least one command ran and ended while a run held the lock
    assert (env / "dash.html").exists() and (env / "audit.ranges.parquet").exists()
    held.close()
    with duckdb.connect(pub, read_only=True) as con:
        last = con.execute(CONSISTENCY).fetchall()[0]
    assert _whole(last) and last[6] > first[6] and last[0] > first[0]
    assert {r[0] for r in seen} >= {first[0]}  # readers saw run 1's state while run 2 was going on
    assert manifest(db)["bytes"] == Path(pub).stat().st_size


def test_two_writing_runs_do_not_overlap(env):
    with dg.DagsterInstance.get():  # create the instance's storage first (two processes creating it race)
        pass
    procs = [_dagster(0), _dagster(0)]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0 and "RUN_SUCCESS" in out, out[-3000:]
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 2
        spans = []
        for r in runs:
            times = [e.timestamp for e in instance.all_logs(r.run_id)
                     if e.dagster_event and e.dagster_event.is_step_event]
            spans.append((min(times), max(times)))
    (a0, a1), (b0, b1) = sorted(spans)
    assert a1 <= b0, spans  # every step of one run ended before the other's first step
    assert any("nothing new" in out for out in outs)  # the second found the first's work done (and published)


def test_observer_check_skips_when_the_node_cannot_serve_past_state(env, monkeypatch):
    monkeypatch.setenv("OYSTER_CONFIRMATIONS", "20")  # checkpoints at head - 20: anvil answers "block out of range"
    result = _run()
    ev = next(e for e in result.get_asset_check_evaluations() if e.asset_check_key.name == "replay_matches_observer")
    assert ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert "cannot serve the state" in ev.metadata["skipped"].value
    assert "outofrange" in ev.metadata["node_answer"].value.lower().replace(" ", "")  # anvil's BlockOutOfRangeError
    assert ev.metadata["values_compared"].value == 0


class _PrunedNode:
    """A full node past its state window: geth's answer to eth_call and eth_getCode at an old block."""

    def __init__(self, code_ok: bool):
        self.code_ok = code_ok
        self.calls = []

    def call(self, method, params):
        from pipelines.chain.rpc import RpcError
        self.calls.append(method)
        if method == "eth_getCode" and self.code_ok:
            return "0x6080"
        raise RpcError(method, {"code": -32000, "message": "missing trie node 1a2b3c (path ) state 0x1a2b is not "
                                                           "available"})


@pytest.mark.parametrize("code_ok", [False, True])
def test_a_pruned_nodes_answer_is_state_unavailable_not_a_difference(code_ok):
    from pipelines.state.observer import Observer, StateUnavailable, compare

    class _Pair:
        class amm:  # noqa: N801
            status = 1

    class _Inst:
        pairs = {0: _Pair()}

    class _State:
        instruments = {"0x" + "11" * 20: _Inst()}

    obs = Observer(_PrunedNode(code_ok), "0x" + "22" * 20)
    with pytest.raises(StateUnavailable) as e:
        if obs.deployed(100):
            compare(_State(), obs, 100)
    assert e.value.block == 100 and "missing trie node" in e.value.message


def test_a_failed_blocking_check_publishes_nothing(env, monkeypatch):
    import pipelines.marts.assets as marts_module

    def wrong(con):
        return dg.AssetCheckResult(check_name="mart_volume_matches_events", passed=False, metadata={"mart": "x"})

    monkeypatch.setattr(marts_module, "mart_volume_matches_events", wrong)
    result = defs.resolve_job_def("ingest_job").execute_in_process(raise_on_error=False)
    assert not result.success
    assert "marts" in _steps(result, "STEP_FAILURE") or "marts" in _steps(result, "STEP_SUCCESS")
    assert "published_warehouse" not in _steps(result, "STEP_SUCCESS")
    assert not published_path(os.environ["OYSTER_DUCKDB_PATH"]).exists()


def test_checks_look_at_new_rows_and_recheck_what_a_failed_run_left(env, monkeypatch):
    """A run's checks cover the blocks it rewrote and those no run has passed yet (pipelines/core/quality.py):
    a bad row a run wrote fails it, the cursor stays, and the next run checks those rows again."""
    from pipelines.core.publish import unpublished
    db = os.environ["OYSTER_DUCKDB_PATH"]
    monkeypatch.setenv("OYSTER_CONFIRMATIONS", "30")
    first = _run()
    gx = {c.check_name: c for c in first.get_asset_check_evaluations()}
    assert gx["ge_fills"].metadata["scope"].value == "whole table"  # the first run: no cursor yet
    with duckdb.connect(db, read_only=True) as con:
        marks = dict(con.execute("SELECT key, value FROM ingestion_state WHERE key LIKE 'checked_to:%'").fetchall())
        covered = int(con.execute("SELECT value FROM ingestion_state WHERE key = 'covered_to'").fetchall()[0][0])
    assert marks == {"checked_to:raw_logs": str(covered), "checked_to:decode": str(covered),
                     "checked_to:replay": str(covered)}

    # the next run lands 30 blocks; a bad row of the newest landed block (a duplicate pair_hourly key) appears
    # with them, as a bug of the state builder would write it
    import pipelines.state.assets as state_assets
    real = state_assets.run_replay

    def buggy(con, s, full=False):
        r = real(con, s, full=full)
        con.execute("INSERT INTO pair_hourly SELECT * FROM pair_hourly WHERE block_number = "
                    "(SELECT max(block_number) FROM pair_hourly) LIMIT 1")
        return r
    monkeypatch.setattr(state_assets, "run_replay", buggy)
    monkeypatch.setenv("OYSTER_CONFIRMATIONS", "0")
    bad = defs.resolve_job_def("ingest_job").execute_in_process(raise_on_error=False)
    assert not bad.success
    checks = {c.check_name: c for c in bad.get_asset_check_evaluations()}
    assert not checks["ge_pair_hourly"].passed
    scoped = f"blocks >= {covered + 1} (hourly rows: ts >= "
    assert checks["ge_fills"].metadata["scope"].value.startswith(scoped)  # only the new blocks
    assert 0 < checks["ge_fills"].metadata["rows"].value < gx["ge_fills"].metadata["rows"].value
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT value FROM ingestion_state WHERE key = 'checked_to:replay'").fetchall() == [
            (str(covered),)]  # the failed checks did not move it

    # the bug fixed, the next run has no new block but an unpublished file: it checks the left rows again
    monkeypatch.setattr(state_assets, "run_replay", real)
    with duckdb.connect(db) as con:
        con.execute("DELETE FROM pair_hourly WHERE rowid IN (SELECT max(rowid) FROM pair_hourly "
                    "GROUP BY instrument, expiry, ts HAVING count(*) > 1)")
    assert unpublished(db)  # the fix changed the private file: the next run has work
    fixed = _run()
    checks = {c.check_name: c for c in fixed.get_asset_check_evaluations()}
    assert checks["ge_pair_hourly"].passed
    assert checks["ge_fills"].metadata["scope"].value.startswith(scoped)  # from the cursor, not empty
    assert checks["ge_fills"].metadata["rows"].value > 0
    with duckdb.connect(db, read_only=True) as con:
        assert int(con.execute("SELECT value FROM ingestion_state WHERE key = 'checked_to:replay'").fetchall()[0][0]
                   ) > covered
