"""Chat and AsyncChat: a model, a system prompt, tools and a history that is always valid to send.

Both classes share everything but I/O. A call merges its keywords into the chat's `Settings`
(lexi/_settings.py); the engine (lexi/_engine.py) decides what to send, show and record; `Chat`
drives it with its backend's sync call and a thread pool for tools, `AsyncChat` with the awaited
call and `asyncio.gather`.
"""
from __future__ import annotations
import asyncio
import copy
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from fastcore.basics import noop

from ._backend import _PER_DEPLOYMENT, acomplete, check_backend, complete, routed
from ._calls import AsyncChatStream, ChatStream, Results, StreamCancelled, Turns
from ._engine import Log, RunTools, Send, Wait, turn
from ._settings import (FINAL_PROMPT, INIT_POSITIONAL, Settings, call_signature, init_signature,
                        options_doc, redact_url, split_positional)
from ._util import get
from .display import register_notebook_display
from .msgs import mk_msgs
from .errors import UsageError
from .stream import astream_with_complete, stream_with_complete
from .templates import Template, render
from .tools import acall_tool, call_tool

__all__ = ['Chat', 'AsyncChat', 'Results', 'FINAL_PROMPT', 'ChatStream', 'AsyncChatStream']

MAX_TOOL_THREADS = 16  # most tool calls of one step that Chat runs at the same time
_FIELDS = frozenset(Settings.__dataclass_fields__) - {'completion_kwargs', 'tool_fns'}
_display_registered = False


def _register_display_once():
    "In Jupyter, show responses as markdown; registered at the first Chat, so a user's own formatter set later wins."
    global _display_registered
    if not _display_registered: _display_registered = register_notebook_display()


