"""Chat and AsyncChat: a model, a system prompt, tools and a history that is always valid to send.

Both classes share everything but I/O: `_turn.steps` decides what to send and what to record;
`Chat` drives it with `litellm.completion` and a thread pool for tools, `AsyncChat` with
`litellm.acompletion` and `asyncio.gather`.
"""
from __future__ import annotations
import asyncio, copy
from concurrent.futures import ThreadPoolExecutor

from ._caps import has_reasoning, has_search, refuses_audio, uses_cache_ckpts
from ._litellm import lm, lm_types
from ._turn import EFFORT, Completion, RunTools, Turn, place_ckpts, steps
from .errors import UsageError
from .msgs import (MAX_CACHE_CKPTS, add_cache_ckpt, cache_positions, check_ttl, limit_cache_ckpts, media_kinds,
                   mk_msg, mk_msgs)
from .stream import astream_with_complete, stream_with_complete
from .cite import cite_footnote
from .display import register_notebook_display
from .tools import acall_tool, call_tool, lite_mk_func, mk_ns
from .usage import Use
from ._util import get

__all__ = ['Chat', 'AsyncChat', 'Results', 'FINAL_PROMPT']

MAX_TOOL_THREADS = 16  # most tool calls of one step that Chat runs at the same time

FINAL_PROMPT = ('You have no more tool uses. Please summarize your findings. If you did not complete your goal, '
                'tell the user what further work needs to be done so they can choose how best to proceed.')


class Results(list):
    "Everything a `return_all=True` call produced, in order; iterable with `for` and `async for`."
    async def _aiter(self):
        for o in self: yield o

    def __aiter__(self): return self._aiter()


def _effort(v, name: str) -> str | None:
    "Map 'l'/'m'/'h' (or True for 'm') to LiteLLM's effort names."
    if v in (None, False, ''): return None
    if v is True: v = 'm'
    if v not in EFFORT: raise UsageError(f"{name}={v!r} is not a level: pass 'l', 'm' or 'h' (low, medium, high).")
    return v


def _merge_tools(*groups) -> list:
    "Tool schemas by name, later groups replacing earlier ones (providers reject a name sent twice)."
    return list({t['function']['name']: t for g in groups for t in g}.values())


def _split_tools(tools) -> tuple[list, dict]:
    "Tool schemas to send, and the callables lexi may run, from a list of functions and/or schemas."
    tools = list(tools or [])
    return [lite_mk_func(t) for t in tools], mk_ns([t for t in tools if callable(t)])


_display_registered = False


def _register_display_once():
    "In Jupyter, show responses as markdown; registered at the first Chat, so a user's own formatter set later wins."
    global _display_registered
    if not _display_registered: _display_registered = register_notebook_display()


