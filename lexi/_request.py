"""The keyword arguments of one chat request, built from a call's Settings and the messages so far,
and the checks a message passes before it is first sent.

Pure: no I/O, and nothing is changed in place (LiteLLM gets fresh copies of every message, see
`_litellm.sendable`, because it edits the messages it is given). A message LiteLLM cannot send (content
of the wrong type, an image part without its URL, a lone surrogate) fails inside LiteLLM as a connection
or server error, which looks retryable; `check_message` makes it a UsageError before anything is sent.
"""
from __future__ import annotations
from collections.abc import Mapping

from . import _caps
from ._cache import ckpt_positions, limit_ckpts
from ._litellm import is_router, sendable
from ._portable import shaper, user_first
from ._prepared import Prepared, fresh
from .msgs import MAX_CACHE_CKPTS, add_cache_ckpt
from ._settings import EFFORT, Settings
from ._util import get
from .errors import UsageError

__all__ = ['build_request', 'check_message', 'check_text', 'check_kwargs']


def callable_backend(backend) -> bool:
    "True for a plain function backend (LiteLLM's keywords such as max_retries mean nothing to it)."
    return backend is not None and not is_router(backend)


def _messages(s: Settings, msgs: list, ckpts: bool, prefill: str | None, reach: list, prepared: Prepared) -> list:
    """System prompt, history and pending messages (checkpointed when `ckpts`), then the prefill, shaped for the
    models the request may reach. What each message needs is kept in `prepared` from one request to the next,
    so only new messages and this request's checkpoint positions are worked out anew. The engine verified the
    history's entries when the call began (Log.entries); here a message at its old place is taken as unchanged."""
    entries, (key, shape, first) = prepared.entries(msgs, verify=False), shaper(reach)
    if ckpts:
        marks, sys_ckpt = ckpt_positions(entries, bool(s.sp), s.cache_idxs)
        body = [e.shaped(key, shape, False) for e in entries]
        for i in marks: body[i] = shape(add_cache_ckpt(entries[i].bare(), s.ttl))
    elif sum(e.ckpts for e in entries) <= MAX_CACHE_CKPTS:
        sys_ckpt, body = False, [e.shaped(key, shape, True) for e in entries]
    else:   # more marks of the caller's own than a request takes: the newest are kept (rare: worked out whole)
        sys_ckpt, body = False, [shape(sendable(m)) for m in limit_ckpts(msgs)]
    head = []
    if s.sp:
        system = {'role': 'system', 'content': s.sp}
        head = [shape(add_cache_ckpt(system, s.ttl) if sys_ckpt else system)]
    tail = [shape({'role': 'assistant', 'content': prefill})] if prefill else []
    out = list(map(fresh, head + body + tail))
    return user_first(out) if first else out


def build_request(s: Settings,           # the call's settings
                  msgs: list,            # history and this call's messages not yet in it
                  *, prefill: str | None,  # start of the reply to send, if any
                  final: bool,           # the last request the call may make: no tools, no search
                  ckpts: bool,           # place prompt-cache checkpoints (the provider needs them)
                  reach: list | None = None,  # the LiteLLM models the request may reach (default: s.model)
                  prepared: Prepared | None = None  # what earlier requests derived per message (None: derive all)
                  ) -> dict:
    "The keyword arguments of litellm.completion for one request."
    kw = dict(model=s.model, messages=_messages(s, msgs, ckpts, prefill, reach or [s.model], prepared or Prepared()))
    if s.tools:
        kw['tools'] = list(s.tools)
        tc = 'none' if final else s.tool_choice
        if tc is not None: kw['tool_choice'] = tc
    if s.temp is not None: kw['temperature'] = s.temp
    if s.think: kw['reasoning_effort'] = EFFORT[s.think]
    if s.search and not final:
        kw['web_search_options'] = {'search_context_size': EFFORT[s.search]}
        if s.tools and all(map(_caps.searches_beside_tools, reach or [s.model])):
            kw['include_server_side_tool_invocations'] = True   # else LiteLLM drops search when tools come too
    if s.timeout is not None: kw['timeout'] = s.timeout
    if not callable_backend(s.backend) and 'max_retries' not in s.completion_kwargs: kw['max_retries'] = 0  # lexi retries
    kw.update(s.completion_kwargs)
    if s.stream: kw.update(stream=True, stream_options=s.completion_kwargs.get('stream_options') or {'include_usage': True})
    return kw


# ---------------------------------------------------------------- what can be checked before sending

ROLES = ('user', 'assistant', 'system', 'tool', 'developer', 'function')


def check_text(text: str, where: str):
    """UsageError when `text` holds a lone surrogate (from text decoded with errors='surrogateescape', or half
    of a split emoji): no UTF-8 encoding exists for it, so LiteLLM fails while writing the request."""
    try: text.encode('utf-8')
    except UnicodeEncodeError as e:
        raise UsageError(f'{where}: character {e.start} is a lone surrogate ({text[e.start]!r}), which cannot be sent '
                         "(UTF-8 has no encoding for it). Fix the text where it was decoded, or replace it, e.g. "
                         "text.encode('utf-8', 'replace').decode().") from None


