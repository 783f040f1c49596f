"""One immutable object holding every option of a chat call: a Chat's defaults merged with one call's overrides.

Every option can be given to `Chat(...)` (a default for each call) and to a call (for that call
only). On a call, `None` means "as the Chat has it"; `tools=` on a call adds to the Chat's tools,
and keywords lexi does not know (api_base, max_tokens, top_k, ...) go to LiteLLM with every
request. A keyword that is a near miss of a lexi option (`max_step=5`, `strem=True`) or another
library's name for one (`system_prompt=`, `response_model=`) is a `UsageError` naming lexi's option,
unless LiteLLM itself takes that name (`messages=` is refused all the same: lexi builds the messages).

A new option is one field of `Settings` (with its docments comment) plus, where its value needs
checking, one entry in `_NORMALIZE`; Chat, AsyncChat and their signatures and help text follow.
"""
from __future__ import annotations
import dataclasses
import difflib
import functools
import inspect
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ._continue import CONTINUE_PROMPT
from .errors import UsageError
from .msgs import cache_positions, check_ttl
from ._redact import redact, redact_url   # noqa: F401  (redact_url read from here by older code)
from .tools import check_tool, lite_mk_func, mk_ns

__all__ = ['Settings', 'FINAL_PROMPT', 'EFFORT', 'INIT_POSITIONAL', 'CALL_POSITIONAL', 'call_signature',
           'init_signature', 'options_doc', 'split_positional']

FINAL_PROMPT = ('You have no more tool uses. Please summarize your findings. If you did not complete your goal, '
                'tell the user what further work needs to be done so they can choose how best to proceed.')
