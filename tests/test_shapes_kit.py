"""What the shape tests (tests/test_shapes_*.py) share: one conversation run streamed and not, each on its own
stand-in with the same seed (so the stand-in's ids match), and the hist compared as it would be sent.

Imported by those files; its own tests check the kit itself."""
import json

from lexi import Chat
from lexi._litellm import sendable
from lexi.demo import simple_add
from lexi.testing import Reply, StandIn

MODELS = {'anthropic': 'anthropic/claude-sonnet-4-5', 'openai': 'openai/gpt-4.1', 'gemini': 'gemini/gemini-2.5-flash',
          'gemini3': 'gemini/gemini-3-flash-preview'}


def provider_of(model: str) -> str: return model.split('/')[0]


def clean(srv) -> list:
    "What went wrong on `srv` (rule violations and unscripted requests), as text; [] when nothing did."
    return [f'{r.path}: {r.error}' for r in srv.violations + srv.unscripted]


def _fields(m: dict) -> dict:
    "provider_specific_fields without None values (LiteLLM writes citations=None and the like into a non-streamed one)."
    f = {k: v for k, v in (m.get('provider_specific_fields') or {}).items() if v is not None}
    if f: f['server_tool_calls'] = [_call(c) for c in f.get('server_tool_calls') or []] or None
    return {k: v for k, v in f.items() if v is not None}


def _call(tc: dict) -> dict:
    "A tool call without `index` (its position) and `caller`, which LiteLLM keeps from a non-streamed reply only."
    return {k: v for k, v in tc.items() if k not in ('index', 'caller')}


def comparable(hist: list) -> list:
    """The history as plain dicts, without what LiteLLM keeps from a non-streamed reply only and never sends back
    (empty lists such as `images`, `thinking_blocks` and `annotations`, a tool call's `index` and Anthropic
    `caller`, None-valued provider fields). Tests also compare the requests sent (`same_requests`), the history as the provider sees it."""
    out = []
    for sent in map(sendable, hist):
        m = {k: v for k, v in sent.items() if v != [] and k != 'provider_specific_fields'}
        if m.get('tool_calls'): m['tool_calls'] = [_call(tc) for tc in m['tool_calls']]
        if f := _fields(sent): m['provider_specific_fields'] = f
        out.append(m)
    return out


def renamed_ids(hist: list) -> list:
    """`comparable(hist)` with tool-call ids renamed in order of appearance ('id0', 'id1', ...), for providers whose
    ids LiteLLM makes up at random (Gemini 2.5 sends none); a Gemini signature inside an id is kept."""
    names: dict = {}
    def rename(i):
        head, sep, sig = str(i).partition('__thought__')
        return names.setdefault(head, f'id{len(names)}') + sep + sig
    out = comparable(hist)
    for m in out:
        for tc in m.get('tool_calls') or []: tc['id'] = rename(tc['id'])
        if m.get('role') == 'tool': m['tool_call_id'] = rename(m['tool_call_id'])
    return out


def conversation(req) -> dict:
    "A chat request body without what differs between a streamed request and a plain one."
    return {k: v for k, v in req.body.items() if k not in ('stream', 'stream_options')}


def same_requests(a, b) -> bool:
    "Two stand-ins received the same conversations (the same bodies, streaming flags aside)."
    return [conversation(r) for r in a.requests] == [conversation(r) for r in b.requests]


def run(chat: Chat, prompt: str, stream: bool, **kw):
    "One call, read to the end when streamed; returns the final response."
    r = chat(prompt, stream=stream, **kw)
    if not stream: return r
    for _ in r: pass
    return r.value


def converse(model: str, replies: list, prompts=('Go.',), stream: bool = False, seed: int = 0, tools=(simple_add,),
             call_kw: dict | None = None, **chat_kw):
    """A Chat on `model` over a fresh stand-in (`seed`) answering `replies` in order, asked each of `prompts`.
    Returns (chat, stand-in); the stand-in is closed, its requests still readable."""
    with StandIn(seed=seed) as srv:
        srv.queue(*replies)
        chat = Chat(model, tools=list(tools), **srv.kwargs(provider_of(model)), **chat_kw)
        for p in prompts: run(chat, p, stream, **(call_kw or {}))
    return chat, srv


def both_ways(model: str, replies: list, **kw):
    "The same conversation non-streamed and streamed: ((chat, srv), (chat, srv))."
    return converse(model, replies, stream=False, **kw), converse(model, replies, stream=True, **kw)


def switch(chat: Chat, model: str, reply: Reply | str | list = 'Switched.', srv: StandIn | None = None, **kw):
    """Continue `chat` on `model` (answered by `reply`, or a list of replies); returns the stand-in that answered. Pass the stand-in an earlier part of the
    conversation used (`srv`, started again on a new port) to come back to the same provider: a Gemini 3 backend
    accepts only the thought signatures it sent itself."""
    srv = srv or StandIn()
    with srv:
        srv.queue(*(reply if isinstance(reply, list) else [reply]))
        chat.model = model
        chat.settings = chat.settings.merge(**srv.kwargs(provider_of(model)))
        chat('And now?', **kw)
    return srv


def body_text(req) -> str: return json.dumps(req.body)


# -- the kit's own checks

def test_comparable_drops_only_what_is_never_sent():
    msg = {'role': 'assistant', 'content': 'x', 'images': [], 'thinking_blocks': [],
           'provider_specific_fields': {'a': [], 'citations': None},
           'tool_calls': [{'index': 0, 'id': 'c', 'type': 'function', 'function': {'name': 'f', 'arguments': '{}'},
                           'caller': {'type': 'direct'}}]}
    assert comparable([msg]) == [{'role': 'assistant', 'content': 'x', 'provider_specific_fields': {'a': []},
                                  'tool_calls': [{'id': 'c', 'type': 'function', 'function': {'name': 'f', 'arguments': '{}'}}]}]
    assert comparable([{**msg, 'images': ['i']}])[0]['images'] == ['i']


def test_converse_runs_the_same_conversation_streamed_and_not():
    (plain, p_srv), (streamed, s_srv) = both_ways(MODELS['openai'], [Reply(text='Hi.')])
    assert comparable(plain.hist) == comparable(streamed.hist) == [{'role': 'user', 'content': 'Go.'},
                                                                   {'role': 'assistant', 'content': 'Hi.'}]
    assert [r.stream for r in p_srv.requests + s_srv.requests] == [False, True] and same_requests(p_srv, s_srv)
    assert clean(p_srv) == clean(s_srv) == []
