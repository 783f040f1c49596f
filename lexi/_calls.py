"""Chat calls in flight: the stream objects a streaming call returns, and how calls on one chat take turns.

Calls on one chat run one after another. A call made while another is running (in another thread
or task) is a UsageError, and so is reading a stream while it is being read elsewhere: whether a
call may start and marking it running is one atomic step (`Turns.claim`), so a call never finds
itself superseded or closed by another thread's call before it has run. (lexi refuses rather than
waits: an open stream waits on its reader, who may never come back, and a tool of the running call
calling its own chat would wait for ever; sharing one conversation between concurrent callers is
almost always a mistake, better reported than silently interleaved.) A stream its caller stopped
reading is closed by the next call: its HTTP response is released, the text it streamed stays in the
history as the assistant's reply, and its unanswered tool calls are recorded as not run. A stream
superseded that way (or before it was read at all) raises UsageError when read again, rather than
coming back silently empty.

In IPython (a notebook cell's value, or `display(stream)`), a ChatStream not started yet runs, shown live as
`lexi.display.display_stream` shows it; an AsyncChatStream cannot: a cell's value is displayed without being awaited,
so it says how to run it (the comment in AsyncChatStream says why). `repr(stream)` never starts a stream.
"""
from __future__ import annotations
import asyncio
import threading

from ._redact import redact_url
from .errors import UsageError

__all__ = ['Results', 'ChatStream', 'AsyncChatStream', 'Turns', 'StreamCancelled']

READING = ('This stream is being read already (in another thread or task). Read a stream from one place at a '
           'time, or call stream.cancel() from elsewhere to stop it.')
SUPERSEDED = ('This stream was superseded: a later call on the same chat started before it was read to the end. '
              'Calls on one chat run one after another: read a stream to its end (or close it) before the next '
              'call, or use one chat per conversation. chat.hist keeps what this stream recorded.')
# What IPython shows for a stream in each state (its repr, then this); a ChatStream not started runs instead.
STATE_NOTES = {
    'done': 'Read to its end: `.value` is the complete response, and chat.hist holds the reply.',
    'superseded': 'A later call on the chat took over before this stream was read to its end; chat.hist keeps what it recorded.',
    'running': 'Being read elsewhere right now.',
    'cancelled': 'Cancelled: reading it ends it; any text it streamed stays in chat.hist as the reply.',
    'open': 'Partly read: iterate it for the rest, or close() it.',
    'not started': ('Not sent yet: an async stream runs only when awaited, and a cell shows its value without awaiting '
                    'it. Show it live with `await adisplay_stream(stream)`, or read it with `async for o in stream` '
                    '(`stream.text()` for the text only).'),
}


class StreamCancelled(BaseException):
    """Thrown into a stream's engine when its caller cancelled it (`stream.cancel()`): like an interruption,
    it keeps the text already streamed as the assistant's reply. It never reaches the caller: the stream ends."""


class Results(list):
    "Everything a `return_all=True` call produced, in order; iterable with `for` and `async for`."
    async def _aiter(self):
        for o in self: yield o

    def __aiter__(self): return self._aiter()


class _TextOnly:
    """What `stream.text()` keeps of a stream's items: the text of each chunk, with a blank line between
    the texts of two steps of a tool loop (so 'Let me add.' and 'It is 8.' do not run together)."""
    def __init__(self, settings):
        if settings.output_type is not None:
            raise UsageError('text() is for text answers; a struct stream yields partial instances: iterate it directly.')
        self.wrote = self.gap = False

    def piece(self, o) -> str:
        choices = getattr(o, 'choices', None)
        if not choices: return ''
        delta = getattr(choices[0], 'delta', None)
        if delta is None:                      # a complete response: its step has ended
            self.gap = self.wrote
            return ''
        text = getattr(delta, 'content', None) or ''
        if text and self.gap: text, self.gap = '\n\n' + text, False
        self.wrote = self.wrote or bool(text)
        return text


