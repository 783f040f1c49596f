"""PartialJSON: the partial value while JSON text streams in pieces, checked against `json.loads` of the whole text."""
import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from lexi._partial import PartialJSON, parse_partial


def same(a, b) -> bool:
    "Equal and of the same types all the way down (`==` alone takes True for 1 and 1 for 1.0)."
    if type(a) is not type(b): return False
    if isinstance(a, dict): return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list): return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


def consistent(part, full, path='$'):
    "`part` may be what is complete of `full`: containers are prefixes, all their members but the last complete."
    if isinstance(part, (dict, list)):
        assert type(part) is type(full), path
        keys = list(part) if isinstance(part, dict) else list(range(len(part)))
        full_keys = list(full) if isinstance(full, dict) else list(range(len(full)))
        assert keys == full_keys[:len(keys)], path
        for k in keys[:-1]: assert same(part[k], full[k]), f'{path}[{k!r}]'
        if keys: consistent(part[keys[-1]], full[keys[-1]], f'{path}[{keys[-1]!r}]')
    else:
        assert same(part, full), path


def fed(pieces, close=False) -> PartialJSON:
    p = PartialJSON()
    for s in pieces: p.feed(s)
    if close: p.close()
    return p


def cut(text, points):
    "`text` in pieces, cut at `points`."
    points = [0, *sorted(set(points)), len(text)]
    return [text[a:b] for a, b in zip(points, points[1:])]


def values_after_each(text):
    "The value after each character of `text`, fed one at a time (deep copies: the live value changes in place)."
    p = PartialJSON()
    return [(p.feed(c), copy.deepcopy(p.value)) for c in text]


# --- containers, members, scalars

def test_brief_example():
    assert parse_partial('{"a": 1, "b": [{"x": "hi"}, {"x": "th') == {'a': 1, 'b': [{'x': 'hi'}, {}]}


def test_containers_appear_when_they_open():
    p = PartialJSON()
    assert p.value is None and p.feed('{"a": [') is True
    assert same(p.value, {'a': []})
    assert p.feed('{') is True and same(p.value, {'a': [{}]})
    assert not p.done


def test_half_streamed_string_is_absent_not_truncated():
    p = PartialJSON()
    p.feed('{"title": "Hel')
    assert same(p.value, {})
    p.feed('lo, wor')
    assert same(p.value, {})
    assert p.feed('ld"') is True
    assert same(p.value, {'title': 'Hello, world'})


@pytest.mark.parametrize('text', ['{"a"', '{"a":', '{"a": ', '{"a": 1', '{"a": tru', '{"a": "x', '{"k": 1, "a'])
def test_key_without_complete_value_is_absent(text):
    assert 'a' not in parse_partial(text)


@pytest.mark.parametrize('text, value', [
    ('[12', []), ('[12,', [12]), ('[12 ', [12]), ('[12\n', [12]), ('[12]', [12]), ('{"n": -1.5e3', {}),
    ('{"n": -1.5e3}', {'n': -1500.0}), ('{"n": 0.25,', {'n': 0.25}), ('[1e2, 3E-1 ', [100.0, 0.3]),
    ('[tru', []), ('[true', [True]), ('[fals', []), ('[false', [False]), ('[nul', []), ('[null', [None]),
])
def test_scalars_appear_once_complete(text, value):
    assert same(parse_partial(text), value)


def test_top_level_number_waits_for_close():
    p = fed(['4', '2', ' '])
    assert p.value is None and not p.done
    assert p.close() is True
    assert same(p.value, 42) and p.done
    p = fed(['-0.5'])
    p.close()
    assert same(p.value, -0.5) and p.done


@pytest.mark.parametrize('text, value', [('true', True), ('false', False), ('null', None)])
def test_top_level_literal_completes_at_close(text, value):
    p = fed([text])
    assert p.value is None and not p.done
    p.close()
    assert same(p.value, value) and p.done


def test_top_level_string_is_done_at_its_quote():
    p = fed(['"ab', 'c"'])
    assert p.value == 'abc' and p.done


