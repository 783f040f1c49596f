"""The only module that touches LiteLLM directly.

LiteLLM costs about 3 s and 160 MB to import, so lexi imports it on first use, never at
`import lexi`. Nothing here changes LiteLLM's own state or the environment (set
LITELLM_LOCAL_MODEL_COST_MAP=True yourself to keep LiteLLM from fetching its price table),
except: `lm()` turns LiteLLM's stdout banners off once, at lexi's first use of LiteLLM (see there);
and `patch_litellm`, which does so only when called and is undone by `unpatch_litellm`.
"""
from __future__ import annotations
import asyncio
import copy
import importlib
import inspect
import random
import re
import sys
import uuid as _std_uuid
from collections.abc import Mapping
from functools import lru_cache

from ._watchdog import Watchdog

__all__ = ['lm', 'lm_types', 'close_stream', 'aclose_stream', 'aclose_loop_clients', 'patch_litellm', 'unpatch_litellm', 'FIXED_ID', 'FIXED_CREATED',
           'completion_params', 'hidden_params', 'answered_model', 'is_router', 'router_models', 'sendable',
           'set_fields', 'assistant_message', 'stream_chunk', 'version', 'litellm_error_kind', 'response_headers', 'refused_by_client',
           'count_tokens', 'stall_guard', 'astall_timeout', 'timeout_error']

FIXED_ID = 'chatcmpl-xxx'      # the `id` of every response while patched
FIXED_CREATED = 1000000000     # the `created` timestamp of every response while patched


_quieted = False


def lm():
    """The `litellm` module, imported on first use. lexi's first use sets `litellm.suppress_debug_info = True`, once
    (as LiteLLM's own Router does): otherwise LiteLLM prints "Give Feedback / Get Help" to stdout at every failed
    request, retried or handled, and a library call must not write to stdout. Set it back to see them; lexi leaves it."""
    global _quieted
    mod = importlib.import_module('litellm')
    if not _quieted: _quieted, mod.suppress_debug_info = True, True
    return mod


def lm_types():
    "`litellm.types.utils`, where Message, ModelResponse, Delta and friends live."
    lm()
    return importlib.import_module('litellm.types.utils')


# What patch_litellm replaced, so unpatch_litellm can put it back. Empty when not patched.
_saved: dict = {}


class _Patched:
    "Returned by `patch_litellm`; as a context manager it undoes the patch on exit."
    def __enter__(self): return self
    def __exit__(self, *exc): unpatch_litellm()
    def __repr__(self): return f'<lexi.patch_litellm active={bool(_saved)}>'


def _uuid_module():
    "The uuid provider every LiteLLM module calls at run time (`litellm._uuid.uuid`)."
    return importlib.import_module('litellm._uuid').uuid


def _fixed(name: str, value):
    return FIXED_ID if name == 'id' else FIXED_CREATED if name == 'created' else value


def _install(base, uuids):
    "Wrap ModelResponseBase's __init__ and __setattr__ so id/created are fixed; remember the originals."
    _saved.update(base=base, uuids=uuids, init=base.__dict__.get('__init__'),
                  setattr=base.__dict__.get('__setattr__'), uuid4=uuids.uuid4)
    orig_init, orig_setattr = base.__init__, base.__setattr__

    def __init__(self, *args, **kwargs):
        kwargs.update(id=FIXED_ID, created=FIXED_CREATED)
        orig_init(self, *args, **kwargs)

    def __setattr__(self, name, value): orig_setattr(self, name, _fixed(name, value))
    base.__init__, base.__setattr__ = __init__, __setattr__


def _seeded_uuid4(seed: int):
    "A uuid4 replacement drawing from its own generator seeded with `seed`."
    rng = random.Random(seed)
    return lambda: _std_uuid.UUID(int=rng.getrandbits(128), version=4)


