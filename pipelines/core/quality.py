"""Data quality: Great Expectations 1.x suites per state table, run from Dagster asset checks.

GE is used directly: an ephemeral context, a pandas data source with a whole-dataframe batch, a suite built in
code (docs/architecture.md: dagster-ge cannot install beside GE 1.x).  Invariants that are clearer in SQL live in
sql/checks/*.sql: each returns the offending rows.

Checks look at what a run may have changed, not the whole history (a scheduled run costs what its new data
costs): a step's scope starts at the first block it rewrote, or earlier at the first block its checks have not
passed on yet (`checked_to:<step>` in ingestion_state, advanced only when every blocking check of the step ran and
passed, so rows a failed run left behind are checked again by the next run).  Each invariant's scope is chosen so
that a violation involving a row in scope is found (`Scope`, GE_SCOPE and the `$from_block` of the SQL checks).
No mark yet, a full rebuild, or the run tag `oyster/full_checks=true`: the whole tables.

Importing GE takes ~5 s of a CPU; `warm_up()` starts a worker process that imports it while the run lands,
decodes and replays (pipelines/core/ge_worker.py), and the suites run there.
"""
import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from . import ge_worker
from .store import get_state, set_state, since_seconds

CHECKS_DIR = Path(__file__).resolve().parents[2] / "sql" / "checks"
FULL_CHECKS_TAG = "oyster/full_checks"  # a run tag: "true" checks whole tables
NO_HOURS = 2 ** 62  # a Scope's from_ts when the step writes no hourly rows


@dataclass(frozen=True)
class Scope:
    """The rows a step's checks look at: blocks >= from_block (-1: everything), and the rows of hours that start
    at or after from_ts (an hour's snapshot row carries the block before the hour's first event)."""
    from_block: int = -1
    from_ts: int = NO_HOURS

    @property
    def whole(self) -> bool:
        return self.from_block < 0

    def describe(self) -> str:
        if self.whole:
            return "whole table"
        return f"blocks >= {self.from_block}" + (f" (hourly rows: ts >= {self.from_ts})" if self.from_ts < NO_HOURS
                                                   else "")


WHOLE = Scope()


def check_scope(con, step: str, changed_from: int | None, full: bool = False, hourly: bool = False) -> Scope:
    """The scope of `step`'s checks: from the first block this run rewrote (changed_from; None: nothing) or the
    first block the step's checks have not passed on, whichever is earlier.  hourly: the step writes hourly
    snapshot rows, which carry the block before their hour's first event: those of the hours after the replay's
    checkpoint before that block are in scope too (no such checkpoint kept: the whole tables)."""
    checked = get_state(con, f"checked_to:{step}")
    if full or checked is None:
        return WHOLE
    first = int(checked) + 1
    if changed_from is not None:
        first = min(first, changed_from)
    if first <= 0:
        return WHOLE
    if not hourly:
        return Scope(first)
    # the replay writes a snapshot row for every hour after its checkpoint's last hour (quiet hours included)
    since = since_seconds(con, first)
    return WHOLE if since is None else Scope(first, since)


def mark_checked(con, step: str, to_block: int, blocking_results, ran_all: bool) -> None:
    """Record that the step's checks passed up to `to_block`: only when every blocking check ran (ran_all) and
    passed (blocking_results: their results)."""
    if ran_all and all(r.passed for r in blocking_results):
        set_state(con, f"checked_to:{step}", to_block)


def full_checks_requested(context) -> bool:
    run = getattr(context, "run", None)
    return run is not None and str(run.tags.get(FULL_CHECKS_TAG, "")).lower() in ("1", "true", "yes")


def sql_check(con, name: str, scope: Scope = WHOLE) -> dg.AssetCheckResult:
    sql = (CHECKS_DIR / f"{name}.sql").read_text()
    params = {"from_block": scope.from_block} if "$from_block" in sql else None
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return dg.AssetCheckResult(passed=not rows, metadata={"offending_rows": len(rows), "sample": str(rows[:5]),
                                                          "scope": scope.describe()})