class _ChatBase:
    "What Chat and AsyncChat share: settings, history, request building, usage."

    def __init__(self,
                 model: str,                # LiteLLM model name, e.g. 'anthropic/claude-sonnet-4-5'
                 sp: str = '',              # system prompt
                 temp: float | None = None, # temperature; sent only when given
                 search=False,              # web search level 'l'/'m'/'h' for every call, if the model has it
                 tools: list | None = None, # functions (or tool schemas) the model may call
                 hist: list | None = None,  # history to continue: strings, dicts, Messages, fmt2hist output
                 ns: dict | None = None,    # name -> callable for tools, overriding those found in `tools`
                 cache: bool = False,       # prompt-cache checkpoints, for providers that need them
                 cache_idxs=(-1,),          # checkpoint positions; 0 is the system prompt when sp is set
                 ttl: str | None = None,    # cache lifetime: '5m' (provider default) or '1h'
                 parallel_tools: bool = True,  # run one step's tool calls concurrently
                 **completion_kwargs):      # api_base, api_key, max_tokens, ...: sent with every call
        if not isinstance(model, str) or not model: raise UsageError('model must be a LiteLLM model name, e.g. "openai/gpt-4.1".')
        check_ttl(ttl)
        self.model, self.sp, self.temp, self.search = model, sp, temp, _effort(search, 'search')
        self.tools, ns_found = _split_tools(tools)
        self.ns = {**ns_found, **(ns or {})}
        self.hist = mk_msgs(hist) if hist else []
        cache_positions([], cache_idxs)  # bad cache_idxs fail here, not at the first call
        self.cache, self.cache_idxs, self.ttl = cache, tuple(cache_idxs), ttl
        self.parallel_tools, self.kwargs = parallel_tools, completion_kwargs
        self.use = Use()
        self._open = None  # (driver, engine) of the latest call, to finish it if it was abandoned
        _register_display_once()

    @property
    def cost(self) -> float:
        "Total cost in USD of every response of this chat (0 for models without a known price)."
        return self.use.cost

    def _turn(self, msg, prefill, temp, think, search, stream, max_steps, final_prompt, tool_choice, kwargs) -> Turn:
        "Validate one call's arguments (before anything is sent) and resolve them against the Chat's."
        if not isinstance(max_steps, int) or max_steps < 1: raise UsageError(f'max_steps={max_steps!r}: pass a whole number >= 1.')
        think, search = _effort(think, 'think'), _effort(search, 'search') if search is not None else self.search
        if think and has_reasoning(self.model) is False:
            raise UsageError(f'{self.model} does not support reasoning according to LiteLLM; call without think=.')
        if search and not has_search(self.model):
            raise UsageError(f'{self.model} does not support web search according to LiteLLM; call without search=, '
                             'or pass web_search_options=... yourself to send it anyway.')
        call_tools, call_ns = _split_tools(kwargs.pop('tools', None))
        new = [] if msg is None else [mk_msg(msg)]
        if 'audio' in media_kinds(self.hist + new) and refuses_audio(self.model):
            raise UsageError(f'{self.model} does not take audio input according to LiteLLM; use a model that does '
                             '(for example gemini/gemini-2.5-flash), or send a transcript as text.')
        return Turn(new=new, prefill=prefill, stream=stream, max_steps=max_steps, final_prompt=final_prompt,
                    tool_choice=tool_choice, temp=self.temp if temp is None else temp, think=think, search=search,
                    tools=_merge_tools(self.tools, call_tools), ns={**self.ns, **call_ns}, kwargs={**self.kwargs, **kwargs})

    def _messages(self, pending: list) -> list:
        "System prompt + history + this call's pending messages, with cache checkpoints when enabled."
        msgs, ckpts = self.hist + pending, self.cache and uses_cache_ckpts(self.model)
        sys_ckpt = ckpts and bool(self.sp) and 0 in self.cache_idxs
        if ckpts:
            idxs = [i for i in self.cache_idxs if not (self.sp and i == 0)]
            msgs = place_ckpts(msgs, idxs, self.ttl, budget=MAX_CACHE_CKPTS - sys_ckpt)
        else: msgs = limit_cache_ckpts(msgs, MAX_CACHE_CKPTS)  # checkpoints the caller put in hist: never a 5th
        if not self.sp: return msgs
        system = {'role': 'system', 'content': self.sp}
        return [add_cache_ckpt(system, self.ttl) if sys_ckpt else system] + msgs

    def _request(self, t: Turn, pending: list, first: bool, final: bool) -> Completion:
        "The keyword arguments of one LiteLLM call."
        prefill = t.prefill if first else None
        msgs = self._messages(pending) + ([{'role': 'assistant', 'content': prefill}] if prefill else [])
        kw = dict(model=self.model, messages=[_sendable(m) for m in msgs])
        if t.tools:
            kw['tools'] = t.tools
            tc = 'none' if final else t.tool_choice
            if tc is not None: kw['tool_choice'] = tc
        if t.temp is not None: kw['temperature'] = t.temp
        if t.think: kw['reasoning_effort'] = EFFORT[t.think]
        if t.search and not final: kw['web_search_options'] = {'search_context_size': EFFORT[t.search]}
        kw.update(t.kwargs)
        if t.stream: kw.update(stream=True, stream_options=t.kwargs.get('stream_options') or {'include_usage': True})
        return Completion(kwargs=kw, prefill=prefill)

    def _begin(self, driver, eng):
        """Start a call. A call still running on this chat (another thread or task) makes this one a
        UsageError; one that was abandoned (a stream left unfinished) is closed first, which records
        its unanswered tool calls as not run, so hist stays valid to send."""
        if self._open is not None:
            prev, prev_eng = self._open
            running = getattr(prev, 'gi_running', False) or getattr(prev, 'ag_running', False)
            if running and prev_eng.gi_frame is not None:
                raise UsageError(f'Another call on this {type(self).__name__} is still running. Calls on one chat run one '
                                 'after another; use one chat per concurrent conversation.')
            prev_eng.close()
        self._open = (driver, eng)

    def _start(self, msg, prefill, temp, think, search, stream, max_steps, final_prompt, tool_choice, kwargs):
        "Validate a call and return its driver (Chat's generator or AsyncChat's async generator), not yet started."
        t = self._turn(msg, prefill, temp, think, search, stream, max_steps, final_prompt, tool_choice, kwargs)
        eng = steps(self, t)
        driver = self._drive(t, eng)
        self._begin(driver, eng)
        return driver

    def print_hist(self):
        "Print each message of the history on its own line."
        for m in self.hist: print(m)

    def __repr__(self):
        return (f'{type(self).__name__}(model={self.model!r}, messages={len(self.hist)}, '
                f'tools={[t["function"]["name"] for t in self.tools]}, use={self.use})')

    def _repr_markdown_(self):
        from .display import render_response
        last = next((m for m in reversed(self.hist) if get(m, 'role') == 'assistant'), None)
        body = render_response(last) if last is not None else '*(no reply yet)*'
        return f'{body}\n\n<details><summary>{type(self).__name__} · {self.model}</summary>\n\n- messages: {len(self.hist)}\n- use: {self.use}\n\n</details>'


