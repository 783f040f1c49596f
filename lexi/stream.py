"""Streaming that also hands back the complete response.

    cap = stream_with_complete(litellm.completion(model, msgs, stream=True))
    for chunk in cap: print(delta_text(chunk) or '', end='')
    cap.value          # the complete ModelResponse, as a non-streamed call would have returned it

`build_response` does the assembly: LiteLLM's `stream_chunk_builder` for the base, then lexi puts
back what that drops (see lexi/_assemble.py for the measured list): content None (not '') when
there is no text, the model that answered, Anthropic citations grouped per cited block, thinking
blocks with their text and signatures in provider_specific_fields, web search calls as a list,
and every Gemini thought signature.
"""
from __future__ import annotations
import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterable, Callable, Iterable

from fastcore.basics import noop

from ._assemble import chunk_delta, compact_text_runs, get, restore_dropped
from ._litellm import aclose_stream, astall_timeout, close_stream, lm, stall_guard, timeout_error
from .errors import UsageError
from .tools import local_calls

if TYPE_CHECKING: from litellm import ModelResponse

__all__ = ['stream_with_complete', 'astream_with_complete', 'StreamCapture', 'AsyncStreamCapture',
           'build_response', 'delta_text', 'THINKING_MARK']

THINKING_MARK = '🧠'  # what delta_text and the formatters print for each reasoning chunk


def build_response(chunks: Iterable,                  # ModelResponseStream chunks, in the order they arrived
                   messages: list | None = None       # the request's messages, to estimate prompt tokens if no usage came
                   ) -> ModelResponse | None:
    "The complete ModelResponse assembled from streamed `chunks`; None if there are no chunks."
    chunks = compact_text_runs([c for c in chunks if get(c, 'choices') is not None])
    if not chunks: return None
    return restore_dropped(lm().stream_chunk_builder(chunks, messages=messages), chunks)


class _Capture:
    "What the sync and async captures share: the chunks seen, `.value`, `.done`."
    def __init__(self, gen, postproc: Callable = noop, stall_timeout: float | None = None):
        if gen is None or get(gen, 'choices') is not None:
            raise UsageError(f'stream_with_complete needs the chunk stream LiteLLM returns for stream=True, got '
                             f'{type(gen).__name__}; pass stream=True, or use a complete response as it is.')
        self.gen, self.postproc, self.stall_timeout = gen, postproc, stall_timeout
        self.chunks: list = []    # every chunk received so far (also after a failure: build_response(cap.chunks) gives the partial reply)
        self.value = None         # the complete ModelResponse, set only when the stream ended normally
        self.done = False         # True once the stream ended normally
        self._started = False

    def _start(self):
        if self._started: raise UsageError('A stream can be iterated only once; keep the chunks you need, or read `.value` afterwards.')
        self._started = True

    def _take(self, chunk):
        self.postproc(chunk)
        self.chunks.append(chunk)
        return chunk

    def _finish(self):
        self.value = build_response(self.chunks)
        self.done = True
        return self.value

    def __repr__(self):
        state = 'done' if self.done else 'streaming' if self._started else 'not started'
        return f'<{type(self).__name__} {state}, {len(self.chunks)} chunks>'


class StreamCapture(_Capture):
    """Iterating yields each chunk unchanged (after `postproc(chunk)`, which may edit it in place).

    When the stream ends, `.value` holds the complete ModelResponse, and the generator returns it
    (so `fastcore.xtras.SaveReturn(stream_with_complete(r)).value` works too). If the stream raises
    or is abandoned part-way, the exception propagates unchanged, `.value` stays None and `.done`
    False: the reply did not finish. `.chunks` keeps what arrived.
    """
    def __iter__(self):
        self._start()
        ended, guard, it = False, stall_guard(self.gen, self.stall_timeout), iter(self.gen)
        try:
            while True:
                if guard: guard.reading(True)
                try: chunk = next(it)
                except StopIteration: break
                except Exception as e:
                    if guard and guard.fired: raise guard.error(e) from e
                    raise
                finally:
                    if guard: guard.reading(False)
                yield self._take(chunk)
            ended = True
        finally:
            if guard: guard.stop()
            if not ended: close_stream(self.gen)  # abandoned or failed: let the connection go
        return self._finish()


class AsyncStreamCapture(_Capture):
    "The async twin of StreamCapture: `async for chunk in cap`, then `cap.value`."
    async def __aiter__(self):
        self._start()
        ended = False
        limit = astall_timeout(self.stall_timeout)
        try:
            if hasattr(self.gen, '__aiter__'):
                it = self.gen.__aiter__()
                while True:
                    try: chunk = await (asyncio.wait_for(it.__anext__(), limit) if limit else it.__anext__())
                    except StopAsyncIteration: break
                    except asyncio.TimeoutError as e: raise timeout_error(limit) from e
                    yield self._take(chunk)
            else:
                for chunk in self.gen: yield self._take(chunk)
            ended = True
        finally:
            if not ended: await aclose_stream(self.gen)
        self._finish()


def stream_with_complete(gen: Iterable,               # the chunk stream LiteLLM returns for stream=True
                         postproc: Callable = noop,   # called with each chunk before it is yielded (e.g. cite_footnote)
                         stall_timeout: float | None = None  # a read waiting longer than this ends in litellm.Timeout
                         ) -> StreamCapture:
    "Pass through every chunk of `gen`; once it ends, `.value` is the complete ModelResponse."
    return StreamCapture(gen, postproc, stall_timeout)


def astream_with_complete(agen: AsyncIterable,        # the async chunk stream of litellm.acompletion(stream=True)
                          postproc: Callable = noop,  # called with each chunk before it is yielded
                          stall_timeout: float | None = None  # a read waiting longer than this ends in litellm.Timeout
                          ) -> AsyncStreamCapture:
    "Async `stream_with_complete`: `async for` the chunks; afterwards `.value` is the complete ModelResponse."
    return AsyncStreamCapture(agen, postproc, stall_timeout)


def _tool_names(delta) -> list:
    "Names of tool calls that start in this delta (the first fragment carries id and name)."
    calls = local_calls(get(delta, 'tool_calls'))  # the provider's own search call is no tool step
    return [n for tc in calls if get(tc, 'id') and (n := get(get(tc, 'function'), 'name'))]


def delta_text(chunk: Any) -> str | None:
    """Printable text of one stream chunk, or None when it carries nothing to print.

    Text comes back as is; a chunk starting tool calls gives '\\n🔧 name\\n' per call; a reasoning
    chunk gives '🧠', and the empty reasoning delta that closes a thinking block gives '\\n\\n'.
    """
    delta = chunk_delta(chunk)
    if delta is None: return None
    if content := get(delta, 'content'): return content
    if names := _tool_names(delta): return ''.join(f'\n🔧 {n}\n' for n in names)
    reasoning = get(delta, 'reasoning_content')
    if reasoning: return THINKING_MARK
    return '\n\n' if reasoning == '' else None
