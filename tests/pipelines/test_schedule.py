"""ingest_schedule decides before a run is made: a tick with nothing new makes no run (a SkipReason, shown in the
tick history), a tick with work a RunRequest; never in a running ingest's way, and never a skip it could not check.

Real DuckDB files and the real small devnet (its kept history, or anvil serving it as a JSON-RPC node); faults are
real too: another process holding the run lock or a writer connection, a closed port as the node."""
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from devnet.anvil import free_port
from devnet.build import history_dir
from pipelines.core.publish import fingerprint, published_path
from pipelines.definitions import defs, ingest_schedule
from pipelines.ingest.schedule import REASON_TAG

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]
HELD_BACK = 200  # the shared warehouse is landed up to the head less these blocks


def _env(mp, db: Path, confirmations: int) -> None:
    mp.setenv("OYSTER_DEVNET_SIZE", "small")
    mp.setenv("OYSTER_DUCKDB_PATH", str(db))
    mp.setenv("OYSTER_CONFIRMATIONS", str(confirmations))
    for var in ("OYSTER_CHAIN", "OYSTER_CONFIG_FILE", "OYSTER_RPC_URL", "OYSTER_MAX_RETRIES"):
        mp.delenv(var, raising=False)


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture(scope="module")
def warehouse(small_history, tmp_path_factory, instance) -> Path:
    """A small-devnet warehouse after a complete run with OYSTER_CONFIRMATIONS=200 (published)."""
    db = tmp_path_factory.mktemp("schedule") / "w" / "oyster.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, db, HELD_BACK)
        assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance).success
    return db


@pytest.fixture
def at(monkeypatch, warehouse):
    """Point the settings at the shared warehouse with these confirmations."""
    def use(confirmations: int = HELD_BACK, **env) -> Path:
        _env(monkeypatch, warehouse, confirmations)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return warehouse
    return use


def tick(instance):
    return ingest_schedule(dg.build_schedule_context(instance=instance))


def _files(db: Path):
    pub = published_path(db)
    return fingerprint(db), pub.stat().st_mtime_ns, sorted(p.name for p in db.parent.iterdir())


def test_an_idle_tick_skips_with_the_reason_and_touches_nothing(at, instance):
    db = at(HELD_BACK)
    before = _files(db)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        out = tick(instance)
        times.append(time.perf_counter() - t0)
        assert isinstance(out, dg.SkipReason), out
    head = int(json.loads((history_dir("small") / "meta.json").read_text())["head"])
    assert out.skip_message.startswith(f"nothing new: blocks up to {head - HELD_BACK} are landed (head {head}, "
                                       f"{HELD_BACK} confirmations) and published")
    assert _files(db) == before  # no file written, created or replaced (not even the lock file's content)
    assert (Path(str(db) + ".run.lock").read_text()) == ""
    assert not instance.get_runs()[1:]  # the fixture's run is the only one
    print(f"\nidle tick (embedded devnet): median of 10 {statistics.median(times) * 1000:.1f} ms "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")


def test_new_blocks_request_a_run_without_a_run_key(at, instance):
    at(0)  # the same warehouse, asked with no block held back: 200 blocks to land
    out = tick(instance)
    assert isinstance(out, dg.RunRequest) and out.run_key is None
    assert out.tags[REASON_TAG].startswith("new blocks to land or decode")


def test_an_unpublished_private_file_requests_a_run(at, instance):
    db = at(HELD_BACK)
    st = os.stat(db)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # as a writer outside a run leaves it
    try:
        out = tick(instance)
    finally:
        os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert isinstance(out, dg.RunRequest)
    assert "not published: the private warehouse changed since it was published" in out.tags[REASON_TAG]
    assert isinstance(tick(instance), dg.SkipReason)  # as published again


def _hold(code: str, *args) -> subprocess.Popen:
    """Another process that holds something until killed; returns once it says it holds it."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "held"
    return p


HOLD_RUN_LOCK = """
    import sys, time
    from pipelines.core.publish import run_lock
    with run_lock(sys.argv[1], holder="run test-holder"):
        print("held", flush=True)
        time.sleep(120)
"""


def test_a_run_in_progress_skips_the_tick_without_waiting(at, instance):
    db = at(0)  # even with new blocks: the run in progress lands them
    p = _hold(HOLD_RUN_LOCK, str(db))
    try:
        t0 = time.perf_counter()
        out = tick(instance)
        took = time.perf_counter() - t0
    finally:
        p.kill()
        p.wait()
    assert isinstance(out, dg.SkipReason), out
    assert "a run is in progress" in out.skip_message and "run test-holder" in out.skip_message
    assert took < 1.0  # it tried the lock, it did not wait for it
    assert isinstance(tick(instance), dg.RunRequest)  # the lock released: the new blocks are asked for


def test_a_starting_run_waits_for_the_tick_instead_of_failing(at, instance, monkeypatch):
    """The tick holds the run lock while its read-only connection is open: a run taking the lock meanwhile
    waits for it (run_lock polls) instead of failing to open the file the tick has open."""
    import fcntl

    from pipelines.ingest import schedule
    db = at(HELD_BACK)
    seen = {}
    real = schedule.nothing_new

    def observed(*a):  # looks at the lock from another process while the tick reads the warehouse
        out = subprocess.run([sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1]); "
                              "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)", str(db) + ".run.lock"],
                             capture_output=True, text=True)
        seen["blocked"] = "BlockingIOError" in out.stderr
        return real(*a)

    monkeypatch.setattr(schedule, "nothing_new", observed)
    assert isinstance(tick(instance), dg.SkipReason)
    assert seen["blocked"]
    with open(str(db) + ".run.lock") as f:  # released after
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(f, fcntl.LOCK_UN)


HOLD_WRITER = """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])  # a writer outside a run (no run lock): e.g. cli verify --repair
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_warehouse_that_cannot_be_opened_read_only_requests_a_run(at, instance):
    db = at(HELD_BACK)
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD_WRITER), str(db)], cwd=ROOT,
                         stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        out = tick(instance)
        took = time.perf_counter() - t0
    finally:
        p.kill()  # no checkpoint on the way out: the file stays as published
        p.wait()
    assert isinstance(out, dg.RunRequest), out
    assert out.tags[REASON_TAG].startswith(f"the tick could not read {db} read-only")
    assert took < 2.0
    assert isinstance(tick(instance), dg.SkipReason)


