"""Where a chat's requests go: LiteLLM (the default), a `litellm.Router`, or a plain function.

A backend takes the keyword arguments of `litellm.completion` and returns what it returns: a
`ModelResponse`, or for `stream=True` an iterable of chunks (an async iterable, or a plain one,
for AsyncChat). A function backend is the way to drive a Chat in fast tests without HTTP (see
`lexi.testing.Scripted`); for AsyncChat it may be a coroutine function.

`models(backend, model)` tells which LiteLLM models a request for `model` may reach: the model
itself, or for a Router the deployments of that model group. Capability checks ask about those.
"""
from __future__ import annotations
import asyncio
import inspect

from ._litellm import is_router, lm, router_models
from .errors import UsageError

__all__ = ['complete', 'acomplete', 'models', 'check_backend', 'routed', 'ROUTES']


def complete(backend, kw: dict):
    "One request, sync."
    if backend is None: return lm().completion(**kw)
    if is_router(backend): return backend.completion(**kw)
    return backend(**kw)


async def acomplete(backend, kw: dict):
    "One request, async: awaited LiteLLM or Router; a coroutine function awaited; a plain function run in a thread."
    if backend is None: return await lm().acompletion(**kw)
    if is_router(backend): return await backend.acompletion(**kw)
    if _is_async_fn(backend): return await backend(**kw)
    out = await asyncio.to_thread(backend, **kw)   # a plain function: off the event loop, so other tasks go on
    return await out if inspect.isawaitable(out) else out


def models(backend, model: str) -> list[str]:
    """The LiteLLM model names a request for `model` may reach: a Router group's deployments and those of the
    groups it falls back to; else the model itself."""
    if not is_router(backend): return [model]
    groups = [model] + [g for fb in getattr(backend, 'fallbacks', None) or [] if isinstance(fb, dict)
                        for g in fb.get(model, [])]
    return [d for g in groups for d in router_models(backend, g)] or [model]


def _is_async_fn(fn) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, '__call__', None))


def check_backend(backend, is_async: bool):
    "UsageError for a backend the chat class cannot drive (an async function for the sync Chat)."
    if backend is None or is_router(backend): return
    if not is_async and _is_async_fn(backend):
        raise UsageError(f'backend {getattr(backend, "__name__", backend)!r} is a coroutine function: Chat calls its '
                         'backend synchronously. Use AsyncChat, or pass a plain function.')


# route= names: lexi's two, and LiteLLM's routing strategies by their own names
ROUTES = {'fallback': None, 'shuffle': 'simple-shuffle', 'simple-shuffle': 'simple-shuffle', 'least-busy': 'least-busy',
          'latency-based-routing': 'latency-based-routing', 'usage-based-routing-v2': 'usage-based-routing-v2'}
_PER_DEPLOYMENT = ('api_base', 'base_url', 'api_key', 'api_version')  # keywords that belong to one deployment
GROUP = 'lexi-models'


def _entry(m, shared: dict) -> dict:
    "One deployment's litellm_params: a model name (with the chat's own api_base/api_key), or a dict with 'model'."
    if isinstance(m, str) and m: return {'model': m, **shared}
    if isinstance(m, dict) and isinstance(m.get('model'), str): return dict(m)
    raise UsageError(f"a model in the list must be a LiteLLM model name or a dict with 'model' (and its api_base, "
                     f"api_key, ...), not {m!r}.")


def routed(models_: list, route: str, shared: dict):
    """(the model to ask for, a litellm.Router) for a list of models: 'fallback' tries them in order (each its own
    group, the first asked for, the rest as its fallbacks); the other routes put them in one group the Router
    picks from per request. The Router's own retries are off: the chat's `retries=` decides."""
    if route not in ROUTES: raise UsageError(f'route={route!r}: pass one of {", ".join(ROUTES)}.')
    if len(models_) < 1: raise UsageError('pass at least one model in the list.')
    entries = [_entry(m, shared) for m in models_]
    Router = lm().Router
    if ROUTES[route] is None:
        names = [f"{e['model']}#{i}" if [x['model'] for x in entries].count(e['model']) > 1 else e['model']
                 for i, e in enumerate(entries)]
        model_list = [{'model_name': n, 'litellm_params': e} for n, e in zip(names, entries)]
        fallbacks = [{names[0]: names[1:]}] if len(names) > 1 else []
        return names[0], Router(model_list=model_list, fallbacks=fallbacks, num_retries=0)
    model_list = [{'model_name': GROUP, 'litellm_params': e} for e in entries]
    return GROUP, Router(model_list=model_list, routing_strategy=ROUTES[route], num_retries=0)
