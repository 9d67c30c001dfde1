"""The published warehouse: what readers open, replaced whole at the end of each successful run.

The writer works on its private file (settings.duckdb_path, e.g. data/oyster.duckdb).  At the end of a run that
got through its blocking checks, `publish()` checkpoints it and copies it to `<dir>/published/<name>` by writing a
temporary file in that folder and renaming it over the old copy (os.replace: atomic on one file system).  So:

- a reader (dashboards, BI tools, the CLI) never takes a lock the writer needs: DuckDB locks the file it opens,
  and the writer never opens the published copy, it only renames a new file onto its name;
- a reader never sees half a run: a connection opened before the rename keeps reading the old file (its inode)
  until it closes; one opened after reads the new run, whole.  (Within one Python process DuckDB shares an open
  database between connections to the same path: a long-lived reader sees a new run once all its connections
  have closed.)

A run holds the run lock (`<db>.run.lock`, taken by the `run_lock` resource for the whole run, so two runs
never interleave their steps and a copy is always of one run's end).  A manifest beside the copy
(`<name>.manifest.json`) records the private file's size and mtime at publication: a scheduled run that finds no
new block, no reorg and the private file as published has nothing to do (pipelines.ingest.assets.raw_logs).
"""
import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from .resources import OysterConfig
from .store import SQL_DIR, writer

PUBLISHED_DIR = "published"


def published_path(db_path: str | os.PathLike) -> Path:
    """Where readers find the warehouse: <dir of the private file>/published/<its name>."""
    p = Path(db_path)
    return p.parent / PUBLISHED_DIR / p.name


def _manifest_path(db_path) -> Path:
    pub = published_path(db_path)
    return pub.with_name(pub.name + ".manifest.json")


def fingerprint(db_path) -> dict | None:
    """What changes whenever a writer commits to the private file: its size and mtime (and a WAL beside it)."""
    try:
        st = os.stat(db_path)
    except FileNotFoundError:
        return None
    wal = Path(str(db_path) + ".wal")
    return {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "wal": wal.stat().st_size if wal.exists() else None}


def manifest(db_path) -> dict | None:
    try:
        return json.loads(_manifest_path(db_path).read_text())
    except (FileNotFoundError, ValueError):
        return None


def unpublished(db_path) -> str | None:
    """Why the private file differs from the published copy (None: it is what was published last)."""
    if not published_path(db_path).exists():
        return "no published copy yet"
    m = manifest(db_path)
    if m is None:
        return "no manifest beside the published copy"
    fp = fingerprint(db_path)
    if fp is None:
        return "no private warehouse file"
    if fp != m.get("fingerprint"):
        return "the private warehouse changed since it was published (a failed or partial run, a backfill, an audit)"
    return None


def publish(db_path: str, retries: int = 3) -> dict:
    """Checkpoint the private file and replace the published copy with it, atomically.  Returns what it cost."""
    t0 = time.perf_counter()
    pub = published_path(db_path)
    pub.parent.mkdir(parents=True, exist_ok=True)
    with writer(db_path) as con:  # the writer lock: no other connection is writing while we checkpoint
        con.execute("CHECKPOINT")  # everything in the main file, nothing left in a WAL
    for _ in range(retries):
        before = fingerprint(db_path)
        if before["wal"]:
            raise RuntimeError(f"{db_path}.wal is not empty after a checkpoint: not publishing")
        tmp = pub.with_name(f".{pub.name}.{os.getpid()}.tmp")
        try:
            with open(db_path, "rb") as src, open(tmp, "wb") as dst:
                _copy(src, dst)
                os.fsync(dst.fileno())
            if fingerprint(db_path) != before:  # a writer outside this run's lock wrote while we copied
                continue
            os.replace(tmp, pub)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(pub.parent)
        size = pub.stat().st_size
        doc = {"fingerprint": before, "published_at": time.time(), "bytes": size,
               "seconds": round(time.perf_counter() - t0, 3)}
        mtmp = _manifest_path(db_path).with_suffix(".tmp")
        mtmp.write_text(json.dumps(doc))
        os.replace(mtmp, _manifest_path(db_path))
        return {"path": str(pub), "bytes": size, "seconds": doc["seconds"]}
    raise RuntimeError(f"{db_path} kept changing while it was copied: not publishing")


