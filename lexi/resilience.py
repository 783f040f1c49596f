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

from .errors import RateLimitUnavailableError, UsageError

__all__ = ['RateLimit', 'RateLimitUnavailableError', 'retry_wait', 'retry_after']


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
    limit. tpm spaces requests by their tokens the same way (a request's estimated input plus max_tokens);
    `settle(reserved, actual)` corrects that estimate with the usage a reply reports.

    One budget across processes and machines: `RateLimit(rpm=600, redis='redis://host:6379/0', key='openai-prod')`
    keeps the schedule in Redis (pip install 'lexi[redis]'); every process naming the same Redis and key shares
    it (give them the same rpm, tpm and burst). Redis's clock times it, so the machines' clocks do not matter.
    Each request costs one Redis round trip, made in the calling thread (an AsyncChat's event loop waits for it).
    When Redis cannot be used the request fails with RateLimitUnavailableError before anything is sent: never a
    silent switch to a limit per process.

    A copy (copy.copy, chat.copy, batch) is the same limit. One with redis= can be pickled into other processes and
    still shares the budget; one without cannot (its budget lives in this process)."""

    def __init__(self, rpm: float | None = None,  # most requests a minute
                 tpm: float | None = None,        # most tokens a minute (a request's estimated input plus max_tokens)
                 burst: int = 1,                  # requests that may go at once after a quiet spell (1: always spaced)
                 redis: str | None = None,        # a Redis URL ('redis://host:6379/0'): share the budget through it
                 key: str | None = None):         # with redis=: the budget's name there ('openai-prod')
        for name, v in (('rpm', rpm), ('tpm', tpm)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise UsageError(f'RateLimit({name}={v!r}): pass a positive number, or None for no limit.')
        if rpm is None and tpm is None: raise UsageError('RateLimit needs rpm=, tpm= or both.')
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise UsageError(f'RateLimit(burst={burst!r}): pass a whole number >= 1 (1 spaces every request).')
        self.rpm, self.tpm, self.burst = rpm, tpm, burst
        self._schedule = _schedule(redis, key)

    @property
    def redis(self) -> str | None:
        "The Redis URL holding the budget (None: it lives in this process)."
        return getattr(self._schedule, 'url', None)

    @property
    def key(self) -> str | None:
        "The budget's name in that Redis."
        return getattr(self._schedule, 'key', None)

    def reserve(self, tokens: int = 0  # the request's estimated tokens (counted against tpm)
                ) -> float:
        "Take the next free place for one request; the seconds to wait before sending it."
        interval = 60.0 / self.rpm if self.rpm else 0.0
        hold = max(0, tokens) * 60.0 / self.tpm if self.tpm else 0.0
        return self._schedule.reserve(interval, (self.burst - 1) * interval, hold)   # a burst may book ahead

    def settle(self, reserved: int,  # the tokens the request reserved (what reserve() was given)
               actual: int           # the tokens its reply reports using (usage.total_tokens)
               ) -> None:
        """Correct the token budget once a reply reports its usage: the token schedule moves by actual - reserved,
        so long answers do not overshoot tpm and pessimistic estimates (max_tokens not reached) do not waste it."""
        for name, v in (('reserved', reserved), ('actual', actual)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f'RateLimit.settle({name}={v!r}): pass a whole number of tokens >= 0.')
        if self.tpm and actual != reserved: self._schedule.shift((actual - reserved) * 60.0 / self.tpm)

    def acquire(self, tokens: int = 0):
        "Wait (blocking this thread) until one request of `tokens` may be sent."
        if (wait := self.reserve(tokens)) > 0: time.sleep(wait)

    async def aacquire(self, tokens: int = 0):
        "Wait (without blocking the event loop) until one request of `tokens` may be sent."
        if (wait := self.reserve(tokens)) > 0: await asyncio.sleep(wait)

    # A limit is one budget: copying it (chat.copy, batch, deepcopy of settings) must not make a second one.
    def __copy__(self): return self
    def __deepcopy__(self, memo): return self

    def __repr__(self):
        parts = ([f'rpm={self.rpm}'] * bool(self.rpm) + [f'tpm={self.tpm}'] * bool(self.tpm)
                 + [f'burst={self.burst}'] * (self.burst > 1))
        if self.redis:
            from ._redact import redact_url
            parts += [f'redis={redact_url(self.redis)!r}', f'key={self.key!r}']
        return f'RateLimit({", ".join(parts)})'


class _LocalSchedule:
    "A limit's schedule in this process: the monotonic times from which the next request, and the next tokens, may go."

    def __init__(self):
        self._next_request = self._next_tokens = 0.0
        self._lock = threading.Lock()

    def reserve(self, interval: float, slack: float, hold: float) -> float:
        """Book the next free place: after the last request by `interval` (less `slack`, the room a burst may book
        ahead) and after the tokens before it; it then holds the token budget for `hold` seconds. The wait."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_request - slack, self._next_tokens)
            # Without rpm the request schedule stays put: a token correction (shift) may then free a place before
            # one already booked later, as the budget allows.
            if interval: self._next_request = max(start, self._next_request) + interval
            self._next_tokens = start + hold
            return start - now

    def shift(self, seconds: float) -> None:
        "Move the token schedule by `seconds` (later for a reply that used more tokens than it reserved)."
        with self._lock: self._next_tokens += seconds

    def __reduce__(self):
        raise UsageError('A RateLimit without redis= keeps its budget in this process; a copy in another process '
                         "would be a second budget. Pass redis='redis://host:6379/0' and key='name' to share one "
                         'budget across processes.')


def _schedule(redis, key):
    "Where a limit keeps its schedule: in this process, or in Redis under `key`."
    if redis is None:
        if key is not None: raise UsageError(f"RateLimit(key={key!r}) names a budget in Redis: pass redis='redis://host:6379/0' too.")
        return _LocalSchedule()
    if not isinstance(redis, str) or not redis:
        raise UsageError(f"RateLimit(redis={redis!r}): pass a Redis URL such as 'redis://host:6379/0'.")
    if not isinstance(key, str) or not key:
        raise UsageError(f"RateLimit(redis=...) needs key='name' (a non-empty str, not {key!r}): every process that "
                         'names the same Redis and key shares one budget.')
    from ._redis_limit import RedisSchedule
    return RedisSchedule(redis, key)