def _sendable(m) -> dict:
    """A fresh plain-dict copy of a message for LiteLLM, which edits the messages it is given (it turns
    tool calls into dicts and rewrites content parts), so chat.hist stays exactly as recorded. A Message
    is dumped as LiteLLM itself would (exclude_none); its serializer warnings about tool calls held as
    dicts (as mk_tc_req makes them) say nothing the request is missing."""
    if isinstance(m, dict): return copy.deepcopy(m)
    return m.model_dump(exclude_none=True, warnings=False)


def _prefill_chunk(text: str):
    "A stream chunk carrying the prefill, so a streamed reply shows it first."
    t = lm_types()
    return t.ModelResponseStream(choices=[t.StreamingChoices(delta=t.Delta(content=text, role='assistant'))])


class Chat(_ChatBase):
    "A stateful chat: keeps history, runs tool loops, streams while also returning the complete reply."

    def __call__(self,
                 msg=None,                  # the user's message (any mk_msg content); None to continue
                 prefill: str | None = None,  # start of the assistant's reply, kept in hist
                 temp: float | None = None,   # temperature for this call
                 think: str | None = None,    # reasoning effort 'l'/'m'/'h'
                 search=None,                 # web search level 'l'/'m'/'h' for this call
                 stream: bool = False,        # yield chunks, the complete response and tool results
                 max_steps: int = 2,          # most requests in this call; the last is sent with tool_choice='none'
                 final_prompt: str = FINAL_PROMPT,  # sent with tool_choice='none' when steps run out
                 return_all: bool = False,    # return every response and tool result, not just the last
                 tool_choice=None,            # LiteLLM/OpenAI tool_choice for every step but the last
                 **completion_kwargs):        # for this call only; tools=[...] adds tools for this call
        gen = self._start(msg, prefill, temp, think, search, stream, max_steps, final_prompt, tool_choice, completion_kwargs)
        if stream: return gen
        out = Results(gen)
        return out if return_all else _last_response(out)

    def _drive(self, t: Turn, eng):
        "Do the engine's I/O; each result goes to the engine before the caller sees it (see _turn)."
        req = _advance(eng, None)
        while req is not None:
            try:
                out = (yield from self._complete(req)) if isinstance(req, Completion) else self._tools(req, t)
                req = _advance(eng, out)
                yield from ([out] if not isinstance(out, list) else out)
            except BaseException as e: eng.throw(e)

    def _completion(self, **kwargs):
        "The one place Chat calls the provider (a seam tests may override)."
        return lm().completion(**kwargs)

    def _complete(self, req: Completion):
        "Send one request; when streaming, yield its chunks. Returns the complete ModelResponse."
        if not req.kwargs.get('stream'): return self._completion(**req.kwargs)
        if req.prefill: yield _prefill_chunk(req.prefill)
        cap = stream_with_complete(self._completion(**req.kwargs), postproc=cite_footnote)
        yield from cap
        return cap.value

    def _tools(self, req: RunTools, t: Turn):
        if self.parallel_tools and len(req.calls) > 1:
            with ThreadPoolExecutor(max_workers=min(len(req.calls), MAX_TOOL_THREADS), thread_name_prefix='lexi-tool') as ex:
                results = list(ex.map(lambda tc: call_tool(tc, t.ns), req.calls))
        else: results = [call_tool(tc, t.ns) for tc in req.calls]
        return results