def _strings(o, where: str):
    "Every str inside `o` (dicts, lists), with where it is."
    if isinstance(o, str): yield o, where
    elif isinstance(o, Mapping):
        for k, v in o.items(): yield from _strings(v, f'{where}.{k}')
    elif isinstance(o, (list, tuple)):
        for i, v in enumerate(o): yield from _strings(v, f'{where}[{i}]')


# What each part type LiteLLM reads must carry (an image or video URL may also be a plain str).
_PART_NEEDS = {'text': '"text" (a str)', 'image_url': 'a URL ({"image_url": {"url": "https://..."}} or a data: URL)',
               'video_url': 'a URL ({"video_url": {"url": "https://..."}})',
               'input_audio': 'data ({"input_audio": {"data": "<base64>", "format": "wav"}})',
               'file': 'file data ({"file": {"file_data": "data:...;base64,..."}} or {"file": {"file_id": ...}})'}


def _part_error(p) -> str | None:
    "What is wrong with content part `p` (None when LiteLLM can send it)."
    if not isinstance(p, Mapping):
        return (f'is of type {type(p).__name__}; in a message dict each part is a dict such as {{"type": "text", "text": "..."}} '
                '(mk_msg makes parts from str, bytes and Paths)')
    kind = p.get('type')
    if not isinstance(kind, str): return 'has no "type" (e.g. "text", "image_url", "file")'
    if kind not in _PART_NEEDS: return None   # thinking blocks, documents, ...: the provider's own part types
    value = p.get(kind)                        # each part carries its data under its type's name
    if kind == 'text': ok = isinstance(value, str)
    elif kind in ('image_url', 'video_url'): ok = isinstance(value, str) or isinstance(get(value, 'url'), str)
    elif kind == 'input_audio': ok = isinstance(get(value, 'data'), str)
    else: ok = isinstance(value, Mapping) and any(isinstance(value.get(k), str) for k in ('file_data', 'file_id'))
    return None if ok else f'(type {kind!r}) has no {_PART_NEEDS[kind]}'


def _content_error(role, content) -> str | None:
    if content is None: return None if role == 'assistant' else 'has no content; give it text or a list of parts'
    if isinstance(content, list):
        for j, p in enumerate(content):
            if (err := _part_error(p)) is not None: return f'content part {j} {err}'
        return None
    if isinstance(content, str): return None
    return f'has content of type {type(content).__name__}; content is a str or a list of parts'


def _tool_error(m, role) -> str | None:
    if role == 'tool' and not isinstance(get(m, 'tool_call_id'), str):
        return 'is a tool result without "tool_call_id" (the id of the call it answers; mk_tc_result sets it)'
    for j, tc in enumerate(get(m, 'tool_calls') or []):
        if not isinstance(get(get(tc, 'function'), 'name'), str) or not isinstance(get(tc, 'id'), str):
            return f'tool call {j} needs an "id" and a "function" with a "name" (mk_tc makes one)'
    return None


def check_message(m, where: str):
    """UsageError for what LiteLLM or every provider would refuse in message `m`: an unknown role, content
    that is neither text nor a list of parts, a part without its data, a tool message or call without its
    ids, or a lone surrogate in any text. Cheap (a dict is read in place, a Message dumped once); run on each
    message once, when it is new."""
    role = get(m, 'role')
    if role not in ROLES:
        raise UsageError(f'{where} has role {role!r}; a message\'s role is "user", "assistant", "system" or "tool".')
    err = _content_error(role, get(m, 'content')) or _tool_error(m, role)
    if err: raise UsageError(f'{where} ({role}) {err}.')
    for text, at in _strings(m if isinstance(m, Mapping) else sendable(m), where):
        check_text(text, at)


# LiteLLM keywords whose wrong type fails inside LiteLLM with a Python error (a ValueError from dict(), an
# AttributeError it logs and raises, a TypeError reported as a connection error) rather than saying what is wrong.
_KWARG_TYPES = {'extra_headers': (Mapping, 'a dict of header names to str values'), 'headers': (Mapping, 'a dict'),
                'metadata': (Mapping, 'a dict'), 'stream_options': (Mapping, "a dict such as {'include_usage': True}"),
                'api_key': (str, 'a str'), 'api_base': (str, 'a str (the base URL)'), 'api_version': (str, 'a str'),
                'max_tokens': (int, 'a whole number'), 'max_completion_tokens': (int, 'a whole number')}


def check_kwargs(s: Settings):
    """UsageError for a LiteLLM keyword of a type LiteLLM cannot use (see _KWARG_TYPES); None values are left
    to LiteLLM, and a plain function backend's keywords to it."""
    if callable_backend(s.backend): return
    kwargs = s.completion_kwargs
    for name, (kind, what) in _KWARG_TYPES.items():
        v = kwargs.get(name)
        if v is not None and (not isinstance(v, kind) or (kind is int and isinstance(v, bool))):
            raise UsageError(f'{name}= must be {what}, not {type(v).__name__} ({v!r:.40}).')
    bad = [k for k, v in (kwargs.get('extra_headers') or {}).items() if not isinstance(v, (str, bytes))]
    if bad: raise UsageError(f'extra_headers[{bad[0]!r}] must be a str (header values are text).')
