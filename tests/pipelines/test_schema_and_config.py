"""The committed SQL schema matches the event catalogue; settings load from file and environment."""
from pipelines.cli import events_sql
from pipelines.core.config import load_settings, redact
from pipelines.core.store import SQL_DIR, sql_type


def test_events_sql_is_generated_from_the_catalogue():
    assert (SQL_DIR / "schema" / "events.sql").read_text() == events_sql(), "run `make schema`"


def test_exact_column_types():
    assert sql_type("uint32") == "BIGINT" and sql_type("int24") == "BIGINT" and sql_type("uint64") == "HUGEINT"
    assert sql_type("int128") == "HUGEINT" and sql_type("uint96") == "HUGEINT"
    assert sql_type("uint128") == "VARCHAR" and sql_type("uint256") == "VARCHAR" and sql_type("int256") == "VARCHAR"


def test_environment_overrides_the_file_and_the_url_is_redacted():
    s = load_settings(env={"OYSTER_CHAIN": "base", "OYSTER_RPC_URL": "https://user:pw@rpc.example/v2/KEY?x=1",
                           "OYSTER_CONFIRMATIONS": "3", "OYSTER_DUCKDB_PATH": "/tmp/x.duckdb"})
    assert s.chain_id == 8453 and s.confirmations == 3 and s.duckdb_path == "/tmp/x.duckdb"
    assert s.start_block == 15779365 and s.markets["PYTH"].lower() == "0xba2593a538df42f4673a5c72a444d70d6b91f3d9"
    assert "KEY" not in repr(s) and "pw" not in repr(s) and "KEY" not in s.safe_rpc_url
    assert redact("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
