"""Command line: `python -m pipelines.cli check | summary | dashboard | audit | reset | schema | partitions`.

Every command loads and validates the settings first: a bad one stops it with one line (`error: bad setting ...`)
and exit status 2, before any work.  Commands that read the warehouse compare its identity with the settings.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

from .core.config import ConfigError, Settings, load_settings
from .core.publish import audit_session, published_path, save_audit_rows
from .core.store import SQL_DIR, event_table_ddl, reader
from .ingest import verify

EVENTS_SQL_HEADER = (
    "-- One typed table per protocol event (docs/protocol-rules.md), generated from models/events.py by\n"
    "-- `python -m pipelines.cli schema`; a test keeps this file equal to the generator.\n"
    "-- Integers: BIGINT up to 63 bits, HUGEINT up to int128/uint127, VARCHAR decimal text beyond (uint128+, int256).\n"
    "-- No primary key: a block range is deleted and inserted in one transaction, so (block_number, log_index) is\n"
    "-- unique by construction, and the blocking check `logs_decoded_once` proves it (an index cost ~30% of ingest).\n\n")


def events_sql() -> str:
    return EVENTS_SQL_HEADER + event_table_ddl()


def _read_checked(s: Settings):
    """The published warehouse (what the last successful run published) opened read-only, after comparing its
    identity with the settings: a run in progress never waits for it nor is blocked by it."""
    from .core import warehouse_identity
    pub = str(published_path(s.duckdb_path))
    warehouse_identity.check_file(pub, s)
    return reader(pub)


def summary(s: Settings) -> int:
    with _read_checked(s) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        print(f"DuckDB file: {published_path(s.duckdb_path)}  (published; chain: {s.chain}, rpc: {s.safe_rpc_url})")
        print(f"{'table':42s} {'rows':>10s}")
        for t in tables:
            n = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            if n or not t.startswith("events_"):
                print(f"{t:42s} {n:>10d}")
        cov = con.execute("SELECT min(from_block), max(to_block) FROM ingested_ranges").fetchall()[0]
        print(f"blocks covered: {cov[0]} .. {cov[1]}")
    page = Path(s.duckdb_path).with_name("dashboard.html")
    if page.exists():
        print(f"dashboard: open {page} in a browser")
    return 0


def check(s: Settings, node: bool) -> int:
    """The settings as loaded (the RPC URL masked) with where each came from; the node and warehouse checks."""
    from .core import warehouse_identity
    for name in Settings.__dataclass_fields__:
        if name in ("origin", "warnings"):
            continue
        value = s.safe_rpc_url if name == "rpc_url" else getattr(s, name)
        print(f"{name:20s} {value!s:60s} {s.origin.get(name, 'default')}")
    for w in s.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if node:
        from .chain.resources import ChainSource
        from .core.resources import OysterConfig
        for w in ChainSource(config=OysterConfig()).preflight():
            print(f"warning: {w}", file=sys.stderr)
        print(f"node: chain {s.chain_id} at {s.safe_rpc_url}: ok")
    have = warehouse_identity.check_file(s.duckdb_path, s)
    print(f"warehouse {s.duckdb_path}: " + ("not created yet" if have is None and not Path(s.duckdb_path).exists()
                                            else "holds what these settings index" if have else "nothing recorded yet"))
    return 0


def reset(s: Settings, yes: bool) -> int:
    """Delete the settings' warehouse file and what was made from it beside it (dashboard, backfill landing)."""
    from .core.store import writer
    db = Path(s.duckdb_path)
    made = [Path(f"{db}.wal"), db.with_name("dashboard.html"), s.landing_dir]
    try:  # the copy readers open (pipelines.core.publish), if this version publishes one
        from .core.publish import published_path
        pub = published_path(db)
        made += [pub, Path(f"{pub}.wal"), pub.with_name(pub.name + ".manifest.json")]
    except ImportError:
        pass
    doomed = [p for p in (db, *made) if p.exists()]
    if not doomed:
        print(f"nothing to reset: no warehouse at {db}")
        return 0
    if not yes:
        print("would delete (run again with --yes):\n  " + "\n  ".join(map(str, doomed)), file=sys.stderr)
        return 1
    with writer(str(db)) as con:  # waits for a run that is writing; the file is deleted under its lock
        con.close()
        for p in doomed:
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    Path(f"{db}.writer.lock").unlink(missing_ok=True)
    print("deleted:\n  " + "\n  ".join(map(str, doomed)))
    return 0