def patch_litellm(seed: int | None = 0  # seeds the generated ids and Python's `random` (None: leave them random)
                  ) -> _Patched:
    """Make LiteLLM responses reproducible, for notebooks and recorded examples.

    While patched: every ModelResponse / ModelResponseStream gets `id='chatcmpl-xxx'` and
    `created=1000000000`, however LiteLLM builds or later changes it (lexi wraps
    `ModelResponseBase.__init__` and `__setattr__`); the ids LiteLLM invents itself (such as
    Gemini tool-call ids `call_...`) come from a generator seeded with `seed` (lexi replaces
    `uuid4` on the module LiteLLM draws its uuids from, `litellm._uuid.uuid`); and Python's
    `random` is seeded with `seed` (so lexi's `random_tool_id` repeats too), its previous state
    kept for `unpatch_litellm`. Nothing is patched at import; call this explicitly. Calling it
    again re-seeds. Undo with `unpatch_litellm()`, or use `with patch_litellm(): ...`.
    """
    if not _saved: _install(lm_types().ModelResponseBase, _uuid_module())
    _saved['uuids'].uuid4 = _saved['uuid4'] if seed is None else _seeded_uuid4(seed)
    if seed is not None:
        _saved.setdefault('random_state', random.getstate())
        random.seed(seed)
    return _Patched()


def unpatch_litellm() -> bool:
    "Undo `patch_litellm`: LiteLLM's own ids, timestamps and uuids again; `random`'s state restored. True if it was patched."
    if not _saved: return False
    base = _saved['base']
    for name in ('init', 'setattr'):
        attr = f'__{name}__'
        if _saved[name] is None: delattr(base, attr)
        else: setattr(base, attr, _saved[name])
    _saved['uuids'].uuid4 = _saved['uuid4']
    if 'random_state' in _saved: random.setstate(_saved['random_state'])
    _saved.clear()
    return True


# Workaround for abandoned streams, LiteLLM 1.106.x and 1.107.x (measured; 1.108.0 and later release the
# HTTP response themselves in CustomStreamWrapper.close / aclose, for OpenAI, Anthropic and Gemini alike):
# the sync wrapper has no close(), and LiteLLM's Anthropic stream iterator does not own its HTTP response
# (BerriAI/litellm#38082), while closing the line generators it reads does not close the httpx response
# (httpx closes it only after the body was read to the end). So on those versions lexi finds the httpx
# responses behind a stream (attributes, then the locals of its suspended generators) and closes them.
# On every version, a stream closed from another thread while its reader waits for the next chunk needs more
# than a close (which leaves that read waiting until the provider sends again): lexi finds the same responses
# and shuts their sockets down first, which ends the waiting read at once.
_OWN_CLOSE = (1, 108)  # from this LiteLLM version on, its own close()/aclose() is enough
_STREAM_ATTRS = ('completion_stream', 'response', 'http_response', 'streaming_response', '_iterator', 'iterator')


def _http_responses(obj, depth: int = 0, seen=None) -> list:
    "The httpx responses an unfinished stream `obj` is reading from (searched a few levels deep)."
    import sys
    httpx, seen = sys.modules.get('httpx'), set() if seen is None else seen
    if obj is None or httpx is None or id(obj) in seen or depth > 6: return []
    seen.add(id(obj))
    if isinstance(obj, httpx.Response): return [obj]
    frame = getattr(obj, 'gi_frame', None) or getattr(obj, 'ag_frame', None)
    kids = list(frame.f_locals.values()) if frame is not None else []
    kids += [getattr(obj, a, None) for a in _STREAM_ATTRS if not isinstance(obj, (str, bytes, dict, list))]
    return [r for k in kids for r in _http_responses(k, depth + 1, seen)]


def _shut_down(responses: list) -> None:
    """Shut down the sockets under unfinished httpx `responses`, so that a read blocked on one of them in
    another thread returns at once (closing a socket does not wake a read already waiting on it; shutting
    it down does). The socket comes from httpcore's documented `network_stream` response extension. A
    response read to the end is skipped: its connection may already be serving another request."""
    import socket
    for r in responses:
        stream = None if r.is_closed else r.extensions.get('network_stream')
        sock = stream.get_extra_info('socket') if stream is not None else None
        if isinstance(sock, socket.socket):
            try: socket.socket.shutdown(sock, socket.SHUT_RDWR)   # the plain socket's own, also under TLS
            except OSError: pass  # already shut down or closed


