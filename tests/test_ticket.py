"""Ticket: the sender's handle on a command; wait() works whichever side comes first."""

from __future__ import annotations

import threading
import time

from mapping.commands import Command, Result, Ticket


def test_wait_returns_the_result_resolved_later_by_another_thread():
    ticket = Ticket(Command("go"), None)
    result = Result(True, "go")
    timer = threading.Timer(0.05, ticket.resolve, args=(result,))
    timer.start()
    start = time.monotonic()
    assert ticket.wait(timeout=5) is result
    assert time.monotonic() - start < 2
    timer.join()


def test_wait_after_resolve_returns_at_once_and_the_callback_ran_once():
    seen = []
    ticket = Ticket(Command("go"), seen.append)
    result = Result(False, "go", "no cue")
    ticket.resolve(result)
    assert ticket.wait(timeout=0) is result and seen == [result]


def test_wait_times_out_with_none_while_unresolved():
    ticket = Ticket(Command("go"), None)
    assert ticket.wait(timeout=0.01) is None
    ticket.resolve(Result(True, "go"))
    assert ticket.wait(timeout=0.01) is not None


def test_many_waiters_all_wake():
    ticket = Ticket(Command("go"), None)
    got = []
    threads = [threading.Thread(target=lambda: got.append(ticket.wait(5))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    result = Result(True, "go")
    ticket.resolve(result)
    for t in threads:
        t.join(5)
    assert got == [result] * 8
