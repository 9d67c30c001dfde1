"""Scheduled runs: wall time of `dagster job execute -m pipelines.definitions -j ingest_job`, end to end (process
start to exit), for a run with nothing new and a run with ~1k new events, before and after.

- after: this working tree, or a commit with --after REV (in-process executor, the rest of the run skipped after
  raw_logs when nothing landed).
- before: the tree of --baseline (default BASELINE, the commit this work started from: the default
  multiprocess executor, a process per step, every step run every time), extracted with `git archive` into a temporary folder and run with the same
  virtualenv, devnet history and anvil; also that tree on the in-process executor (run config
  `execution: {config: {in_process: {}}}`), to tell the executor's share from the skipping's.

Each variant gets its own warehouse and DAGSTER_HOME (dagster.yaml as `make setup` writes it).  The warehouse is
first filled in process (untimed) up to head - C blocks, C chosen so the last C blocks hold ~1k events; then
the timed runs: the ~1k-event run (confirmations 0), then the no-op run (--repeat times, the median; once for
the multiprocess baseline).

    uv run python benchmarks/scheduled_run_bench.py [--size default] [--skip-before] [--repeat 3] [--variants after,...]

The multiprocess baseline takes minutes per run (--skip-before leaves it out).
"""
import argparse
import json
import os
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


def run(tree: Path, env: dict, confirmations: int, config: str | None = None, check: bool = True) -> float:
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
    return dt


def variant(name: str, tmp: Path, size: str, hold: int, repeat: int, after: str, baseline: str) -> dict:
    tree = tree_for(after if name == "after" else baseline, tmp)
    home = tmp / f"{name}-dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(home), "OYSTER_DEVNET_SIZE": size,
           "OYSTER_DUCKDB_PATH": str(tmp / f"{name}.duckdb")}
    env.pop("OYSTER_CONFIG_FILE", None)
    config = IN_PROCESS if name in ("before", "before-in-process") else None
    # the history up to head - hold (in process: set-up, not a figure).  Its success is not required: the
    # baseline's run fails there on its Observer check (a past block: "block out of range", issue 12 item 8)
    # after landing and replaying everything; the timed runs must succeed
    fill = run(tree, env, hold, config, check=False)
    timed_config = IN_PROCESS if name == "before-in-process" else None
    incremental = run(tree, env, 0, timed_config)
    noop = [run(tree, env, 0, timed_config) for _ in range(repeat if name != "before" else 1)]  # minutes each
    return {"fill_s": fill, "incremental_s": incremental, "noop_s": statistics.median(noop), "noop_all": noop}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="default")
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-before", action="store_true", help="leave out the multiprocess baseline (minutes)")
    p.add_argument("--after", default="worktree", help="'worktree' (default) or a commit to measure as 'after' "
                                                          "(a clean tree while others' work is in progress)")
    p.add_argument("--baseline", default=BASELINE, help="the commit measured as 'before'")
    p.add_argument("--variants", default="", help="comma-separated subset of after,before-in-process,before")
    args = p.parse_args()
    from devnet.build import build
    hist = build(args.size)
    hold, n = confirmations_for(hist, args.events)
    print(f"history {args.size}: the last {hold} blocks hold {n} events (the incremental run's new data)")
    variants = ["after", "before-in-process"] + ([] if args.skip_before else ["before"])
    if args.variants:
        variants = [v for v in variants if v in args.variants.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="scheduled_run_bench_") as d:
        for v in variants:
            print(f"  {v} ...", flush=True)
            results[v] = variant(v, Path(d), args.size, hold, args.repeat, args.after, args.baseline)
            r = results[v]
            print(f"  {v:18s} no-op {r['noop_s']:6.1f} s (runs {', '.join(f'{x:.1f}' for x in r['noop_all'])})"
                  f"   ~{n}-event run {r['incremental_s']:6.1f} s   (set-up fill {r['fill_s']:.1f} s)", flush=True)
    print(f"\n`dagster job execute -j ingest_job`, wall time, {args.size} history, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs:")
    print(f"{'layout':48s} {'no-op':>8s} {'~' + str(n) + ' events':>12s}")
    labels = {"before": f"before ({args.baseline}, multiprocess, every step)",
              "before-in-process": f"before ({args.baseline}) on the in-process executor",
              "after": f"after ({args.after}, in-process, skipped when idle)"}
    for v in variants:
        r = results[v]
        print(f"{labels[v]:48s} {r['noop_s']:7.1f}s {r['incremental_s']:11.1f}s")
    if "before" in results and "after" in results:
        a, b = results["after"], results["before"]
        print(f"speed-up: no-op {b['noop_s'] / a['noop_s']:.0f}x, ~{n}-event run "
              f"{b['incremental_s'] / a['incremental_s']:.0f}x")


if __name__ == "__main__":
    main()