EFFORT = {'l': 'low', 'm': 'medium', 'h': 'high'}
_EMPTY = MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    "Everything that decides what a chat call sends and does; build it with `Settings(model).merge(...)`."
    model: str                              # LiteLLM model name (or a Router's model group; Chat also takes a list of models)
    sp: str = ''                            # system prompt
    temp: float | None = None               # temperature; sent only when given
    think: str | None = None                # reasoning effort 'l'/'m'/'h' (LiteLLM's reasoning_effort)
    search: str | None = None               # web search level 'l'/'m'/'h', for models that have it
    tools: tuple = ()                       # tools the model may call: functions (type hints, docstring) or schemas
    ns: Mapping = field(default_factory=lambda: _EMPTY)                   # name -> callable for tool calls, overriding those found in `tools`
    tool_fns: Mapping = field(default_factory=lambda: _EMPTY)             # (internal) the callables found in `tools`, by name
    cache: bool = False                     # prompt-cache checkpoints, for providers that need them (Anthropic)
    cache_idxs: tuple = (-1,)               # also checkpoint these messages (0 is the system prompt when sp is set)
    ttl: str | None = None                  # cache lifetime: '5m' (the provider's default) or '1h'
    max_steps: int = 10                     # most requests one call makes; the last is sent with tool_choice='none'
    final_prompt: str = FINAL_PROMPT        # user message sent with the last request when the model still wants tools
    tool_choice: Any = None                 # LiteLLM/OpenAI tool_choice for every request but the last
    parallel_tools: bool = True             # run one step's tool calls concurrently
    prefill: str | None = None              # start of the assistant's reply (kept in hist, streamed first)
    stream: bool = False                    # yield chunks, each complete response and tool results as they come
    return_all: bool = False                # return every response and tool result, not just the last response
    backend: Any = None                     # None (LiteLLM), a litellm.Router, or a function taking litellm.completion's keywords
    output_type: Any = None                 # answer as an instance of this type (a pydantic model, dataclass, list[...])
    struct_retries: int = 2                 # with output_type: times to ask again after an invalid answer
    keep_attempts: bool = True              # with output_type: keep invalid answers and the re-asks in hist
    tvars: Mapping = field(default_factory=lambda: _EMPTY)  # template variables (for template= and a Template sp)
    retries: int = 2                        # times to send a request again after a retryable error (429, 5xx, timeouts)
    max_wait: float = 60.0                  # longest wait before a retry, in seconds (Retry-After is capped by it)
    timeout: float | None = None            # seconds LiteLLM waits for a request (and between a stream's chunks)
    rate_limit: Any = None                  # a lexi.RateLimit shared with other chats: requests wait for capacity
    max_continues: int = 0                  # times to ask for the rest of an answer cut by the token limit
    continue_prompt: Any = CONTINUE_PROMPT  # user turn asking for the rest where the model takes no prefill: a str or f(count, max_count, text)
    ensure_complete: bool = False           # an answer still cut after max_continues raises IncompleteResponseError
    on_progress: Any = None                 # f(count, max_count, text_so_far), called before each continuation
    completion_kwargs: Mapping = field(default_factory=lambda: _EMPTY)    # other LiteLLM keywords (api_base, max_tokens, ...), sent with every request

    def merge(self, **given) -> 'Settings':
        """A copy with `given` options applied: None keeps the current value, `tools` are added,
        unknown keywords join `completion_kwargs` (after the near-miss check)."""
        extra = {k: given.pop(k) for k in [k for k in given if k not in _OPTIONS]}
        _check_near_misses(extra)
        changes: dict = {}
        for name, value in given.items():
            if value is not None: changes.update(_NORMALIZE.get(name, _plain)(self, name, value, changes))
        if extra: changes['completion_kwargs'] = MappingProxyType({**self.completion_kwargs, **extra})
        return self._with(changes) if changes else self

    def _with(self, changes: dict) -> 'Settings':
        "A copy with `changes` (already checked): the fields copied as they are, without re-running __init__."
        new = object.__new__(Settings)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def replace(self, **values) -> 'Settings':
        "A copy with options set to `values` (checked as `merge` checks them; tools replaced, not added)."
        reset = {'tools': ('tools', 'tool_fns'), 'ns': ('ns',)}
        base = self._with({f: _default(f) for k in values for f in reset.get(k, ())})
        return base.merge(**values)

    @property
    def tool_names(self) -> list[str]:
        return [t['function']['name'] for t in self.tools]

    @property
    def namespace(self) -> dict:
        "Where tool calls are looked up: the callables passed as tools, then `ns` (which wins)."
        return {**self.tool_fns, **self.ns}

    def __repr__(self):
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if f.name != 'model' and getattr(self, f.name) != _default(f.name)}
        shown['tools'] = self.tool_names if self.tools else None
        shown.pop('ns', None); shown.pop('tool_fns', None)
        if self.completion_kwargs: shown['completion_kwargs'] = redact(self.completion_kwargs)
        inner = ', '.join(f'{k}={v!r}' for k, v in shown.items() if v is not None)
        return f'Settings(model={redact_url(self.model)!r}{", " if inner else ""}{inner})'


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _default(name: str):
    f = _FIELDS[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
_INTERNAL = frozenset({'completion_kwargs', 'tool_fns'})
_OPTIONS = frozenset(_FIELDS) - _INTERNAL
# ---------------------------------------------------------------- checking each option

def _plain(s, name, value, changes): return {name: value}


def effort(value, name: str) -> str | None:
    "Map 'l'/'m'/'h' (or True for 'm'; False or '' for off) to lexi's level letters."
    if value in (False, ''): return None
    if value is True: return 'm'
    if value not in EFFORT: raise UsageError(f"{name}={value!r} is not a level: pass 'l', 'm' or 'h' (low, medium, high).")
    return value


def _effort(s, name, value, changes): return {name: effort(value, name)}


def _model(s, name, value, changes):
    if not isinstance(value, str) or not value:
        raise UsageError(f'model must be a LiteLLM model name such as "openai/gpt-4.1", not {value!r}.')
    return {name: value}


def _tools(s, name, value, changes):
    "Tool schemas by name, later ones replacing earlier ones (providers reject a name sent twice); callables join ns."
    tools = list(value) if isinstance(value, (list, tuple)) else [value]
    for t in tools: check_tool(t)
    schemas = {t['function']['name']: t for t in [*s.tools, *map(lite_mk_func, tools)]}
    found = mk_ns([t for t in tools if callable(t)])
    return {'tools': tuple(schemas.values()), 'tool_fns': MappingProxyType({**s.tool_fns, **found})}


def _ns(s, name, value, changes):
    return {'ns': MappingProxyType({**s.ns, **mk_ns(value)})}


def _cache_idxs(s, name, value, changes):
    cache_positions([], value)  # bad positions fail here, not at the first request
    return {name: (value,) if isinstance(value, int) else tuple(value)}


def _ttl(s, name, value, changes):
    check_ttl(value)
    return {name: value}


def _max_steps(s, name, value, changes):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f'max_steps={value!r}: pass a whole number >= 1 (the most requests one call makes).')
    return {name: value}


