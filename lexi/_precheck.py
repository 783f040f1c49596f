"""Checks a chat call passes before anything is sent, for mistakes that would otherwise reach the provider
or surface only after retries: a call with nothing to send, a blank message, a provider's missing API key.
(What a model can take, such as think= or audio, is checked in the engine, with the models it asks about.)
"""
from __future__ import annotations
import os
from collections.abc import Mapping

from . import _caps
from ._redact import secret_name
from ._settings import Settings
from ._util import get
from .errors import UsageError

__all__ = ['check_something_sent', 'check_key']


def _blank_part(p) -> bool:
    return isinstance(p, str) and not p.strip() or (isinstance(p, Mapping) and p.get('type') == 'text'
                                                    and isinstance(p.get('text'), str) and not p['text'].strip())


def check_something_sent(new: list, hist: list):
    """UsageError for a call that would send no message (a chat with no history, called without one) or a user
    message with nothing in it but whitespace (providers refuse it, or LiteLLM replaces it with a note of its own).
    A call without a message on a chat that has a history is kept: it continues from the history as it is (after
    tool results the caller added, say)."""
    if not new and not hist:
        raise UsageError("nothing to send: this chat has no history and the call has no message; pass one, e.g. chat('Hi').")
    content = get(new[0], 'content') if new and get(new[0], 'role') == 'user' else None
    if isinstance(content, str): content = [content]
    if isinstance(content, list) and all(map(_blank_part, content)):
        raise UsageError('msg is empty (nothing but whitespace), which providers refuse: give it some text. To continue '
                         'from chat.hist as it is, call without a message.')


def _given_credentials(kw: Mapping) -> bool:
    """The call says where to send or how to sign in: api_key (or another credential keyword such as
    aws_secret_access_key, azure_ad_token, vertex_credentials), a credential header, or api_base/base_url.
    A server at a base URL of the caller's choosing decides itself what it needs (a LiteLLM proxy or a local
    server may take no key at all), so lexi does not ask for the provider's key then."""
    if not kw: return False
    headers = [h for name in ('extra_headers', 'headers') if isinstance(kw.get(name), Mapping) for h in kw[name]]
    return any(v is not None and (secret_name(k) or k in ('api_base', 'base_url')) for k, v in kw.items()) or \
        any(secret_name(h) for h in headers)


def check_key(s: Settings, reach: list):
    """UsageError, before anything is sent, when the provider's API key is not in the environment and nothing else
    gives one (see _caps.missing_key); a backend (a Router's deployments carry their own keys) is not checked."""
    if s.backend is not None or _given_credentials(s.completion_kwargs): return
    for m in reach:
        if names := _caps.missing_key(m):
            state = 'is empty' if any(n in os.environ for n in names) else 'is not set'
            raise UsageError(f'{" or ".join(names)} {state}: {m} needs that API key. Export it (export {names[0]}=...), '
                             'or pass api_key=... to the chat or the call; nothing was sent.')
