"""A provider's request quota, as the stand-in enforces it when given one (`srv.window = Window(10, seconds=1)`).

At most `limit` model requests (chat, embeddings: all but the model list) are let through in any `seconds`-long
window (sliding: the window ends at each new request); the next one is answered as a provider's rate limit
answers, HTTP 429 with a Retry-After header (the seconds until the oldest request in the window leaves it),
before provider rules are checked or a scripted item is taken. A refused request does not count against the quota. Requests from any number of clients, threads and
processes count alike, so a test can check that a limit shared by several processes keeps to one quota.
"""
from __future__ import annotations
import bisect
import math
import threading
import time

from ._script import Fault
from ..errors import UsageError

__all__ = ['Window']


class Window:
    """At most `limit` model requests in any `seconds`; more get HTTP 429 with Retry-After.
    `admitted` and `refused` are the monotonic times of the requests let through and refused."""

    def __init__(self, limit: int,             # most requests let through in any window
                 seconds: float = 60.0):       # the window's length
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UsageError(f'Window(limit={limit!r}): pass a whole number of requests >= 1.')
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise UsageError(f'Window(seconds={seconds!r}): pass a positive number of seconds.')
        self.limit, self.seconds = limit, float(seconds)
        self.admitted: list[float] = []
        self.refused: list[float] = []
        self._lock = threading.Lock()

    def admit(self) -> Fault | None:
        "Let one request through (None), or the 429 that refuses it."
        with self._lock:
            now = time.monotonic()
            held = len(self.admitted) - bisect.bisect_right(self.admitted, now - self.seconds)
            if held < self.limit:
                self.admitted.append(now)
                return None
            self.refused.append(now)
            wait = self.admitted[-self.limit] + self.seconds - now
        return Fault(429, f'lexi.testing: rate limit: more than {self.limit} requests in {self.seconds:g} s; '
                          f'try again in {wait:.3f} s', retry_after=math.ceil(wait * 1000) / 1000)

    def most(self, seconds: float | None = None) -> int:
        "The most requests let through in any window of `seconds` (default: this window's length), counted as admit counts."
        span, times = self.seconds if seconds is None else seconds, list(self.admitted)
        return max((i + 1 - bisect.bisect_right(times, t - span) for i, t in enumerate(times)), default=0)

    def __repr__(self):
        return (f'<Window {self.limit} per {self.seconds:g} s: {len(self.admitted)} admitted, '
                f'{len(self.refused)} refused>')
