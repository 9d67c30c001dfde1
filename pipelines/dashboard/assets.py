"""The dashboard asset: sql/dashboard/*.sql rendered to one HTML page beside the DuckDB file
(pipelines/dashboard/dashboard.py), after the marts it reads."""
import dagster as dg

from ..core.resources import OysterConfig
from ..core.store import SQL_DIR
from ..ingest.assets import WRITER_POOL
from ..marts.mart_graph import reads_of

DASHBOARD_READS = sorted(set().union(*(reads_of(f.read_text()) for f in (SQL_DIR / "dashboard").glob("*.sql")))
                         | {"warehouse_identity", "raw_logs", "ingested_ranges"})  # and its header's queries


@dg.asset(group_name="marts", deps=DASHBOARD_READS, pool=WRITER_POOL, kinds={"html"},
          description="The SQL dashboard (sql/dashboard/*.sql) rendered to dashboard.html beside the DuckDB file, "
                      "which it opens read-only.")
def dashboard(context: dg.AssetExecutionContext, oyster: OysterConfig) -> dg.MaterializeResult:
    from pathlib import Path

    from .dashboard import render
    db = oyster.settings().duckdb_path
    out = Path(db).with_name("dashboard.html")  # beside the DuckDB file
    counts = render(db, out)
    empty = [k for k, n in counts.items() if not n]
    if empty:
        context.log.warning(f"panels without data: {empty}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)), "panels": len(counts),
                                          "empty_panels": str(empty)})
