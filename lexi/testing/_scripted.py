"""`Scripted`: a backend for Chat and AsyncChat that answers from a script, in-process, without HTTP.

    from lexi import Chat
    from lexi.testing import Scripted, Reply, ToolCall

    backend = Scripted(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3})]), '8')
    chat = Chat('anthropic/claude-sonnet-4-5', tools=[simple_add], backend=backend)
    assert chat("What's 5 + 3?").choices[0].message.content == '8'
    assert backend.requests[1]['messages'][-1]['content'] == '8'   # the tool result went back

Each request takes the next item: a `Reply` (or a str, short for `Reply(text=...)`), rendered as a
LiteLLM `ModelResponse`, or as its stream of chunks when the request has `stream=True`; a
ModelResponse or a list of chunks, returned as is; an exception instance, raised; or a function,
called with the request's keywords, whose return value is used as an item. What a Reply renders
here: text, tool calls, thinking (as `reasoning_content`), finish reason and usage. Citations,
server-side search and the timing fields (delay, event_delay, cut_after) need the provider's wire
format: use `StandIn` for those. LiteLLM's own request and response handling does not run here;
that is what `StandIn` is for.
"""
from __future__ import annotations
import collections
import json
import threading
from typing import Any

from ..errors import UsageError
from .._litellm import lm_types
from ._script import Ids, Reply, pieces, resolve_tokens

__all__ = ['Scripted', 'model_response', 'response_chunks']


def _usage(reply: Reply, request_size: int) -> dict:
    t = resolve_tokens(reply, request_size)
    return {'prompt_tokens': t.input, 'completion_tokens': t.output, 'total_tokens': t.total,
            'prompt_tokens_details': {'cached_tokens': t.cache_read},
            'completion_tokens_details': {'reasoning_tokens': t.reasoning}}


def _calls(reply: Reply, ids: Ids) -> list[dict]:
    return [{'id': tc.id or ids.call(), 'type': 'function', 'function': {'name': tc.name, 'arguments': tc.text}}
            for tc in reply.tool_calls]


def model_response(reply: Reply | str,         # the answer (a str is Reply(text=...))
                   model: str = 'scripted',    # model name the response carries (Reply.model wins)
                   ids: Ids | None = None,     # id source (seeded, so runs repeat)
                   request_size: int = 0       # request length in characters, for estimated prompt tokens
                   ):
    "The complete LiteLLM ModelResponse for `reply`, as litellm.completion returns it."
    reply, ids = Reply(text=reply) if isinstance(reply, str) else reply, ids or Ids()
    msg = {'role': 'assistant', 'content': reply.full_text or None, 'tool_calls': _calls(reply, ids) or None}
    if reply.reasoning: msg['reasoning_content'] = reply.reasoning
    return lm_types().ModelResponse(id=ids.chatcmpl(), model=reply.model or model, usage=_usage(reply, request_size),
                                    choices=[{'index': 0, 'message': msg, 'finish_reason': reply.finish_reason}])


def response_chunks(reply: Reply | str, model: str = 'scripted', ids: Ids | None = None, request_size: int = 0,
                    include_usage: bool = True) -> list:
    """The stream chunks (ModelResponseStream) for `reply`, as litellm.completion(stream=True) yields them:
    reasoning, text pieces, each tool call's id and name then its arguments in fragments, the finish
    reason, and (with `include_usage`) a last chunk with the usage."""
    reply, ids = Reply(text=reply) if isinstance(reply, str) else reply, ids or Ids()
    t, cid, name = lm_types(), ids.chatcmpl(), reply.model or model
    def chunk(delta=None, finish=None, **extra):
        choices = [{'index': 0, 'delta': delta or {}, 'finish_reason': finish}] if delta is not None or finish else []
        return t.ModelResponseStream(id=cid, model=name, choices=choices, **extra)
    out = [chunk({'reasoning_content': p}) for p in pieces(reply.reasoning, reply.chunk_size)]
    out += [chunk({'content': p}) for p in pieces(reply.full_text, reply.chunk_size)]
    for i, c in enumerate(_calls(reply, ids)):
        out.append(chunk({'tool_calls': [{'index': i, 'id': c['id'], 'type': 'function',
                                          'function': {'name': c['function']['name'], 'arguments': ''}}]}))
        out += [chunk({'tool_calls': [{'index': i, 'function': {'arguments': a}}]})
                for a in pieces(c['function']['arguments'], reply.chunk_size or 8)]
    out.append(chunk(finish=reply.finish_reason))
    if include_usage: out.append(chunk(usage=_usage(reply, request_size)))
    return out


