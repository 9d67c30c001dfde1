"""Scheduled runs: wall time of `dagster job execute -m pipelines.definitions -j ingest_job`, end to end (process
start to exit), for a run with nothing new and a run with ~1k new events, before and after, on one or more
history sizes (an incremental run should cost what its new data costs, not what the warehouse holds).

- after: this working tree, or a commit with --after REV.
- before: the tree of --baseline (default BASELINE: the multiprocess executor, a process per step, every step
  run every time; pass e.g. --baseline b216dd5 --skip-before for a later one), extracted with `git archive` into
  a temporary folder and run with the same virtualenv, devnet history and anvil; also that tree on the
  in-process executor (run config `execution: {config: {in_process: {}}}`), to tell the executor's share.

Each variant gets its own warehouse and DAGSTER_HOME (dagster.yaml as `make setup` writes it).  The warehouse is
first filled (untimed) up to head - C blocks, C chosen so that the last C blocks hold ~1k events, and kept; then
--repeat rounds, the variants alternating within a round: the ~1k-event run (confirmations 0) from a copy of the
fill, then a no-op run.  Printed: medians, each step's median duration, the after/before ratios.

    uv run python benchmarks/scheduled_run_bench.py [--sizes default,medium] [--skip-before] [--repeat 3]
        [--variants after,before-in-process] [--baseline REV]

The multiprocess baseline takes minutes per run (--skip-before leaves it out; it is timed once).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASELINE = "c1542cb"  # the commit this work started from (multiprocess executor, every step every run); its
# successors up to ae5dc3f~1 fail ge_orders on the default history (fixed in e6212e6)
DAGSTER_YAML = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"
IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"  # run config, for the baseline's default executor


def confirmations_for(hist: Path, events: int) -> tuple[int, int]:
    """Blocks to hold back so that about `events` events come in the last run, and how many they are."""
    meta = json.loads((hist / "meta.json").read_text())
    per_block = pl.read_parquet(hist / "expected.parquet").group_by("block_number").len()
    tail = per_block.filter(pl.col("block_number") > 0).sort("block_number", descending=True)
    total, blocks = 0, 0
    for b, n in tail.iter_rows():
        total += n
        blocks = meta["head"] - b + 1
        if total >= events:
            break
    return blocks, total


def tree_for(rev: str, tmp: Path) -> Path:
    """This working tree ('worktree'), or a commit's tree extracted beside the same history and anvil."""
    if rev == "worktree":
        return ROOT
    tree = tmp / f"tree-{rev}"
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        (tree / "data").mkdir(exist_ok=True)
        (tree / "data" / "devnet").symlink_to(ROOT / "data" / "devnet")  # the same history, not rebuilt
        (tree / "node_modules").symlink_to(ROOT / "node_modules")  # the same anvil
    return tree


