"""lexi.msgs: messages from text, media and lists; roles; prompt-cache checkpoints; what reaches providers."""
import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from litellm.types.utils import ChatCompletionMessageToolCall, Function, Message, ModelResponse

from lexi._util import get
from lexi.errors import UsageError
from lexi.msgs import (MAX_CACHE_CKPTS, add_cache_ckpt, count_cache_ckpts, limit_cache_ckpts, media_kinds, mk_msg,
                       mk_msgs, remove_cache_ckpts)
from lexi.tools import mk_tc, mk_tc_req, mk_tc_results

SAMPLES = Path(__file__).parent.parent / 'samples'
JPG, PNG, GIF = (SAMPLES / 'puppy.jpg').read_bytes(), (SAMPLES / 'sample.png').read_bytes(), (SAMPLES / 'sample.gif').read_bytes()
PDF, WAV, MP3 = (SAMPLES / 'solveit.pdf').read_bytes(), (SAMPLES / 'sample.wav').read_bytes(), (SAMPLES / 'sample.mp3').read_bytes()
WEBP = b'RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00'
EPH = {'type': 'ephemeral'}


def data_uri(mime, data): return f'data:{mime};base64,{base64.b64encode(data).decode()}'


# ---------------------------------------------------------------- mk_msg: text and roles

def test_text_becomes_a_user_message():
    assert mk_msg('hey') == {'role': 'user', 'content': 'hey'}
    assert mk_msg('hi', role='assistant') == {'role': 'assistant', 'content': 'hi'}


def test_a_list_holding_one_string_is_that_string():
    assert mk_msg(['hey']) == mk_msg('hey')


def test_a_bare_url_string_message_stays_text():
    assert mk_msg('https://github.com/some/repo') == {'role': 'user', 'content': 'https://github.com/some/repo'}


def test_a_url_in_a_list_is_media_alone_as_with_other_parts():
    alone, with_text = mk_msg(['https://example.com/a.jpg'])['content'], mk_msg(['https://example.com/a.jpg', 'What?'])['content']
    assert alone == [{'type': 'image_url', 'image_url': 'https://example.com/a.jpg'}] == with_text[:1]
    with pytest.raises(UsageError, match='extension'): mk_msg(['https://example.com/page'])


@pytest.mark.parametrize('data,mime', [(JPG, 'image/jpeg'), (PNG, 'image/png'), (GIF, 'image/gif'), (WEBP, 'image/webp')])
def test_image_bytes_become_a_data_uri_image_part(data, mime):
    msg = mk_msg(['What is this?', data])
    assert msg == {'role': 'user', 'content': [{'type': 'text', 'text': 'What is this?'},
                                               {'type': 'image_url', 'image_url': data_uri(mime, data)}]}


def test_pdf_bytes_become_a_file_part():
    assert mk_msg(['Who wrote this?', PDF])['content'][1] == {'type': 'file', 'file': {'file_data': data_uri('application/pdf', PDF)}}


@pytest.mark.parametrize('data,fmt', [(WAV, 'wav'), (MP3, 'mp3')])
def test_audio_bytes_become_an_input_audio_part(data, fmt):
    part = mk_msg(['Transcribe', data])['content'][1]
    assert part == {'type': 'input_audio', 'input_audio': {'data': base64.b64encode(data).decode(), 'format': fmt}}


def test_mp3_without_id3_tag_is_recognised_by_its_frame_header():
    frames = MP3[10:]  # the sample's ID3 header is 10 bytes
    assert mk_msg(frames)['content'][0]['input_audio']['format'] == 'mp3'


def test_bytes_alone_make_a_one_part_message():
    assert mk_msg(PNG) == {'role': 'user', 'content': [{'type': 'image_url', 'image_url': data_uri('image/png', PNG)}]}


def test_a_path_is_read_and_sniffed_like_its_bytes():
    assert mk_msg(['look', SAMPLES / 'puppy.jpg']) == mk_msg(['look', JPG])
    assert mk_msg(SAMPLES / 'solveit.pdf') == mk_msg(PDF)


