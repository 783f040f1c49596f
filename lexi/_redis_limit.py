"""A `RateLimit`'s schedule kept in Redis (`RateLimit(rpm=600, redis=url, key='openai-prod')`), so that every
process on every machine naming the same Redis and key shares one budget.

The schedule is the one `lexi.resilience` keeps in a process (the time from which the next request may go, and the
time from which the token budget is free again), held in one Redis hash and changed only by the Lua scripts below:
Redis runs a script atomically, so two processes never take the same place in time, and each script reads the
Redis server's clock (`TIME`), so the machines' own clocks never enter. A reservation is one round trip (EVALSHA;
redis-py loads the script again after a Redis restart). The hash expires an hour after the schedule's last booked
time, so an unused limit leaves nothing behind, while a correction (`shift`) to a long reply still finds it.
Scripts that call TIME before writing need Redis 5 or later (its scripts replicate their effects).

When Redis cannot be reached, or answers with an error, a reservation raises `RateLimitUnavailableError` and
nothing is sent: there is no fallback to a per-process schedule, which would multiply the real rate by the number
of processes.
"""
from __future__ import annotations
import threading

from .errors import RateLimitUnavailableError, UsageError

__all__ = ['RedisSchedule', 'PREFIX']

PREFIX = 'lexi:ratelimit:'   # the Redis keys of lexi's limits: this, then the limit's key=
_KEEP = 3600                 # seconds the schedule outlives its last booked time (see the module's docstring)

# KEYS[1]: the schedule (a hash: 'request' and 'tokens', Redis-clock times in seconds). ARGV: the seconds between
# requests (0: no rpm), how far ahead of the request schedule a burst may book, how long this request's tokens hold
# the token budget (0: no tpm), and _KEEP. Returns the wait in whole microseconds, rounded up (never early).
# Times are written with string.format: Redis turns a Lua number into text with 14 digits, 0.1 ms at today's
# Unix times. Without rpm the request time is left alone, so a token correction can free a place before a
# request already booked later (as in this process: lexi/resilience.py).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local times = redis.call('HMGET', KEYS[1], 'request', 'tokens')
local request, tokens = tonumber(times[1]) or 0, tonumber(times[2]) or 0
local interval, slack, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = math.max(now, request - slack, tokens)
if interval > 0 then request = math.max(start, request) + interval end
tokens = start + hold
redis.call('HSET', KEYS[1], 'request', string.format('%.6f', request), 'tokens', string.format('%.6f', tokens))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(request, tokens) - now + tonumber(ARGV[4])) * 1000))
return math.ceil((start - now) * 1000000)
"""

# KEYS[1]: the schedule; ARGV: seconds to move the token schedule by (positive: later), and _KEEP. A schedule that
# has expired has been idle for _KEEP seconds: a correction to it lies in the past and is dropped.
_SHIFT = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if not tokens then return 0 end
tokens = tokens + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens))
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local keep = math.ceil((tokens - now + tonumber(ARGV[2])) * 1000)
if keep > redis.call('PTTL', KEYS[1]) then redis.call('PEXPIRE', KEYS[1], keep) end
return 1
"""


class RedisSchedule:
    "The request and token schedule of one named limit, in Redis (see the module's docstring)."

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key
        self._client = _client(url)
        self._scripts: tuple | None = None
        self._lock = threading.Lock()

    def reserve(self, interval: float, slack: float, hold: float) -> float:
        "Book the next free place (see _RESERVE); the seconds to wait for it."
        return self._run(0, [interval, slack, hold, _KEEP]) / 1e6

    def shift(self, seconds: float) -> None:
        "Move the token schedule by `seconds` (a reply used more tokens than reserved: later; fewer: earlier)."
        self._run(1, [seconds, _KEEP])

    def _run(self, which: int, args: list):
        import redis
        try: return self._registered()[which](keys=[PREFIX + self.key], args=[repr(float(a)) for a in args])
        except redis.RedisError as e:
            raise RateLimitUnavailableError(
                f'RateLimit(key={self.key!r}) could not use Redis at {_shown(self.url)} ({type(e).__name__}: {e}); '
                'nothing was sent. Start Redis or correct redis=: lexi does not fall back to a limit in this '
                'process alone, which would multiply the rate by the number of processes.') from e

    def _registered(self) -> tuple:
        "The two scripts, registered once (registering sends nothing: the first call loads them)."
        with self._lock:
            if self._scripts is None:
                self._scripts = (self._client.register_script(_RESERVE), self._client.register_script(_SHIFT))
            return self._scripts

    # A copy in another process (pickle, multiprocessing) connects to the same Redis: the same budget.
    def __getstate__(self): return {'url': self.url, 'key': self.key}
    def __setstate__(self, state): self.__init__(state['url'], state['key'])


def _client(url: str):
    """A redis-py client for `url` (no connection is made until the first reservation). Options in the URL's query
    (`?socket_timeout=1`) win over these defaults: a Redis that does not answer fails a request within seconds
    instead of holding it."""
    try: import redis
    except ImportError:
        raise UsageError("RateLimit(redis=...) needs the redis package: pip install 'lexi[redis]' "
                         "(or pip install 'redis>=5').") from None
    try: return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    except ValueError as e:
        raise UsageError(f'RateLimit(redis={_shown(url)!r}): {e}. Pass a Redis URL such as '
                         "'redis://host:6379/0' (rediss:// for TLS, unix:///path/to/redis.sock).") from None


def _shown(url: str) -> str:
    "`url` with any password masked."
    from ._redact import redact_url
    return redact_url(url)
