"""Anthropic's prompt cache, simulated for the stand-in (`StandIn(prompt_cache=True)`), so a test can see
what a request's cache_control marks would save.

The rule, as Anthropic documents it: a request is a sequence of blocks (tools, then system blocks,
then each message's content blocks). Each block marked with cache_control writes the prefix that
ends at it to the cache. A request reads the longest cached prefix that ends at one of its marks,
or at a block up to `LOOKBACK` blocks before a mark. The tokens between the read prefix and the
last mark are written; the rest is ordinary input.

Simplified: tokens are estimated as 4 characters each, there is no minimum cacheable length, and
entries never expire (a test runs well inside the 5-minute lifetime).
"""
from __future__ import annotations
import hashlib
import json
import math
import threading
from dataclasses import dataclass

__all__ = ['PromptCache', 'CacheUse', 'LOOKBACK', 'blocks', 'shared_prefix']

LOOKBACK = 20  # blocks before a mark at which Anthropic still finds a cached prefix


@dataclass(frozen=True)
class CacheUse:
    "What one request read from and wrote to the cache, and its whole size, in tokens."
    total: int
    read: int
    written: int


def _content_blocks(content) -> list:
    if isinstance(content, str): return [{'type': 'text', 'text': content}]
    return [b for b in content or [] if isinstance(b, dict)]


def blocks(body: dict) -> list[dict]:
    "The blocks of an Anthropic Messages request body, in the order the cache sees them."
    system = body.get('system')
    out = [t for t in body.get('tools') or [] if isinstance(t, dict)]
    out += _content_blocks(system) if system else []
    for m in body.get('messages') or []:
        out += [{'role': m.get('role'), **b} for b in _content_blocks(m.get('content'))]
    return out


def _marked(block: dict) -> bool:
    return 'cache_control' in block or any(isinstance(x, dict) and 'cache_control' in x
                                           for x in block.get('content') or [] if isinstance(block.get('content'), list))


def _unmarked(block: dict) -> dict:
    "The block as cached content: its cache_control marks do not change what it is."
    out = {k: v for k, v in block.items() if k != 'cache_control'}
    if isinstance(out.get('content'), list):
        out['content'] = [{k: v for k, v in x.items() if k != 'cache_control'} if isinstance(x, dict) else x
                          for x in out['content']]
    return out


def _sized(body: dict) -> list[tuple[str, int]]:
    "Each block's cached form and its size in tokens."
    out = []
    for b in blocks(body):
        text = json.dumps(_unmarked(b), sort_keys=True)
        out.append((text, math.ceil(len(text) / 4)))
    return out


def shared_prefix(a: dict, b: dict) -> int:
    """Tokens of the longest block prefix request bodies `a` and `b` share: the most `b` could read
    from a cache that `a` filled (the ceiling any placement of marks can reach)."""
    n = 0
    for (ta, size), (tb, _) in zip(_sized(a), _sized(b)):
        if ta != tb: break
        n += size
    return n


class PromptCache:
    "The cache entries written so far by requests to one stand-in (thread-safe)."
    def __init__(self, lookback: int = LOOKBACK):
        self.lookback, self._entries, self._lock = lookback, set(), threading.Lock()

    def use(self, body: dict) -> CacheUse:
        "Read and write the cache for one request body; what it read, wrote, and its size."
        bs, keys, sizes, h = blocks(body), [], [], hashlib.sha256()
        for text, size in _sized(body):
            h.update(text.encode()); keys.append(h.hexdigest()); sizes.append(size)
        cum = [sum(sizes[:i + 1]) for i in range(len(sizes))]
        marks = [i for i, b in enumerate(bs) if _marked(b)]
        with self._lock:
            hits = [j for m in marks for j in range(m, max(-1, m - self.lookback - 1), -1) if keys[j] in self._entries]
            self._entries.update(keys[m] for m in marks)
        read = cum[max(hits)] if hits else 0
        written = max(0, cum[marks[-1]] - read) if marks else 0
        return CacheUse(total=cum[-1] if cum else 0, read=read, written=written)
