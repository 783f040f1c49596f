"""Formatted tool-loop output: mk_tr_details, re_tools, fmt2hist, hist2fmt, the stream formatters."""
import json

import pytest
from fastcore.utils import chunked
from hypothesis import given, settings, strategies as st
from litellm import ModelResponse
from litellm.types.utils import (ChatCompletionMessageToolCall, Delta, Function, Message, ModelResponseStream,
                                 StreamingChoices, Usage)

from lexi._util import get
from lexi.chat import Chat
from lexi.errors import UsageError
from lexi.fmt import (AsyncStreamFormatter, StreamFormatter, TRUNCATED, fmt2hist, hist2fmt, mk_tr_details, re_tools)
from lexi.testing import Reply, ToolCall

# The formatted output from lisette-core.txt ("Reconstructing formatted outputs").
SPEC_OUTP = '''
I'll solve this step-by-step, using parallel calls where possible.

<details class='tool-usage-details'>

```json
{
  "id": "toolu_01KjnQH2Nsz2viQ7XYpLW3Ta",
  "call": { "function": "simple_add", "arguments": { "a": 10, "b": 5 } },
  "result": "15"
}
```

</details>

<details class='tool-usage-details'>

```json
{
  "id": "toolu_01Koi2EZrGZsBbnQ13wuuvzY",
  "call": { "function": "simple_add", "arguments": { "a": 2, "b": 1 } },
  "result": "3"
}
```

</details>

Now I need to multiply 15 * 3 before I can do the final division:

<details class='tool-usage-details'>

```json
{
  "id": "toolu_0141NRaWUjmGtwxZjWkyiq6C",
  "call": { "function": "multiply", "arguments": { "a": 15, "b": 3 } },
  "result": "45"
}
```

</details>
'''


def block_json(id, fn, a, b, res):
    return f'{{\n  "id": "{id}",\n  "call": {{ "function": "{fn}", "arguments": {{ "a": {a}, "b": {b} }} }},\n  "result": "{res}"\n}}'


def tc(id, name, args): return ChatCompletionMessageToolCall(function=Function(arguments=args, name=name), id=id, type='function')
def tool(id, name, content): return {'tool_call_id': id, 'role': 'tool', 'name': name, 'content': content}


def test_re_tools_splits_into_text_block_json_triples_as_the_spec_shows():
    j1 = block_json('toolu_01KjnQH2Nsz2viQ7XYpLW3Ta', 'simple_add', 10, 5, 15)
    j2 = block_json('toolu_01Koi2EZrGZsBbnQ13wuuvzY', 'simple_add', 2, 1, 3)
    j3 = block_json('toolu_0141NRaWUjmGtwxZjWkyiq6C', 'multiply', 15, 3, 45)
    blk = lambda j: f"<details class='tool-usage-details'>\n\n```json\n{j}\n```\n\n</details>"
    assert list(chunked(re_tools.split(SPEC_OUTP), 3, pad=True)) == [
        ["\nI'll solve this step-by-step, using parallel calls where possible.\n\n", blk(j1), j1],
        ['\n\n', blk(j2), j2],
        ['\n\nNow I need to multiply 15 * 3 before I can do the final division:\n\n', blk(j3), j3],
        ['\n', None, None]]


def test_fmt2hist_of_the_spec_output_groups_parallel_calls_and_adds_no_empty_final_message():
    assert fmt2hist(SPEC_OUTP) == [
        Message(content="I'll solve this step-by-step, using parallel calls where possible.", role='assistant',
                tool_calls=[tc('toolu_01KjnQH2Nsz2viQ7XYpLW3Ta', 'simple_add', '{"a":10,"b":5}'),
                            tc('toolu_01Koi2EZrGZsBbnQ13wuuvzY', 'simple_add', '{"a":2,"b":1}')]),
        tool('toolu_01KjnQH2Nsz2viQ7XYpLW3Ta', 'simple_add', '15'),
        tool('toolu_01Koi2EZrGZsBbnQ13wuuvzY', 'simple_add', '3'),
        Message(content='Now I need to multiply 15 * 3 before I can do the final division:', role='assistant',
                tool_calls=[tc('toolu_0141NRaWUjmGtwxZjWkyiq6C', 'multiply', '{"a":15,"b":3}')]),
        tool('toolu_0141NRaWUjmGtwxZjWkyiq6C', 'multiply', '45')]


