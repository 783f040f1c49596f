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
kept, the newest 4 at most. Positions are worked out from each message's prepared entry (lexi/_prepared.py),
reading only the end of the history and the positions cache_idxs names, so a long history costs nothing here.
"""
from __future__ import annotations

from .msgs import MAX_CACHE_CKPTS, limit_cache_ckpts

__all__ = ['ckpt_positions', 'limit_ckpts']


def _named(entries: list, idxs: list) -> list:
    """Indices of the messages `idxs` name, counting only the ones cache_idxs counts (`.cacheable`): read from the
    start for positions >= 0 and from the end for negative ones, only as far as each position needs."""
    out = []
    for k in idxs:
        order, want, seen = (range(len(entries)), k, 0) if k >= 0 else (range(len(entries) - 1, -1, -1), -k - 1, 0)
        for i in order:
            if not entries[i].cacheable: continue
            if seen == want:
                out.append(i)
                break
            seen += 1
    return list(dict.fromkeys(out))


def ckpt_positions(entries: list,       # the history and this call's new messages: objects with .role and .cacheable
                   has_sp: bool,        # whether the request starts with a system prompt
                   cache_idxs=(-1,)     # positions to mark as well (see the module docstring)
                   ) -> tuple[list, bool]:
    """Where this request's checkpoints go (message indices, at most 4 with the system prompt's), and whether the
    system prompt gets one. Reads only the end of the history and the positions cache_idxs names."""
    sys_ckpt = has_sp and 0 in cache_idxs
    idxs = [i for i in cache_idxs if not (has_sp and i == 0)]
    prev = next((i - 1 for i in range(len(entries) - 1, 0, -1) if entries[i].role == 'assistant'), None)
    wanted = [len(entries) - 1, prev] + sorted(_named(entries, idxs), reverse=True)
    keep = list(dict.fromkeys(i for i in wanted if i is not None and i >= 0))[:MAX_CACHE_CKPTS - sys_ckpt]
    return keep, sys_ckpt


def limit_ckpts(msgs: list) -> list:
    "`msgs` with at most 4 checkpoints, the newest kept (for checkpoints a caller put in the history)."
    return limit_cache_ckpts(msgs, MAX_CACHE_CKPTS)
