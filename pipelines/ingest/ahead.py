"""Run an iterator on its own thread, a bounded number of items ahead of whoever consumes it.

Ingestion is a chain of such stages (fetch -> decode -> write): each stage's heavy work is in Polars, DuckDB or
the socket, which release the GIL, so the stages share the cores.  An error in a stage reaches the consumer;
leaving the `with` block (normally or by an error) stops the stage and waits for its thread.
"""
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Self

_END = object()


class Ahead:
    def __init__(self, items: Iterable, depth: int, name: str = "ahead"):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _run(self, items: Iterable) -> None:
        try:
            for item in items:
                if not self._put((True, item)):
                    return
            self._put((True, _END))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put((False, e))
        finally:
            close = getattr(items, "close", None)  # a generator stopped early runs its cleanup here
            if close:
                close()

    def _put(self, entry) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator:
        while True:
            ok, item = self._queue.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
