"""The published copy's bytes (pipelines/core/publish.py): copied by the kernel, or in user space where it cannot."""
import os

import duckdb

from pipelines.core import publish as P


def _warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS x, md5(range::VARCHAR) AS h FROM range(300000)")


def test_publish_copies_the_checkpointed_file_byte_for_byte(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    real, copied = os.copy_file_range, []

    def counted(*a):
        copied.append(real(*a))
        return copied[-1]
    monkeypatch.setattr(os, "copy_file_range", counted)
    r = P.publish(str(db))
    assert sum(copied) == db.stat().st_size  # the kernel copied it (this file system supports it)
    assert open(r["path"], "rb").read() == db.read_bytes() and r["bytes"] == db.stat().st_size > 1 << 20
    with P.published_reader(str(db)) as con:
        assert con.execute("SELECT count(*), sum(x) FROM t").fetchall() == [(300000, 300000 * 299999 // 2)]


def test_a_kernel_that_cannot_copy_part_way_falls_back_to_user_space(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    real, calls = os.copy_file_range, []

    def once_then_refuse(src, dst, count, offset_src=None, offset_dst=None):
        calls.append(count)
        if len(calls) > 1:
            raise OSError(18, "Invalid cross-device link")
        return real(src, dst, min(count, 1 << 20), offset_src, offset_dst)  # a first part, then EXDEV
    monkeypatch.setattr(os, "copy_file_range", once_then_refuse)
    out = tmp_path / "copy"
    with open(db, "rb") as src, open(out, "wb") as dst:
        P._copy(src, dst)
    assert len(calls) == 2 and out.read_bytes() == db.read_bytes()


def test_a_kernel_that_stops_early_leaves_the_rest_to_user_space(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    real = os.copy_file_range
    calls = []

    def then_nothing(src, dst, count, offset_src=None, offset_dst=None):
        calls.append(count)
        return real(src, dst, min(count, 1 << 20), offset_src, offset_dst) if len(calls) == 1 else 0
    monkeypatch.setattr(os, "copy_file_range", then_nothing)
    out = tmp_path / "copy"
    with open(db, "rb") as src, open(out, "wb") as dst:
        P._copy(src, dst)
    assert len(calls) == 2 and out.read_bytes() == db.read_bytes()