class _Call:
    "What the sync and async calls share: their settings, state, and the call's last response."
    def __init__(self, settings, turns: 'Turns'):
        self.settings, self._turns, self._gen = settings, turns, None
        self.value = None           # the call's last complete ModelResponse, once the call has ended
        self.started = False        # iteration has begun
        self.busy = False           # a step of the call is executing right now
        self.superseded = False     # a later call on the chat took over before this one ended
        self.done = False           # the call has ended (normally or not)
        self.cancelled = False      # cancel() was called
        self._reading = None        # the provider stream being read (closed by cancel() from another thread)

    def _check(self):
        if self.superseded: raise UsageError(SUPERSEDED)

    def _closable(self) -> bool:
        """Claim this call to close it (the caller clears `busy`); False when there is nothing to do here: it has
        ended, a later call superseded it (and closes it), or it is being read elsewhere (then cancelled)."""
        if self.done or self.superseded: return False
        try: self._turns.claim(self)
        except UsageError:
            self.cancel()
            return False
        return True

    def _result(self, items: list):
        return Results(items) if self.settings.return_all else self.value

    def _state(self) -> str:
        return ('superseded' if self.superseded else 'done' if self.done else 'running' if self.busy
                else 'cancelled' if self.cancelled else 'open' if self.started else 'not started')

    def __repr__(self):   # a model name may hold a URL with a key in it (as Chat's repr, the key is masked)
        return f'<{type(self).__name__} {self._state()}, model={redact_url(self.settings.model)!r}>'

    def _ipython_display_(self):
        "How IPython shows the stream (a cell's value, `display(stream)`): its state, and what that means."
        from .display import show_note
        show_note(repr(self), STATE_NOTES[self._state()])


class ChatStream(_Call):
    """What `chat(msg, stream=True)` returns: iterate it for the provider's chunks, then each step's
    complete ModelResponse, then that step's tool results (dicts). `.value` is the last response once
    it has ended; `close()` stops it (the HTTP response is released, hist stays valid)."""
    def __iter__(self): return self

    def _ipython_display_(self):
        """As a notebook cell's value (or given to `display`), a stream not started yet runs, shown live as
        `display_stream` shows it (a struct stream: its instances, as they arrive); read to its end, its reply is in
        chat.hist. Any other stream shows its state."""
        if self._state() != 'not started': return super()._ipython_display_()
        from .display import display_stream, show_instances
        if self.settings.output_type is None: display_stream(self)
        else: show_instances(self)

    def text(self):
        """Iterate the answer's text only: `for t in chat('Hi', stream=True).text(): print(t, end='')`.
        The tool loop still runs; the complete response is `.value` afterwards."""
        keep = _TextOnly(self.settings)
        for o in self:
            if t := keep.piece(o): yield t

    def __next__(self):
        self._check()
        if self.done: raise StopIteration
        self._turns.claim(self)
        try:
            if self.cancelled: return self._stop()
            self.started = True
            return next(self._gen)
        except StreamCancelled: raise StopIteration from None
        finally: self.busy, self.done = False, self.done or _ended(self._gen)

    def _stop(self):
        "End a cancelled stream: the engine records what was shown; nothing more is read."
        self.done = True
        if self.started:
            try: self._gen.throw(StreamCancelled())
            except (StreamCancelled, StopIteration): pass
        else: self._gen.close()
        raise StopIteration

    def cancel(self):
        """Stop the stream, from any thread: iteration ends at once (a read waiting for the next chunk in
        another thread too), the HTTP response is closed, the text already streamed stays in the history as the
        assistant's (partial) reply and unfinished tool calls are dropped. `cancelled` is then True. A tool
        already running finishes first."""
        self.cancelled = True
        if self.busy and self._reading is not None:
            from ._litellm import close_stream
            close_stream(self._reading)   # a read waiting in another thread ends now

    def close(self):
        """Stop the stream: release its HTTP response and record what it streamed (see the module docstring).
        While it is being read in another thread, that read is cancelled instead (see cancel())."""
        if not self._closable(): return
        try: self._end()
        finally: self.busy = False

    def _end(self):
        "Close the call's engine (it records what was streamed); the caller holds the turn."
        self._gen.close()
        self.done = True

    def run(self):
        "Run the whole call; the last response (or, with return_all, everything it produced)."
        self._turns.claim(self)
        try:
            self.started = True
            self._turns.close_superseded()
            items = list(self._gen)
        finally: self.busy, self.done = False, True
        return self._result(items)

    def _take_turn(self):
        "Become the chat's latest call (a stream, when it is made), closing the unfinished one it supersedes."
        self._turns.claim(self)
        try: self._turns.close_superseded()
        finally: self.busy = False