def test_unknown_bytes_raise_usage_error_naming_accepted_kinds():
    with pytest.raises(UsageError) as e: mk_msg(['hi', b'\x00\x01not media at all'])
    assert all(k in str(e.value) for k in ('JPEG', 'PNG', 'PDF', 'WAV', 'MP3'))


def test_missing_file_raises_usage_error(tmp_path):
    with pytest.raises(UsageError, match='cannot read'): mk_msg(tmp_path / 'nope.png')


def test_a_text_file_path_says_to_pass_its_text(tmp_path):
    p = tmp_path / 'notes.txt'
    p.write_text('some notes')
    with pytest.raises(UsageError, match='read_text'): mk_msg(['read', p])


@pytest.mark.parametrize('url', ['https://example.com/cat.jpg', 'https://example.com/a/b.PNG?size=2', 'http://x.org/p.webp',
                                 'https://x.org/anim.gif'])
def test_image_url_in_a_multi_part_message_is_an_image_part(url):
    assert mk_msg(['What is this?', url])['content'][1] == {'type': 'image_url', 'image_url': url}


def test_pdf_url_is_a_file_part_by_reference():
    url = 'https://example.com/paper.pdf'
    assert mk_msg(['Summarise', url])['content'][1] == {'type': 'file', 'file': {'file_id': url}}


@pytest.mark.parametrize('url,mime', [('https://example.com/a.mp3', 'audio/mp3'), ('http://x.org/talk/b.WAV?t=3', 'audio/wav')])
def test_audio_url_is_a_file_part_naming_its_audio_type(url, mime):
    assert mk_msg(['Transcribe', url])['content'][1] == {'type': 'file', 'file': {'file_id': url, 'format': mime}}


def test_audio_url_counts_as_audio_not_as_a_file():
    assert media_kinds(mk_msg(['Transcribe', 'https://example.com/a.mp3'])) == {'audio'}
    assert media_kinds(mk_msg(['Both', 'https://example.com/a.wav', 'https://example.com/p.pdf'])) == {'audio', 'file'}


def test_url_of_unknown_kind_asks_for_bytes_or_path():
    with pytest.raises(UsageError, match='bytes or a Path'): mk_msg(['Read', 'https://example.com/page'])


def test_message_dicts_and_message_objects_pass_through():
    d = {'role': 'assistant', 'content': 'hi'}
    m = Message(content='yo', role='assistant')
    assert mk_msg(d) is d and mk_msg(d, role='user')['role'] == 'assistant'
    assert mk_msg(m) is m


def test_a_model_response_gives_its_message():
    r = ModelResponse(choices=[{'message': {'role': 'assistant', 'content': '1'}}])
    assert mk_msg(r).content == '1' and mk_msg(r).role == 'assistant'


def test_a_part_dict_alone_makes_a_one_part_message():
    part = {'type': 'text', 'text': 'hi'}
    assert mk_msg(part, role='assistant') == {'role': 'assistant', 'content': [part]}


def test_dict_without_role_or_type_raises():
    with pytest.raises(UsageError, match='role'): mk_msg({'content': 'hi'})


def test_a_message_inside_parts_raises():
    with pytest.raises(UsageError, match='whole message'): mk_msg(['hi', {'role': 'user', 'content': 'x'}])


def test_unsupported_content_type_raises():
    with pytest.raises(UsageError, match='int'): mk_msg(42)


# ---------------------------------------------------------------- empty text

def test_empty_text_message_becomes_a_single_space():
    assert mk_msg('') == {'role': 'user', 'content': ' '}
    assert mk_msg(['']) == {'role': 'user', 'content': ' '}


def test_blank_text_parts_are_dropped_from_multi_part_content():
    msg = mk_msg(['', 'What is this?', '  \n', PNG, ''])
    assert [p['type'] for p in msg['content']] == ['text', 'image_url']
    assert msg['content'][0]['text'] == 'What is this?'


def test_all_blank_parts_leave_a_single_space():
    assert mk_msg(['', ' \t'])['content'] == ' '


# ---------------------------------------------------------------- checkpoints on one message

def test_cache_puts_a_checkpoint_on_text_as_one_part():
    assert mk_msg('hey', cache=True) == {'role': 'user', 'content': [{'type': 'text', 'text': 'hey', 'cache_control': EPH}]}


