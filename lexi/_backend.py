"""Where a chat's requests go: LiteLLM (the default), a `litellm.Router`, or a plain function.

A backend takes the keyword arguments of `litellm.completion` and returns what it returns: a
`ModelResponse`, or for `stream=True` an iterable of chunks (an async iterable, or a plain one,
for AsyncChat). A function backend is the way to drive a Chat in fast tests without HTTP (see
`lexi.testing.Scripted`); for AsyncChat it may be a coroutine function.

`models(backend, model)` tells which LiteLLM models a request for `model` may reach: the model
itself, or for a Router the deployments of that model group. Capability checks ask about those.
"""
from __future__ import annotations
import inspect

from ._litellm import is_router, lm, router_models
from .errors import UsageError

__all__ = ['complete', 'acomplete', 'models', 'check_backend']


def complete(backend, kw: dict):
    "One request, sync."
    if backend is None: return lm().completion(**kw)
    if is_router(backend): return backend.completion(**kw)
    return backend(**kw)


async def acomplete(backend, kw: dict):
    "One request, async: awaited LiteLLM or Router; a function's result is awaited when it is awaitable."
    if backend is None: return await lm().acompletion(**kw)
    if is_router(backend): return await backend.acompletion(**kw)
    out = backend(**kw)
    return await out if inspect.isawaitable(out) else out


def models(backend, model: str) -> list[str]:
    "The LiteLLM model names a request for `model` may reach (a Router group's deployments; else the model)."
    if is_router(backend): return router_models(backend, model) or [model]
    return [model]


def _is_async_fn(fn) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, '__call__', None))


def check_backend(backend, is_async: bool):
    "UsageError for a backend the chat class cannot drive (an async function for the sync Chat)."
    if backend is None or is_router(backend): return
    if not is_async and _is_async_fn(backend):
        raise UsageError(f'backend {getattr(backend, "__name__", backend)!r} is a coroutine function: Chat calls its '
                         'backend synchronously. Use AsyncChat, or pass a plain function.')