def partitions(s: Settings) -> int:
    """Add the backfill's block-range partition keys (landed_logs) up to head - confirmations to the Dagster
    instance of $DAGSTER_HOME: what the sensor block_range_partitions does where a daemon runs."""
    import dagster as dg

    from .ingest.backfill import PARTITIONS, add_keys, node_head
    head = node_head(s)
    if head is None:
        raise RuntimeError("the devnet history is not built yet: run `make demo` (or ingest_job) first")
    if not os.environ.get("DAGSTER_HOME"):
        raise RuntimeError("DAGSTER_HOME is not set: partition keys live in a Dagster instance (the Makefile's is "
                           "data/dagster_home)")
    with dg.DagsterInstance.get() as instance:
        new = add_keys(instance, s, head)
        keys = instance.get_dynamic_partitions(PARTITIONS)
    print(f"{len(new)} partition keys added to {PARTITIONS} (head {head}, {s.confirmations} confirmations, "
          f"{s.backfill_partition_blocks:,} blocks each); {len(keys)} in all"
          + (f": {keys[0]}...{keys[-1]}" if keys else ""))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="oyster-lens")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="validate the settings (shown with their sources, the RPC URL masked), the "
                                     "node's chain id and the warehouse's identity")
    c.add_argument("--no-node", action="store_true", help="do not contact the node")
    sub.add_parser("summary", help="where the DuckDB file is and what is in it")
    sub.add_parser("schema", help="regenerate sql/schema/events.sql")
    a = sub.add_parser("audit", help="LP performance audit of a trader or one range (HTML report + DuckDB rows); "
                                     "`audit list` lists the LPs, or the ranges of one (--trader)")
    a.add_argument("action", nargs="?", choices=["list"], help="list LPs and ranges instead of auditing")
    a.add_argument("--trader", help="owner address, 0x + 40 hex digits")
    a.add_argument("--instrument", help="audit list: only this instrument (symbol such as ETH-USDC-PYTH, or address)")
    a.add_argument("--range", dest="range_spec", help="SYMBOL:owner:tick_lower:tick_upper, SYMBOL:tick_lower:"
                   "tick_upper (with --trader) or SYMBOL:range_id (from audit list); the instrument's address "
                   "works in place of SYMBOL")
    a.add_argument("--out", help="report path (default audits/<id>.html beside the DuckDB file)")
    d = sub.add_parser("dashboard", help="render the SQL dashboard to an HTML page (DuckDB opened read-only)")
    d.add_argument("--out", help="page path (default dashboard.html beside the DuckDB file)")
    r = sub.add_parser("reset", help="delete the warehouse of these settings (and its dashboard and backfill "
                                     "files) so the next run starts a new one")
    r.add_argument("--yes", action="store_true", help="really delete")
    x = sub.add_parser("crosschain", help="combine every chain's published warehouse into data/all-chains/"
                                          "oyster.duckdb: protocol-wide volume, fees, OI and each chain's share")
    x.add_argument("warehouses", nargs="*", help="chains (folders under data/, e.g. base blast) or .duckdb files; "
                                                 "default: every published warehouse found")
    x.add_argument("--out", help="the combined file (default data/all-chains/oyster.duckdb)")
    sub.add_parser("partitions", help="add the backfill's block-range partition keys (landed_logs) up to the head to "
                                      "the Dagster instance ($DAGSTER_HOME), as the sensor block_range_partitions does")
    verify.add_parser(sub)
    args = p.parse_args(argv)
    try:
        settings = load_settings()  # once, before any work: a bad setting stops every command here
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        if args.cmd == "check":
            return check(settings, node=not args.no_node)
        if args.cmd == "verify":
            return verify.run(args)
        if args.cmd == "summary":
            return summary(settings)
        if args.cmd == "reset":
            return reset(settings, args.yes)
        if args.cmd == "audit" and args.action == "list":
            from .audits.lp_audit import Target, list_text
            if args.trader:
                Target.parse(args.trader)  # a malformed address stops here, before any reading
            with _read_checked(settings) as con:
                print(list_text(con, args.trader, args.instrument))
            return 0
        if args.cmd == "audit":
            from .audits.lp_audit import Target, audit, report
            target = Target.parse(args.trader, args.range_spec)
            _read_checked(settings).close()
            with audit_session(settings.duckdb_path) as con:  # the published copy; the rows stay in memory
                audit_id, rows, series = audit(con, target)
                out = Path(args.out or Path(settings.duckdb_path).parent / "audits" / f"{audit_id}.html")
                saved = save_audit_rows(con, out)
            report(audit_id, target, rows, series, out)
            print(f"audit {audit_id}: {rows.height} ranges; report {out.resolve()}; rows in "
                  f"{', '.join(p.name for p in saved)}")
            return 0
        if args.cmd == "dashboard":
            from .dashboard.dashboard import render
            _read_checked(settings).close()
            out = Path(args.out) if args.out else Path(settings.duckdb_path).with_name("dashboard.html")
            counts = render(str(published_path(settings.duckdb_path)), out)
            print(f"dashboard: {out.resolve()} ({len(counts)} panels, "
                  f"{sum(1 for n in counts.values() if n)} with data)")
            return 0
        if args.cmd == "partitions":
            return partitions(settings)
        if args.cmd == "schema":
            (SQL_DIR / "schema" / "events.sql").write_text(events_sql())
            return 0
        if args.cmd == "crosschain":
            from .publish import crosschain
            found = crosschain.resolve(args.warehouses)
            out = Path(args.out) if args.out else crosschain.OUT
            counts = crosschain.build(found, out)
            print(f"crosschain: {', '.join(found)} -> {out.resolve()} "
                  f"({', '.join(f'{t} {n:,} rows' for t, n in counts.items())})")
            return 0
    except (ConfigError, FileNotFoundError, ValueError, RuntimeError) as e:
        from .core.secrets import scrub
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {scrub(text, settings.rpc_url)}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