def _backend(s, name, value, changes):
    if not callable(value) and not (hasattr(value, 'completion') and hasattr(value, 'acompletion')):
        raise UsageError(f'backend must be a litellm.Router or a function taking litellm.completion\'s keywords, '
                         f'not {type(value).__name__}.')
    return {name: value}


def _retries(s, name, value, changes):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f'max_retries={value!r}: pass a whole number >= 0 (times to ask again after an invalid answer).')
    return {name: value}


def _whole(s, name, value, changes):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f'{name}={value!r}: pass a whole number >= 0.')
    return {name: value}


def _seconds(s, name, value, changes):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise UsageError(f'{name}={value!r}: pass a number of seconds >= 0.')
    return {name: float(value)}


def _rate_limit(s, name, value, changes):
    from .resilience import RateLimit
    if not isinstance(value, RateLimit): raise UsageError(f'rate_limit must be a lexi.RateLimit, not {type(value).__name__}.')
    return {name: value}


def _prompt_or_fn(s, name, value, changes):
    if not callable(value) and not (isinstance(value, str) and value.strip()):
        raise UsageError(f'{name} must be a non-empty str or a function of (count, max_count, text_so_far).')
    return {name: value}


def _callback(s, name, value, changes):
    if not callable(value): raise UsageError(f'{name} must be a function of (count, max_count, text_so_far), not {type(value).__name__}.')
    return {name: value}


def _tvars(s, name, value, changes):
    if not isinstance(value, Mapping): raise UsageError(f'tvars must be a dict of template variables, not {type(value).__name__}.')
    return {name: MappingProxyType({**s.tvars, **value})}


def _sp(s, name, value, changes):
    from .templates import Template
    if isinstance(value, Template): return {name: value}
    return _text(s, name, value, changes)


def _text(s, name, value, changes):
    if not isinstance(value, str): raise UsageError(f'{name} must be a str, not {type(value).__name__}.')
    return {name: value}


_NORMALIZE = {'model': _model, 'think': _effort, 'search': _effort, 'tools': _tools, 'ns': _ns,
              'cache_idxs': _cache_idxs, 'ttl': _ttl, 'max_steps': _max_steps, 'backend': _backend,
              'sp': _sp, 'final_prompt': _text, 'prefill': _text, 'struct_retries': _retries, 'tvars': _tvars,
              'retries': _whole, 'max_wait': _seconds, 'timeout': _seconds, 'rate_limit': _rate_limit,
              'max_continues': _whole, 'continue_prompt': _prompt_or_fn, 'on_progress': _callback}
assert set(_NORMALIZE) <= _OPTIONS


# ---------------------------------------------------------------- near misses

_OTHER_NAMES = ('msg', 'hist', 'template', 'route')  # parameters of Chat and its calls that are not options


def _litellm_params() -> frozenset:
    from ._litellm import completion_params
    return completion_params()


# Names people bring from other libraries (the Anthropic, OpenAI and Gemini SDKs, the OpenAI Agents SDK,
# pydantic-ai, instructor, LangChain) for what lexi spells otherwise: caught however unlike lexi's name they look.
_ALIASES = {'system_prompt': 'sp', 'system': 'sp', 'system_message': 'sp', 'instructions': 'sp', 'system_instruction': 'sp',
            'history': 'hist', 'message_history': 'hist', 'messages': 'hist',
            'prompt': 'msg', 'message': 'msg', 'user_prompt': 'msg',
            'response_model': 'output_type', 'result_type': 'output_type', 'output_schema': 'output_type',
            'response_type': 'output_type', 'max_iterations': 'max_steps', 'max_turns': 'max_steps',
            'max_rounds': 'max_steps', 'namespace': 'ns', 'retry': 'retries'}
# LiteLLM keywords that lexi builds itself: passed through, one would replace what the chat sends (its history).
_LEXI_BUILDS = frozenset({'messages'})


@functools.lru_cache(maxsize=1024)
def _near_miss(name: str) -> str | None:
    """The lexi option (or parameter) `name` stands for: a known name from another library, or a close spelling;
    None when LiteLLM takes `name` itself (cached: it depends on the name only)."""
    if name in _LEXI_BUILDS: return _ALIASES[name]
    if name in _litellm_params(): return None
    close = difflib.get_close_matches(name, sorted(_OPTIONS) + list(_OTHER_NAMES), n=1, cutoff=0.75)
    return _ALIASES.get(name) or (close[0] if close else None)


