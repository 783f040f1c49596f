"""Markdown that shows untrusted text (model replies, thinking, tool calls, search titles) with no live HTML, reversibly.

A notebook renders markdown with its raw HTML live, so a reply holding `<img src=x onerror=...>` would run
script in the reader's page, and a reply quoting lexi's own `<details class='tool-usage-details'>` block
would look, to `fmt2hist`, like a tool call lexi made. `inert(text)` writes `text` so that neither can
happen, and `restore(inert(text)) == text` for every text:

- Outside code, every '&' becomes '&amp;' and every '<' that could open a tag, comment or declaration
  becomes '&lt;': the page shows the same characters, but no HTML (and no entity trick) from the text is
  live. So a raw `<details ...>` or `<!-- ... -->` line outside code is always one lexi wrote.
- A link scheme that runs script (javascript:, vbscript:, data:) gets an invisible '&#8203;' before its
  colon: shown the same, but a browser no longer reads it as a scheme.
- Inside fenced code blocks (and top-level indented ones) nothing changes: renderers show code as it is,
  so `a < b` in a code block stays readable and copyable. Where code is, is decided by markdown-it-py (a
  CommonMark parser) on the escaped text, the text a renderer will see.
- An inline code span whose text would change becomes a `<code>` element with its punctuation written as
  numeric entities: safe whichever way a renderer pairs the backticks, and `Vec<T>` still reads `Vec<T>`.
- A code block left open at the end is closed, with a marker line, so that what follows the text (lexi's
  tool blocks, a usage line) is not swallowed into it; `restore` removes both.
"""
from __future__ import annotations
import html
import re
from functools import lru_cache

__all__ = ['inert', 'restore', 'inline', 'code', 'code_lines', 'split_lines']

CLOSED_MARKER = '<!-- lexi: closed an open code block -->'
_LINES = re.compile(r'(\r\n|\r|\n)')                       # the line breaks markdown-it counts
_TAG_START = re.compile(r'<(?=[A-Za-z/!?])')               # what could open HTML: a tag, </, <!--, <!X, <?
_SCHEME = re.compile(r'(?i)(?<![A-Za-z0-9+.\-])(javascript|vbscript|data)(?=:)')
_UNESC = re.compile(r'&(amp|lt|#8203);')
_UNESC_MAP = {'amp': '&', 'lt': '<', '#8203': ''}
_TICKS = re.compile(r'(?<!\\)(?:\\\\)*(`+)')                  # a backtick run not opened by a backslash escape
_CODE_EL = re.compile(r'<code(?: data-ticks="(\d+)")?>([^<]*)</code>')
_CLOSER = re.compile(r'(\r\n|\r|\n)(`{3,}|~{3,})(\r\n|\r|\n)' + re.escape(CLOSED_MARKER) + r'\Z')


@lru_cache(maxsize=1)
def _parser():
    "A CommonMark block parser (the inline stage is not needed to find code)."
    from markdown_it import MarkdownIt
    return MarkdownIt('commonmark').disable('inline')


def split_lines(text: str) -> list:
    "[line, break, line, break, ..., line]: `text` cut at the line breaks markdown counts (\\r\\n, \\r, \\n)."
    return _LINES.split(text)


def _text(s: str) -> str:
    "Text outside code, escaped: nothing in it opens HTML, decodes an entity, or names a script scheme."
    return _SCHEME.sub(r'\1&#8203;', _TAG_START.sub('&lt;', s.replace('&', '&amp;')))


def _untext(s: str) -> str: return _UNESC.sub(lambda m: _UNESC_MAP[m.group(1)], s)


def _spans(line: str):
    "Yield (is_span, piece) over `line`: inline code spans (backtick runs paired on this line) and the text between."
    runs, pos, i = list(_TICKS.finditer(line)), 0, 0
    while i < len(runs):
        opener = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if len(runs[j].group(1)) == len(opener.group(1))), None)
        if close is None:
            i += 1
            continue
        start, end = opener.start(1), runs[close].end(1)
        if start > pos: yield False, line[pos:start]
        yield True, line[start:end]
        pos, i = end, close + 1
    if pos < len(line): yield False, line[pos:]