class _ChatBase:
    "What Chat and AsyncChat share: settings, history, usage, and starting a call."
    _is_async = False
    _Stream = ChatStream

    def __init__(self, model, *args, hist=None, route: str = 'fallback', **options):
        options.update(split_positional(args, INIT_POSITIONAL[1:], type(self).__name__))
        if 'hist' in options: hist = options.pop('hist')
        if model is None:   # merge() reads None as "keep the current value", which here is no model at all
            raise UsageError(f'{type(self).__name__} needs a model: a LiteLLM model name such as '
                             '"anthropic/claude-sonnet-4-5" or "openai/gpt-4.1" (or a list of them).')
        if isinstance(model, (list, tuple)): model, options = _routed(model, route, options)
        settings = Settings(model='-').merge(model=model, **options)
        if isinstance(settings.sp, Template): settings = settings.replace(sp=settings.sp.render(**settings.tvars))
        check_backend(settings.backend, self._is_async)
        object.__setattr__(self, 'settings', settings)
        self._log = Log(hist=mk_msgs(hist) if hist else [])
        self._turns = Turns(type(self).__name__)
        _register_display_once()

    @classmethod
    def _of(cls, settings: Settings, hist: list):
        "A chat of this class with `settings` and a copy of `hist` (batch work, chat.copy)."
        check_backend(settings.backend, cls._is_async)
        chat = cls.__new__(cls)
        object.__setattr__(chat, 'settings', settings)
        chat._log, chat._turns = Log(hist=list(hist)), Turns(cls.__name__)
        _register_display_once()
        return chat

    def copy(self):
        """An independent chat with the same settings, a copy of the history and of the usage so far
        (to try two follow-ups from one point: what one does leaves the other as it was)."""
        other = type(self)._of(self.settings, copy.deepcopy(self.hist))
        other.use = copy.deepcopy(self.use)
        return other

    def save(self, path):
        """Write this chat to `path` as JSON, atomically: model, plain-data settings, history and usage,
        never credentials (see lexi/saved.py). Returns the path."""
        from .saved import save
        return save(self, path)

    @classmethod
    def load(cls, path, tools=None, trust_connection: bool = False, **overrides):
        """The chat saved at `path`. Pass `tools=[...]` to run its tools, and any option to change
        (model=, backend=, api_base=, api_key=, ...); a damaged or foreign file is a UsageError saying what is
        wrong. The file's connection settings (api_base, headers, ...) are not applied, so a file someone hands
        you cannot send your key elsewhere: pass them again, or `trust_connection=True` for a file you wrote."""
        from .saved import load
        return load(cls, path, tools=tools, trust_connection=trust_connection, **overrides)

    # -- settings read and set as attributes: chat.model, chat.sp, chat.tools (schemas), ...
    def __getattr__(self, name):
        settings = self.__dict__.get('settings')
        if settings is not None and name in _FIELDS: return getattr(settings, name)
        raise AttributeError(f'{type(self).__name__!r} object has no attribute {name!r}')

    def __setattr__(self, name, value):
        if name in _FIELDS:
            settings = self.settings.replace(**{name: value})
            check_backend(settings.backend, self._is_async)
            object.__setattr__(self, 'settings', settings)
        else: object.__setattr__(self, name, value)

    @property
    def hist(self) -> list:
        "The history: plain messages the provider accepts, valid to send after any outcome."
        return self._log.hist

    @hist.setter
    def hist(self, value): self._log.hist = mk_msgs(value) if value else []

    @property
    def use(self):
        "Token counts and cost added up over every response of this chat (a lexi.Use)."
        return self._log.use

    @use.setter
    def use(self, value): self._log.use = value

    @property
    def last_response(self):
        "The last ModelResponse this chat received (None before the first)."
        return self._log.last_response

    @property
    def last_use(self):
        "Token counts and cost of the latest call (all its requests: tool steps, re-asks)."
        return self._log.last_use

    @property
    def cost(self) -> float:
        "Total cost in USD of every response of this chat (0 for models without a known price)."
        return self._log.use.cost

    def _call(self, msg, prefill, options):
        "Check one call (nothing is sent on a UsageError) and return its call object, not yet started."
        template = options.pop('template', None)
        settings = self.settings.merge(prefill=prefill, **options)
        check_backend(settings.backend, self._is_async)
        if template is not None:
            if msg is not None: raise UsageError('pass either msg or template=, not both.')
            msg = render(template, settings.tvars)
        call = self._Stream(settings, self._turns)
        call._gen = self._drive(call, turn(settings, msg, self._log))
        return call

    def struct(self, msg=None, output_type=None, **options):
        """Send `msg` and return the answer as a validated instance of `output_type` (a pydantic model,
        dataclass, TypedDict, or a container of them such as list[Model]). lexi sends the JSON schema where
        LiteLLM says the model takes one, and otherwise asks the model to call a `final_answer` tool.
        An invalid answer is sent back with its errors, up to `struct_retries` times (default 2, the same option
        a call with output_type= takes), then StructuredOutputError. With stream=True: a stream of partial
        instances, then the final one. Other options as for a call (template=, tools=, max_steps=, ...)."""
        if output_type is None: raise UsageError('struct() needs output_type, e.g. chat.struct(msg, MyModel).')
        if 'max_retries' in options:   # the name struct() once had for struct_retries
            warnings.warn('struct(max_retries=) is now struct_retries= (the same option a call with output_type= '
                          'takes); max_retries is read as struct_retries for now.', DeprecationWarning, stacklevel=2)
            options['struct_retries'] = options.pop('max_retries')
        return self(msg, output_type=output_type, **options)

    @property
    def transcript(self):
        """The history for people: who said what, each tool call with its result, and the usage. `print` it in a
        terminal; in a notebook it shows as formatted markdown (what `hist2fmt` writes). hist is not changed."""
        from .transcript import Transcript
        return Transcript(self.hist, self.use)

    def print_hist(self):
        "Print the transcript: who said what, tool calls with their results, and the usage."
        print(self.transcript)

    def __repr__(self):
        return (f'{type(self).__name__}(model={redact_url(self.model)!r}, messages={len(self.hist)}, '
                f'tools={self.settings.tool_names}, use={self.use})')

    def _repr_markdown_(self):
        from .display import render_response
        from ._inert import code
        last = next((m for m in reversed(self.hist) if get(m, 'role') == 'assistant'), None)
        body = render_response(last) if last is not None else '*(no reply yet)*'
        return (f'{body}\n\n<details><summary>{type(self).__name__} · {code(redact_url(self.model))}</summary>\n\n'
                f'- messages: {len(self.hist)}\n- use: {code(self.use)}\n\n</details>')


def _routed(models: list | tuple, route: str, options: dict):
    "A model list becomes a litellm.Router behind the chat (its api_base/api_key go to each deployment)."
    if options.get('backend') is not None:
        raise UsageError('pass either a list of models or backend=, not both (a list of models builds its own Router).')
    shared = {k: options.pop(k) for k in _PER_DEPLOYMENT if k in options}
    model, router = routed(list(models), route, shared)
    return model, {**options, 'backend': router}


def _advance(eng, out, exc):
    "The engine's next step after `out` (or after throwing `exc` in); StopIteration when the call is done."
    return eng.throw(exc) if exc is not None else eng.send(out)


