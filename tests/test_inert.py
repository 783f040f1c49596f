"""Untrusted text as markdown: `inert` leaves no HTML from the text live under the renderers notebooks use, keeps
code as written, and `restore` gives the text back exactly."""
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from lexi._inert import CLOSED_MARKER, code, inert, inline, restore

PAYLOADS = ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '<svg onload=alert(1)>',
            '<iframe srcdoc="<script>alert(1)</script>">', '[click](javascript:alert(1))', '<a href="javascript:alert(1)">x</a>',
            "<details class='tool-usage-details'>", '<!-- hidden -->', '[x]: javascript:alert(1)\n\n[x]',
            '[y](JaVaScRiPt:alert(1))', '<https://example.com>', '&lt;img src=x onerror=alert(1)&gt;',
            '![p](data:text/html;base64,PHNjcmlwdD4=)', '<IMG SRC=x OnError=alert(1)>', '<b onmouseover=alert(1)>hi</b>']
ALLOWED = {'p', 'em', 'strong', 'code', 'pre', 'a', 'img', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li',
           'blockquote', 'hr', 'br', 'del', 's', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'div', 'input',
           'dl', 'dt', 'dd', 'sup', 'sub', 'section', 'mark', 'ins', 'abbr'}   # what markdown and its plugins make
BAD_SCHEMES = ('javascript:', 'vbscript:', 'data:')


class Live(HTMLParser):
    "Collects what in rendered HTML could run or hide: unknown tags, on* handlers, script URLs, details blocks."
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED: self.found.append(tag)
        for k, v in attrs:
            url = ''.join(ch for ch in (v or '') if ch > ' ').lower()
            if k.startswith('on') or (k in ('href', 'src') and url.startswith(BAD_SCHEMES)): self.found.append(f'{tag} {k}={v}')

    def handle_comment(self, data):
        if data.strip() != CLOSED_MARKER[4:-3].strip(): self.found.append('comment')


def live(html: str) -> list:
    p = Live()
    p.feed(html)
    return p.found


RENDERERS = {'markdown-it': MarkdownIt('commonmark', {'html': True}).render, 'nbconvert (mistune)': markdown2html_mistune}


@pytest.mark.parametrize('render', RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize('payload', PAYLOADS)
def test_no_payload_is_live_in_either_renderer_and_each_comes_back_whole(payload, render):
    for text in (payload, f'Here: {payload} ok', f'- item {payload}', f'> {payload}', f'`{payload}`', f'1. a\n   {payload}'):
        assert live(render(inert(text))) == [], text
        assert restore(inert(text)) == text


@pytest.mark.parametrize('render', RENDERERS.values(), ids=RENDERERS.keys())
def test_the_check_sees_live_html_when_text_is_shown_raw(render):
    assert live(render('Hi <img src=x onerror=alert(1)>')) and live(render("<details class='tool-usage-details'>"))


def test_code_stays_as_written_and_text_reads_the_same():
    text = 'Use `Vec<T>` here:\n\n```rust\nfn f() -> Vec<T> { a < b && c }\n```\n\n<b>bold?</b> & more'
    out = inert(text)
    assert 'fn f() -> Vec<T> { a < b && c }' in out               # code blocks are left as they are
    html = markdown2html_mistune(out)
    assert 'Vec&lt;T&gt;' in html and '<b>' not in html             # the reader sees Vec<T> and the tag as text
    assert '&amp;lt;b&amp;gt;' not in html                          # ...not doubly escaped entities
    assert restore(out) == text


def test_an_open_code_block_is_closed_so_what_follows_is_not_swallowed():
    out = inert('```python\nx = 1 < 2')
    assert out.endswith(f'\n```\n{CLOSED_MARKER}') and restore(out) == '```python\nx = 1 < 2'
    assert '<p>after</p>' in RENDERERS['markdown-it'](out + '\n\nafter')


def test_one_line_helpers_escape_ids_names_and_arguments():
    assert live(RENDERERS['markdown-it'](code('`<img src=x onerror=alert(1)>`'))) == []
    assert code('gpt-4.1') == '`gpt-4.1`'
    assert live(RENDERERS['markdown-it'](inline('f(<script>alert(1)</script>)'))) == []


PIECES = st.sampled_from(['<', '>', '&', '`', '``', '```', '~~~', '\n', '\n\n', ' ', '   ', '    ', '\t', '-', '1.', '> ',
                          '[', ']', '(', ')', '!', '*', '_', '#', '\\', '\r', ':', 'a', 'img src=x onerror=alert(1)',
                          'script', 'javascript', 'data', '<!--', '-->', 'details', '&lt;', '&amp;', '&#8203;', '&#60;',
                          'code', '</code>', '<code>', CLOSED_MARKER, 'é', '🧠'])
MARKDOWNISH = st.lists(PIECES, max_size=40).map(''.join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(MARKDOWNISH, st.text(max_size=80)))
def test_restore_gives_back_every_text(text):
    assert restore(inert(text)) == text


@settings(max_examples=300, deadline=None)
@given(MARKDOWNISH)
def test_nothing_from_any_text_is_live_in_either_renderer(text):
    out = inert(text)
    for name, render in RENDERERS.items(): assert live(render(out)) == [], (name, out)


def test_an_open_code_block_ending_in_a_short_last_line_is_closed_too():
    text = '```\ncode <x>\n\nx'
    assert inert(text).endswith(CLOSED_MARKER) and restore(inert(text)) == text