def run(tree: Path, env: dict, confirmations: int, config: str | None = None,
        check: bool = True) -> tuple[float, str]:
    cmd = [str(ROOT / ".venv" / "bin" / "dagster"), "job", "execute", "-m", "pipelines.definitions",
           "-j", "ingest_job"]
    if config:
        f = Path(env["DAGSTER_HOME"]) / "run_config.yaml"
        f.write_text(config)
        cmd += ["-c", str(f)]
    e = {**env, "OYSTER_CONFIRMATIONS": str(confirmations), "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=tree, env=e, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if check and (out.returncode != 0 or "RUN_SUCCESS" not in out.stderr + out.stdout):
        raise RuntimeError(f"run failed in {tree}:\n{(out.stderr + out.stdout)[-3000:]}")
    return dt, out.stderr + out.stdout


STEP = re.compile(r'Finished execution of step "([\w.]+)" in ([\d.]+)(ms|s)\.')


def steps_of(out: str) -> dict[str, float]:
    """Each step's duration (s) from Dagster's STEP_SUCCESS lines."""
    return {m.group(1): float(m.group(2)) / (1000 if m.group(3) == "ms" else 1) for m in STEP.finditer(out)}


class Variant:
    """One tree on its own warehouse and DAGSTER_HOME, filled once (untimed) up to head - hold; every timed
    incremental run starts from a copy of that fill (the warehouse, its published copy and manifest)."""

    def __init__(self, name: str, tmp: Path, size: str, hold: int, after: str, baseline: str):
        self.name, self.hold = name, hold
        self.tree = tree_for(after if name == "after" else baseline, tmp)
        self.dir = tmp / f"{name}-{size}"
        home = self.dir / "dagster"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
        self.db = self.dir / "w" / "oyster.duckdb"
        self.env = {**os.environ, "DAGSTER_HOME": str(home), "OYSTER_DEVNET_SIZE": size,
                    "OYSTER_DUCKDB_PATH": str(self.db)}
        self.env.pop("OYSTER_CONFIG_FILE", None)
        # a tree whose job already sets the in-process executor takes no executor config (it would be refused)
        own = "in_process_executor" in (self.tree / "pipelines" / "definitions.py").read_text()
        self.config = IN_PROCESS if name in ("before", "before-in-process") and not own else None
        self.timed_config = IN_PROCESS if name == "before-in-process" and not own else None
        # set-up, not a figure; its success is not required (the oldest baseline fails its Observer check on a
        # past block after landing and replaying everything); the timed runs must succeed
        self.fill_s, _ = run(self.tree, self.env, hold, self.config, check=False)
        shutil.copytree(self.db.parent, self.dir / "filled")
        self.incremental, self.noop, self.step_times = [], [], []

    def timed_incremental(self) -> None:
        shutil.rmtree(self.db.parent)
        shutil.copytree(self.dir / "filled", self.db.parent)
        dt, out = run(self.tree, self.env, 0, self.timed_config)
        self.incremental.append(dt)
        self.step_times.append(steps_of(out))

    def timed_noop(self) -> None:
        self.noop.append(run(self.tree, self.env, 0, self.timed_config)[0])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="default", help="comma-separated devnet histories, e.g. default,medium")
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each kind per variant (medians)")
    p.add_argument("--skip-before", action="store_true", help="leave out the multiprocess baseline (minutes)")
    p.add_argument("--after", default="worktree", help="'worktree' (default) or a commit to measure as 'after' "
                                                          "(a clean tree while others' work is in progress)")
    p.add_argument("--baseline", default=BASELINE, help="the commit measured as 'before'")
    p.add_argument("--variants", default="", help="comma-separated subset of after,before-in-process,before")
    args = p.parse_args()
    from devnet.build import build
    names = ["after", "before-in-process"] + ([] if args.skip_before else ["before"])
    if args.variants:
        names = [v for v in names if v in args.variants.split(",")]
    labels = {"before": f"before ({args.baseline}, multiprocess, every step)",
              "before-in-process": f"before ({args.baseline}) on the in-process executor",
              "after": f"after ({args.after})"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="scheduled_run_bench_") as d:
        for size in args.sizes.split(","):
            hist = build(size)
            hold, n = confirmations_for(hist, args.events)
            print(f"history {size}: the last {hold} blocks hold {n} events (the incremental run's new data)",
                  flush=True)
            variants = [Variant(v, Path(d), size, hold, args.after, args.baseline) for v in names]
            for i in range(args.repeat):  # alternating: the machine's load falls on every variant alike
                for v in variants:
                    if v.name == "before" and i:  # minutes a run
                        continue
                    v.timed_incremental()
                    v.timed_noop()
                    print(f"  {size} {v.name:18s} run {i + 1}: ~{n}-event {v.incremental[-1]:6.1f} s, "
                          f"no-op {v.noop[-1]:5.1f} s", flush=True)
            for v in variants:
                rows.append((size, n, v))
    print(f"\n`dagster job execute -j ingest_job`, wall time (process start to exit), medians; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs:")
    print(f"{'history':8s} {'layout':44s} {'no-op':>7s} {'~1k new events':>15s}  steps of the ~1k-event run (median s)")
    for size, n, v in rows:
        steps = {k: statistics.median(t.get(k, 0.0) for t in v.step_times) for k in v.step_times[0]}
        print(f"{size:8s} {labels[v.name]:44s} {statistics.median(v.noop):6.1f}s {statistics.median(v.incremental):14.1f}s"
              f"  " + ", ".join(f"{k} {x:.2f}" for k, x in steps.items()))
    by = {(size, v.name): v for size, _, v in rows}
    for size in args.sizes.split(","):
        a, b = by.get((size, "after")), by.get((size, "before-in-process")) or by.get((size, "before"))
        if a and b:
            print(f"{size}: after/before no-op {statistics.median(a.noop) / statistics.median(b.noop):.2f}, "
                  f"~{args.events}-event run {statistics.median(a.incremental) / statistics.median(b.incremental):.2f}")


if __name__ == "__main__":
    main()