def close_stream(stream) -> None:
    """Release the HTTP response behind an unfinished sync LiteLLM stream (so a provider stops
    generating tokens nobody reads), from any thread: a read waiting for the next chunk in another
    thread ends at once (in an error the reader's code treats as the cancellation it is). See the
    workaround note above. Best effort: what cannot be closed is left to the garbage collector."""
    found = _http_responses(stream)
    _shut_down(found)
    closers = [getattr(stream, 'close', None), getattr(getattr(stream, 'completion_stream', None), 'close', None)]
    for close in closers + ([r.close for r in found] if version() < _OWN_CLOSE else []):
        if callable(close):
            try: close()
            except Exception: pass  # e.g. a generator that is already running or closed


async def aclose_stream(stream) -> None:
    "Release the HTTP response behind an unfinished async LiteLLM stream (CustomStreamWrapper.aclose, then the above)."
    found = _http_responses(stream) if version() < _OWN_CLOSE else []
    aclose = getattr(stream, 'aclose', None)
    for close in ([aclose] if callable(aclose) else []) + [r.aclose for r in found]:
        try: await close()
        except Exception: pass


async def aclose_loop_clients() -> None:
    """Close the aiohttp sessions LiteLLM's clients hold for the running event loop and forget the clients it cached
    for that loop: for code that created the loop, once nothing else runs on it, before closing it. LiteLLM closes them
    only at exit, when a closed loop's sessions no longer can be (LiteLLM 1.106 then prints "ClientSession.__del__ ...
    sys.meta_path is None"). The clients stay open (one may serve other loops): LiteLLM opens a new session if needed."""
    mod = sys.modules.get('litellm')
    cache = getattr(mod, 'in_memory_llm_clients_cache', None)
    scoped = getattr(cache, 'update_cache_key_with_event_loop', None)
    suffix = scoped('') if callable(scoped) else ''     # LiteLLM's own key suffix for the running loop
    if not suffix: return
    shared = vars(mod).get('module_level_aclient')       # read without creating it (LiteLLM makes it on first access)
    for client in [*cache.cache_dict.values(), shared]:
        if (session := _loop_session(client)) is not None: await _aclose(session)
    for key in [k for k in list(cache.cache_dict) if isinstance(k, str) and k.endswith(suffix)]:
        cache.cache_dict.pop(key, None)
        getattr(cache, 'ttl_dict', {}).pop(key, None)


def _loop_session(client):
    "The open aiohttp session of the running loop under a LiteLLM client (its httpx client's transport), if any."
    aiohttp = sys.modules.get('aiohttp')
    for holder in (client, getattr(client, 'client', None), getattr(client, '_client', None)):
        session = getattr(getattr(holder, '_transport', None), 'client', None)
        if aiohttp is not None and isinstance(session, aiohttp.ClientSession) and not session.closed \
                and getattr(session, '_loop', None) is asyncio.get_running_loop():
            return session
    return None


async def _aclose(client):
    close = getattr(client, 'aclose', None) or getattr(client, 'close', None)
    try:
        done = close() if callable(close) else None
        if inspect.isawaitable(done): await done
    except Exception: pass


# ---------------------------------------------------------------- reading LiteLLM's objects

@lru_cache(maxsize=1)
def version() -> tuple[int, ...]:
    "LiteLLM's version as numbers, e.g. (1, 110, 2), for the version guards of workarounds here."
    from importlib.metadata import version as v
    return tuple(int(p) for p in re.findall(r'\d+', v('litellm'))[:3])


@lru_cache(maxsize=1)
def completion_params() -> frozenset:
    """Every keyword LiteLLM takes in a completion call: those `litellm.completion` declares (temperature,
    top_p, parallel_tool_calls, ...) and the LiteLLM-level ones it reads from **kwargs (caching,
    num_retries, metadata, ...: `litellm.types.utils.all_litellm_params`)."""
    declared = set(inspect.signature(lm().completion).parameters) - {'kwargs'}
    extra = getattr(importlib.import_module('litellm.types.utils'), 'all_litellm_params', ())
    return frozenset(declared | set(extra))


