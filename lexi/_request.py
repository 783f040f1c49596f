"""The keyword arguments of one chat request, built from a call's Settings and the messages so far.

Pure: no I/O, and nothing is changed in place (LiteLLM gets fresh copies of every message, see
`_litellm.sendable`, because it edits the messages it is given).
"""
from __future__ import annotations

from ._cache import limit_ckpts, place_ckpts
from ._litellm import is_router, sendable
from ._portable import for_models
from .msgs import add_cache_ckpt
from ._settings import EFFORT, Settings

__all__ = ['build_request']


def callable_backend(backend) -> bool:
    "True for a plain function backend (LiteLLM's keywords such as max_retries mean nothing to it)."
    return backend is not None and not is_router(backend)


def _messages(s: Settings, msgs: list, ckpts: bool, prefill: str | None, reach: list) -> list:
    "System prompt, history and pending messages (checkpointed when `ckpts`), then the prefill."
    sys_ckpt = False
    if ckpts: msgs, sys_ckpt = place_ckpts(msgs, bool(s.sp), s.cache_idxs, s.ttl)
    else: msgs = limit_ckpts(msgs)
    head = []
    if s.sp:
        system = {'role': 'system', 'content': s.sp}
        head = [add_cache_ckpt(system, s.ttl) if sys_ckpt else system]
    tail = [{'role': 'assistant', 'content': prefill}] if prefill else []
    return for_models([sendable(m) for m in head + msgs + tail], reach)


def build_request(s: Settings,           # the call's settings
                  msgs: list,            # history and this call's messages not yet in it
                  *, prefill: str | None,  # start of the reply to send, if any
                  final: bool,           # the last request the call may make: no tools, no search
                  ckpts: bool,           # place prompt-cache checkpoints (the provider needs them)
                  reach: list | None = None  # the LiteLLM models the request may reach (default: s.model)
                  ) -> dict:
    "The keyword arguments of litellm.completion for one request."
    kw = dict(model=s.model, messages=_messages(s, msgs, ckpts, prefill, reach or [s.model]))
    if s.tools:
        kw['tools'] = list(s.tools)
        tc = 'none' if final else s.tool_choice
        if tc is not None: kw['tool_choice'] = tc
    if s.temp is not None: kw['temperature'] = s.temp
    if s.think: kw['reasoning_effort'] = EFFORT[s.think]
    if s.search and not final: kw['web_search_options'] = {'search_context_size': EFFORT[s.search]}
    if s.timeout is not None: kw['timeout'] = s.timeout
    if not callable_backend(s.backend) and 'max_retries' not in s.completion_kwargs: kw['max_retries'] = 0  # lexi retries
    kw.update(s.completion_kwargs)
    if s.stream: kw.update(stream=True, stream_options=s.completion_kwargs.get('stream_options') or {'include_usage': True})
    return kw
