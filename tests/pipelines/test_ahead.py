"""The background stage that ingestion chains (fetch -> decode -> write): order, errors, and stopping."""
import itertools
import threading

import pytest

from pipelines.ingest.ahead import Ahead


def test_items_arrive_in_order_from_another_thread():
    seen = []

    def items():
        for i in range(100):
            seen.append(threading.current_thread().name)
            yield i
    with Ahead(items(), depth=3, name="stage") as a:
        assert list(a) == list(range(100))
    assert set(seen) == {"stage"}


def test_an_error_in_the_stage_reaches_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("node said no")
    got = []
    with pytest.raises(ValueError, match="node said no"), Ahead(items(), depth=1) as a:
        for x in a:
            got.append(x)
    assert got == [1, 2]


def test_leaving_early_stops_the_stage_and_bounds_its_work():
    made = itertools.count()
    finished = threading.Event()

    def items():
        try:
            while True:
                yield next(made)
        finally:
            finished.set()
    a = Ahead(items(), depth=2)
    with pytest.raises(RuntimeError), a:
        for x in a:
            if x == 5:
                raise RuntimeError("writer failed")
    assert not a._thread.is_alive() and finished.is_set()
    assert next(made) <= 5 + 1 + 2 + 2  # consumed, in the queue, and the one being put