def hidden_params(resp) -> dict:
    "The `_hidden_params` LiteLLM attaches to a response (response_cost, litellm_model_name, ...); {} when absent."
    h = getattr(resp, '_hidden_params', None)
    return h if isinstance(h, dict) else {}


def answered_model(resp) -> str | None:
    """The LiteLLM name of the deployment that answered `resp` ('anthropic/claude-sonnet-4-5'), from what
    LiteLLM records on it: `litellm_model_name`, or for assembled streams the provider and served model."""
    h = hidden_params(resp)
    if h.get('litellm_model_name'): return h['litellm_model_name']
    provider, served = h.get('custom_llm_provider'), getattr(resp, 'model', None)
    return f'{provider}/{served}' if provider and served else None


def is_router(obj) -> bool:
    "True for a `litellm.Router` (checked only when LiteLLM is already imported: a Router needs it)."
    if obj is None: return False
    mod = sys.modules.get('litellm')
    return mod is not None and isinstance(obj, mod.Router)


def router_models(router, group: str) -> list[str]:
    """The LiteLLM model names of the deployments in a Router's model group (empty when it has no such group).
    Read from `Router.model_list`, which every supported version has (`get_model_list` is deprecated from 1.109)."""
    name = lambda d: d.get('model_name') if isinstance(d, Mapping) else getattr(d, 'model_name', None)
    return [get_litellm_model(d) for d in getattr(router, 'model_list', None) or [] if name(d) == group]


def get_litellm_model(deployment) -> str:
    params = deployment.get('litellm_params') if isinstance(deployment, Mapping) else getattr(deployment, 'litellm_params', None)
    return (params.get('model') if isinstance(params, Mapping) else getattr(params, 'model', None)) or ''


def set_fields(o) -> dict:
    "A LiteLLM pydantic object's non-None values, declared fields and extras (LiteLLM keeps many in the extras)."
    vals = {**o.__dict__, **(getattr(o, '__pydantic_extra__', None) or {})}
    return {k: v for k, v in vals.items() if v is not None}


def _tc_dict(tc) -> dict:
    if isinstance(tc, Mapping): return copy.deepcopy(dict(tc))
    return tc.model_dump(exclude_none=True)


def sendable(m) -> dict:
    """A fresh plain-dict copy of a message for LiteLLM, which edits the messages it is given (it turns
    tool calls into dicts and rewrites content parts), so a chat's history stays exactly as recorded.
    A Message is dumped as LiteLLM itself would (exclude_none); tool calls held as dicts (see
    `assistant_message`) are copied as they are, not through Message's serializer (which warns)."""
    if isinstance(m, Mapping):
        flat = all(v is None or isinstance(v, (str, int, float)) for v in m.values())
        return dict(m) if flat else copy.deepcopy(dict(m))
    out = m.model_dump(exclude_none=True, exclude={'tool_calls'})
    if getattr(m, 'tool_calls', None): out['tool_calls'] = [_tc_dict(tc) for tc in m.tool_calls]
    return out


def assistant_message(content, tool_calls: list | None, **fields):
    """An assistant `Message` (with any other `fields`, e.g. thinking_blocks) whose tool calls stay the plain
    dicts given (as lisette's history shows them): Message() turns dicts into ChatCompletionMessageToolCall
    objects, so they are put back afterwards."""
    msg = lm_types().Message(content=content, role='assistant', tool_calls=tool_calls or None, **{'function_call': None, **fields})
    msg.tool_calls = tool_calls or None
    return msg


def message_from_dict(d: dict):
    "An assistant message dict (as `sendable` wrote it) back as the LiteLLM `Message` a live chat holds."
    return assistant_message(d.get('content'), d.get('tool_calls'),
                             **{k: v for k, v in d.items() if k not in ('content', 'tool_calls', 'role')})