def _entities(s: str) -> str:
    "`s` with its ASCII punctuation as numeric entities: markdown reads none of it, a browser shows it as it is."
    return ''.join(f'&#{ord(c)};' if (c.isascii() and not c.isalnum() and c != ' ') else c for c in s)


def _span(span: str) -> str:
    "An inline code span as it is when escaping leaves it unchanged; else a <code> element, punctuation as entities."
    n = len(span) - len(span.lstrip('`'))
    body = span[n:-n]
    if _text(body) == body: return span
    return f'<code data-ticks="{n}">{_entities(body)}</code>' if n > 1 else f'<code>{_entities(body)}</code>'


def code(text) -> str:
    """Untrusted one-line text (an id, a model name) as inline code with nothing in it live: a plain code span
    when that is safe, else a <code> element."""
    text = ' '.join(str(text).splitlines())
    return f'`{text}`' if '`' not in text and _text(text) == text and text.strip() else f'<code>{_entities(text)}</code>'


def inline(text) -> str:
    "One-line untrusted text (a tool name and its arguments) for markdown: escaped, line breaks made spaces."
    return _text(' '.join(str(text).splitlines()))


def _line(line: str) -> str:
    return ''.join(_span(p) if is_span else _text(p) for is_span, p in _spans(line))


def _unline(line: str) -> str:
    out, pos = [], 0
    for m in _CODE_EL.finditer(line):
        out.append(''.join(p if is_span else _untext(p) for is_span, p in _spans(line[pos:m.start()])))
        n = int(m.group(1) or 1)
        out.append('`' * n + html.unescape(m.group(2)) + '`' * n)
        pos = m.end()
    out.append(''.join(p if is_span else _untext(p) for is_span, p in _spans(line[pos:])))
    return ''.join(out)


def _code(text: str) -> tuple[set, object]:
    "The line numbers markdown-it sees as code in `text`, and the last fence token (None when there is none)."
    lines, last_fence = set(), None
    for t in _parser().parse(text):
        if t.map is None or t.type not in ('fence', 'code_block') or (t.type == 'code_block' and t.level): continue
        lines.update(range(*t.map))
        if t.type == 'fence': last_fence = t
    return lines, last_fence


def code_lines(text: str) -> tuple[set, str | None]:
    """The line numbers markdown-it sees as code in `text`, and the fence markup of a code block still open
    at its end (None when none is). Fenced blocks count at any depth (lists, quotes); indented code only at
    the top level, where renderers agree on it."""
    lines, last_fence = _code(text)
    n_lines = len(_LINES.split(text)) // 2 + 1
    if last_fence is None or last_fence.map[1] < n_lines: return lines, None
    probe, _ = _code(text + '\n\nx')   # a line after the end is code only while the block is still open
    return lines, (last_fence.markup if n_lines + 1 in probe else None)


def inert(text: str) -> str:
    "`text` as markdown with no live HTML from it (see the module docstring); `restore` gives `text` back."
    parts = _LINES.split(text)                      # [line, break, line, break, ..., line]
    escaped = [_line(p) if i % 2 == 0 else p for i, p in enumerate(parts)]
    code, open_fence = code_lines(''.join(escaped))
    out = [parts[i] if i % 2 == 0 and i // 2 in code else p for i, p in enumerate(escaped)]
    if open_fence is not None: out.append(f'\n{open_fence}\n{CLOSED_MARKER}')
    return ''.join(out)


def restore(md: str) -> str:
    "The text `inert` was given, from what it wrote."
    closed = _CLOSER.search(md)
    if closed: md = md[:closed.start()]
    parts = _LINES.split(md)
    code, _ = code_lines(md)
    return ''.join(p if i % 2 or i // 2 in code else _unline(p) for i, p in enumerate(parts))