def test_close_leaves_unterminated_container_partial():
    p = fed(['{"a": [1, 2'], close=True)
    assert same(p.value, {'a': [1]}) and not p.done and p.error is None
    p = fed(['{"a": "x'], close=True)
    assert same(p.value, {}) and not p.done


def test_feed_returns_true_only_when_something_completed():
    p = PartialJSON()
    steps = [('{', True), ('"na', False), ('me"', False), (': ', False), ('"Bo', False), ('b"', True),
             (', "n": 1', False), ('0', False), (',', True), (' "l": [', True), ('1', False), (']', True),
             ('}', True), ('\n```', False)]
    assert [(s, p.feed(s)) for s in (s for s, _ in steps)] == steps
    assert p.done and same(p.value, {'name': 'Bob', 'n': 10, 'l': [1]})


def test_value_is_the_live_structure_updated_in_place():
    p = PartialJSON()
    p.feed('{"a": [')
    v, inner = p.value, p.value['a']
    p.feed('1, 2, {"b": "c"}], "d": 4}')
    assert p.value is v and v['a'] is inner and same(v, {'a': [1, 2, {'b': 'c'}], 'd': 4})


def test_text_is_everything_fed():
    p = fed(['Sure: ', '{"a"', ': 1}', ' bye'])
    assert p.text == 'Sure: {"a": 1} bye'
    assert PartialJSON().text == ''


def test_feed_after_done_or_close_is_ignored():
    p = fed(['[1]', '[2]'])
    assert same(p.value, [1]) and p.feed(', 3') is False
    p = fed(['[1, '], close=True)
    assert p.feed('2]') is False and same(p.value, [1])


def test_empty_containers():
    assert same(parse_partial('{"a": {}, "b": [], "c": [[]]}'), {'a': {}, 'b': [], 'c': [[]]})
    assert fed(['[ ', ' ]']).done


# --- escapes

ESCAPED = json.dumps({'s': 'q"b\\s/ \b\f\n\r\t é \u2028 😀 \x01', 'k\n"': ['\ud83d\ude00x']}, ensure_ascii=True)
ESCAPED_SOLIDUS = '["a\\/b", "\\u00E9\\u00e9"]'


@pytest.mark.parametrize('text', [ESCAPED, ESCAPED_SOLIDUS])
def test_escapes_split_at_every_offset(text):
    for k in range(len(text) + 1):
        for j in range(k, min(k + 7, len(text)) + 1):
            p = fed([text[:k], text[k:j], text[j:]])
            assert p.error is None and p.done and same(p.value, json.loads(text)), (k, j)


def test_escaped_string_absent_until_its_quote_at_every_prefix():
    full = json.loads(ESCAPED)
    for i, (_, v) in enumerate(values_after_each(ESCAPED)):
        consistent(v, full)
        if i < ESCAPED.index('", "k'): assert 's' not in v


@pytest.mark.parametrize('text', [r'"\ud83d\ude00"', r'"\ud800"', r'"\udc00\ud800"', r'"\ud800\ud800\udc00"',
                                  r'"\ud800x\udc00"', r'["\ud800", "\udc00"]', r'"\ud800\n\udc00"'])
def test_surrogates_like_json_loads(text):
    for pieces in (list(text), [text]):
        assert same(fed(pieces).value, json.loads(text))


# --- leniency

@pytest.mark.parametrize('text', [
    '  \n {"a": [1]}', '```json\n{"a": [1]}\n```', '```\n{"a": [1]}\n```\n', 'Here is the JSON:\n```json\n{"a": [1]}\n```',
    'Sure! {"a": [1]} Hope this helps. {"b": 2}', 'note: {"a": [1]}', 'the answer: {"a": [1]}',
    '- item {"a": [1]}', '`{"a": [1]}`', '{"a": [1]}]]]} trailing',
])
def test_wrappers_are_skipped(text):
    for pieces in (list(text), [text]):
        p = fed(pieces)
        assert p.done and p.error is None and same(p.value, {'a': [1]})


