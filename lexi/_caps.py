"""What a model can do, from LiteLLM's model map: the one table of provider differences."""
from __future__ import annotations
from functools import lru_cache

from ._litellm import lm

# Providers whose prompt cache needs explicit checkpoints (cache_control) in the request.
# OpenAI, DeepSeek and Gemini's implicit caching need none; LiteLLM turns Gemini checkpoints into
# a separate cachedContents upload, which a chat turn must not trigger behind the user's back.
_CKPT_PROVIDERS = {'anthropic'}
_CKPT_IF_CLAUDE = {'bedrock', 'bedrock_converse', 'vertex_ai', 'vertex_ai_beta', 'openrouter', 'databricks'}


@lru_cache(maxsize=256)
def model_info(model: str) -> dict:
    "LiteLLM's model-map entry for `model`, or {} when LiteLLM does not know it."
    try: return dict(lm().get_model_info(model))
    except Exception: return {}


def provider(model: str) -> str:
    try: return lm().get_llm_provider(model)[1]
    except Exception: return ''


def has_search(model: str) -> bool:
    "Web search through `web_search_options`; LiteLLM's supports_web_search flag misses some models."
    i = model_info(model)
    return bool(i.get('supports_web_search') or i.get('search_context_cost_per_query'))


def has_reasoning(model: str) -> bool | None:
    "True/False from LiteLLM's map; None when the model is unknown to it."
    i = model_info(model)
    return bool(i.get('supports_reasoning')) if i else None


def uses_cache_ckpts(model: str) -> bool:
    "True when prompt caching on this model needs cache_control checkpoints in the messages."
    p = provider(model)
    return p in _CKPT_PROVIDERS or (p in _CKPT_IF_CLAUDE and 'claude' in model.lower())


# Providers whose LiteLLM transform drops audio parts without a word (LiteLLM 1.106, anthropic_messages_pt).
_DROPS_AUDIO = {'anthropic'}


def refuses_audio(model: str) -> bool:
    """True when the model cannot take audio: LiteLLM's map says so, or LiteLLM would silently drop
    the audio for its provider. Unknown models and unset flags are given the benefit of the doubt."""
    return model_info(model).get('supports_audio_input') is False or provider(model) in _DROPS_AUDIO
