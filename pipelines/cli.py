"""Command line: `python -m pipelines.cli summary | schema`."""
import argparse
import sys
from pathlib import Path

from . import verify
from .config import ConfigError, load_settings
from .store import SQL_DIR, event_table_ddl, reader

EVENTS_SQL_HEADER = (
    "-- One typed table per protocol event (spec §4), generated from models/events.py by\n"
    "-- `python -m pipelines.cli schema`; a test keeps this file equal to the generator.\n"
    "-- Integers: BIGINT up to 63 bits, HUGEINT up to int128/uint127, VARCHAR decimal text beyond (uint128+, int256).\n"
    "-- No primary key: a block range is deleted and inserted in one transaction, so (block_number, log_index) is\n"
    "-- unique by construction, and the blocking check `logs_decoded_once` proves it (an index cost ~30% of ingest).\n\n")


def events_sql() -> str:
    return EVENTS_SQL_HEADER + event_table_ddl()


def summary() -> int:
    s = load_settings()
    with reader(s.duckdb_path) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        print(f"DuckDB file: {s.duckdb_path}  (chain: {s.chain}, rpc: {s.safe_rpc_url})")
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="oyster-lens")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("summary", help="where the DuckDB file is and what is in it")
    sub.add_parser("schema", help="regenerate sql/schema/events.sql")
    a = sub.add_parser("audit", help="LP performance audit of a trader or one range (HTML report + DuckDB rows)")
    a.add_argument("--trader", help="owner address, 0x + 40 hex digits")
    a.add_argument("--range", dest="range_spec", help="instrument:owner:tick_lower:tick_upper")
    a.add_argument("--out", help="report path (default data/audits/<id>.html)")
    d = sub.add_parser("dashboard", help="render the SQL dashboard to an HTML page (DuckDB opened read-only)")
    d.add_argument("--out", default="data/dashboard.html")
    verify.add_parser(sub)
    args = p.parse_args(argv)
    try:
        if args.cmd == "summary":
            return summary()
        if args.cmd == "verify":
            return verify.run(args)
        if args.cmd == "audit":
            from .lp_audit import Target, audit, report
            from .store import writer
            target = Target.parse(args.trader, args.range_spec)
            settings = load_settings()
            with writer(settings.duckdb_path) as con:
                audit_id, rows, series = audit(con, target)
            out = Path(args.out or Path(settings.duckdb_path).parent / "audits" / f"{audit_id}.html")
            report(audit_id, target, rows, series, out)
            print(f"audit {audit_id}: {rows.height} ranges; report {out.resolve()}; rows in lp_audit_ranges")
            return 0
        if args.cmd == "dashboard":
            from .dashboard import render
            counts = render(load_settings().duckdb_path, Path(args.out))
            print(f"dashboard: {Path(args.out).resolve()} ({len(counts)} panels, "
                  f"{sum(1 for n in counts.values() if n)} with data)")
            return 0
        if args.cmd == "schema":
            (SQL_DIR / "schema" / "events.sql").write_text(events_sql())
            return 0
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
