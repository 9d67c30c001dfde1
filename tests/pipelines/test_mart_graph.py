"""The marts' runner: CREATE targets and reads parsed from SQL files, built in dependency order; a cycle, an
unknown table or a table created twice is a clear error."""
import re

import duckdb
import pytest

from pipelines.marts.assets import GRAPH, MART_SOURCES, build_marts
from pipelines.marts.mart_graph import MartGraphError, load_graph, reads_of

SOURCES = {"events_trade", "fills", "instruments"}


def _write(tmp_path, files: dict[str, str]):
    for name, sql in files.items():
        (tmp_path / name).write_text(sql)
    return tmp_path


def test_models_are_ordered_by_what_they_read_not_by_file_name(tmp_path):
    d = _write(tmp_path, {
        # file order is the reverse of the dependency order
        "00_daily.sql": "-- daily (v1): one row per day.\n--   from hourly.\n"
                        "CREATE OR REPLACE TABLE daily AS SELECT date_trunc('day', hour) AS day, sum(n) AS n "
                        "FROM hourly GROUP BY ALL;\n",
        "01_hourly.sql": "-- hourly: trades per hour and instrument.\n"
                         "CREATE OR REPLACE VIEW hourly AS\nWITH t AS (SELECT * FROM events_trade)\n"
                         "SELECT to_timestamp(t.ts) AS hour, i.symbol, count(*) AS n FROM t "
                         "JOIN instruments i ON i.address = t.address\n"
                         "WHERE t.kind IS NOT DISTINCT FROM 'x' GROUP BY ALL;\n"
                         "-- roll-ups of hourly\nCREATE TABLE by_symbol AS SELECT symbol, sum(n) FROM hourly GROUP BY 1;\n"
                         "CREATE TABLE IF NOT EXISTS fills (a INT);\n"
                         "CREATE TABLE total AS SELECT (SELECT sum(n) FROM daily) AS n, "
                         "extract(year FROM now()) AS y FROM (SELECT 1) s, by_symbol b;",
    })
    g = load_graph(d, SOURCES)
    assert [m.name for m in g.models] == ["hourly", "daily", "by_symbol", "total"]
    by = g.by_name()
    assert by["hourly"].reads == ["events_trade", "instruments"]  # the CTE t is no table; DISTINCT FROM no read
    assert by["daily"].reads == ["hourly"]
    assert by["total"].reads == ["by_symbol", "daily"]  # extract(... FROM ...) is no read; a FROM list is
    assert by["daily"].description == "daily (v1): one row per day.\n  from hourly."
    assert by["by_symbol"].description == by["total"].description == "roll-ups of hourly"
    assert (by["hourly"].kind, by["daily"].kind) == ("view", "table")
    assert g.setup == ["CREATE TABLE IF NOT EXISTS fills (a INT);"]  # set-up, not a model
    assert [m.name for m in g.upstream_of(["daily"])] == ["hourly", "daily"]

    con = duckdb.connect()
    con.execute("CREATE TABLE events_trade (ts BIGINT, address VARCHAR, kind VARCHAR)")
    con.execute("CREATE TABLE instruments (address VARCHAR, symbol VARCHAR)")
    con.execute("INSERT INTO events_trade VALUES (0, 'a', 'x'), (3600, 'a', 'x'), (7200, 'b', 'x')")
    con.execute("INSERT INTO instruments VALUES ('a', 'ETH'), ('b', 'BTC')")
    assert build_marts(con, graph=g) == ["hourly", "daily", "by_symbol", "total"]
    assert con.execute("SELECT DISTINCT n FROM total").fetchall() == [(3,)]
    assert build_marts(con, ["daily"], graph=g) == ["daily"]  # a selection builds what it names


def test_a_cycle_is_an_error_naming_its_files(tmp_path):
    d = _write(tmp_path, {"a.sql": "CREATE TABLE a AS SELECT * FROM c;\nCREATE TABLE b AS SELECT * FROM a;",
                          "b.sql": "CREATE VIEW c AS SELECT * FROM b JOIN fills USING (x);",
                          "c.sql": "CREATE TABLE ok AS SELECT * FROM fills;"})
    with pytest.raises(MartGraphError, match=r"cycle among the marts: a \(a.sql\) -> c \(b.sql\) -> b \(a.sql\) -> a"):
        load_graph(d, SOURCES)


def test_a_missing_table_is_an_error_naming_the_reader(tmp_path):
    d = _write(tmp_path, {"a.sql": "CREATE TABLE a AS SELECT * FROM fills LEFT JOIN no_such_table n USING (x);"})
    with pytest.raises(MartGraphError, match=r"a \(a.sql\) reads no_such_table, which no mart creates and no "
                                             r"upstream step writes"):
        load_graph(d, SOURCES)