def test_fmt2hist_turns_text_after_the_last_block_into_a_final_message():
    hist = fmt2hist(SPEC_OUTP + '\n\nSo the answer is **15**.  \n')
    assert hist[-1] == Message(content='So the answer is **15**.', role='assistant')
    assert len(hist) == 6


def test_fmt2hist_of_plain_text_and_of_nothing():
    assert fmt2hist('  Just an answer.\n') == [Message(content='Just an answer.', role='assistant')]
    assert fmt2hist('') == [] and fmt2hist('\n\n') == []


def test_fmt2hist_rejects_a_block_that_is_not_json():
    bad = "<details class='tool-usage-details'>\n\n```json\n{not json}\n```\n\n</details>"
    with pytest.raises(UsageError, match='tool block 1'): fmt2hist(bad)
    no_call = "<details class='tool-usage-details'>\n\n```json\n{\"id\": \"x\"}\n```\n\n</details>"
    with pytest.raises(UsageError, match='"call"'): fmt2hist(no_call)
    with pytest.raises(UsageError): fmt2hist(None)


SPEC_TC = tc('toolu_018BGyenjiRkDQFU1jWP6qRo', 'simple_add', '{"a": 10, "b": 5}')


def parse_block(s):
    (_, _, js), = [tuple(x) for x in chunked(re_tools.split(s.strip()), 3) if len(x) == 3]
    return json.loads(js)


def test_mk_tr_details_keeps_argument_types_and_cuts_long_results_with_a_flag():
    tr = tool('toolu_018BGyenjiRkDQFU1jWP6qRo', 'simple_add', '15 is the answerrrr' + 'r' * 2000)
    s = mk_tr_details(tr, SPEC_TC)
    assert s.startswith("\n\n<details class='tool-usage-details'>\n\n```json\n{") and s.endswith('}\n```\n\n</details>\n\n')
    obj = parse_block(s)
    assert obj['id'] == 'toolu_018BGyenjiRkDQFU1jWP6qRo'
    assert obj['call'] == {'function': 'simple_add', 'arguments': {'a': 10, 'b': 5}}   # ints, not '10'
    assert obj['result'] == tr['content'][:2000] + TRUNCATED and obj['truncated'] is True


def test_mk_tr_details_keeps_short_results_whole_and_unflagged():
    obj = parse_block(mk_tr_details(tool('t1', 'f', 'x' * 50), SPEC_TC, mx=50))
    assert obj['result'] == 'x' * 50 and 'truncated' not in obj
    obj = parse_block(mk_tr_details(tool('t1', 'f', 'y' * 5000), SPEC_TC, mx=None))
    assert obj['result'] == 'y' * 5000


def test_mk_tr_details_accepts_dict_tool_calls_raw_arguments_and_part_lists():
    call = {'id': 't9', 'type': 'function', 'function': {'name': 'look', 'arguments': 'not json'}}
    parts = [{'type': 'text', 'text': 'seen'}]
    obj = parse_block(mk_tr_details(tool('t9', 'look', parts), call, step=3))
    assert obj == {'id': 't9', 'call': {'function': 'look', 'arguments': 'not json'}, 'result': parts, 'step': 3}
    assert fmt2hist(mk_tr_details(tool('t9', 'look', parts), call)) == [
        Message(content=None, role='assistant', tool_calls=[tc('t9', 'look', 'not json')]), tool('t9', 'look', parts)]