# The rows of a table a scope covers, for its suite.  Row expectations need the rows written in scope; a
# compound-unique key holds the column the scope is cut on (ts, placed_block, added_block), so both rows of a
# duplicate pair are in scope when one is.  orders and lp_ranges rows are rewritten while open: every open one is in.
_BLOCK = "block_number >= $b"
_HOURLY = "block_number >= $b OR ts >= $t"
GE_SCOPE = {
    "amm_snapshots": _HOURLY, "pearl_snapshots": _HOURLY, "range_history": _HOURLY, "depth_snapshots": _HOURLY,
    "pair_hourly": _HOURLY, "fills": _BLOCK, "positions": _BLOCK, "funding_index_series": _BLOCK,
    "orders": "placed_block >= $b OR closed_block >= $b OR status = 'OPEN'",
    "lp_ranges": "added_block >= $b OR removed_block >= $b OR status = 'OPEN'",
}

# How long the worker may take: to import GE (~5 s of a CPU; minutes on a machine that is swapping), and to
# validate one table's rows in scope (a whole-table check of a large table: minutes)
START_TIMEOUT = 300.0
ANSWER_TIMEOUT = 1800.0


class GeWorker:
    """The Great Expectations worker process (pipelines/core/ge_worker.py): started early, used by ge_check."""

    def __init__(self):
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        self.stderr = tempfile.TemporaryFile(mode="w+")  # its traceback, if it fails, goes into the error
        self.proc = subprocess.Popen([sys.executable, "-m", "pipelines.core.ge_worker"], cwd=root, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1)
        self.ready = False

    def _line(self, timeout: float) -> str:
        """The worker's next answer; a worker silent for `timeout` s is stuck: an error (the caller validates in
        process instead), never a run waiting forever with the warehouse's locks held."""
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise RuntimeError(f"the Great Expectations worker did not answer within {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise RuntimeError(f"the Great Expectations worker exited ({self.proc.poll()}): "
                               f"{self.stderr.read()[-300:]}")
        return line

    def validate(self, table: str, path: str) -> dict:
        if not self.ready:
            if json.loads(self._line(START_TIMEOUT)).get("ready") is not True:
                raise RuntimeError("the Great Expectations worker did not start")
            self.ready = True
        self.proc.stdin.write(json.dumps({"table": table, "path": path}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self._line(ANSWER_TIMEOUT))
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def close(self) -> None:
        # idle between requests, it holds nothing: killed rather than waited for (its exit takes ~1 s of
        # unloading GE's modules)
        self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            f.close()


_worker: GeWorker | None = None


def warm_up() -> None:
    """Start the Great Expectations worker (once per process), so GE is imported by the time the checks run."""
    global _worker
    if _worker is None or _worker.proc.poll() is not None:
        try:
            _worker = GeWorker()
        except OSError:
            _worker = None  # validated in process instead
        else:
            atexit.register(stop_worker)  # a run that ends before its checks: no import left running


def stop_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


def ge_check(con, table: str, scope: Scope = WHOLE) -> dg.AssetCheckResult:
    """Validate a table's rows in scope with its suite (in the worker if one runs, else here); the failed
    expectations come back as metadata."""
    cols = ", ".join(ge_worker.columns(table))
    where = "" if scope.whole else f" WHERE {GE_SCOPE[table]}"
    params = {} if scope.whole else {"b": scope.from_block, **({"t": scope.from_ts} if "$t" in where else {})}
    n = con.execute(f"SELECT count(*) FROM {table}{where}", params).fetchall()[0][0]
    meta = {"rows": n, "scope": scope.describe()}
    if n == 0:
        return dg.AssetCheckResult(passed=True, metadata=meta)
    answer = None
    if _worker is not None:
        with tempfile.TemporaryDirectory(prefix="oyster_ge_") as d:
            path = os.path.join(d, f"{table}.parquet")
            # HUGEINT reaches Parquet as DOUBLE: the suites only look at keys, ticks, prices, text and nulls
            con.execute(f"COPY (SELECT {cols} FROM {table}{where}) TO '{path}' (FORMAT parquet)", params)
            try:
                answer = _worker.validate(table, path)
            except Exception as e:  # noqa: BLE001 - a worker that died or failed: validate here instead
                meta["worker_error"] = str(e)[:300]
                stop_worker()
    if answer is None:
        answer = ge_worker.validate(ge_worker.import_ge(), table,
                                    con.execute(f"SELECT {cols} FROM {table}{where}", params).df())
    return dg.AssetCheckResult(passed=answer["success"], metadata=meta | {
        "failed": str(answer["failed"]), "evaluated": answer["evaluated"]})