def _advance(eng, out):
    "Send `out` to the engine; its next request, or None when the call is done."
    try: return eng.send(out)
    except StopIteration: return None


def _last_response(items):
    t = lm_types()
    return next((o for o in reversed(items) if isinstance(o, t.ModelResponse)), None)


class AsyncChat(_ChatBase):
    "Chat for async code: `await chat(...)`; tools may be coroutine functions; sync tools run off the loop."

    async def __call__(self, msg=None, prefill: str | None = None, temp: float | None = None, think: str | None = None,
                       search=None, stream: bool = False, max_steps: int = 2, final_prompt: str = FINAL_PROMPT,
                       return_all: bool = False, tool_choice=None, **completion_kwargs):
        "Same arguments as `Chat.__call__`; with stream=True returns an async generator."
        gen = self._start(msg, prefill, temp, think, search, stream, max_steps, final_prompt, tool_choice, completion_kwargs)
        if stream: return gen
        out = Results([o async for o in gen])
        return out if return_all else _last_response(out)

    async def _acompletion(self, **kwargs):
        "The one place AsyncChat calls the provider (a seam tests may override)."
        return await lm().acompletion(**kwargs)

    async def _drive(self, t: Turn, eng):
        "The async twin of Chat._drive: same engine, awaited I/O."
        req = _advance(eng, None)
        while req is not None:
            try:
                if isinstance(req, RunTools): out = await self._tools(req, t)
                elif not req.kwargs.get('stream'): out = await self._acompletion(**req.kwargs)
                else:
                    if req.prefill: yield _prefill_chunk(req.prefill)
                    cap = astream_with_complete(await self._acompletion(**req.kwargs), postproc=cite_footnote)
                    async for o in cap: yield o
                    out = cap.value
                req = _advance(eng, out)
                for o in (out if isinstance(out, list) else [out]): yield o
            except BaseException as e: eng.throw(e)

    async def _tools(self, req: RunTools, t: Turn) -> list:
        if self.parallel_tools: return list(await asyncio.gather(*(acall_tool(tc, t.ns) for tc in req.calls)))
        return [await acall_tool(tc, t.ns) for tc in req.calls]