def test_fmt2hist_keeps_consecutive_turns_apart_by_step_and_groups_a_turn():
    hist = [Message(content=None, role='assistant', tool_calls=[tc('a', 'f', '{"x":1}'), tc('b', 'f', '{"x":2}')]),
            tool('a', 'f', '1'), tool('b', 'f', '2'),
            Message(content=None, role='assistant', tool_calls=[tc('c', 'g', '{}')]), tool('c', 'g', 'done')]
    outp = hist2fmt(hist)
    assert outp.count('"step": 1') == 2 and outp.count('"step": 2') == 1
    assert fmt2hist(outp) == hist


def test_fmt2hist_gives_no_content_to_a_turn_without_text():
    # LiteLLM sends content '' to Anthropic as a placeholder text block, so a text-less turn gets None.
    hist = fmt2hist(mk_tr_details(tool('a', 'f', 'r'), tc('a', 'f', '{}')))
    assert hist[0].content is None


def test_hist2fmt_refuses_what_it_cannot_format():
    with pytest.raises(UsageError, match="'developer'"): hist2fmt([{'role': 'developer', 'content': 'hi'}])
    with pytest.raises(UsageError, match='no tool result'): hist2fmt([Message(content=None, role='assistant', tool_calls=[tc('a', 'f', '{}')])])
    with pytest.raises(UsageError, match='answer no tool call'): hist2fmt([tool('zz', 'f', 'x')])


# ---------------------------------------------------------------- round trips (hypothesis)

TEXT = st.text(st.characters(blacklist_categories=('Cs',), blacklist_characters='🧠'), min_size=1, max_size=60) \
         .map(str.strip).filter(bool)
LEAF = (st.none() | st.booleans() | st.integers(-10**15, 10**15) | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=15))
JSON = st.recursive(LEAF, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8)
ARGS = st.dictionaries(st.text(max_size=8), JSON, max_size=4)
NAME = st.from_regex(r'[A-Za-z_][A-Za-z0-9_]{0,15}', fullmatch=True)
RESULT = st.text(max_size=80) | st.lists(st.fixed_dictionaries({'type': st.just('text'), 'text': st.text(max_size=20)}), min_size=1, max_size=2)


@st.composite
def histories(draw):
    "A valid assistant-side history: tool turns (1-3 parallel calls, each followed by its results), maybe a final reply."
    turns = draw(st.integers(0, 4))
    ids = iter(draw(st.lists(st.from_regex(r'[A-Za-z0-9_-]{3,24}', fullmatch=True), min_size=12, max_size=12, unique=True)))
    hist = []
    for _ in range(turns):
        calls = [(next(ids), draw(NAME), draw(ARGS), draw(RESULT)) for _ in range(draw(st.integers(1, 3)))]
        hist.append(Message(content=draw(st.none() | TEXT), role='assistant',
                            tool_calls=[tc(i, n, json.dumps(a, separators=(',', ':'), ensure_ascii=False)) for i, n, a, _ in calls]))
        hist += [tool(i, n, r) for i, n, _, r in calls]
    if final := draw(st.none() | TEXT): hist.append(Message(content=final, role='assistant'))
    return hist


@settings(max_examples=200, deadline=None)
@given(histories())
def test_history_to_text_to_history_is_lossless(hist):
    assert fmt2hist(hist2fmt(hist)) == hist


@settings(max_examples=100, deadline=None)
@given(histories())
def test_text_to_history_to_text_is_lossless(hist):
    text = hist2fmt(hist)
    assert hist2fmt(fmt2hist(text)) == text


