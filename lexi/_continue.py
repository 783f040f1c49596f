"""Joining the pieces of an answer that hit the token limit and was continued (see `max_continues`).

A continuation may repeat the end of what came before (a model asked in a user turn to go on often
restarts the cut word or the last few words), and where the cut fell after whitespace the provider
may have been sent the text without it (Anthropic refuses a prefill that ends in whitespace). A
`Joiner` holds the text so far and takes the continuation as it arrives, chunk by chunk: it gives
back what to add, with a repeated overlap trimmed, deciding as soon as it can (a streamed caller sees
each character once). The same function serves streamed and whole replies, so both join alike.
"""
from __future__ import annotations

from .errors import UsageError

__all__ = ['CONTINUE_PROMPT', 'Joiner', 'join', 'continue_message']

CONTINUE_PROMPT = ('Your previous reply was cut off by the length limit. Continue exactly where it stopped, '
                   'mid-word or mid-sentence if need be: do not repeat anything, do not add an introduction.')
_MAX_OVERLAP = 200   # the longest repeat looked for, in characters
_ALWAYS = 24         # a repeat this long is trimmed wherever it starts


def continue_message(prompt, count: int, max_count: int, text: str) -> str:
    "The user turn asking for continuation `count` of `max_count`: `prompt` itself, or what it returns."
    out = prompt(count, max_count, text) if callable(prompt) else prompt
    if not isinstance(out, str) or not out.strip():
        raise UsageError(f'continue_prompt gave {out!r}; it must be (or return) a non-empty string.')
    return out


def _at_word_start(s: str, i: int) -> bool:
    "True when s[i:] starts at a word boundary (so an overlap there is a repeat, not a coincidence)."
    return i == 0 or not (s[i - 1].isalnum() and s[i].isalnum())


class Joiner:
    "Takes a continuation piece by piece and says what to add to `base` (see the module docstring)."
    def __init__(self, base: str):
        self.base, self.tail = base, base[-_MAX_OVERLAP:]
        self.ws = base[len(base.rstrip()):]      # whitespace the base ends with (shown already)
        self.buf, self.decided, self.added = '', False, ''

    def _trim(self, piece: str) -> str:
        "`piece` with the whitespace and the repeat it shares with the end of base removed."
        if self.ws and piece[:1].isspace():
            piece = piece[len(self.ws):] if piece.startswith(self.ws) else piece.lstrip()
        tail = self.tail
        for k in range(min(len(piece), len(tail)), 1, -1):
            if tail.endswith(piece[:k]) and (k >= _ALWAYS or _at_word_start(tail, len(tail) - k)): return piece[k:]
        return piece

    def feed(self, text: str) -> str:
        "Take the next piece of the continuation; the text to add now ('' while it cannot yet tell)."
        if self.decided:
            self.added += text
            return text
        self.buf += text
        # a longer repeat is still possible only while what came so far occurs in base's end
        if self.buf.strip() and self.buf not in self.tail and len(self.buf) > len(self.ws):
            return self._decide()
        if len(self.buf) > _MAX_OVERLAP: return self._decide()
        return ''

    def _decide(self) -> str:
        self.decided, out = True, self._trim(self.buf)
        self.added += out
        return out

    def flush(self) -> str:
        "The continuation has ended: whatever is still held back."
        return '' if self.decided else self._decide()


def join(base: str, piece: str) -> str:
    "base and a whole continuation, joined as a streamed Joiner would have joined them."
    j = Joiner(base)
    return base + j.feed(piece) + j.flush()
