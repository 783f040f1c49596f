"""The only module that touches LiteLLM directly.

LiteLLM costs about 3 s and 160 MB to import, so lexi imports it on first use, never at
`import lexi`. Nothing here changes LiteLLM's own state or the environment (set
LITELLM_LOCAL_MODEL_COST_MAP=True yourself to keep LiteLLM from fetching its price table).
"""
from __future__ import annotations
import importlib

__all__ = ['lm', 'lm_types']


def lm():
    "The `litellm` module, imported on first use."
    return importlib.import_module('litellm')


def lm_types():
    "`litellm.types.utils`, where Message, ModelResponse, Delta and friends live."
    lm()
    return importlib.import_module('litellm.types.utils')