def as_stream(hist, think):
    "What a streaming Chat yields for `hist`: per turn, chunks (thinking, text), the complete response, tool results."
    items, i = [], 0
    while i < len(hist):
        m = hist[i]
        if think: items.append(ModelResponseStream(choices=[StreamingChoices(delta=Delta(reasoning_content='hmm'))]))
        text = m.content or ''
        items += [ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=text[j:j + 7]))]) for j in range(0, len(text), 7)]
        items.append(ModelResponse(choices=[{'index': 0, 'message': m, 'finish_reason': 'tool_calls' if m.tool_calls else 'stop'}]))
        n = len(m.tool_calls or [])
        items += hist[i + 1:i + 1 + n]
        i += 1 + n
    return items


@settings(max_examples=100, deadline=None)
@given(histories(), st.booleans())
def test_streamed_tool_loop_formats_into_text_that_fmt2hist_turns_back_into_the_history(hist, think):
    fmt = StreamFormatter(include_usage=True, mx=None)
    pieces = list(fmt.format_stream(as_stream(hist, think)))
    assert fmt2hist(fmt.outp) == hist
    texts = [m.content for m in hist if get(m, 'role') == 'assistant' and m.content]
    assert all(t in ''.join(pieces) for t in texts)      # the pieces (for a terminal) carry each text as written


# ---------------------------------------------------------------- StreamFormatter

def test_format_item_gives_text_and_a_thinking_mark_as_the_spec_shows():
    assert AsyncStreamFormatter().format_item(ModelResponseStream([StreamingChoices(delta=Delta(content='Hello world!'))])) == 'Hello world!'
    assert AsyncStreamFormatter().format_item(ModelResponseStream([StreamingChoices(delta=Delta(reasoning_content='thinking...'))])) == '🧠'


def test_format_item_renders_a_tool_result_with_the_call_from_a_duck_typed_response():
    # As in the spec: a ModelResponse whose choices are ad-hoc objects with only message.tool_calls.
    call = ChatCompletionMessageToolCall(id='toolu_123abc456def', type='function', function=Function(name='simple_add', arguments='{"a": 5, "b": 3}'))
    resp = ModelResponse()
    resp.choices = [type('Choice', (), {'message': type('Message', (), {'tool_calls': [call]})()})()]
    fmt = AsyncStreamFormatter()
    assert fmt.format_item(resp) == ''
    out = fmt.format_item(tool('toolu_123abc456def', 'simple_add', '8'))
    assert parse_block(out) == {'id': 'toolu_123abc456def', 'call': {'function': 'simple_add', 'arguments': {'a': 5, 'b': 3}},
                                'result': '8', 'step': 1}
    assert fmt.outp == out


def test_formatter_puts_a_blank_line_between_thinking_and_text():
    fmt = StreamFormatter()
    for d in [Delta(reasoning_content='a'), Delta(reasoning_content='b'), Delta(content='Answer'), Delta(content='.')]:
        fmt.format_item(ModelResponseStream(choices=[StreamingChoices(delta=d)]))
    assert fmt.outp == '🧠🧠\n\nAnswer.'
    assert fmt2hist(fmt.outp) == [Message(content='Answer.', role='assistant')]


def test_formatter_shows_usage_only_when_asked_and_fmt2hist_drops_it():
    resp = ModelResponse(choices=[{'index': 0, 'message': {'role': 'assistant', 'content': 'Hi'}, 'finish_reason': 'stop'}],
                         usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5))
    assert StreamFormatter().format_item(resp) == ''
    fmt = StreamFormatter(include_usage=True)
    fmt.format_item(ModelResponseStream(choices=[StreamingChoices(delta=Delta(content='Hi'))]))
    shown = fmt.format_item(resp)
    assert "<details class='usage-details'>" in shown and 'prompt_tokens=3' in shown
    assert fmt2hist(fmt.outp) == [Message(content='Hi', role='assistant')]


def test_formatter_renders_a_result_for_an_unknown_call_with_empty_arguments():
    out = StreamFormatter().format_item(tool('nope', 'lost_tool', 'x'))
    assert parse_block(out) == {'id': 'nope', 'call': {'function': 'lost_tool', 'arguments': {}}, 'result': 'x'}