def _plain(o):
    "A JSON-able copy of a request value (LiteLLM objects dumped)."
    return json.loads(json.dumps(o, default=lambda v: v.model_dump() if hasattr(v, 'model_dump') else repr(v)))


class Scripted:
    """A backend for `Chat(model, backend=Scripted(...))` that answers each request, in-process and without
    HTTP, with the next scripted item:

    - a `Reply` (or a str, short for `Reply(text=...)`): rendered as the ModelResponse, or as its stream of
      chunks when the request has stream=True (text, tool calls, thinking, finish reason, usage);
    - a function: called with the request's keyword arguments (model, messages, tools, ...); what it returns
      (a Reply, a str, a ModelResponse, ...) is the answer. `Scripted(lambda **kw: kw['messages'][-1]['content'].upper(),
      repeat=True)` echoes every prompt in capitals, however many requests come;
    - a ModelResponse or a list of chunks, returned as is; an exception instance, raised.

    With `repeat=True` the last item is kept once the others are used, and answers every later request (one
    function or one Reply for a whole batch). Otherwise a request that finds nothing scripted raises UsageError.
    Attributes: `requests` (each request's keyword arguments, as JSON-able dicts, in order) and `pending`
    (items not yet used). Works for Chat and AsyncChat alike; safe to share between threads. Citations,
    server-side search and timing faults need a provider's wire format: use `StandIn` for those."""

    def __init__(self, *items,                 # answers, in order: Reply, str, function, ModelResponse, chunks, exception
                 seed: int | None = 0,         # seed of the generated ids, so runs repeat
                 repeat: bool = False):        # keep answering with the last item once the others are used
        self._items, self._lock, self.ids, self.repeat = collections.deque(), threading.Lock(), Ids(seed), repeat
        self.requests: list[dict] = []
        self.queue(*items)

    def queue(self, *items) -> 'Scripted':
        "Add items to answer later requests with, in order."
        with self._lock: self._items.extend(items)
        return self

    @property
    def pending(self) -> list:
        with self._lock: return list(self._items)

    def __call__(self, **kwargs) -> Any:
        with self._lock:
            self.requests.append(_plain(kwargs))
            n = len(self.requests)
            item = (self._items[0] if self.repeat and len(self._items) == 1 else self._items.popleft()) if self._items else None
        if item is None:
            raise UsageError(f'lexi.testing.Scripted: request {n} found nothing scripted; queue one item per request.')
        return self._answer(item, kwargs)

    def _answer(self, item, kwargs: dict):
        if isinstance(item, BaseException): raise item
        if callable(item) and not isinstance(item, type): return self._answer(item(**kwargs), kwargs)
        if isinstance(item, (str, Reply)):
            size, model = len(json.dumps(self.requests[-1].get('messages'))), kwargs.get('model') or 'scripted'
            if not kwargs.get('stream'): return model_response(item, model, self.ids, size)
            usage = bool((kwargs.get('stream_options') or {}).get('include_usage'))
            return iter(response_chunks(item, model, self.ids, size, include_usage=usage))
        if isinstance(item, (list, tuple)): return iter(item)
        return item

    def __repr__(self): return f'<Scripted: {len(self.pending)} pending, {len(self.requests)} requests>'
