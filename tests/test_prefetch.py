"""The prefetch window: N requests in flight at all times, pages in order, a bounded buffer, no
request past the last page.  Correctness and request counts only; timings live in bench/."""

from __future__ import annotations

import threading

import pytest

from freshbooks_orm import Invoice
from freshbooks_orm.orm.queryset import _window
from freshbooks_orm.sandbox import Sandbox


def test_a_slow_page_does_not_hold_back_the_other_workers() -> None:
    release = threading.Event()
    asked: list[int] = []
    lock = threading.Condition()

    def fetch(number: int) -> tuple[list[int], int, int]:
        with lock:
            asked.append(number)
            lock.notify_all()
        if number == 2:
            assert release.wait(10), "page 2 was never released"
        return [number], 10, 10

    pages = _window(fetch, range(2, 11), prefetch=2)
    got: list[list[int]] = []
    consumer = threading.Thread(target=lambda: got.extend(rows for rows, _ in pages))
    consumer.start()
    with lock:
        # page 2 hangs, yet its slot-mate's slot is refilled as each page finishes, until
        # 2 * N pages are fetched and waiting: 2 (in flight), 3, 4, 5
        assert lock.wait_for(lambda: len(asked) >= 4, timeout=10)
    assert sorted(asked[:4]) == [2, 3, 4, 5]
    assert consumer.is_alive()
    with lock:
        assert not lock.wait_for(lambda: len(asked) > 4, timeout=0.2)  # bounded window
    release.set()
    consumer.join(10)
    assert got == [[n] for n in range(2, 11)]  # in order
    assert sorted(asked) == list(range(2, 11))  # each page once, none past the last


def test_a_failed_page_is_raised_in_its_turn() -> None:
    def fetch(number: int) -> tuple[list[int], int, int]:
        if number == 4:
            raise RuntimeError("page 4 failed")
        return [number], 10, 10

    got = []
    with pytest.raises(RuntimeError, match="page 4"):
        for rows, _ in _window(fetch, range(2, 11), prefetch=3):
            got.append(rows)
    assert got == [[2], [3]]


@pytest.mark.parametrize("prefetch", [1, 4, 8])
def test_prefetch_sends_one_request_per_page_and_no_more(prefetch: int) -> None:
    with Sandbox(invoices=1234, seed=5) as sb, sb.client() as client:
        live = sum(1 for inv in sb.invoices.values() if inv["vis_state"] != 1)
        sb.requests.clear()
        n = sum(1 for _ in Invoice.objects.using(client).iterator(prefetch=prefetch))
        assert n == live
        pages = sorted(int(dict(r.query)["page"]) for r in sb.requests)
        assert pages == list(range(1, -(-live // 100) + 1))