def stream_chunk(text: str):
    "A stream chunk carrying `text` from the assistant (lexi streams a prefill first as one)."
    t = lm_types()
    return t.ModelResponseStream(choices=[t.StreamingChoices(delta=t.Delta(content=text, role='assistant'))])


# LiteLLM's exception classes that decide a retry whatever their status: a request that can never work
# (ContextWindowExceededError is a 400 BadRequestError, as is a 409 conflict, which may), and failures with
# no HTTP status at all (timeouts, dropped connections, a stream cut mid-way).
_FINAL_ERRORS = ('ContextWindowExceededError', 'ContentPolicyViolationError', 'UnsupportedParamsError',
                 'BudgetExceededError')
_TRANSIENT_ERRORS = ('Timeout', 'APIConnectionError', 'MidStreamFallbackError', 'RateLimitError')


def litellm_error_kind(exc) -> str | None:
    "'final' or 'transient' for the LiteLLM exception classes above; None for anything else."
    import sys
    mod = sys.modules.get('litellm.exceptions')
    if mod is None: return None
    for names, kind in ((_FINAL_ERRORS, 'final'), (_TRANSIENT_ERRORS, 'transient')):
        classes = tuple(c for n in names if isinstance(c := getattr(mod, n, None), type))
        if isinstance(exc, classes): return kind
    return None


def refused_by_client(exc) -> bool:
    """True for the OpenAI SDK's own base error, which its client raises before sending anything (no API key, a
    missing option) and LiteLLM reports as an InternalServerError; its request errors are subclasses (APIError)."""
    openai = sys.modules.get('openai')
    return openai is not None and type(exc) is getattr(openai, 'OpenAIError', None)


def response_headers(exc) -> dict:
    "The provider's HTTP response headers an exception carries, lower-cased ({} when none)."
    found = getattr(exc, 'litellm_response_headers', None) or getattr(getattr(exc, 'response', None), 'headers', None)
    try: return {str(k).lower(): v for k, v in dict(found or {}).items()}
    except (TypeError, ValueError): return {}


def count_tokens(model: str, messages: list) -> int:
    "LiteLLM's estimate of the prompt tokens of `messages` for `model` (about 4 characters a token when it cannot tell)."
    try: return int(lm().token_counter(model=model, messages=messages))
    except Exception:
        import json
        return len(json.dumps(messages, default=str)) // 4


# Workaround for streams that stall, LiteLLM 1.106.x and 1.107.x (measured: from 1.108.0 LiteLLM's own
# `timeout` covers the wait between chunks for OpenAI, Anthropic and Gemini; before it, Gemini streams wait
# for ever). There lexi watches the stream itself: when a read waits longer than `timeout`, the stream is
# closed and the read ends in litellm.Timeout. Only the time spent waiting for the provider counts.
_OWN_STREAM_TIMEOUT = (1, 108)


def timeout_error(seconds: float):
    "The litellm.Timeout a stream read ends in when nothing came for `seconds`."
    return lm().Timeout(message=f'lexi: the stream sent nothing for {seconds:g} s (timeout={seconds:g})',
                        model='', llm_provider='')


class _StallGuard(Watchdog):
    "Closes the stream when one read waits longer than `seconds`; the read then ends in litellm.Timeout."
    def __init__(self, stream, seconds: float): super().__init__(seconds, lambda: close_stream(stream))

    def error(self, cause: BaseException):
        "The error a read ends in: litellm.Timeout when the guard closed the stream, else `cause`."
        return timeout_error(self.seconds) if self.fired else cause


def stall_guard(stream, seconds: float | None):
    "A guard for a sync stream on a LiteLLM that does not time out between chunks itself; None when not needed."
    if seconds is None or version() >= _OWN_STREAM_TIMEOUT: return None
    return _StallGuard(stream, seconds)


def astall_timeout(seconds: float | None) -> float | None:
    "The time limit lexi puts on each read of an async stream (see above); None when LiteLLM keeps it itself."
    return None if seconds is None or version() >= _OWN_STREAM_TIMEOUT else seconds
