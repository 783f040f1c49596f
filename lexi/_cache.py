"""Where a chat request carries its prompt-cache checkpoints: the one place a Chat decides that.

Anthropic (and Claude on Bedrock, Vertex, ...) caches the prefix of a request up to each block
marked with cache_control, at most 4 marks a request. A later request reads the longest cached
prefix that ends at one of its own marks, or up to about 20 blocks before one. So for every request
of a chat, lexi marks:

1. the end of the request (its last message, a tool result included: Anthropic takes cache_control
   on tool_result blocks), so the next request can read all of this one;
2. the end of the request before it (the message just before the latest assistant reply), which is
   exactly where that request wrote its cache, so reading it never depends on the 20-block look-back;
3. the positions `cache_idxs` names, newest first while marks are left (0 is the system prompt
   when there is one; other positions count messages that are neither tool calls nor tool results,
   as `mk_msgs` counts them).

Marks already in the history are replaced by these. Without caching, a caller's own marks are
kept, the newest 4 at most.
"""
from __future__ import annotations

from .msgs import MAX_CACHE_CKPTS, add_cache_ckpt, cache_positions, limit_cache_ckpts, remove_cache_ckpts
from ._util import get

__all__ = ['place_ckpts', 'limit_ckpts']


def _prev_end(msgs: list) -> int | None:
    "Index of the last message of the request that produced the latest assistant reply."
    for i in range(len(msgs) - 1, 0, -1):
        if get(msgs[i], 'role') == 'assistant': return i - 1
    return None


def place_ckpts(msgs: list,             # the history and this call's new messages (no system prompt, no prefill)
                has_sp: bool,           # whether the request starts with a system prompt
                cache_idxs=(-1,),       # positions to mark as well (see the module docstring)
                ttl: str | None = None  # checkpoint lifetime
                ) -> tuple[list, bool]:
    "Copies of `msgs` with checkpoints, and whether the system prompt gets one too (never more than 4 in all)."
    sys_ckpt = has_sp and 0 in cache_idxs
    idxs = [i for i in cache_idxs if not (has_sp and i == 0)]
    wanted = [len(msgs) - 1, _prev_end(msgs)] + sorted(cache_positions(msgs, idxs), reverse=True)
    keep = list(dict.fromkeys(i for i in wanted if i is not None and i >= 0))[:MAX_CACHE_CKPTS - sys_ckpt]
    out = [remove_cache_ckpts(m) for m in msgs]
    for i in keep: out[i] = add_cache_ckpt(out[i], ttl)
    return out, sys_ckpt


def limit_ckpts(msgs: list) -> list:
    "`msgs` with at most 4 checkpoints, the newest kept (for checkpoints a caller put in the history)."
    return limit_cache_ckpts(msgs, MAX_CACHE_CKPTS)
