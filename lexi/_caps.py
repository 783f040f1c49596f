"""What a model can do, from LiteLLM's model map: the one table of provider differences.

Each check answers for one LiteLLM model name: True, False, or None when LiteLLM does not know the
model (new OpenRouter or proxy names), which means "let the provider decide", never an error. A
request to a Router's model group may reach any of its deployments, so the chat asks `lacking`:
which of them are known to lack a capability.
"""
from __future__ import annotations
import os
import re
from functools import lru_cache
from typing import Callable, Iterable

from ._litellm import lm

__all__ = ['model_info', 'provider', 'has_search', 'has_reasoning', 'takes_audio', 'takes_schema', 'uses_cache_ckpts',
           'lacking', 'wants_ckpts', 'missing_key', 'searches_beside_tools']

# Providers whose prompt cache needs explicit checkpoints (cache_control) in the request.
# OpenAI, DeepSeek and Gemini's implicit caching need none.
_CKPT_PROVIDERS = {'anthropic'}
_CKPT_IF_CLAUDE = {'bedrock', 'bedrock_converse', 'vertex_ai', 'vertex_ai_beta', 'openrouter', 'databricks'}
# LiteLLM turns checkpoints sent to Gemini into a separate cachedContents upload, which a chat turn
# must not trigger behind the user's back.
_CKPT_UPLOADS = {'gemini', 'vertex_ai', 'vertex_ai_beta'}
# Providers whose key lexi checks before sending, and every environment variable LiteLLM (or the provider's SDK
# under it) reads that key from, in LiteLLM 1.106 to 1.110: validate_environment names the first ones; the others
# (OR_API_KEY, Anthropic's bearer token and workload identity, the OpenAI SDK's admin key) count as well. Other
# providers are left to decide for themselves: Azure, Bedrock and Vertex take credentials from chains lexi cannot
# see (profiles, instance roles, gcloud), local servers need none, and some read more names than LiteLLM checks.
_KEY_VARS = {'openai': ('OPENAI_API_KEY', 'OPENAI_ADMIN_KEY'),
             'anthropic': ('ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_FEDERATION_RULE_ID'),
             'gemini': ('GEMINI_API_KEY', 'GOOGLE_API_KEY'), 'openrouter': ('OPENROUTER_API_KEY', 'OR_API_KEY'),
             'groq': ('GROQ_API_KEY',), 'deepseek': ('DEEPSEEK_API_KEY',), 'cerebras': ('CEREBRAS_API_KEY',),
             'mistral': ('MISTRAL_API_KEY', 'MISTRAL_AZURE_API_KEY')}
# Providers whose LiteLLM transform drops audio parts without a word (LiteLLM 1.106, anthropic_messages_pt).
_DROPS_AUDIO = {'anthropic'}


def _placeholder(info: dict) -> bool:
    """An entry that says nothing about the model: a litellm.Router registers each deployment it does not
    know with a zero price and no limits or flags."""
    described = ('mode', 'max_input_tokens', 'max_tokens', 'max_output_tokens')
    return not any(info.get(k) for k in described) and not any(v for k, v in info.items() if k.startswith('supports_'))


@lru_cache(maxsize=256)
def model_info(model: str) -> dict:
    "LiteLLM's model-map entry for `model`, or {} when LiteLLM does not know it (or only as a placeholder)."
    try: info = dict(lm().get_model_info(model))
    except Exception: return {}
    return {} if _placeholder(info) else info


@lru_cache(maxsize=256)
def provider(model: str) -> str:
    try: return lm().get_llm_provider(model)[1]
    except Exception: return ''


def has_search(model: str) -> bool | None:
    "Web search through `web_search_options`; LiteLLM's supports_web_search flag misses some models."
    i = model_info(model)
    return bool(i.get('supports_web_search') or i.get('search_context_cost_per_query')) if i else None


def searches_beside_tools(model: str) -> bool:
    """Gemini 3 runs Google Search in the same request as function tools, when asked to
    (`include_server_side_tool_invocations`); without that LiteLLM drops the search tool from such a request
    without a word. Earlier Gemini models take one or the other."""
    return provider(model) in _CKPT_UPLOADS and re.search(r'gemini-3', model) is not None


def has_reasoning(model: str) -> bool | None:
    i = model_info(model)
    return bool(i.get('supports_reasoning')) if i else None


def takes_schema(model: str) -> bool | None:
    "Whether LiteLLM sends `response_format` with a JSON schema to this model in a way it honours."
    i = model_info(model)
    return bool(i.get('supports_response_schema')) if i else None


def takes_prefill(model: str) -> bool | None:
    """Whether the model continues an assistant message that ends the request (LiteLLM's
    supports_assistant_prefill); None when LiteLLM does not say."""
    v = model_info(model).get('supports_assistant_prefill')
    return None if v is None else bool(v)


def takes_audio(model: str) -> bool | None:
    """False when the model cannot take audio: LiteLLM's map says so, or LiteLLM would silently drop the
    audio for its provider; None when unknown or unset (given the benefit of the doubt)."""
    if provider(model) in _DROPS_AUDIO or model_info(model).get('supports_audio_input') is False: return False
    return None


def missing_key(model: str) -> tuple[str, ...]:
    """The environment variables `model`'s provider takes its API key from, as LiteLLM names them, when none of
    them is set (nor a key set on the litellm module or a secret manager): the call would fail without one. ()
    when a key is there, or for a provider lexi does not check (see _KEY_VARS). Cheap: when a key is set, one
    environment lookup; when none is, LiteLLM's answer is kept."""
    p = provider(model)
    names = _KEY_VARS.get(p)
    if not names or any(map(os.environ.get, names)) or _module_key(p): return ()
    return _missing(model, tuple(n in os.environ for n in names))


def _module_key(p: str) -> bool:
    "A key (or a secret manager) set on the litellm module itself, which LiteLLM reads before the environment."
    mod = lm()
    return any(getattr(mod, a, None) for a in ('api_key', f'{p}_key', 'secret_manager_client'))


@lru_cache(maxsize=256)
def _missing(model: str, empty: tuple) -> tuple[str, ...]:
    """What LiteLLM's validate_environment says `model` lacks, asked only when none of its provider's variables
    has a value (kept per model and per which of them are set but empty, the one thing its answer depends on then)."""
    try: said = lm().validate_environment(model=model).get('missing_keys') or []
    except Exception: return ()
    names = _KEY_VARS[provider(model)]
    said = sorted(said, key=lambda n: names.index(n) if n in names else len(names))   # the usual name first
    return tuple(said) or names[:1]   # set but empty: LiteLLM's check counts it, its request does not


def uses_cache_ckpts(model: str) -> bool:
    "True when prompt caching on this model needs cache_control checkpoints in the messages."
    p = provider(model)
    return p in _CKPT_PROVIDERS or (p in _CKPT_IF_CLAUDE and 'claude' in model.lower())


def _uploads_ckpts(model: str) -> bool:
    return provider(model) in _CKPT_UPLOADS and not uses_cache_ckpts(model)


def wants_ckpts(models: Iterable[str]) -> bool:
    "Place checkpoints for a request that may reach any of `models`: some need them, none turns them into uploads."
    models = list(models)
    return any(map(uses_cache_ckpts, models)) and not any(map(_uploads_ckpts, models))


def lacking(models: Iterable[str], check: Callable[[str], bool | None]) -> list[str]:
    "The models among `models` that `check` says lack the capability (False; unknown ones are not listed)."
    return [m for m in models if check(m) is False]
