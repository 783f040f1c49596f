"""What a request needs of each history message, derived once and reused while the message is unchanged.

A chat's requests resend its whole history, so whatever lexi derives per message (its plain-dict form for
LiteLLM, that form without cache marks, its shape for the providers a request may reach, whether cache_idxs
counts it, the marks it carries, the media it holds, its token estimate) would otherwise be derived again for
every message on every call. `Prepared` keeps it per message: a call's own work is then the new messages and the
few positions that carry this request's checkpoints, plus a cheap identity check per message.

A message counts as unchanged while it is the same object with the same top-level fields (a dict's values, a
Message's attributes): `chat.hist = ...`, `del chat.hist[i]`, a message replaced or a field of it set all show.
A change deep inside a field (appending to a content list in place) does not; assign the field anew instead.
The cache is rebuilt from the history at each request, so what it holds for a message removed from the history
is released at the next request.
"""
from __future__ import annotations
from ._litellm import count_tokens, sendable
from ._util import get
from .msgs import cacheable, ckpt_count, media_kinds, remove_cache_ckpts

__all__ = ['Prepared', 'Entry', 'fresh']


def _snapshot(m) -> tuple:
    "A message's top-level field values (a dict's values, a Message's attributes): what a change to it changes."
    if type(m) is dict: return tuple(m.values())
    fields = getattr(m, '__dict__', None)
    return tuple(m.values() if fields is None else fields.values())


class Entry:
    "What is derived from one message (each part computed when first asked for)."
    __slots__ = ('msg', 'snap', 'role', 'cacheable', 'ckpts', 'audio', '_plain', '_bare', '_shaped', 'tokens', 'checked')

    def __init__(self, m):
        self.msg, self.snap = m, _snapshot(m)
        self.role = get(m, 'role')
        self.cacheable, self.ckpts, self.audio = cacheable(m), ckpt_count(m), 'audio' in media_kinds([m])
        self._plain = self._bare = self.tokens = None
        self._shaped, self.checked = {}, False

    def plain(self) -> dict:
        "The message as a plain dict for LiteLLM (its own cache marks kept). Shared: copy before handing it out."
        if self._plain is None: self._plain = sendable(self.msg)
        return self._plain

    def bare(self) -> dict:
        "plain() without cache marks (lexi places its own when it caches)."
        if self._bare is None: self._bare = sendable(remove_cache_ckpts(self.msg)) if self.ckpts else self.plain()
        return self._bare

    def count(self, model: str) -> int:
        "The message's share of a request's prompt tokens for `model` (LiteLLM's estimate, counted once per model)."
        if self.tokens is None: self.tokens = {}
        if (n := self.tokens.get(model)) is None: n = self.tokens[model] = count_tokens(model, [self.plain()]) - _base(model)
        return n

    def shaped(self, key, shape, marked: bool) -> dict:
        "The plain form (`marked`: with its own marks) shaped for the providers `key` names. Shared: copy it."
        k = (key, marked)
        if (out := self._shaped.get(k)) is None: out = self._shaped[k] = shape(self.plain() if marked else self.bare())
        return out


class Prepared:
    "The entries of a chat's messages, kept from one request to the next (see the module docstring)."
    def __init__(self):
        self._entries: list[Entry] = []
        self.audio = False   # whether a message of the last entries() carries audio (some models take none)

    def tokens(self, model: str) -> int:
        "The prompt tokens of the messages of the last entries() for `model`, each message counted once and kept."
        return sum(e.count(model) for e in self._entries)

    def entries(self, msgs: list, verify: bool = True) -> list[Entry]:
        """An entry per message of `msgs`, reusing those of unchanged messages; the kept entries become these.
        `verify=False` trusts a message at its old place to be unchanged (within one call, after a verified pass)."""
        old, out, by_id = self._entries, [], None
        n_old, append = len(old), out.append
        for i, m in enumerate(msgs):   # the loop every request runs over the whole history: kept lean
            if i < n_old and (e := old[i]).msg is m and (not verify or e.snap == _snapshot(m)):
                append(e)
                continue
            e = None
            if i < n_old:   # a message deleted or inserted before here: the rest may have moved
                if by_id is None: by_id = {id(x.msg): x for x in old[i:]}
                e = by_id.get(id(m))
            append(e if e is not None and e.msg is m and e.snap == _snapshot(m) else Entry(m))
        self._entries, self.audio = out, any(e.audio for e in out) if verify else self.audio
        return out


def _base(model: str) -> int:
    "What LiteLLM's estimate counts for a request with no messages (the reply's priming), per model."
    if (n := _BASES.get(model)) is None: n = _BASES[model] = count_tokens(model, [])
    return n


_BASES: dict = {}


def fresh(d: dict) -> dict:
    """A copy of an outgoing message dict, so nothing LiteLLM does to a request's messages reaches the entries kept
    for the next one. LiteLLM leaves the plain dicts it is given as they are (checked for OpenAI, Anthropic and
    Gemini, streamed and not); the copy guards the top level, where a transformation would set a field."""
    return dict(d)
