"""Resilience: how long a chat waits before retrying a failed request, and `RateLimit`.

Retries (`Chat(retries=2, max_wait=60)`): a request that fails with a retryable error (see
`is_retryable`) before anything of it reached the caller is sent again, after the wait the provider
asked for (`retry-after-ms`, else `Retry-After` in seconds or as an HTTP date) or else exponential
backoff with jitter (tenacity's `wait_exponential_jitter`: about 1, 2, 4, 8 s ...), never longer than
`max_wait`. A
retried attempt leaves no trace in the history. LiteLLM's own retries, and those of the OpenAI SDK
under it, are switched off (`max_retries=0`) so the attempts are exactly `retries + 1`.

`RateLimit(rpm=, tpm=)` is shared by any number of chats, threads and tasks: each request reserves
its place in time before it is sent, so requests wait for capacity instead of meeting 429s. Requests
are spaced evenly (60/rpm seconds apart; a request of n tokens holds the token budget for
n * 60/tpm seconds), so no window of any length ever holds more than the limit allows.
"""
from __future__ import annotations
import asyncio
import email.utils
import threading
import time

from .errors import UsageError

__all__ = ['RateLimit', 'retry_wait', 'retry_after']


def retry_after(exc: BaseException) -> float | None:
    """The seconds a provider's error asks to wait, or None: its `retry-after-ms` header (milliseconds; OpenAI
    and Azure send it, and the OpenAI SDK reads it first), else `Retry-After` (seconds or an HTTP date)."""
    from ._litellm import response_headers
    headers = response_headers(exc)
    try: return max(0.0, float(headers['retry-after-ms']) / 1000)
    except (KeyError, TypeError, ValueError): pass
    value = headers.get('retry-after')
    if value is None: return None
    try: return max(0.0, float(value))
    except ValueError: pass
    try: when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError): return None
    return max(0.0, when.timestamp() - time.time())


def retry_wait(exc: BaseException,  # the error of the failed attempt
               attempt: int,        # which attempt failed (1 for the first)
               max_wait: float      # the longest wait allowed
               ) -> float:
    "Seconds to wait before the next attempt: the provider's Retry-After, else exponential backoff with jitter; capped."
    asked = retry_after(exc)
    if asked is not None: return min(asked, max_wait)
    import tenacity
    state = tenacity.RetryCallState(None, None, (), {})
    state.attempt_number = attempt
    return min(tenacity.wait_exponential_jitter(max=max_wait)(state), max_wait)


class RateLimit:
    """Requests per minute and/or tokens per minute, shared by every chat given it (thread- and task-safe).

    Requests are spaced evenly: with rpm=600 one request may go every 0.1 s, so a limit never sends a burst that
    the provider's own window would refuse with a 429 (50 requests take about 5 s, where they might take 2 s with
    no limit). `burst=N` lets up to N requests go at once after a quiet spell, while the long-run rate stays rpm;
    over any minute at most rpm + N - 1 requests are then sent, so leave that much room below the provider's
    limit. tpm spaces requests by their tokens the same way (a request's estimated input plus max_tokens)."""

    def __init__(self, rpm: float | None = None,  # most requests a minute
                 tpm: float | None = None,        # most tokens a minute (a request's estimated input plus max_tokens)
                 burst: int = 1):                 # requests that may go at once after a quiet spell (1: always spaced)
        for name, v in (('rpm', rpm), ('tpm', tpm)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise UsageError(f'RateLimit({name}={v!r}): pass a positive number, or None for no limit.')
        if rpm is None and tpm is None: raise UsageError('RateLimit needs rpm=, tpm= or both.')
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise UsageError(f'RateLimit(burst={burst!r}): pass a whole number >= 1 (1 spaces every request).')
        self.rpm, self.tpm, self.burst = rpm, tpm, burst
        self._next_request = self._next_tokens = 0.0   # monotonic times from which the next request may go
        self._lock = threading.Lock()

    def reserve(self, tokens: int = 0  # the request's estimated tokens (counted against tpm)
                ) -> float:
        "Take the next free place for one request; the seconds to wait before sending it."
        with self._lock:
            now = time.monotonic()
            slack = (self.burst - 1) * 60.0 / self.rpm if self.rpm else 0.0   # how far ahead a burst may book
            start = max(now, self._next_request - slack, self._next_tokens)
            if self.rpm: self._next_request = max(start, self._next_request) + 60.0 / self.rpm
            if self.tpm: self._next_tokens = start + max(0, tokens) * 60.0 / self.tpm
            return start - now

    def acquire(self, tokens: int = 0):
        "Wait (blocking this thread) until one request of `tokens` may be sent."
        if (wait := self.reserve(tokens)) > 0: time.sleep(wait)

    async def aacquire(self, tokens: int = 0):
        "Wait (without blocking the event loop) until one request of `tokens` may be sent."
        if (wait := self.reserve(tokens)) > 0: await asyncio.sleep(wait)

    def __repr__(self):
        parts = [f'rpm={self.rpm}'] * bool(self.rpm) + [f'tpm={self.tpm}'] * bool(self.tpm)
        return f'RateLimit({", ".join(parts)})'
