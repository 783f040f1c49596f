"""An incremental, lenient JSON parser that shows structured output while it streams from an LLM.

`PartialJSON` takes the text in pieces and keeps `value`: the part of one JSON value that is complete so
far. Containers appear as soon as they open and hold their complete members (and the partial containers
nested in them); a scalar appears only once it is complete. The parser is a state machine over an
explicit stack of open containers, so every character is handled once, whatever the size of the pieces,
and `value` is the live structure itself, updated in place. It never raises on malformed text: it stops
and says why in `error`. The complete text is validated elsewhere, by a real JSON parser.
"""
from __future__ import annotations
import re

__all__ = ['PartialJSON', 'parse_partial']

ESCAPES = {'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
LITERALS = {'t': ('true', True), 'f': ('false', False), 'n': ('null', None)}
WHITESPACE = frozenset(' \t\r\n')
HEX = frozenset('0123456789abcdefABCDEF')
NUMBER_START = frozenset('-0123456789')
NUMBER_CHARS = frozenset('0123456789+-.eE')  # what may continue a number; the grammar is checked at its end
NUMBER = re.compile(r'-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?')
VALUE_START = frozenset('{["') | NUMBER_START | frozenset(LITERALS)
PLAIN_RUN = re.compile(r'[^"\\]+')  # characters inside a string that need no attention, taken in one go
STOPPED = frozenset({'end', 'error'})  # modes in which the rest of the text is ignored
MODES = ('pre', 'fence', 'prose', 'value', 'key', 'colon', 'comma', 'string', 'escape', 'hex', 'number',
         'literal')


class PartialJSON:
    "Parses one JSON value as its text arrives in pieces; `value` is what is complete so far."
    def __init__(self):
        self._pieces = []  # the text fed so far, joined when `text` is read
        self._value = None  # the top-level value: the live partial structure, or a complete scalar
        self._done = False  # the top-level value is complete
        self._error = None  # what was wrong with the text, and where
        self._closed = False  # `close` was called: no more text comes
        self._stack = []  # the open containers, innermost last
        self._member = None  # the key of the member being read in the innermost object
        self._mode = 'pre'  # what the next character may be (one of MODES, or 'end', 'error')
        self._buf = []  # the characters of the string, number or literal being read
        self._is_key = False  # the string being read is an object key
        self._hex = ''  # the digits of a \u escape read so far
        self._high = -1  # len(_buf) right after a \u high surrogate, to join it with a low one
        self._pending = None  # a complete top-level number or literal, shown at `close`
        self._steps = 0  # characters handled so far, which is also the offset of the next one
        self._changed = False  # something completed during the current `feed` or `close`
        self._on = {m: getattr(self, '_on_' + m) for m in MODES}

    @property
    def value(self):
        "The partial value (read-only: it is the parser's own structure); None before anything opened or completed."
        return self._value

    @property
    def done(self) -> bool:
        "The top-level value is complete."
        return self._done

    @property
    def error(self) -> str | None:
        "What was wrong with the text and at which character offset, once the parser stopped at it."
        return self._error

    @property
    def text(self) -> str:
        "Everything fed so far."
        if len(self._pieces) > 1: self._pieces = [''.join(self._pieces)]
        return self._pieces[0] if self._pieces else ''

    def feed(self, text: str  # the next piece of the streamed text
             ) -> bool:
        """Take the next piece of text. True when something new became complete with this piece
        (a scalar member finished, a container opened or closed), so a caller re-renders only then."""
        self._pieces.append(text)
        self._changed = False
        if self._closed: return False
        i, n = 0, len(text)
        while i < n and self._mode not in STOPPED:
            if self._mode == 'string' and (m := PLAIN_RUN.match(text, i)):
                self._buf.append(m.group())
                self._steps += m.end() - i
                i = m.end()
            elif self._on[self._mode](text[i]):  # False: the character is not used up, handle it again
                self._steps += 1
                i += 1
        return self._changed

    def close(self) -> bool:
        "Mark the end of input: a top-level number or literal completes; an unterminated container stays partial."
        self._changed = False
        if self._mode == 'number' and not self._stack: self._end_number()
        if self._mode == 'end' and self._pending is not None: self._complete(self._pending[0])
        self._closed = True
        return self._changed

    # The structure: values are attached where they belong as soon as they open or complete.
    def _attach(self, v):
        "Put `v` in the innermost open container (or make it the top-level value)."
        self._changed = True
        if not self._stack: self._value = v
        elif isinstance(self._stack[-1], list): self._stack[-1].append(v)
        else: self._stack[-1][self._member] = v

    def _complete(self, v):
        "A scalar (or the top-level value) is complete."
        self._attach(v)
        self._after_value()

    def _after_value(self):
        if self._stack: self._mode = 'comma'
        else: self._done, self._mode = True, 'end'

    def _top_scalar(self, v):
        "A top-level number or literal ended: it is shown only once the input ends (see `close`)."
        self._pending, self._mode = (v,), 'end'

    def _open(self, c: dict | list):
        self._attach(c)
        self._stack.append(c)
        self._mode = 'key' if isinstance(c, dict) else 'value'

    def _close(self):
        self._stack.pop()
        self._changed = True
        self._after_value()

    def _begin(self, mode: str, first: str = ''):
        self._mode, self._buf, self._high = mode, [first] if first else [], -1

    def _fail(self, msg: str) -> bool:
        "Stop at the current character; a top-level 'scalar' that goes wrong was prose (\"note: {...}\"): skip on."
        if not self._stack and self._mode in ('number', 'literal'):
            self._mode = 'prose'
            return False
        self._error, self._mode = f'{msg} at offset {self._steps}', 'error'
        return True

    # One handler per mode: take one character, return whether it was used up.
    def _on_pre(self, ch: str) -> bool:
        "Before the value: skip whitespace and a markdown fence; a value starts here, or this is prose."
        if ch in WHITESPACE: return True
        if ch == '`':
            self._mode = 'fence'
            return True
        self._mode = 'value' if ch in VALUE_START else 'prose'
        return False

    def _on_fence(self, ch: str) -> bool:
        "The rest of a fence line (```json): up to its newline, or a container opening on the same line."
        if ch in '{[': self._mode = 'value'
        elif ch == '\n': self._mode = 'pre'
        return ch not in '{['

    def _on_prose(self, ch: str) -> bool:
        "Text before the value: skipped up to the first `{` or `[`."
        if ch not in '{[': return True
        self._mode = 'value'
        return False

    def _on_value(self, ch: str) -> bool:
        if ch in WHITESPACE: return True
        if ch in '{[': self._open({} if ch == '{' else [])
        elif ch == '"': self._begin('string'); self._is_key = False
        elif ch in NUMBER_START: self._begin('number', ch)
        elif ch in LITERALS: self._begin('literal', ch)
        elif ch == ']' and self._stack and self._stack[-1] == []: self._close()  # only right after `[`
        else: return self._fail(f'expected a value, got {ch!r}')
        return True

    def _on_key(self, ch: str) -> bool:
        if ch in WHITESPACE: return True
        if ch == '"': self._begin('string'); self._is_key = True
        elif ch == '}' and not self._stack[-1]: self._close()  # an object is empty only right after `{`
        else: return self._fail(f'expected an object key, got {ch!r}')
        return True

    def _on_colon(self, ch: str) -> bool:
        if ch in WHITESPACE: return True
        if ch != ':': return self._fail(f"expected ':' after an object key, got {ch!r}")
        self._mode = 'value'
        return True

    def _on_comma(self, ch: str) -> bool:
        "After a member: `,` or the end of the innermost container."
        if ch in WHITESPACE: return True
        in_object = isinstance(self._stack[-1], dict)
        if ch == ',': self._mode = 'key' if in_object else 'value'
        elif ch == ('}' if in_object else ']'): self._close()
        else: return self._fail(f"expected ',' or {'}' if in_object else ']'!r}, got {ch!r}")
        return True

    def _on_string(self, ch: str) -> bool:
        if ch == '\\': self._mode = 'escape'
        elif ch != '"': self._buf.append(ch)
        elif self._is_key: self._member, self._mode = ''.join(self._buf), 'colon'
        else: self._complete(''.join(self._buf))
        return True

    def _on_escape(self, ch: str) -> bool:
        if ch == 'u': self._mode, self._hex = 'hex', ''
        elif ch in ESCAPES: self._mode = 'string'; self._buf.append(ESCAPES[ch])
        else: return self._fail(f'invalid escape {chr(92) + ch!r}')
        return True

    def _on_hex(self, ch: str) -> bool:
        "The four digits of \\uXXXX; a high surrogate escape right before a low one makes one character."
        if ch not in HEX: return self._fail(f'expected a hex digit in a \\u escape, got {ch!r}')
        self._hex += ch
        if len(self._hex) < 4: return True
        code, self._mode = int(self._hex, 16), 'string'
        if 0xDC00 <= code < 0xE000 and self._high == len(self._buf):
            self._buf[-1] = chr(0x10000 + ((ord(self._buf[-1]) - 0xD800) << 10) + code - 0xDC00)
        else:
            self._buf.append(chr(code))
            if 0xD800 <= code < 0xDC00: self._high = len(self._buf)
        return True

    def _on_number(self, ch: str) -> bool:
        if ch in NUMBER_CHARS:
            self._buf.append(ch)
            return True
        self._end_number()
        return False  # the character after the number is handled in the next mode

    def _end_number(self) -> bool:
        s = ''.join(self._buf)
        if not NUMBER.fullmatch(s): return self._fail(f'invalid number {s!r}')
        v = float(s) if any(c in s for c in '.eE') else int(s)
        if self._stack: self._complete(v)
        else: self._top_scalar(v)
        return True

    def _on_literal(self, ch: str) -> bool:
        word, v = LITERALS[self._buf[0]]
        if ch != word[len(self._buf)]: return self._fail(f'expected {word!r}, got {"".join(self._buf) + ch!r}')
        self._buf.append(ch)
        if len(self._buf) == len(word):
            if self._stack: self._complete(v)
            else: self._top_scalar(v)
        return True


def parse_partial(text: str  # the (possibly incomplete) text of one JSON value
                  ):
    "The partial value of `text`, as `PartialJSON.value` gives it after being fed all of `text` at once."
    p = PartialJSON()
    p.feed(text)
    return p.value
