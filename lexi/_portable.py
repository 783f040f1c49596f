"""A history that moves between providers: each request carries only what the models it may reach take.

The stored history keeps everything a reply brought (thinking blocks and signatures, server-side
search blocks, citations, tool-call ids as the provider made them); the outgoing copy is shaped here,
for every model the request may reach (one model, or a Router group's deployments):

- Anthropic-style fields (`thinking_blocks`, `reasoning_content`, `provider_specific_fields`, which
  LiteLLM reads for Anthropic and Gemini to rebuild thinking, signatures and server-tool blocks) go only
  to providers LiteLLM rebuilds them for. OpenAI-format APIs refuse unknown message fields (for example
  "Extra inputs are not permitted, field: 'messages[2].thinking_blocks'"), and DeepSeek refuses
  `reasoning_content` in its input. `reasoning_items` (a reasoning model's reasoning on LiteLLM's route to
  OpenAI's Responses API, 'openai/responses/...' or a model LiteLLM serves only there; sent back by id, or
  as encrypted content) go only to that route, which reads nothing else of these.
- Calls the provider ran itself (server-side web search, 'srvtoolu_' ids) are left out for others:
  they carry no tool result another provider would accept.
- Tool-call ids are mapped where the target refuses them: OpenAI takes at most 40 characters;
  Anthropic takes `^[a-zA-Z0-9_-]+$`, at most 64. A refused id becomes its allowed characters and a short
  hash of the whole id (deterministic, and distinct ids stay distinct), on the call and on its result alike.
  Gemini ids are left as they are (LiteLLM carries Gemini's thought signatures in them).
- Tool-call arguments go out as a JSON object for every provider. A model can write arguments that are not one
  (a call cut mid-stream, '{"a": 1, "b'; a JSON array or string; nothing at all). The history keeps that text, and
  lexi answered the call with an error result, but the request must still be one the provider takes: LiteLLM
  parses the text for Anthropic and Gemini and fails before sending (so every later call of the chat would
  fail), Anthropic's tool_use.input and Gemini's functionCall.args must be objects, and OpenAI-compatible
  servers (vLLM, SGLang and others) parse the history's arguments too. Arguments the tool ran with as no
  arguments (empty, blank, `null`) go as {}; any other text that is not a JSON object goes inside one,
  {"_raw_arguments": "<the text>"}, so the model still sees what it wrote, which the error result after it
  quotes, rather than an empty call that seems to contradict it. An object goes out as the model wrote it.
- cache_control marks go only to providers that use them, and OpenAI-format APIs get tool calls with only
  their own keys (id, type, function).
- A history that starts with the assistant (as `fmt2hist` of a formatted reply does) gets a short user
  message in front, in the request only, for every provider but OpenAI-format ones: Anthropic refuses it
  ("messages: first message must use the \"user\" role"), Gemini refuses a function call turn that does
  not follow a user or function response turn, and Bedrock's Converse API wants a user turn first.
"""
from __future__ import annotations
import hashlib
import json
import re
from collections.abc import Mapping

from . import _caps

__all__ = ['for_models', 'shaper', 'user_first']

OPENING = '(Continuing an earlier conversation.)'   # the user turn put before an assistant-first history
RAW_ARGS = '_raw_arguments'   # the key that carries arguments text that is not a JSON object
_THINKING_FIELDS = ('thinking_blocks', 'reasoning_content', 'provider_specific_fields')
_RESPONSES_FIELDS = ('reasoning_items',)
_READS_FIELDS = {'anthropic', 'gemini', 'vertex_ai', 'vertex_ai_beta', 'bedrock', 'bedrock_converse'}
_GEMINI = {'gemini', 'vertex_ai', 'vertex_ai_beta'}
_ANTHROPIC_ID = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')


def _responses_route(model: str) -> bool:
    """LiteLLM sends `model` through its bridge to OpenAI's Responses API: a 'responses/' route after the provider
    prefix ('openai/responses/o4-mini'), or a model LiteLLM's map serves only there (mode 'responses')."""
    rest = model.split('/', 1)[1] if '/' in model else ''
    return rest.startswith('responses/') or _caps.model_info(model).get('mode') == 'responses'


def _family(model: str) -> str:
    """'anthropic' (Claude anywhere), 'gemini', 'responses' (LiteLLM's route to OpenAI's Responses API), or 'openai'
    (the OpenAI wire format: OpenAI and compatible APIs)."""
    p = _caps.provider(model)
    if _caps.uses_cache_ckpts(model) or p == 'anthropic': return 'anthropic'
    if p in _GEMINI and 'claude' not in model.lower(): return 'gemini'
    if _responses_route(model): return 'responses'
    return 'openai' if p not in _READS_FIELDS else 'other'


_OPENAI_FORMAT = frozenset({'openai', 'responses'})   # the Responses route is held to OpenAI's id rule too


def _id_rule(families: set):
    "How ids must look for every family the request may reach: (max length, allowed pattern or None); None: any."
    if families <= {'gemini', 'other'}: return None
    return (40 if families & _OPENAI_FORMAT else 64), (None if families <= _OPENAI_FORMAT else re.compile(r'[^a-zA-Z0-9_-]'))