class AsyncChatStream(_Call):
    """What `achat(msg, stream=True)` returns: `async for` it as ChatStream is iterated (awaiting it
    first, `await achat(..., stream=True)`, gives the same stream). `aclose()` stops it."""
    def __aiter__(self): return self

    # Not started, as a cell's value it shows how to run it (STATE_NOTES) and stays unsent. IPython displays a value
    # synchronously, inside the kernel's running event loop, so the stream cannot be awaited there. Scheduling it
    # as a task on that loop would run it after the cell has ended: the next cell would race it (its call refused as
    # still running, or reading hist before the reply is in), its errors would surface in no cell, and a terminal
    # IPython runs no loop between cells. `await adisplay_stream(stream)` shows it live within its own cell.

    async def text(self):
        """`async for t in achat('Hi', stream=True).text(): print(t, end='')`: the answer's text only
        (see ChatStream.text); the complete response is `.value` afterwards."""
        keep = _TextOnly(self.settings)
        async for o in self:
            if t := keep.piece(o): yield t

    async def __anext__(self):
        self._check()
        if self.done: raise StopAsyncIteration
        self._turns.claim(self)
        try:
            if self.cancelled: return await self._stop()
            if not self.started:
                self.started = True
                await self._turns.aclose_superseded()
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            return await self._gen.__anext__()
        except (StreamCancelled, asyncio.CancelledError):
            if not self.cancelled: raise           # the caller's task was cancelled: that cancellation goes on
            task = getattr(self, '_task', None)
            if hasattr(task, 'uncancel'): task.uncancel()   # ours: the task carries on after the stream
            raise StopAsyncIteration from None
        finally: self.busy, self.done = False, self.done or self.cancelled or _ended(self._gen)

    async def _stop(self):
        self.done = True
        if self.started:
            try: await self._gen.athrow(StreamCancelled())
            except (StreamCancelled, StopAsyncIteration): pass
        else: await self._gen.aclose()
        raise StopAsyncIteration

    def cancel(self):
        """Stop the stream, from any thread (see ChatStream.cancel): a read in progress is cancelled at once."""
        self.cancelled = True
        loop = getattr(self, '_loop', None)
        if loop is not None and not loop.is_closed(): loop.call_soon_threadsafe(self._cancel_read)

    def _cancel_read(self):
        "In the stream's event loop: cancel the read in progress (only while the stream is the one awaiting)."
        if self.busy and self._task is not None and not self._task.done(): self._task.cancel()

    def __await__(self): return self._itself().__await__()

    async def _itself(self): return self

    async def aclose(self):
        "Stop the stream: release its HTTP response and record what it streamed (while being read elsewhere: cancel it)."
        if not self._closable(): return
        try: await self._aend()
        finally: self.busy = False

    async def _aend(self):
        await self._gen.aclose()
        self.done = True

    async def run(self):
        "Run the whole call (see ChatStream.run)."
        self._turns.claim(self)
        try:
            self.started = True
            await self._turns.aclose_superseded()
            items = [o async for o in self._gen]
        finally: self.busy, self.done = False, True
        return self._result(items)


def _ended(gen) -> bool:
    "True once a (sync or async) generator has finished."
    return getattr(gen, 'gi_frame', getattr(gen, 'ag_frame', True)) is None


class Turns:
    """The calls of one chat: the latest, and superseded ones still to be closed. Starting a call (or a read of a
    stream) is `claim`: one step under a lock checks that nothing else runs and marks the call running."""
    def __init__(self, owner: str):
        self.owner, self.latest, self.to_close, self._lock = owner, None, [], threading.Lock()

    def begin(self, call: _Call):
        "Make `call` (a stream, when it is made) the chat's latest call: UsageError if another is running."
        with self._lock:
            self._refuse(call)
            self._supersede(call)

    def claim(self, call: _Call):
        """Mark `call` running (a whole call, or one read of a stream; its caller clears `call.busy` afterwards),
        making it the latest call: UsageError if it was superseded, or another call or read is running."""
        with self._lock:
            if call.superseded: raise UsageError(SUPERSEDED)
            self._refuse(call)
            self._supersede(call)
            call.busy = True

    def _refuse(self, call: _Call):
        "UsageError if a call of this chat is running (only the latest call can be: a new one must claim first)."
        running = self.latest if self.latest is not None and self.latest.busy else None
        if running is call: raise UsageError(READING)
        if running is not None:
            raise UsageError(f'Another call on this {self.owner} is still running. Calls on one chat run one '
                             'after another; use one chat per concurrent conversation.')

    def _supersede(self, call: _Call):
        "`call` becomes the latest; an unfinished earlier call is superseded, to be closed by the one that claims next."
        prev, self.latest = self.latest, call
        if prev is not None and prev is not call and not prev.done:
            prev.superseded = True
            self.to_close.append(prev)

    def _take(self) -> list:
        with self._lock:
            out, self.to_close = self.to_close, []
        return out

    def close_superseded(self):
        "Close the calls superseded so far (the caller holds the turn, so none of them is being read)."
        for c in self._take(): c._end()

    async def aclose_superseded(self):
        for c in self._take(): await c._aend()