def test_ttl_is_added_to_the_checkpoint():
    part = mk_msg('hey', cache=True, ttl='1h')['content'][0]
    assert part['cache_control'] == {'type': 'ephemeral', 'ttl': '1h'}


@pytest.mark.parametrize('ttl', ['10m', '1H', 5, ''])
def test_bad_ttl_raises(ttl):
    with pytest.raises(UsageError, match="'5m' or '1h'"): mk_msg('hey', cache=True, ttl=ttl)


def test_cache_on_multi_part_content_marks_only_the_last_part():
    msg = mk_msg(['look', PNG], cache=True)
    assert 'cache_control' not in msg['content'][0] and msg['content'][1]['cache_control'] == EPH


def test_cache_on_a_dict_returns_a_copy():
    d = {'role': 'user', 'content': 'hi'}
    msg = mk_msg(d, cache=True)
    assert d == {'role': 'user', 'content': 'hi'} and msg['content'][0]['cache_control'] == EPH


def test_remove_cache_ckpts_undoes_cache_on_text():
    assert remove_cache_ckpts(mk_msg('hey', cache=True)) == mk_msg('hey')


def test_remove_cache_ckpts_clears_every_place_without_changing_the_input():
    msg = {'role': 'assistant', 'cache_control': EPH,
           'content': [{'type': 'text', 'text': 'a', 'cache_control': EPH}, {'type': 'text', 'text': 'b', 'cache_control': EPH}],
           'tool_calls': [dict(mk_tc('f', '{}', tcid='t1'), cache_control=EPH)]}
    before = copy.deepcopy(msg)
    out = remove_cache_ckpts(msg)
    assert msg == before and count_cache_ckpts([out]) == 0
    assert out['content'] == [{'type': 'text', 'text': 'a'}, {'type': 'text', 'text': 'b'}]
    assert out['tool_calls'] == [mk_tc('f', '{}', tcid='t1')]


def test_remove_cache_ckpts_on_message_object():
    m = Message(content='x', role='assistant')
    m.content = [{'type': 'text', 'text': 'x', 'cache_control': EPH}]
    out = remove_cache_ckpts(m)
    assert out.content == 'x' and m.content[0]['cache_control'] == EPH


def test_add_cache_ckpt_leaves_exactly_one():
    msg = {'role': 'user', 'content': [{'type': 'text', 'text': 'a', 'cache_control': EPH}, {'type': 'text', 'text': 'b'}]}
    out = add_cache_ckpt(msg, ttl='5m')
    assert count_cache_ckpts([out]) == 1 and out['content'][1]['cache_control'] == {'type': 'ephemeral', 'ttl': '5m'}
    assert msg['content'][0]['cache_control'] == EPH  # input untouched


@pytest.mark.parametrize('content', ['', None])
def test_add_cache_ckpt_on_tool_call_message_marks_the_last_call(content):
    tcs = [mk_tc('f', '{}', tcid='t1'), mk_tc('g', '{}', tcid='t2')]
    out = add_cache_ckpt({'role': 'assistant', 'content': content, 'tool_calls': tcs})
    assert 'cache_control' not in out['tool_calls'][0] and out['tool_calls'][1]['cache_control'] == EPH
    assert out['content'] == content and 'cache_control' not in tcs[1]


def test_add_cache_ckpt_on_tool_call_message_with_text_marks_the_last_call():
    out = add_cache_ckpt(mk_tc_req('Let me add.', [mk_tc('f', '{}', tcid='t1')]))
    assert out.content == 'Let me add.' and out.tool_calls[0]['cache_control'] == EPH


def test_add_cache_ckpt_turns_tool_call_objects_into_dicts():
    tc = ChatCompletionMessageToolCall(id='t1', function=Function(name='f', arguments='{}'), type='function')
    out = add_cache_ckpt(Message(content=None, role='assistant', tool_calls=[tc]))
    assert out.tool_calls[0]['id'] == 't1' and out.tool_calls[0]['function']['name'] == 'f'
    assert out.tool_calls[0]['cache_control'] == EPH


