import dataclasses
from pathlib import Path

import pytest

from devnet.anvil import Anvil
from devnet.build import build
from pipelines.core.config import load_settings


@pytest.fixture(scope="session")
def small_history() -> Path:
    """The small devnet history, built once and kept under data/devnet/."""
    return build("small")


@pytest.fixture
def node(small_history):
    with Anvil(load_state=small_history / "state.json") as n:
        yield n


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(load_settings(env={}), duckdb_path=str(tmp_path / "oyster.duckdb"))
