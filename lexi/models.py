"""Which models LiteLLM knows, and what each can do: limits, prices and capabilities from its model map.

`models()` lists them (filtered by provider, mode and capability), `model_info(name)` describes one by
the name a Chat takes. Both read LiteLLM's table when called, so models added with
`litellm.register_model` appear too. Prices are USD per million tokens.
"""
from __future__ import annotations
import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from ._caps import _placeholder, model_info as _litellm_info, provider as _routed_provider
from ._litellm import lm
from .errors import UsageError

__all__ = ['ModelInfo', 'Models', 'models', 'model_info', 'CAPABILITIES']

# Each capability lexi names, and the flag in LiteLLM's model map it is read from.
_FLAGS = {'tools': 'supports_function_calling', 'vision': 'supports_vision', 'audio': 'supports_audio_input',
          'reasoning': 'supports_reasoning', 'web_search': 'supports_web_search',
          'response_schema': 'supports_response_schema', 'prompt_caching': 'supports_prompt_caching'}
CAPABILITIES = tuple(_FLAGS)
# Column headings of the markdown tables, one per capability.
_HEADS = {'tools': 'tools', 'vision': 'vision', 'audio': 'audio', 'reasoning': 'reasoning', 'web_search': 'search',
          'response_schema': 'schema', 'prompt_caching': 'cache'}
# LiteLLM files some models under a provider name no model name starts with ('bedrock_converse');
# sub-tables such as 'vertex_ai-anthropic_models' are handled by taking the part before the '-'.
_ROUTED_AS = {'bedrock_converse': 'bedrock'}
_MAX_ROWS = 100  # rows a Models table shows in a notebook; the rest are counted in a last line


@dataclass(frozen=True)
class ModelInfo:
    "One model of LiteLLM's table: what to call it, its limits, its prices and what it supports."
    name: str                          # the LiteLLM model name to pass to Chat, e.g. 'anthropic/claude-sonnet-4-5'
    provider: str                      # the provider LiteLLM sends it to: the name's prefix ('anthropic')
    mode: str | None = None            # 'chat', 'embedding', 'image_generation', ... (None when LiteLLM gives none)
    context_window: int | None = None  # max input tokens, None when unknown
    max_output: int | None = None      # max output tokens, None when unknown
    input_price: float | None = None   # USD per million input tokens, None when unpriced
    output_price: float | None = None  # USD per million output tokens, None when unpriced
    tools: bool = False                # function calling
    vision: bool = False               # image input
    audio: bool = False                # audio input
    reasoning: bool = False            # thinking / reasoning effort
    web_search: bool = False           # server-side web search
    response_schema: bool = False      # structured output with a JSON schema
    prompt_caching: bool = False       # provider-side prompt caching

    def supports(self, *capabilities: str | Iterable[str]  # names from CAPABILITIES, e.g. 'tools', 'vision'
                 ) -> bool:
        "True when the model has every capability named (given one by one or as a list)."
        return all(getattr(self, c) for c in _capabilities(capabilities))

    def _repr_markdown_(self) -> str: return _table([self])


class Models(list):
    "The ModelInfo of each model `models()` found, sorted by name; shows as a table in a notebook."
    @property
    def names(self) -> list[str]:
        "The model names, in order."
        return [m.name for m in self]

    def __getitem__(self, i):
        r = super().__getitem__(i)
        return Models(r) if isinstance(i, slice) else r

    def _repr_markdown_(self) -> str:
        more = len(self) - _MAX_ROWS
        note = f'\n\n… and {more} more (filter with `provider=` or `supports=`, or slice the list)'
        return _table(self[:_MAX_ROWS]) + (note if more > 0 else '')


# ---------------------------------------------------------------- names and providers

@lru_cache(maxsize=1)
def _known_providers() -> frozenset:
    "Every provider name LiteLLM routes on ('openai', 'vertex_ai', ...)."
    return frozenset(getattr(p, 'value', p) for p in lm().provider_list)


def _routed_as(raw: str  # LiteLLM's `litellm_provider` for an entry, e.g. 'vertex_ai-anthropic_models'
               ) -> str:
    "The provider prefix a user types for a model LiteLLM files under `raw` ('vertex_ai')."
    known = _known_providers()
    if raw in known or not raw: return raw
    head = raw.split('-')[0]
    return _ROUTED_AS.get(raw) or (head if head in known else raw)


def _full_name(key: str,  # the model's key in LiteLLM's table, 'claude-sonnet-4-5' or 'gemini/gemini-2.5-pro'
               raw: str   # LiteLLM's `litellm_provider` for it
               ) -> str:
    "The name to pass to Chat: `key` with its provider in front, unless it already starts with a provider."
    p, first = _routed_as(raw), key.split('/')[0] if '/' in key else None
    if not p or first in _known_providers() or first in (p, raw): return key
    return f'{p}/{key}'


# ---------------------------------------------------------------- reading entries

