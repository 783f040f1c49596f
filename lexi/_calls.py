"""Chat calls in flight: the stream objects a streaming call returns, and how calls on one chat take turns.

Calls on one chat run one after another. A call made while another is running (in another thread
or task) is a UsageError. A stream its caller stopped reading is closed by the next call: its HTTP
response is released, the text it streamed stays in the history as the assistant's reply, and its
unanswered tool calls are recorded as not run. A stream superseded that way (or before it was read
at all) raises UsageError when read again, rather than coming back silently empty.
"""
from __future__ import annotations
import threading

from .errors import UsageError

__all__ = ['Results', 'ChatStream', 'AsyncChatStream', 'Turns']

SUPERSEDED = ('This stream was superseded: a later call on the same chat started before it was read to the end. '
              'Calls on one chat run one after another: read a stream to its end (or close it) before the next '
              'call, or use one chat per conversation. chat.hist keeps what this stream recorded.')


class Results(list):
    "Everything a `return_all=True` call produced, in order; iterable with `for` and `async for`."
    async def _aiter(self):
        for o in self: yield o

    def __aiter__(self): return self._aiter()


class _Call:
    "What the sync and async calls share: their settings, state, and the call's last response."
    def __init__(self, settings, turns: 'Turns'):
        self.settings, self._turns, self._gen = settings, turns, None
        self.value = None           # the call's last complete ModelResponse, once the call has ended
        self.started = False        # iteration has begun
        self.busy = False           # a step of the call is executing right now
        self.superseded = False     # a later call on the chat took over before this one ended
        self.done = False           # the call has ended (normally or not)

    def _check(self):
        if self.superseded: raise UsageError(SUPERSEDED)

    def _result(self, items: list):
        return Results(items) if self.settings.return_all else self.value

    def __repr__(self):
        state = ('superseded' if self.superseded else 'done' if self.done else 'running' if self.busy
                 else 'open' if self.started else 'not started')
        return f'<{type(self).__name__} {state}, model={self.settings.model!r}>'


class ChatStream(_Call):
    """What `chat(msg, stream=True)` returns: iterate it for the provider's chunks, then each step's
    complete ModelResponse, then that step's tool results (dicts). `.value` is the last response once
    it has ended; `close()` stops it (the HTTP response is released, hist stays valid)."""
    def __iter__(self): return self

    def __next__(self):
        self._check()
        if self.done: raise StopIteration
        self.started = self.busy = True
        try: return next(self._gen)
        except BaseException:
            self.done = True
            raise
        finally: self.busy = False

    def close(self):
        "Stop the stream: release its HTTP response and record what it streamed (see the module docstring)."
        try: self._gen.close()
        except ValueError: pass  # being read in another thread right now: that read ends it
        self.done = True

    def run(self):
        "Run the whole call; the last response (or, with return_all, everything it produced)."
        self.started = self.busy = True
        try: items = list(self._gen)
        finally: self.busy, self.done = False, True
        return self._result(items)


class AsyncChatStream(_Call):
    """What `achat(msg, stream=True)` returns: `async for` it as ChatStream is iterated (awaiting it
    first, `await achat(..., stream=True)`, gives the same stream). `aclose()` stops it."""
    def __aiter__(self): return self

    async def __anext__(self):
        self._check()
        if self.done: raise StopAsyncIteration
        if not self.started:
            self.started = True
            await self._turns.aclose_superseded()
        self.busy = True
        try: return await self._gen.__anext__()
        except BaseException:
            self.done = True
            raise
        finally: self.busy = False

    def __await__(self): return self._itself().__await__()

    async def _itself(self): return self

    async def aclose(self):
        "Stop the stream: release its HTTP response and record what it streamed."
        await self._gen.aclose()
        self.done = True

    async def run(self):
        "Run the whole call (see ChatStream.run)."
        self._turns.begin(self)
        await self._turns.aclose_superseded()
        self.started = self.busy = True
        try: items = [o async for o in self._gen]
        finally: self.busy, self.done = False, True
        return self._result(items)


class Turns:
    "The calls of one chat: the latest, and superseded ones still to be closed."
    def __init__(self, owner: str):
        self.owner, self.latest, self.to_close, self._lock = owner, None, [], threading.Lock()

    def begin(self, call: _Call):
        "Make `call` the chat's current call: UsageError if another is running; an unfinished one is superseded."
        with self._lock:
            prev = self.latest
            if prev is not None and prev.busy and prev is not call:
                raise UsageError(f'Another call on this {self.owner} is still running. Calls on one chat run one '
                                 'after another; use one chat per concurrent conversation.')
            self.latest = call
            if prev is not None and prev is not call and not prev.done:
                prev.superseded = True
                self.to_close.append(prev)

    def _take(self) -> list:
        with self._lock:
            out, self.to_close = self.to_close, []
        return out

    def close_superseded(self):
        for c in self._take(): ChatStream.close(c)

    async def aclose_superseded(self):
        for c in self._take(): await AsyncChatStream.aclose(c)
