"""Progress of long work (ingest, backfill, the devnet build): done of total, rate, ETA, retries and throttling,
reported at most every `every` seconds (and at the end), as log lines and as metadata for Dagster."""
import sys
import time
from typing import Callable


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """Call it with (units done so far in this step, logs in this step); it reports when due.  `client` (a
    JsonRpcClient, optional) adds its retries and rate-limit waits."""

    def __init__(self, what: str, total: int, report: Callable[[str], None], client=None, every: float = 10.0,
                 unit: str = "blocks"):
        self.what, self.total, self.report, self.client, self.every, self.unit = what, total, report, client, every, unit
        self.done = self.logs = 0
        self.t0 = time.monotonic()
        self.last = self.t0
        self.retries0 = client.retries if client is not None else 0

    def __call__(self, units: int, logs: int = 0) -> None:
        self.done += units
        self.logs += logs
        now = time.monotonic()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            self.report(self.line())

    def metadata(self) -> dict:
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        out = {f"{self.unit}_done": self.done, f"{self.unit}_total": self.total, "seconds": round(elapsed, 1),
               f"{self.unit}_per_second": round(self.done / elapsed, 1)}
        if self.logs:
            out["logs"] = self.logs
            out["logs_per_second"] = round(self.logs / elapsed, 1)
        if self.client is not None:
            out["retries"] = self.client.retries - self.retries0
            out["throttled_requests"] = self.client.limiter.throttled
            out["throttled_seconds"] = round(self.client.limiter.waited, 1)
        return out

    def line(self) -> str:
        m = self.metadata()
        elapsed = m["seconds"]
        pct = 100.0 * self.done / self.total if self.total else 100.0
        rate = self.done / elapsed if elapsed else 0
        eta = (self.total - self.done) / rate if rate and self.done < self.total else 0
        parts = [f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({pct:.1f}%)"]
        if self.logs:
            parts.append(f"{m['logs_per_second']:,.0f} logs/s")
        parts.append(f"ETA {duration(eta)}" if self.done < self.total else f"done in {duration(elapsed)}")
        if self.client is not None:
            parts.append(f"{m['retries']} retries, {m['throttled_requests']} requests throttled "
                         f"({m['throttled_seconds']:.1f} s waited)")
        return ", ".join(parts)


def terminal_bar(stream=None) -> Callable[[str], None]:
    """A report function for the CLI: on a terminal, one line redrawn in place with a bar; elsewhere (a log
    file, CI) a line per report."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def report(line: str) -> None:
        if not tty:
            print(line, file=stream, flush=True)
            return
        pct = _percent(line)
        bar = "#" * int(pct / 5) + "-" * (20 - int(pct / 5)) if pct is not None else ""
        stream.write(f"\r[{bar}] {line}\x1b[K" + ("\n" if "done in" in line else ""))
        stream.flush()
    return report


def _percent(line: str) -> float | None:
    start = line.find("(")
    end = line.find("%)", start)
    try:
        return float(line[start + 1:end]) if start >= 0 and end > start else None
    except ValueError:
        return None