def _map_id(tcid, rule) -> str:
    if rule is None or not isinstance(tcid, str): return tcid
    most, bad = rule
    if len(tcid) <= most and (bad is None or not bad.search(tcid)) and tcid: return tcid
    digest = hashlib.sha256(tcid.encode()).hexdigest()[:10]
    safe = bad.sub('_', tcid) if bad is not None else tcid
    return f'{safe[:most - 11]}_{digest}'


def _is_server_call(tc) -> bool: return str((tc or {}).get('id') or '').startswith('srvtoolu_')


_INTERESTING = frozenset(('tool_calls', 'tool_call_id', 'cache_control') + _THINKING_FIELDS + _RESPONSES_FIELDS)


def _no_constant(name: str):
    raise ValueError(f'{name} is not JSON')   # NaN and Infinity: Python reads them, JSON APIs refuse them


def _object_args(raw) -> str:
    "Tool-call arguments as the text of a JSON object (see the module docstring)."
    if isinstance(raw, Mapping): return json.dumps(raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()): return '{}'
    try: value = json.loads(raw, parse_constant=_no_constant)
    except (TypeError, ValueError): return _wrapped(raw)
    if isinstance(value, dict): return raw
    return '{}' if value is None else _wrapped(raw)


def _wrapped(raw) -> str: return json.dumps({RAW_ARGS: raw if isinstance(raw, str) else repr(raw)})


def _with_object_args(tc: dict) -> dict:
    fn = tc.get('function') or {}
    args = _object_args(fn.get('arguments'))
    return tc if args == fn.get('arguments') else {**tc, 'function': {**fn, 'arguments': args}}


def _plain_call(tc: dict) -> dict:
    "A tool call with only the keys of the OpenAI format (Anthropic's carry `caller`, LiteLLM's `index`)."
    fn = tc.get('function') or {}
    return {'id': tc.get('id'), 'type': tc.get('type') or 'function',
            'function': {'name': fn.get('name'), 'arguments': fn.get('arguments')}}


def _shape(m: dict, keep_fields: bool, keep_server: bool, rule, keep_ckpts: bool, keep_items: bool = False) -> dict:
    if not (_INTERESTING & m.keys() or (not keep_ckpts and isinstance(m.get('content'), list))): return m
    out = dict(m)
    if not keep_fields:
        for k in _THINKING_FIELDS: out.pop(k, None)
    if not keep_items:
        for k in _RESPONSES_FIELDS: out.pop(k, None)
    if out.get('tool_calls'):
        calls = [_with_object_args(tc if keep_fields else _plain_call(tc)) for tc in out['tool_calls']
                 if keep_server or not _is_server_call(tc)]
        out['tool_calls'] = [{**tc, 'id': _map_id(tc.get('id'), rule)} for tc in calls] or None
        if out['tool_calls'] is None:
            out.pop('tool_calls')
            if not out.get('content'): out['content'] = ''   # only server calls: no tool call left to carry
    if out.get('role') == 'tool': out['tool_call_id'] = _map_id(out.get('tool_call_id'), rule)
    if not keep_ckpts:
        out.pop('cache_control', None)
        if isinstance(out.get('content'), list):
            out['content'] = [{k: v for k, v in p.items() if k != 'cache_control'} if isinstance(p, dict) else p
                              for p in out['content']]
    return out


def _user_first(msgs: list) -> list:
    "`msgs` with a user turn before the first non-system message when that one is the assistant's."
    i = next((k for k, m in enumerate(msgs) if m.get('role') != 'system'), None)
    if i is None or msgs[i].get('role') != 'assistant': return msgs
    return msgs[:i] + [{'role': 'user', 'content': OPENING}] + msgs[i:]


def shaper(models: list  # the LiteLLM models a request may reach
           ) -> tuple:
    """How messages are shaped for `models`: a key naming that shaping (equal keys shape alike), the function
    shaping one plain message dict, and whether a user turn must come first (see the module docstring)."""
    families = frozenset(_family(m) for m in models)
    keep_fields = families <= {'anthropic', 'gemini', 'other'}
    keep_server = families == {'anthropic'}
    keep_ckpts = any(map(_caps.uses_cache_ckpts, models))
    keep_items = families == {'responses'}
    rule = _id_rule(families)
    shape = lambda m: _shape(m, keep_fields, keep_server, rule, keep_ckpts, keep_items)   # noqa: E731
    return (families, keep_ckpts), shape, bool(families - _OPENAI_FORMAT)


def user_first(msgs: list) -> list:
    "`msgs` with a user turn in front when the first message after the system prompt is the assistant's."
    return _user_first(msgs)


def for_models(msgs: list,   # the outgoing messages, plain dicts (already copies: changed freely)
               models: list  # the LiteLLM models the request may reach
               ) -> list:
    "The messages in a form every one of `models` takes (see the module docstring)."
    _, shape, first = shaper(models)
    return [shape(m) for m in (_user_first(msgs) if first else msgs)]
