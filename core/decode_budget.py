"""How much memory photo decodes may hold at once, and the memory limit checked before each decode.

A JPEG decodes at reduced size (core/images.py), but a PNG, WebP or GIF decodes whole: a 40 MP PNG takes about
half a gigabyte while it is hashed and its reading copy made. A crawl fetches many photos at once, so unbounded,
twelve such decodes held 4 GB in a crawl limited to 1 GB, and the limit, checked every 10 s, noticed after the fact.
So a decode first reserves its estimated peak (`core.images.decode_cost`) from one budget per process, waiting while
others hold it; a photo that would need more than the whole budget is refused with a stored status; and just before
the memory is taken, what the process holds plus what the decode will take is checked against the memory limit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.images import ImageRejected
from core.models import ImageStatus

MB = 1024 * 1024
GIVE_BACK_FROM = 16 * MB  # a decode this large gives its memory back when it ends


def _malloc_trim() -> Callable[[int], object]:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda _pad: None  # not glibc: its allocator returns memory on its own terms


_TRIM = _malloc_trim()


def give_back_freed_memory() -> None:
    """Return freed heap pages to the system. glibc keeps what a thread freed in that thread's arena, so decodes
    done one at a time by different worker threads would still each leave their peak resident: measured, eight
    6 MP PNG decodes one after another grew a crawl by 496 MB; giving back after each, by 96 MB."""
    _TRIM(0)


class MemoryLimitReached(RuntimeError):
    """A decode would take the process past its memory limit: the crawl must stop, not the photo be skipped."""


def _megabytes(size: int) -> str:
    return f"{size / MB:.0f} MB"


class DecodeBudget:
    """A semaphore weighted in bytes: `reserve(cost)` waits until `cost` fits beside the decodes in progress.

    `peak_reserved` is the most ever held at once, `waits` how many decodes had to wait for room. With a
    `memory_limit`, a reservation first checks `memory_in_use()` (bytes the process holds now) + cost against it
    and raises MemoryLimitReached when the decode would pass it.
    """

    def __init__(self, capacity: int, *, memory_limit: int = 0, memory_in_use: Callable[[], int] = lambda: 0,
                 setting: str = "the decode budget"):
        self.capacity = capacity
        self.memory_limit = memory_limit
        self.memory_in_use = memory_in_use
        self.setting = setting
        self.reserved = 0
        self.peak_reserved = 0
        self.waits = 0
        self._room = threading.Condition()

    @contextmanager
    def reserve(self, cost: int) -> Iterator[None]:
        if cost > self.capacity:
            raise ImageRejected(ImageStatus.TOO_LARGE, (
                f"decoding it would take about {_megabytes(cost)}, more than the {_megabytes(self.capacity)} "
                f"all photo decodes may hold at once ({self.setting})"))
        with self._room:
            if self.reserved + cost > self.capacity:
                self.waits += 1
                self._room.wait_for(lambda: self.reserved + cost <= self.capacity)
            if self.memory_limit:
                in_use = self.memory_in_use()
                if in_use + cost > self.memory_limit:
                    raise MemoryLimitReached(
                        f"decoding a photo would take about {_megabytes(cost)} on top of the {_megabytes(in_use)} "
                        f"in use, past the crawl's memory limit of {_megabytes(self.memory_limit)}")
            self.reserved += cost
            self.peak_reserved = max(self.peak_reserved, self.reserved)
        try:
            yield
        finally:
            if cost >= GIVE_BACK_FROM:
                give_back_freed_memory()
            with self._room:
                self.reserved -= cost
                self._room.notify_all()