def test_a_node_that_cannot_be_reached_requests_a_run_naming_it_masked(at, instance):
    port = free_port()  # nothing listens there
    at(HELD_BACK, OYSTER_RPC_URL=f"http://ops:s3cret@127.0.0.1:{port}/v2/KEY123")
    t0 = time.perf_counter()
    out = tick(instance)
    assert time.perf_counter() - t0 < 10
    assert isinstance(out, dg.RunRequest), out
    why = out.tags[REASON_TAG]
    assert why.startswith(f"the node at http://***@127.0.0.1:{port}/*** did not answer the tick (RpcUnavailable")
    assert "s3cret" not in why and "KEY123" not in why and "ops" not in why


def test_a_real_node_at_the_same_chain_skips_and_a_new_block_requests_a_run(at, instance, node):
    """Through JSON-RPC (head, then the stored blocks' hashes from the node): anvil serving the same history."""
    at(HELD_BACK, OYSTER_RPC_URL=node.url)
    out = tick(instance)
    assert isinstance(out, dg.SkipReason) and out.skip_message.startswith("nothing new: blocks up to")
    assert "devnet" not in out.skip_message
    node.call("evm_mine")  # one block more: past head - confirmations now
    out = tick(instance)
    assert isinstance(out, dg.RunRequest) and out.tags[REASON_TAG].startswith("new blocks to land or decode")


def test_a_devnet_history_built_after_the_publication_requests_a_run(at, instance):
    at(HELD_BACK)
    meta = history_dir("small") / "meta.json"
    st = meta.stat()
    os.utime(meta, ns=(st.st_atime_ns, time.time_ns() + 10**9))
    try:
        out = tick(instance)
    finally:
        os.utime(meta, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert isinstance(out, dg.RunRequest)
    assert "was built after the last publication" in out.tags[REASON_TAG]


def test_a_bad_setting_fails_the_tick_with_its_message(at, instance):
    at(HELD_BACK, OYSTER_MAX_RETRIES="-1")
    with pytest.raises(dg.DagsterError) as e:  # what the daemon records as the tick's error
        ingest_schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
    assert "bad setting max_retries = '-1' (from OYSTER_MAX_RETRIES): a whole number from 0 to 100" in str(
        e.value.__cause__)


def test_the_first_tick_requests_a_run_and_after_it_the_next_tick_skips(small_history, tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path / "oyster.duckdb", 0)
    with dg.instance_for_test() as inst:
        first = tick(inst)
        assert isinstance(first, dg.RunRequest)
        assert first.tags[REASON_TAG].startswith("no run has used")
        result = defs.resolve_job_def("ingest_job").execute_in_process(instance=inst, tags=first.tags)
        assert result.success
        out = tick(inst)
        assert isinstance(out, dg.SkipReason) and out.skip_message.startswith("nothing new: blocks up to")