def test_formatter_ignores_items_it_does_not_know():
    fmt = StreamFormatter()
    assert [fmt.format_item(o) for o in [{'role': 'user'}, 42, None]] == ['', '', ''] and fmt.outp == ''


async def test_async_formatter_formats_async_and_plain_streams():
    items = [ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=t))]) for t in ('a', 'b')]
    async def agen():
        for o in items: yield o
    fmt = AsyncStreamFormatter()
    assert [p async for p in fmt.format_stream(agen())] == ['a', 'b']
    assert [p async for p in fmt.format_stream(items)] == ['a', 'b'] and fmt.outp == 'abab'


def test_a_long_stream_formats_to_exactly_its_pieces_joined():
    pieces = [f'w{i} ' + ('\n' if i % 97 == 0 else '') for i in range(5000)]
    fmt = StreamFormatter()
    seen = []
    for n, p in enumerate(pieces):
        fmt.format_item(ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=p))]))
        if n in (0, 2499): seen.append(fmt.outp)   # reading .outp mid-stream gives the prefix so far
    assert fmt.outp == ''.join(pieces) and fmt.outp == ''.join(pieces)   # reading twice changes nothing
    assert seen == [pieces[0], ''.join(pieces[:2500])]


def test_outp_can_be_reset_and_appended_to_again():
    fmt = StreamFormatter()
    fmt.format_item(ModelResponseStream(choices=[StreamingChoices(delta=Delta(content='old'))]))
    fmt.outp = ''
    fmt.format_item(ModelResponseStream(choices=[StreamingChoices(delta=Delta(content='new'))]))
    assert fmt.outp == 'new'


# ---------------------------------------------------------------- wire: a streamed Chat tool loop, formatted and read back

def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


def turns(hist):
    "Assistant and tool messages as comparable tuples (content, calls with parsed arguments, results)."
    out = []
    for m in hist:
        role = m['role'] if isinstance(m, dict) else m.role
        if role == 'assistant':
            calls = [(t.id, t.function.name, json.loads(t.function.arguments)) for t in m.tool_calls or []]
            out.append(('assistant', m.content or None, calls))
        elif role == 'tool': out.append(('tool', m['tool_call_id'], m['content']))
    return out


def test_streamed_chat_tool_loop_output_reads_back_into_the_history_and_can_be_sent(standin):
    standin.queue(Reply(text='Adding both.', thinking='two sums', tool_calls=[ToolCall('add', {'a': 1, 'b': 2}), ToolCall('add', {'a': 3, 'b': 4})]),
                  Reply(tool_calls=[ToolCall('add', {'a': 3, 'b': 7})]),
                  Reply(text='The total is **10**.'))
    chat = Chat('anthropic/claude-sonnet-4-5', tools=[add], **standin.kwargs('anthropic'))
    fmt = StreamFormatter()
    for _ in fmt.format_stream(chat('Add 1+2 and 3+4, then add the results.', stream=True, max_steps=5, think='l')): pass
    hist = fmt2hist(fmt.outp)
    assert turns(hist) == turns(chat.hist)
    assert [t[0] for t in turns(hist)] == ['assistant', 'tool', 'tool', 'assistant', 'tool', 'assistant']
    standin.queue(Reply(text='We added numbers.'))
    Chat('anthropic/claude-sonnet-4-5', tools=[add], hist=[{'role': 'user', 'content': 'Add them.'}] + hist,
         **standin.kwargs('anthropic'))('What did we do?')
    sent = standin.requests[-1].body['messages']
    assert [b['type'] for b in sent[1]['content']] == ['text', 'tool_use', 'tool_use']
    assert [b['type'] for b in sent[3]['content']] == ['tool_use']      # no placeholder text for a text-less turn
    assert sent[3]['content'][0]['input'] == {'a': 3, 'b': 7}
