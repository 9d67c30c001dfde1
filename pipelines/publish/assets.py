"""Publication: the last step of a run that wrote something replaces the published copy readers open
(pipelines/core/publish.py)."""
import dagster as dg

from ..core.publish import WriterRun, publish
from ..core.resources import OysterConfig
from ..dashboard.assets import dashboard


@dg.asset(group_name="publish", deps=[dashboard], kinds={"duckdb"},
          description="The read-only copy dashboards, BI tools and the CLI open (<dir>/published/<name>), replaced "
                      "atomically once the run's blocking checks have passed; skipped when the run had nothing new.")
def published_warehouse(context: dg.AssetExecutionContext, oyster: OysterConfig,
                        run_lock: WriterRun) -> dg.MaterializeResult:
    r = publish(oyster.settings().duckdb_path)
    context.log.info(f"published {r['path']}: {r['bytes'] / 1e6:.1f} MB in {r['seconds']:.2f} s")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(r["path"]), "mb": round(r["bytes"] / 1e6, 2),
                                          "seconds": r["seconds"]})
