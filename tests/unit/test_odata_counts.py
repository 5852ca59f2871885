import threading
from contextlib import nullcontext

from odata_service.counts import CountCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A count that returns 1, 2, 3… and remembers the connections it ran on."""

    def __init__(self) -> None:
        self.connections: list[object] = []

    def __call__(self, conn: object) -> int:
        self.connections.append(conn)
        return len(self.connections)


def wait_for_refresh(cache: CountCache) -> None:
    assert cache._refresher is not None
    cache._refresher.submit(lambda: None).result(timeout=10)


def test_a_fresh_count_is_reused_and_a_missing_one_counted_on_the_request_connection():
    clock, count = Clock(), Counter()
    cache = CountCache(30, connect=lambda: nullcontext("background"), clock=clock)
    assert cache.get("k", count, "request") == 1
    clock.now += 10
    assert cache.get("k", count, "request") == 1
    assert count.connections == ["request"]


def test_a_count_past_half_its_life_is_recounted_in_the_background():
    clock, count = Clock(), Counter()
    cache = CountCache(30, connect=lambda: nullcontext("background"), clock=clock)
    cache.get("k", count, "request")
    clock.now += 20
    # Served at once, as it is still within its lifetime; a recount starts behind it.
    assert cache.get("k", count, "request") == 1
    wait_for_refresh(cache)
    assert count.connections == ["request", "background"]
    assert cache.get("k", count, "request") == 2
    # The recount started at +20, so it is fresh until +50.
    clock.now += 25
    assert cache.get("k", count, "request") == 2
    cache.close()


def test_an_expired_count_is_counted_again_before_answering():
    clock, count = Clock(), Counter()
    cache = CountCache(30, clock=clock)
    cache.get("k", count, "request")
    clock.now += 31
    assert cache.get("k", count, "request") == 2
    assert cache.get("other", count, "request") == 3 and len(cache) == 2


def test_a_failed_background_recount_keeps_the_count():
    clock, count = Clock(), Counter()

    def broken():
        raise ConnectionError("database gone")

    cache = CountCache(30, connect=broken, clock=clock)
    cache.get("k", count, "request")
    clock.now += 20
    assert cache.get("k", count, "request") == 1
    wait_for_refresh(cache)
    assert cache.get("k", count, "request") == 1
    cache.close()


def test_concurrent_requests_for_a_missing_count_count_once():
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(conn: object) -> int:
        calls.append(conn)
        started.set()
        release.wait(10)
        return 42

    cache = CountCache(30)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow, "a")))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: results.append(cache.get("k", slow, "b")))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert results == [42, 42] and calls == ["a"]


def test_without_a_ttl_every_request_counts():
    count = Counter()
    cache = CountCache(0)
    assert [cache.get("k", count, "c") for _ in range(3)] == [1, 2, 3]


def test_a_publication_clears_counts_and_counts_begun_before_it_are_not_kept():
    clock, count = Clock(), Counter()
    cache = CountCache(3600, clock=clock)
    assert cache.get("k", count, "request") == 1
    started = clock.now
    clock.now += 1
    cache.clear()  # a publication
    cache._store("k", started, 99)  # a count that began before it, landing late
    assert cache.get("k", count, "request") == 2