def _num(v, kind):
    "`v` as `kind` (int or float) when it is a number, else None (the table holds some strings)."
    return kind(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _per_million(cost) -> float | None:
    "A per-token cost as USD per million tokens, rounded off float noise (3e-06 -> 3.0)."
    c = _num(cost, float)
    return None if c is None else round(c * 1_000_000, 9)


def _make(name: str,   # the model's full name (see _full_name)
          raw: str,    # LiteLLM's `litellm_provider` for it ('' when it gives none)
          entry: dict  # its LiteLLM entry, from the table or `get_model_info`
          ) -> ModelInfo:
    "The ModelInfo of one LiteLLM entry."
    flags = {cap: bool(entry.get(flag)) for cap, flag in _FLAGS.items()}
    flags['web_search'] = flags['web_search'] or bool(entry.get('search_context_cost_per_query'))
    mode = entry.get('mode')
    provider = name.split('/')[0] if '/' in name else _routed_as(raw)
    return ModelInfo(name=name, provider=provider, mode=mode if isinstance(mode, str) else None,
                     context_window=_num(entry.get('max_input_tokens'), int),
                     max_output=_num(entry.get('max_output_tokens'), int),
                     input_price=_per_million(entry.get('input_cost_per_token')),
                     output_price=_per_million(entry.get('output_cost_per_token')), **flags)


def _entries() -> dict[str, tuple[str, dict]]:
    """Every real model of LiteLLM's table by full name, as (raw provider, entry). A model listed under two
    keys ('deepseek-chat' and 'deepseek/deepseek-chat') appears once, from the key with the prefix."""
    out = {}
    for key, entry in lm().model_cost.items():
        if key == 'sample_spec' or not isinstance(entry, dict) or _placeholder(entry): continue
        raw = entry.get('litellm_provider') if isinstance(entry.get('litellm_provider'), str) else ''
        name = _full_name(key, raw)
        if name not in out or key == name: out[name] = (raw, entry)
    return out


# ---------------------------------------------------------------- checking arguments

def _capabilities(names) -> list[str]:
    "The capability names in `names` (a str, or lists of them), each checked against CAPABILITIES."
    try: flat = [names] if isinstance(names, str) else [n for x in names for n in ([x] if isinstance(x, str) else x)]
    except TypeError: flat = [names]  # neither a name nor a list of names: reported below
    for n in flat:
        if n not in _FLAGS:
            near = _did_you_mean(n, CAPABILITIES) if isinstance(n, str) else ''
            raise UsageError(f'Unknown capability {n!r}{near}. Pass any of: {", ".join(CAPABILITIES)} '
                             "(one name, or a list such as ['tools', 'vision']).")
    return flat


def _did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    return f' (did you mean {" or ".join(map(repr, close))}?)' if close else ''


def _check_provider(provider: str,  # what the caller passed, lower-cased
                    found: set      # the providers (raw and routed) of every entry
                    ) -> None:
    "Raise UsageError for a provider neither the table nor LiteLLM knows (a typo, most likely)."
    if provider and (provider in found or provider in _known_providers()): return
    raise UsageError(f'LiteLLM knows no provider {provider!r}{_did_you_mean(provider, found, 3)}. Pass a '
                     'model-name prefix such as "anthropic", "openai" or "gemini" (the `provider` of a ModelInfo).')


def _check_mode(mode: str, found: set) -> None:
    if mode not in found:
        raise UsageError(f'LiteLLM lists no models of mode {mode!r}{_did_you_mean(mode, found)}. Pass one of: '
                         f'{", ".join(sorted(found))}, or mode=None for every mode.')


# ---------------------------------------------------------------- the API

def _selected(entries: dict, provider: str | None, mode: str | None) -> list[tuple[str, str, dict]]:
    "The (name, raw provider, entry) triples of `entries` from `provider` (routed or raw name) in `mode`, both checked."
    if provider is not None:
        _check_provider(provider, {n.split('/')[0] for n in entries} | {raw for raw, _ in entries.values()})
    if mode is not None:
        _check_mode(mode, {e.get('mode') for _, e in entries.values() if isinstance(e.get('mode'), str)})
    return [(n, raw, e) for n, (raw, e) in entries.items() if (provider is None or provider in (n.split('/')[0], raw))
            and (mode is None or e.get('mode') == mode)]


def models(provider: str | None = None,  # e.g. 'anthropic', 'gemini', 'openai', 'vertex_ai' (None: every provider)
           supports: str | Iterable[str] | None = None,  # capabilities each model must have, e.g. ['tools', 'vision']
           mode: str | None = 'chat',  # 'chat', 'embedding', 'image_generation', ... (None: every mode)
           ) -> Models:
    """The models in LiteLLM's model map, sorted by name, each once under the name a Chat takes.
    `provider` is a name prefix (any case; 'vertex_ai' includes the Claude and Llama models LiteLLM files
    under 'vertex_ai-anthropic_models' and the like) or LiteLLM's own `litellm_provider` value.
    `supports` takes names from CAPABILITIES: 'tools', 'vision', 'audio', 'reasoning', 'web_search',
    'response_schema', 'prompt_caching'. Unknown providers, modes and capabilities raise UsageError."""
    caps = _capabilities(supports) if supports is not None else []
    if not isinstance(provider, (str, type(None))) or not isinstance(mode, (str, type(None))):
        raise UsageError(f'models takes provider and mode as strings (or None), not {provider!r} and {mode!r}.')
    prov = provider.strip().strip('/').lower() if provider is not None else None
    found = [_make(n, raw, e) for n, raw, e in _selected(_entries(), prov, mode)]
    return Models(sorted((m for m in found if m.supports(caps)), key=lambda m: m.name))


def _resolved(name: str) -> dict:
    """LiteLLM's entry for `name` through `get_model_info` ({} when unknown), with the table's own entry for the
    key it resolved to laid over it: get_model_info drops some of a table entry's limits and flags, and reports
    prices the table does not list as 0 (lexi says None: unpriced), while it adds flags inferred from a base model.
    For a name the table lacks, LiteLLM may still describe it from the provider's naming pattern
    ('anthropic/claude-...'), pricing it at 0: unknown, so None here too."""
    info = _litellm_info(name)
    table = lm().model_cost.get(info.get('key')) if info else None
    if not isinstance(table, dict): return {k: v for k, v in info.items() if v or 'cost' not in k}
    return {**{k: v for k, v in info.items() if v is not None and 'cost' not in k}, **table}


def model_info(name: str  # a model name as passed to Chat, e.g. 'anthropic/claude-sonnet-4-5' or 'gpt-4.1'
               ) -> ModelInfo:
    """What LiteLLM knows about one model, found the way a Chat finds it (`litellm.get_model_info`). Its `name`
    is the one given, with the provider in front when it had none ('gpt-4.1' gives 'openai/gpt-4.1').
    Raises UsageError for a model LiteLLM does not know, naming close ones."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f'model_info takes a model name such as "anthropic/claude-sonnet-4-5", not {name!r}.')
    name = name.strip()
    entry = _resolved(name)
    raw = entry.get('litellm_provider') if entry else None
    raw = raw if isinstance(raw, str) and raw else _routed_provider(name) if entry else ''
    if raw: return _make(_full_name(name, raw), raw, entry)  # without a provider, LiteLLM could not send it anywhere
    entries = _entries()
    if name in entries: return _make(name, *entries[name])  # listed by models(), but get_model_info cannot resolve it
    raise UsageError(f'LiteLLM does not know the model {name!r}.{_suggest(name, entries)} '
                     'List the known ones with lexi.models(provider=...), or check the spelling.')


def _bare_names(entries: dict) -> dict[str, str]:
    """Each name without its provider prefix -> the name; for a bare name LiteLLM's table lists itself
    ('gpt-4.1-mini'), the model it means ('openai/gpt-4.1-mini'), not the first reseller's."""
    table, out = lm().model_cost, {}
    for n, (raw, _) in entries.items():
        bare, own = n.split('/', 1)[-1], None
        if isinstance(table.get(bare), dict): own = _full_name(bare, table[bare].get('litellm_provider') or '')
        if bare not in out or n == own: out[bare] = n
    return out


def _suggest(name: str, entries: dict) -> str:
    """' Close names: ...' from the table, or ''. Names are compared without their provider prefix: first among
    the provider's own models (a bare name gets the provider LiteLLM would send it to), then among all."""
    full = _full_name(name, _routed_provider(name))
    prov, bare = full.split('/', 1) if '/' in full else ('', full)
    own = {n.split('/', 1)[1]: n for n in entries if n.startswith(prov + '/')} if prov else {}
    anywhere = _bare_names(entries)
    close = [d[b] for d in (own, anywhere) for b in difflib.get_close_matches(bare, list(d), n=5, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:5]
    return f' Close names: {", ".join(close)}.' if close else ''


# ---------------------------------------------------------------- markdown

def _tokens(n: int | None) -> str:
    "A token count as people write it: 200k, 1M, 8192 -> 8.2k; '' when unknown."
    if n is None: return ''
    if n >= 1_000_000: return f'{n / 1_000_000:.3g}M'
    return f'{n / 1000:.3g}k' if n >= 1000 else str(n)


def _price(p: float | None) -> str:
    return '' if p is None else f'${p:.4g}'


def _row(m: ModelInfo) -> str:
    cells = [f'`{m.name}`', _tokens(m.context_window), _tokens(m.max_output), _price(m.input_price),
             _price(m.output_price)] + ['✓' if getattr(m, c) else '' for c in CAPABILITIES]
    return '| ' + ' | '.join(cells) + ' |'


def _table(infos: Iterable[ModelInfo]) -> str:
    "A markdown table of `infos`, one row each (prices in USD per million tokens)."
    head = ['model', 'context', 'max out', 'in $/M', 'out $/M'] + [_HEADS[c] for c in CAPABILITIES]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)] + [_row(m) for m in infos]
    return '\n'.join(lines)