def _copy(src, dst) -> None:
    """The whole file, copied by the kernel (copy_file_range: a reflink, O(1), on file systems that share extents,
    e.g. XFS and Btrfs; an in-kernel copy on ext4), or through user space where the kernel cannot."""
    size = os.fstat(src.fileno()).st_size
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src.fileno(), dst.fileno(), size - done, done, done)
            if n == 0:  # the kernel copied nothing more before the end: user space does the rest
                break
            done += n
    except OSError:  # not on this kernel or across file systems: copy what is left in user space
        pass
    if done < size:
        src.seek(done)
        dst.seek(done)
        shutil.copyfileobj(src, dst, 16 << 20)
        dst.flush()
    if os.fstat(dst.fileno()).st_size != size:
        raise RuntimeError(f"the published copy has {os.fstat(dst.fileno()).st_size} bytes, not {size}")


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def published_reader(db_path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published copy (what the CLI and the dashboard read)."""
    pub = published_path(db_path)
    if not pub.exists():
        raise FileNotFoundError(f"no published warehouse at {pub}: run the ingest job first (a successful run "
                                "publishes its result there)")
    return duckdb.connect(str(pub), read_only=True)


@contextmanager
def audit_session(db_path):
    """A connection for an ad-hoc LP audit: the published copy attached read-only, and the audit's own tables
    (lp_audit_ranges, lp_audit_series) in memory, so an audit never waits for nor blocks the writer.  The
    `lp_audit` asset is the one that stores audit rows in the warehouse."""
    pub = published_path(db_path)
    if not pub.exists():
        raise FileNotFoundError(f"no published warehouse at {pub}: run the ingest job first")
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_quote(pub)} AS published (READ_ONLY)")
        con.execute((SQL_DIR / "schema" / "audits.sql").read_text())  # in memory: the audit writes here
        con.execute("SET search_path = 'memory.main,published.main'")
        yield con
    finally:
        con.close()


def _quote(path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def save_audit_rows(con, out: Path) -> list[Path]:
    """The in-memory audit rows as Parquet files beside the report (<report>.ranges.parquet, .series.parquet)."""
    paths = []
    for table, suffix in (("lp_audit_ranges", "ranges"), ("lp_audit_series", "series")):
        p = out.with_suffix(f".{suffix}.parquet")
        p.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY memory.main.{table} TO {_quote(p)} (FORMAT parquet)")
        paths.append(p)
    return paths


@contextmanager
def run_lock(db_path: str, timeout: float = 3600, log=None, holder: str = ""):
    """Held for a whole run (`WriterRun`): one writing run at a time, so steps of two runs never interleave.
    flock: the kernel releases it when the process dies."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    f = open(str(db_path) + ".run.lock", "a+")
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and log is not None:
                    f.seek(0)
                    log.info(f"waiting for the run holding {db_path} ({f.read().strip() or 'unknown'})")
                    told = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another run held {db_path} for {timeout} s") from None
                time.sleep(0.1)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} {holder}".strip())
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)
    finally:
        f.close()


@contextmanager
def lock_if_free(path: str | os.PathLike):
    """Yields (state, holder) for a lock file: ("free", "") with it held exclusively until the block ends;
    ("busy", what its holder wrote in it); ("missing", "") when the file does not exist.  Never waits, never
    writes: the file is opened read-only (flock needs no write access) and not created."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield "missing", ""
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield "busy", os.pread(fd, 200, 0).decode(errors="replace").strip()
            return
        try:
            yield "free", ""
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def run_lock_if_free(db_path: str):
    """The run lock (`<db>.run.lock`) if no run holds it: lock_if_free's states, a busy lock's holder named (e.g.
    `pid 123 run <id>`, "a run" if it wrote nothing); "missing": no run has used this warehouse."""
    with lock_if_free(str(db_path) + ".run.lock") as (state, holder):
        yield state, (holder or "a run") if state == "busy" else holder


class WriterRun(dg.ConfigurableResource):
    """The run lock, held from the start of a run to its end (a resource is set up once per run on the in-process
    executor; on the multiprocess executor, once per step that needs it)."""
    config: dg.ResourceDependency[OysterConfig]
    timeout_seconds: float = 3600

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        run = getattr(context, "run", None)
        with run_lock(self.config.settings().duckdb_path, self.timeout_seconds, context.log,
                      f"run {run.run_id}" if run is not None else ""):
            yield self
