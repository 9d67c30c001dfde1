"""Progress lines of long work: done of total, rate, ETA, retries and throttling, at most every `every` s."""
from pipelines.chain.rpc import JsonRpcClient
from pipelines.core.progress import Progress, duration


def test_progress_reports_rate_eta_retries_and_throttling(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("pipelines.core.progress.time.monotonic", lambda: clock[0])
    client = JsonRpcClient("http://127.0.0.1:1/KEY", requests_per_second=10)
    lines: list[str] = []
    p = Progress("ingest", 1000, lines.append, client=client, every=10)
    clock[0] += 5
    p(100, 5000)
    assert lines == []  # not due yet
    clock[0] += 5
    client.retries += 2
    client.limiter.throttled, client.limiter.waited = 7, 1.25
    p(100, 5000)
    assert lines == ["ingest: 200/1,000 blocks (20.0%), 1,000 logs/s, ETA 40s, 2 retries, 7 requests throttled "
                     "(1.2 s waited)"]
    clock[0] += 40
    p(800, 0)
    assert lines[-1].startswith("ingest: 1,000/1,000 blocks (100.0%)") and "done in 50s" in lines[-1]
    m = p.metadata()
    assert (m["blocks_done"], m["blocks_total"], m["retries"], m["throttled_requests"]) == (1000, 1000, 2, 7)
    assert "KEY" not in " ".join(lines)


def test_durations_read_as_people_write_them():
    assert (duration(5), duration(125), duration(7325)) == ("5s", "2m05s", "2h02m")


def test_the_cli_bar_redraws_one_line_on_a_terminal_and_prints_lines_elsewhere():
    import io

    from pipelines.core.progress import terminal_bar

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty, log = Tty(), io.StringIO()
    for stream in (tty, log):
        report = terminal_bar(stream)
        report("verify: 500/1,000 blocks (50.0%), ETA 5s")
        report("verify: 1,000/1,000 blocks (100.0%), done in 10s")
    assert tty.getvalue().startswith("\r[##########----------] verify: 500/1,000") and tty.getvalue().endswith("\n")
    assert tty.getvalue().count("\n") == 1  # redrawn in place, one newline at the end
    assert log.getvalue().splitlines() == ["verify: 500/1,000 blocks (50.0%), ETA 5s",
                                           "verify: 1,000/1,000 blocks (100.0%), done in 10s"]