def test_nothing_after_the_value_is_handled():
    text = '```json\n[1, 2]\n```\nAnd some prose with {"x": 1} in it'
    p = fed(list(text))
    assert same(p.value, [1, 2]) and p._steps == text.index(']') + 1


# --- malformed input

@pytest.mark.parametrize('text, value, offset', [
    ('{"a" 1}', {}, 5), ('{,}', {}, 1), ('{"a": 1,}', {'a': 1}, 8), ('[1,]', [1], 3), ('[1 2]', [1], 3),
    ('{"a": 1 "b": 2}', {'a': 1}, 8), ('[01]', [], 3), ('[1.]', [], 3), ('[-]', [], 2), ('[1e]', [], 3),
    ('["\\x"]', [], 3), ('["\\u12g4"]', [], 6), ('[truth]', [], 4), ('{"a": [1}', {'a': [1]}, 8),
    ('[{"a": 1]', [{'a': 1}], 8), ('{1: 2}', {}, 1), ('[1, "a", nope]', [1, 'a'], 10),
])
def test_malformed_input_stops_with_an_error(text, value, offset):
    for pieces in (list(text), [text]):
        p = fed(pieces, close=True)
        assert same(p.value, value) and not p.done
        assert p.error is not None and f'offset {offset}' in p.error
        assert p.feed('[1]') is False and same(p.value, value)


def test_error_says_what_was_wrong():
    assert "expected ':'" in fed(['{"a" 1}']).error
    assert 'invalid escape' in fed(['["\\q"]']).error
    assert fed(['{"a": 1}']).error is None


# --- random values in random pieces

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12))
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=6), kids, max_size=4), max_leaves=15)


@st.composite
def streamed(draw):
    "A random JSON value, its json.dumps text (any options) and the pieces it arrives in."
    v = draw(json_values)
    text = json.dumps(v, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 0, 2])))
    points = draw(st.lists(st.integers(0, len(text)), max_size=len(text) // 2 + 2))
    return text, cut(text, points)


@settings(deadline=None, max_examples=150)
@given(streamed())
def test_random_values_in_random_pieces(case):
    text, pieces = case
    full, p = json.loads(text), PartialJSON()
    for s in pieces:
        before = copy.deepcopy(p.value)
        changed = p.feed(s)
        assert p.error is None
        if p.value is not None or p.done: consistent(p.value, full)
        if not changed: assert same(p.value, before)
    p.close()
    assert p.done and same(p.value, full) and p.text == text


@settings(deadline=None, max_examples=50)
@given(streamed(), st.sampled_from(['', '```json\n', '```\n', 'Here you go:\n```json\n', 'Result: ']),
       st.sampled_from(['', '\n```', '\n```\nDone.', ' That is all.']))
def test_random_containers_wrapped_in_fences_and_prose(case, head, tail):
    text, _ = case
    full = json.loads(text)
    if not isinstance(full, (dict, list)): text, full = f'[{text}]', [full]  # prose is skipped up to `{` or `[`
    p = fed(list(head + text + tail))
    assert p.done and same(p.value, full)


# --- linear work

def big_text() -> str:
    items, i = [], 0
    while len(json.dumps({'items': items})) < 2000:
        items.append({'id': i, 'name': f'item {i} \u00e9\n"q"', 'ok': i % 2 == 0, 'score': i * 1.5, 'tags': ['a', 'b'],
                      'none': None})
        i += 1
    return json.dumps({'items': items})


@pytest.mark.parametrize('size', [1, 7, 100, 10_000])
def test_each_character_handled_once_whatever_the_piece_size(size):
    text = big_text()
    p = PartialJSON()
    for i in range(0, len(text), size):
        p.feed(text[i:i + size])
        assert p._steps == min(i + size, len(text))  # never goes back over what it already read
    assert p.done and same(p.value, json.loads(text))


def test_work_does_not_depend_on_how_numbers_end():
    # a number is only known to end at the next character, which is then handled once more in the next state:
    # that second look must not count as (or be) a second pass
    text = '[' + ', '.join(str(i) for i in range(500)) + ']'
    p = fed(list(text))
    assert p._steps == len(text) and same(p.value, list(range(500)))