def test_a_table_created_twice_or_over_a_source_is_an_error(tmp_path):
    d = _write(tmp_path, {"a.sql": "CREATE TABLE a AS SELECT 1;", "b.sql": "CREATE OR REPLACE TABLE a AS SELECT 2;"})
    with pytest.raises(MartGraphError, match="a is created twice: in a.sql and in b.sql"):
        load_graph(d, SOURCES)
    d2 = tmp_path / "two"
    d2.mkdir()
    _write(d2, {"a.sql": "CREATE OR REPLACE TABLE fills AS SELECT 1;"})
    with pytest.raises(MartGraphError, match="a.sql creates fills, a table an upstream step writes"):
        load_graph(d2, SOURCES)
    d3 = tmp_path / "three"
    d3.mkdir()
    _write(d3, {"a.sql": "INSERT INTO fills SELECT 1;"})
    with pytest.raises(MartGraphError, match="CREATE TABLE / CREATE VIEW statements only"):
        load_graph(d3, SOURCES)


def test_the_project_marts_form_a_graph_over_the_upstream_tables():
    names = [m.name for m in GRAPH.models]
    pos = {n: i for i, n in enumerate(names)}
    for m in GRAPH.models:
        assert set(m.reads) <= set(names) | MART_SOURCES
        assert all(pos[r] < pos[m.name] for r in m.reads if r in pos), m.name
        assert m.description, m.name
    assert len(names) == len(set(names)) == 21
    assert reads_of("SELECT * FROM memory.main.fills f, instruments AS i") == {"fills", "instruments"}


def test_the_incremental_directive_is_parsed_from_a_tables_own_comment_block(tmp_path):
    d = _write(tmp_path, {"a.sql": "-- hourly (v1): trades per hour.\n-- incremental: hour (ts)\n"
                                   "--   exact: an hour reads its own trades.\n"
                                   "CREATE OR REPLACE TABLE hourly AS\nWITH t AS (SELECT * FROM events_trade)\n"
                                   "SELECT ts, date_trunc('hour', to_timestamp(ts)) AS hour FROM t;\n"
                                   "-- incremental: day\nCREATE TABLE daily AS SELECT hour::DATE AS day FROM hourly;\n"
                                   "-- by block\n-- INCREMENTAL:block_number\n"
                                   "CREATE TABLE blocks AS SELECT 1 AS block_number FROM fills;\n"
                                   "CREATE TABLE plain AS SELECT * FROM daily;"})
    by = load_graph(d, SOURCES).by_name()
    assert (by["hourly"].incremental.key, by["hourly"].incremental.unit, by["hourly"].incremental.seconds) == \
        ("hour", "hour", "ts")
    assert by["hourly"].description == "hourly (v1): trades per hour.\n  exact: an hour reads its own trades."
    assert by["hourly"].query.startswith("WITH t AS (SELECT * FROM events_trade)") and by["hourly"].query.endswith("t")
    assert (by["daily"].incremental.unit, by["daily"].incremental.seconds) == ("day", None)
    assert by["daily"].description == by["hourly"].description  # a directive alone is no comment of its own
    assert by["daily"].query == "SELECT hour::DATE AS day FROM hourly"
    assert by["blocks"].incremental.unit == "block" and by["blocks"].description == "by block"
    assert by["plain"].incremental is None and by["plain"].description == "by block"  # not inherited


@pytest.mark.parametrize("sql, error", [
    ("-- incremental: hour\nCREATE VIEW v AS SELECT 1 AS hour FROM fills;", "v is a view: only a table"),
    ("-- incremental: hour\n-- incremental: day\nCREATE TABLE t AS SELECT 1 FROM fills;", "given 2 times"),
    ("-- incremental: week\nCREATE TABLE t AS SELECT 1 FROM fills;", "the key one of hour, day, block_number"),
    ("-- incremental: hour, ts\nCREATE TABLE t AS SELECT 1 FROM fills;", "should read `-- incremental: <key>`"),
    ("-- incremental: block_number (ts)\nCREATE TABLE t AS SELECT 1 FROM fills;", "needs no seconds column"),
])
def test_a_malformed_or_misplaced_directive_is_an_error_naming_the_file(tmp_path, sql, error):
    d = _write(tmp_path, {"m.sql": sql})
    with pytest.raises(MartGraphError, match=r"m\.sql.*" + re.escape(error)):
        load_graph(d, SOURCES)


def test_the_project_declares_which_marts_are_incremental():
    inc = {m.name: (m.incremental.key, m.incremental.seconds) for m in GRAPH.models if m.incremental}
    assert inc == {"mart_quote_prices_hourly": ("hour", None), "fact_trades": ("hour", "block_timestamp"),
                   "mart_volume_hourly": ("hour", None), "mart_volume_daily": ("day", None),
                   "mart_volume_daily_by_quote": ("day", None), "mart_volume_daily_protocol": ("day", None),
                   "mart_fees_daily": ("day", None), "mart_instrument_share_daily": ("day", None),
                   "mart_book_vs_amm_daily": ("day", None), "mart_defillama_daily": ("day", None)}
    tables = {m.name for m in GRAPH.models if m.kind == "table"}
    assert tables - set(inc) == {"mart_replay_drift_daily"}  # rebuilt in full: its file says why
    assert "incremental:" not in "".join(m.description for m in GRAPH.models)
