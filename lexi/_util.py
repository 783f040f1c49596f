"""Tiny helpers every module needs: read a field of a dict or an object, and the text of message content."""
from __future__ import annotations
from collections.abc import Mapping

__all__ = ['get', 'text_of']


def get(o, key, default=None):
    "`o[key]` for mappings, `o.key` otherwise; `default` when missing (messages come as dicts or LiteLLM objects)."
    if isinstance(o, Mapping): return o.get(key, default)
    return getattr(o, key, default)


def text_of(content) -> str:
    "The text of message content: a string, or the text parts of a list joined by blank lines."
    if isinstance(content, list):
        return '\n\n'.join(p.get('text', '') for p in content if isinstance(p, dict) and p.get('type') == 'text')
    return content or ''