def test_add_cache_ckpt_skips_a_trailing_thinking_block():
    msg = {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a'}, {'type': 'thinking', 'thinking': 't', 'signature': 's'}]}
    out = add_cache_ckpt(msg)
    assert out['content'][0]['cache_control'] == EPH and 'cache_control' not in out['content'][1]


def test_add_cache_ckpt_on_message_object_keeps_it_a_message():
    out = add_cache_ckpt(Message(content='.', role='assistant'))
    assert isinstance(out, Message) and out.content == [{'type': 'text', 'text': '.', 'cache_control': EPH}]


def test_count_and_limit_cache_ckpts_drop_the_oldest():
    msgs = [mk_msg(str(i), cache=True) for i in range(6)]
    assert count_cache_ckpts(msgs) == 6
    out = limit_cache_ckpts(msgs, 2)
    assert [count_cache_ckpts([m]) for m in out] == [0, 0, 0, 0, 1, 1]
    assert count_cache_ckpts(msgs) == 6  # input unchanged
    assert count_cache_ckpts(limit_cache_ckpts(msgs)) == 4


def test_limit_cache_ckpts_rejects_a_bad_n():
    with pytest.raises(UsageError): limit_cache_ckpts([], -1)


# ---------------------------------------------------------------- mk_msgs

CONVO = ['Hey!', 'Hi there!', 'How are you?', "I'm doing fine and you?"]


def test_mk_msgs_alternates_roles():
    assert mk_msgs(CONVO) == [{'role': 'user', 'content': 'Hey!'}, {'role': 'assistant', 'content': 'Hi there!'},
                              {'role': 'user', 'content': 'How are you?'},
                              {'role': 'assistant', 'content': "I'm doing fine and you?"}]


def test_mk_msgs_cache_marks_the_last_message():
    msgs = mk_msgs(CONVO, cache=True)
    assert msgs[:3] == mk_msgs(CONVO)[:3]
    assert msgs[3] == {'role': 'assistant', 'content': [{'type': 'text', 'text': "I'm doing fine and you?", 'cache_control': EPH}]}


def test_tool_messages_keep_their_place_and_do_not_count_for_alternation():
    msgs = mk_msgs(['Tell me the weather in Paris and Rome', 'Assistant calls weather tool two times',
                    {'role': 'tool', 'content': 'Weather in Paris is ...'}, {'role': 'tool', 'content': 'Weather in Rome is ...'},
                    'Assistant returns weather', 'Thanks!'])
    assert [m['role'] for m in msgs] == ['user', 'assistant', 'tool', 'tool', 'assistant', 'user']
    assert msgs[2] == {'role': 'tool', 'content': 'Weather in Paris is ...'}


def test_a_single_message_is_wrapped():
    assert mk_msgs('Hey') == [{'role': 'user', 'content': 'Hey'}]
    assert mk_msgs({'role': 'user', 'content': 'x'}) == [{'role': 'user', 'content': 'x'}]
    assert mk_msgs(PNG) == [mk_msg(PNG)]
    assert mk_msgs(None) == []


def test_a_nested_list_is_one_multi_part_message():
    msgs = mk_msgs([['Whats in this img?', JPG]])
    assert len(msgs) == 1 and [p['type'] for p in msgs[0]['content']] == ['text', 'image_url']


def tool_round(text, name, args, result, tcid):
    tcq = mk_tc_req(text, [mk_tc(name, json.dumps(args), tcid=tcid)])
    return [tcq, *mk_tc_results(tcq, [result])]


def test_cache_idxs_skip_tool_calls_and_results():
    hist = ['Hello!', 'Hi! How can I help you?', 'Call some functions!',
            *tool_round('Step one.', 'simple_add', {'a': 10, 'b': 5}, '15', 'toolu_1'),
            *tool_round('', 'multiply', {'a': 15, 'b': 3}, '45', 'toolu_2'), Message(content='.', role='assistant')]
    msgs = mk_msgs(hist, cache=True, cache_idxs=[0, -2, -1])
    marked = [i for i, m in enumerate(msgs) if count_cache_ckpts([m])]
    assert marked == [0, 2, len(msgs) - 1]
    assert msgs[-1].content == [{'type': 'text', 'text': '.', 'cache_control': EPH}]


def test_spec_example_with_formatted_output():
    from lexi import fmt
    outp = '''I'll add.

<details class='tool-usage-details'>

```json
{
  "id": "toolu_01KjnQH2Nsz2viQ7XYpLW3Ta",
  "call": { "function": "simple_add", "arguments": { "a": 10, "b": 5 } },
  "result": "15"
}
```

</details>

Done.'''
    msgs = mk_msgs(['Hello!', 'Hi! How can I help you?', 'Call some functions!', fmt.Formatted(outp)], cache=True, cache_idxs=[0, -2, -1])
    assert len(msgs) == 3 + len(fmt.fmt2hist(outp))
    assert [i for i, m in enumerate(msgs) if count_cache_ckpts([m])] == [0, 2, len(msgs) - 1]
    assert any(m.get('role') == 'tool' and m.get('content') == '15' for m in msgs if isinstance(m, dict))


def test_a_plain_string_holding_a_tool_block_stays_the_text_of_its_turn():
    outp = "<details class='tool-usage-details'>\n\n```json\n{\"id\": \"t1\", \"call\": {\"function\": \"rm\", \"arguments\": {}}, \"result\": \"ok\"}\n```\n\n</details>"
    msgs = mk_msgs(['Hi', 'Hello', outp, 'Sure'])
    assert [get(m, 'role') for m in msgs] == ['user', 'assistant', 'user', 'assistant']
    assert msgs[2]['content'] == outp and not any(get(m, 'tool_calls') for m in msgs)


def test_out_of_range_cache_idxs_are_ignored():
    msgs = mk_msgs(['only one'], cache=True, cache_idxs=[0, -3, 5])
    assert count_cache_ckpts(msgs) == 1


def test_more_than_four_cache_idxs_raise():
    with pytest.raises(UsageError, match='at most 4'): mk_msgs(CONVO * 2, cache=True, cache_idxs=[0, 1, 2, 3, -1])


def test_repeated_cache_idxs_count_once():
    msgs = mk_msgs(CONVO, cache=True, cache_idxs=[0, 0, -4, -1, -1])
    assert count_cache_ckpts(msgs) == 2


def test_pre_existing_checkpoints_count_and_the_oldest_go_first():
    old = [mk_msg(f'u{i}', cache=True) if i % 2 == 0 else mk_msg(f'a{i}', role='assistant', cache=True) for i in range(6)]
    msgs = mk_msgs(old + ['new'], cache=True, cache_idxs=[0, -1])
    marked = [i for i, m in enumerate(msgs) if count_cache_ckpts([m])]
    assert count_cache_ckpts(msgs) == MAX_CACHE_CKPTS
    assert marked == [0, 4, 5, 6]  # the new ones (0 and 6) stay, the newest old ones fill the rest


def test_pre_existing_checkpoints_alone_are_limited_to_four():
    msgs = mk_msgs([mk_msg(f'm{i}', role=('user', 'assistant')[i % 2], cache=True) for i in range(7)])
    assert [i for i, m in enumerate(msgs) if count_cache_ckpts([m])] == [3, 4, 5, 6]


def test_mk_msgs_returns_copies_and_leaves_input_alone():
    d = {'role': 'user', 'content': [{'type': 'text', 'text': 'hi', 'cache_control': EPH}]}
    tcq = mk_tc_req('', [mk_tc('f', '{}', tcid='t1')])
    hist = [d, tcq, {'tool_call_id': 't1', 'role': 'tool', 'name': 'f', 'content': 'x'}]
    before = copy.deepcopy(hist)
    msgs = mk_msgs(hist, cache=True)
    assert hist == before and msgs[0] is not d and msgs[0]['content'] is not d['content']
    assert tcq.content == '' and msgs[1] is not tcq


def test_mk_msgs_gives_blank_tool_call_requests_no_content():
    msgs = mk_msgs(['Add', mk_tc_req('', [mk_tc('f', '{}', tcid='t1')]), {'role': 'tool', 'tool_call_id': 't1', 'content': '1'}])
    assert msgs[1].content is None and msgs[1].tool_calls[0]['id'] == 't1'


def test_mk_msgs_fixes_empty_text_in_passed_dicts():
    msgs = mk_msgs([{'role': 'user', 'content': ''}, {'role': 'assistant', 'content': [{'type': 'text', 'text': ''},
                                                                                     {'type': 'text', 'text': 'ok'}]}])
    assert msgs == [{'role': 'user', 'content': ' '}, {'role': 'assistant', 'content': [{'type': 'text', 'text': 'ok'}]}]


def test_media_kinds_lists_what_a_request_carries():
    msgs = mk_msgs([['look', PNG], 'ok', ['and', WAV, PDF]])
    assert media_kinds(msgs) == {'image', 'audio', 'file'}
    assert media_kinds(mk_msgs(['just text'])) == set() and media_kinds(mk_msg(['x', JPG])) == {'image'}


# ---------------------------------------------------------------- properties

texts = st.text(max_size=5)
ckpt = st.sampled_from([None, EPH, {'type': 'ephemeral', 'ttl': '1h'}])


@st.composite
def a_message(draw):
    kind = draw(st.sampled_from(['str', 'user', 'parts', 'assistant', 'calls', 'tool', 'msgobj']))
    cc = draw(ckpt)
    extra = {} if cc is None else {'cache_control': cc}
    if kind == 'str': return draw(texts)
    if kind == 'user': return {'role': 'user', 'content': draw(texts), **extra}
    if kind == 'parts':
        parts = [{'type': 'text', 'text': draw(texts), **({} if draw(ckpt) is None else {'cache_control': EPH})}
                 for _ in range(draw(st.integers(0, 3)))]
        return {'role': 'user', 'content': parts}
    if kind == 'assistant': return {'role': 'assistant', 'content': draw(texts), **extra}
    if kind == 'calls':
        tcs = [dict(mk_tc('f', '{}', tcid=f't{j}'), **({} if draw(ckpt) is None else {'cache_control': EPH}))
               for j in range(draw(st.integers(1, 3)))]
        return {'role': 'assistant', 'content': draw(st.sampled_from(['', None, 'x'])), 'tool_calls': tcs}
    if kind == 'tool': return {'role': 'tool', 'tool_call_id': 't0', 'name': 'f', 'content': draw(texts), **extra}
    m = Message(content=draw(texts), role='assistant')
    if cc is not None: m.content = [{'type': 'text', 'text': 'x', 'cache_control': cc}]
    return m


histories = st.lists(a_message(), max_size=12)
idxs = st.lists(st.integers(-8, 8), max_size=4)


@settings(max_examples=300, deadline=None)
@given(histories, st.booleans(), idxs, st.sampled_from([None, '5m', '1h']))
def test_mk_msgs_never_returns_more_than_four_checkpoints(hist, cache, cache_idxs, ttl):
    assert count_cache_ckpts(mk_msgs(hist, cache=cache, cache_idxs=cache_idxs, ttl=ttl)) <= MAX_CACHE_CKPTS


@settings(max_examples=300, deadline=None)
@given(histories, st.booleans(), idxs)
def test_mk_msgs_never_mutates_its_input(hist, cache, cache_idxs):
    before = copy.deepcopy(hist)
    mk_msgs(hist, cache=cache, cache_idxs=cache_idxs)
    assert hist == before


@settings(max_examples=200, deadline=None)
@given(histories, idxs)
def test_requested_checkpoints_are_all_placed(hist, cache_idxs):
    msgs = mk_msgs(hist, cache=True, cache_idxs=cache_idxs)
    elig = [i for i, m in enumerate(msgs) if (m.get('role') if isinstance(m, dict) else m.role) != 'tool'
            and not (m.get('tool_calls') if isinstance(m, dict) else m.tool_calls)]
    wanted = {elig[k] for k in cache_idxs if -len(elig) <= k < len(elig)}
    assert all(count_cache_ckpts([msgs[i]]) == 1 for i in wanted)


IMPORT_CHECK = """
import sys, lexi.msgs, lexi.tools
def add(a: int, b: int = 0) -> int:
    "Add"
    return a + b
lexi.msgs.mk_msgs(['a', b'%PDF-1.4', ['b', b'GIF89a']], cache=True)
lexi.tools.lite_mk_func(add)
assert lexi.tools.call_tool({'id': '1', 'function': {'name': 'add', 'arguments': '{"a": 1}'}}, [add])['content'] == '1'
assert 'litellm' not in sys.modules, 'litellm was imported'
"""


def test_using_msgs_and_tools_does_not_import_litellm():
    subprocess.run([sys.executable, '-c', IMPORT_CHECK], check=True)


# ---------------------------------------------------------------- wire: what LiteLLM sends providers

ANTHROPIC, OPENAI, GEMINI = 'anthropic/claude-sonnet-4-5', 'openai/gpt-4o-audio-preview', 'gemini/gemini-2.5-flash'


def send(srv, provider, model, msgs):
    import litellm
    from lexi.testing import Reply
    srv.queue(Reply(text='ok'))
    litellm.completion(model, msgs, **srv.kwargs(provider))
    return srv.requests[-1].body


def cache_controls(body):
    "Every (path, cache_control) in a request body."
    found = []
    def walk(o, path):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == 'cache_control': found.append((path, v))
                else: walk(v, path + (k,))
        elif isinstance(o, list):
            for i, v in enumerate(o): walk(v, path + (i,))
    walk(body, ())
    return found


def test_wire_anthropic_cache_control_lands_on_text_and_tool_use(standin):
    tcq = add_cache_ckpt(mk_tc_req('', [mk_tc('simple_add', '{"a": 1, "b": 2}', tcid='toolu_abc')]), ttl='1h')
    hist = ['What is 1+2?', tcq, *mk_tc_results(tcq, ['3']), '3.', 'Thanks']
    body = send(standin, 'anthropic', ANTHROPIC, mk_msgs(hist, cache=True, cache_idxs=[0, -1]))
    msgs = body['messages']
    assert msgs[0]['content'] == [{'type': 'text', 'text': 'What is 1+2?', 'cache_control': EPH}]
    assert msgs[1] == {'role': 'assistant', 'content': [  # no text block at all for the blank content
        {'type': 'tool_use', 'id': 'toolu_abc', 'name': 'simple_add', 'input': {'a': 1, 'b': 2},
         'cache_control': {'type': 'ephemeral', 'ttl': '1h'}}]}
    assert msgs[-1]['content'][-1] == {'type': 'text', 'text': 'Thanks', 'cache_control': EPH}
    assert len(cache_controls(body)) == 3


def test_wire_anthropic_never_gets_more_than_four_checkpoints(standin):
    hist = [mk_msg(f'turn {i}', role=('user', 'assistant')[i % 2], cache=True) for i in range(9)]
    body = send(standin, 'anthropic', ANTHROPIC, mk_msgs(hist, cache=True))
    found = cache_controls(body)
    assert len(found) == 4 and found[-1][0][:2] == ('messages', len(body['messages']) - 1)


def test_wire_media_reaches_openai_in_its_format(standin):
    body = send(standin, 'openai', OPENAI, [mk_msg(['Describe', JPG, PDF, WAV])])
    parts = body['messages'][0]['content']
    assert parts[1] == {'type': 'image_url', 'image_url': {'url': data_uri('image/jpeg', JPG)}}
    assert parts[2]['type'] == 'file' and parts[2]['file']['file_data'] == data_uri('application/pdf', PDF)
    assert parts[3] == {'type': 'input_audio', 'input_audio': {'data': base64.b64encode(WAV).decode(), 'format': 'wav'}}


def test_wire_media_reaches_anthropic_as_base64_sources(standin):
    body = send(standin, 'anthropic', ANTHROPIC, [mk_msg(['Describe', PNG, PDF, MP3])])
    parts = body['messages'][0]['content']
    assert parts[1] == {'type': 'image', 'source': {'type': 'base64', 'media_type': 'image/png',
                                                    'data': base64.b64encode(PNG).decode()}}
    assert parts[2] == {'type': 'document', 'source': {'type': 'base64', 'media_type': 'application/pdf',
                                                       'data': base64.b64encode(PDF).decode()}}
    # Anthropic takes no audio: LiteLLM 1.106 silently leaves input_audio parts out of the request.
    assert len(parts) == 3


def test_wire_media_reaches_gemini_as_inline_data(standin):
    body = send(standin, 'gemini', GEMINI, [mk_msg(['Describe', GIF, PDF, MP3])])
    parts = body['contents'][0]['parts']
    assert parts[0] == {'text': 'Describe'}
    assert [p['inline_data']['mime_type'] for p in parts[1:]] == ['image/gif', 'application/pdf', 'audio/mp3']
    assert base64.b64decode(parts[1]['inline_data']['data']) == GIF


def test_wire_urls_reach_anthropic_and_openai_by_reference(standin):
    # (Gemini is left out: LiteLLM downloads URL media for Google AI Studio before sending.)
    msg = mk_msg(['Compare', 'https://example.com/cat.png', 'https://example.com/paper.pdf'])
    parts = send(standin, 'anthropic', ANTHROPIC, [msg])['messages'][0]['content']
    assert parts[1] == {'type': 'image', 'source': {'type': 'url', 'url': 'https://example.com/cat.png'}}
    assert parts[2] == {'type': 'document', 'source': {'type': 'url', 'url': 'https://example.com/paper.pdf'}}
    oparts = send(standin, 'openai', OPENAI, [mk_msg(['What?', 'https://example.com/cat.png'])])['messages'][0]['content']
    assert oparts[1] == {'type': 'image_url', 'image_url': {'url': 'https://example.com/cat.png'}}


@pytest.fixture
def audio_host(monkeypatch):
    """A second loopback HTTP server serving samples/, standing in for a public host of audio files.
    LiteLLM refuses to fetch loopback URLs unless its documented `user_url_allowed_hosts` setting
    lists the host, so the test allows exactly this one (restored afterwards)."""
    import functools, http.server, threading
    import litellm

    hits = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(SAMPLES)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    host = f'127.0.0.1:{srv.server_address[1]}'
    monkeypatch.setattr(litellm, 'user_url_allowed_hosts', [host])
    yield f'http://{host}', hits
    srv.shutdown(); srv.server_close(); t.join()


@pytest.mark.parametrize('name,data,mime', [('sample.mp3', MP3, 'audio/mp3'), ('sample.wav', WAV, 'audio/wav')])
def test_wire_audio_url_reaches_gemini_as_inline_audio(standin, audio_host, name, data, mime):
    # Google AI Studio: LiteLLM fetches the URL while building the request; mk_msg fetched nothing.
    base, hits = audio_host
    msg = mk_msg(['Transcribe', f'{base}/{name}'])
    assert msg['content'][1]['file'] == {'file_id': f'{base}/{name}', 'format': mime} and hits == []
    parts = send(standin, 'gemini', GEMINI, mk_msgs([msg]))['contents'][0]['parts']
    assert hits == [f'/{name}']
    assert parts[1]['inline_data']['mime_type'] == mime
    assert base64.b64decode(parts[1]['inline_data']['data']) == data


def test_audio_url_reaches_vertex_gemini_as_file_data_without_a_fetch():
    # Vertex AI: LiteLLM passes an https URL through as Gemini file_data (pure conversion, nothing fetched).
    from litellm.llms.vertex_ai.gemini.transformation import gemini_convert_messages_with_history
    url = 'https://example.com/talk.mp3'
    contents = gemini_convert_messages_with_history(messages=mk_msgs([['Transcribe', url]]), model='gemini-2.5-flash')
    assert contents[0]['parts'][1] == {'file_data': {'mime_type': 'audio/mp3', 'file_uri': url}}


def test_wire_gemini_gets_no_empty_text_parts(standin):
    hist = ['', mk_tc_req('', [mk_tc('f', '{}', tcid='t1')]), {'role': 'tool', 'tool_call_id': 't1', 'name': 'f', 'content': '1'},
            {'role': 'assistant', 'content': ''}, ['', 'next']]
    body = send(standin, 'gemini', GEMINI, mk_msgs(hist))
    texts = [p['text'] for c in body['contents'] for p in c['parts'] if 'text' in p]
    assert texts and all(t != '' for t in texts)


@pytest.mark.parametrize('bad', [5, 2.5, object()])
def test_a_history_that_is_no_list_of_messages_is_a_usage_error(bad):
    from lexi import Chat
    with pytest.raises(UsageError, match='list of messages'): mk_msgs(bad)
    with pytest.raises(UsageError, match='list of messages'): Chat('openai/gpt-4.1', hist=bad)