def _check_near_misses(extra: Mapping):
    "UsageError for a keyword that stands for a lexi option under another name or spelling (and is not one LiteLLM takes)."
    for k in extra:
        if (meant := _near_miss(k)) is not None:
            raise UsageError(f'{k}= is not a lexi option: did you mean {meant}= ({_docs().get(meant, "")})? '
                             '(Keywords lexi does not know, such as top_k or max_tokens, go to LiteLLM as they are.)')


# ---------------------------------------------------------------- signatures and help text

INIT_POSITIONAL = ('model', 'sp', 'temp', 'search', 'tools', 'hist', 'ns', 'cache', 'cache_idxs', 'ttl')
INIT_INPUTS = ('route',)  # what only Chat(...) takes, besides hist: keyword-only
CALL_POSITIONAL = ('msg', 'prefill')
CALL_INPUTS = ('template',)  # what a call sends, besides msg: keyword-only, not options
_DOCS = {'msg': "the user's message: text, media bytes, a Path, a list of parts, or a message; None sends the history "
                'as it is (to continue after tool results you added; a chat with no history needs a message)',
         'hist': 'history to continue: strings, message dicts, Messages, or fmt2hist output',
         'template': "the user's message as a jinja2 template (a str, Path or lexi.Template), filled from tvars",
         'route': "with a list of models (a litellm.Router is built): 'fallback' (in order), 'shuffle', or a LiteLLM strategy",
         'completion_kwargs': 'other keywords go to LiteLLM with every request (api_base, max_tokens, top_k, ...)'}


def _docs() -> dict:
    from ._schema import field_comments
    return {**field_comments(Settings), **_DOCS}


def split_positional(args: tuple, names: tuple, what: str) -> dict:
    "Positional arguments as keywords, named by `names` (TypeError, as Python gives, for too many)."
    if len(args) > len(names): raise TypeError(f'{what} takes at most {len(names)} positional arguments ({len(args)} given)')
    return dict(zip(names, args))


_SHOWN_TYPES = {'tools': 'list | None', 'ns': 'dict | None', 'cache_idxs': 'tuple[int, ...]'}  # as callers pass them


def _param(name: str, kind, default, typed: bool) -> inspect.Parameter:
    ann = _SHOWN_TYPES.get(name) or (_FIELDS[name].type if name in _FIELDS else inspect.Parameter.empty)
    return inspect.Parameter(name, kind, default=default, annotation=ann if typed else inspect.Parameter.empty)


def _signature(positional: tuple, defaults, typed: bool) -> inspect.Signature:
    P = inspect.Parameter
    params = [P('self', P.POSITIONAL_OR_KEYWORD)]
    params += [_param(n, P.POSITIONAL_OR_KEYWORD, P.empty if n == 'model' else defaults(n), typed) for n in positional]
    if positional == CALL_POSITIONAL: params += [P(n, P.KEYWORD_ONLY, default=None) for n in CALL_INPUTS]
    if positional == INIT_POSITIONAL: params += [P('route', P.KEYWORD_ONLY, default='fallback')]
    params += [_param(n, P.KEYWORD_ONLY, defaults(n), typed) for n in _FIELDS if n not in positional and n not in _INTERNAL]
    return inspect.Signature(params + [P('completion_kwargs', P.VAR_KEYWORD)])


def _field_default(name):
    if name not in _FIELDS or name == 'model': return None
    d = _default(name)
    return None if isinstance(d, (Mapping, tuple)) and not d else d


def init_signature() -> inspect.Signature:
    "`Chat.__init__`'s signature: lisette's positional order, then every other option by keyword."
    return _signature(INIT_POSITIONAL, _field_default, typed=True)


def call_signature() -> inspect.Signature:
    "`Chat.__call__`'s signature: msg and prefill, then every option by keyword (None: as the Chat has it)."
    return _signature(CALL_POSITIONAL, lambda n: None, typed=False)


def options_doc(summary: str, sig: inspect.Signature) -> str:
    "A docstring: `summary`, then one line per parameter of `sig` with its docments comment."
    docs = _docs()
    lines = [f'- {p.name}: {docs.get(p.name, "")}' for p in sig.parameters.values() if p.name != 'self']
    return summary + '\n\nParameters:\n' + '\n'.join(lines)