class Chat(_ChatBase):
    "A stateful chat: keeps history, runs tool loops, streams while also returning the complete reply."

    def __call__(self, msg=None, prefill=None, **options):
        call = self._call(msg, prefill, options)
        if not call.settings.stream: return call.run()
        call._take_turn()
        return call

    def _drive(self, call, eng):
        "Do the engine's I/O (see lexi/_engine.py); each result goes to the engine before the caller sees it."
        out = exc = None
        while True:
            if call.cancelled and exc is None: exc = StreamCancelled()
            try: step = _advance(eng, out, exc)
            except StopIteration as stop:
                call.value = stop.value
                return
            out = exc = None
            try:
                if isinstance(step, Send): out = yield from self._send(call, step)
                elif isinstance(step, RunTools): out = self._run_tools(step)
                elif isinstance(step, Wait): time.sleep(step.seconds)
                else: yield from step.items
            except BaseException as e: exc = StreamCancelled() if call.cancelled else e

    def _send(self, call, step: Send):
        "One request; when streaming, yield its chunks as they arrive. Returns the complete ModelResponse."
        resp = complete(call.settings.backend, step.request)
        if not step.stream: return resp
        cap = stream_with_complete(resp, postproc=step.postproc or noop, stall_timeout=call.settings.timeout)
        call._reading, chunks = resp, iter(cap)
        try:
            for chunk in chunks:
                if call.cancelled: raise StreamCancelled()
                step.received.append(chunk)
                yield from (step.view(chunk) if step.view else (chunk,))
            if call.cancelled: raise StreamCancelled()   # a read cancel() cut short may end as if complete
        finally:
            call._reading = None
            chunks.close()
        return cap.value

    def _run_tools(self, step: RunTools) -> list:
        def run(i: int, tc):
            step.done[i] = call_tool(tc, step.ns)   # kept as it finishes: an interrupted step still records it
            return step.done[i]
        if not (step.parallel and len(step.calls) > 1): return [run(i, tc) for i, tc in enumerate(step.calls)]
        ex = ThreadPoolExecutor(max_workers=min(len(step.calls), MAX_TOOL_THREADS), thread_name_prefix='lexi-tool')
        try: return list(ex.map(run, range(len(step.calls)), step.calls))
        finally:
            # Not `with`: its exit waits for every tool, so Ctrl-C would reach the caller only once the slowest
            # had finished. Tools not yet started are dropped; one already running finishes in its thread (a
            # thread cannot be stopped), its result unused: the engine records the step's unfinished calls as not run.
            ex.shutdown(wait=False, cancel_futures=True)


class AsyncChat(_ChatBase):
    """Chat for async code: `await chat(...)`, `async for o in chat(..., stream=True)`; tools may be
    coroutine functions, and sync tools run off the event loop."""
    _is_async = True
    _Stream = AsyncChatStream

    def __call__(self, msg=None, prefill=None, **options):
        call = self._call(msg, prefill, options)
        if not call.settings.stream: return call.run()  # a coroutine: the call takes its turn when awaited
        self._turns.begin(call)
        return call

    async def _drive(self, call, eng):
        "The async twin of Chat._drive: the same engine, awaited I/O."
        out = exc = None
        while True:
            if call.cancelled and exc is None: exc = StreamCancelled()
            try: step = _advance(eng, out, exc)
            except StopIteration as stop:
                call.value = stop.value
                return
            out = exc = None
            try:
                if isinstance(step, RunTools): out = await self._run_tools(step)
                elif isinstance(step, Wait): await asyncio.sleep(step.seconds)
                elif not isinstance(step, Send):
                    for o in step.items: yield o
                elif not step.stream: out = await acomplete(call.settings.backend, step.request)
                else:
                    resp = await acomplete(call.settings.backend, step.request)
                    cap = astream_with_complete(resp, postproc=step.postproc or noop, stall_timeout=call.settings.timeout)
                    chunks = cap.__aiter__()
                    try:
                        async for chunk in chunks:
                            if call.cancelled: raise StreamCancelled()
                            step.received.append(chunk)
                            for o in (step.view(chunk) if step.view else (chunk,)): yield o
                        if call.cancelled: raise StreamCancelled()   # LiteLLM may end a cancelled read quietly
                    finally: await chunks.aclose()   # closed, superseded or failed: the HTTP response is released now
                    out = cap.value
            except BaseException as e: exc = StreamCancelled() if call.cancelled else e

    async def _run_tools(self, step: RunTools) -> list:
        async def run(i: int, tc):
            step.done[i] = await acall_tool(tc, step.ns)   # kept as it finishes (see Chat._run_tools)
            return step.done[i]
        if step.parallel: return list(await asyncio.gather(*(run(i, tc) for i, tc in enumerate(step.calls))))
        return [await run(i, tc) for i, tc in enumerate(step.calls)]


# Signatures and help text come from Settings, so a new option needs no change here.
_ChatBase.__init__.__signature__ = init_signature()
_ChatBase.__init__.__doc__ = options_doc('A chat with `model`: every option here is a default for each call.', init_signature())
for _cls, _what in ((Chat, 'Send `msg` (if given), run the tool loop, and return the last ModelResponse '
                           '(a ChatStream with stream=True). Options: None means as the Chat has it.'),
                    (AsyncChat, 'Chat.__call__ for async code: await it, or `async for` it with stream=True.')):
    _cls.__call__.__signature__ = call_signature()
    _cls.__call__.__doc__ = options_doc(_what, call_signature())
