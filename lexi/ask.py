"""One-shot answers: `ask('What is RAII?')` -> str, without keeping a chat.

The model is the one given, else the `LEXI_MODEL` environment variable (read at each call, so a
notebook can set it after importing lexi). Every other keyword is a Chat option for this one call
(`sp=`, `temp=`, `tools=`, `backend=`, `retries=`, `template=` with `tvars=`, ...).
"""
from __future__ import annotations
import os

from ._util import text_of
from .errors import UsageError

__all__ = ['ask', 'aask', 'MODEL_ENV']

MODEL_ENV = 'LEXI_MODEL'


def _chat(cls, prompt, model, options):
    "A fresh chat of `cls` for one question, checked before anything is sent."
    if prompt is None and options.get('template') is None:
        raise UsageError('ask() needs a prompt (or template= with tvars=).')
    if options.get('stream'): raise UsageError('ask() returns the whole answer; for a stream use Chat(model)(prompt, stream=True).')
    model = model or os.environ.get(MODEL_ENV)
    if not model:
        raise UsageError(f'ask() needs a model: pass model=, e.g. ask(prompt, model="openai/gpt-4.1"), '
                         f'or set the {MODEL_ENV} environment variable.')
    template = options.pop('template', None)
    return cls(model, **options), template


def _text(r) -> str:
    "The answer's text ('' when the model ended on tool calls only)."
    return text_of(r.choices[0].message.content) if r.choices else ''


def ask(prompt=None,      # the question: text, parts or a message (or None with template=)
        model=None,       # a model name or list of models; LEXI_MODEL when not given
        **options) -> str:
    """Ask once and return the answer's text: `ask('What is RAII?')`; nothing is kept.

    The model is the one given, else the `LEXI_MODEL` environment variable (read at each call, so a notebook can
    set it after importing lexi). Every other keyword is a Chat option for this one call (`sp=`, `temp=`,
    `tools=`, `backend=`, `retries=`, `template=` with `tvars=`, ...)."""
    from .chat import Chat
    chat, template = _chat(Chat, prompt, model, options)
    return _text(chat(prompt, template=template))


async def aask(prompt=None, model=None, **options) -> str:
    "ask, for async code (an AsyncChat; a function backend may be async)."
    from .chat import AsyncChat
    chat, template = _chat(AsyncChat, prompt, model, options)
    return _text(await chat(prompt, template=template))
