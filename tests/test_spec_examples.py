"""Every example of spec/lisette-core.txt, in document order, run against lexi.

Real models are replaced by lexi's provider stand-in (the `standin` fixture): each test queues
the replies the document shows, and asserts what the document shows lexi producing (messages,
schemas, histories, formatted output, what went on the wire). Where lexi deliberately differs from
the document (a fixed bug), the assertion follows lexi and a comment names the difference; where
lexi differs for any other reason, the test asserts the document and is marked xfail.
"""
import asyncio
import json
import re
from pathlib import Path

from lexi._portable import OPENING

import litellm
import pytest
from fastcore.basics import chunked
from fastcore.xtras import SaveReturn
from litellm import ModelResponse, ModelResponseStream
from litellm.types.utils import (ChatCompletionMessageToolCall, Choices, Delta, Function, Message, StreamingChoices,
                                 Usage)

from lexi import (FINAL_PROMPT, AsyncChat, AsyncStreamFormatter, Chat, ToolResponse, adisplay_stream, call_tool,
                  cite_footnotes, citations, delta_text, fmt2hist, lite_mk_func, mk_msg, mk_msgs, mk_ns, mk_tc,
                  mk_tc_req, mk_tc_result, mk_tc_results, mk_tr_details, patch_litellm, random_tool_id, re_tools,
                  remove_cache_ckpts, render_response, stream_with_complete)
from lexi.testing import Citation, Cited, Reply, ToolCall
from lexi.fmt import Formatted

SAMPLES = Path(__file__).parent.parent / 'samples'
IMG = (SAMPLES / 'puppy.jpg').read_bytes()
PDF = (SAMPLES / 'solveit.pdf').read_bytes()

MODEL = 'anthropic/claude-sonnet-4-5'     # the document's `model` (ms[1])
DATED = 'claude-sonnet-4-5-20250929'      # the name Anthropic answers with
GEMINI, OPENAI = 'gemini/gemini-2.5-flash', 'openai/gpt-4.1'
MS = [(GEMINI, 'gemini', 'gemini-2.5-flash'), (MODEL, 'anthropic', DATED), (OPENAI, 'openai', 'gpt-4.1-2025-04-14')]
OTTER = Citation('https://en.wikipedia.org/wiki/Otter', 'Otter - Wikipedia',
                 'Otters are carnivorous mammals in the subfamily Lutrinae. ')
OTTER_LINK = '[*](https://en.wikipedia.org/wiki/Otter "Otter - Wikipedia") '


def simple_add(
    a: int,    # first operand
    b: int=0   # second operand
) -> int:
    "Add two numbers together"
    return a + b


def multiply(a: int, b: int) -> int:
    "Multiply two numbers"
    return a * b


def divide(a: int, b: int) -> float:
    "Divide two numbers"
    return a / b


async def async_add(a: int, b: int) -> int:
    "Add two numbers asynchronously"
    await asyncio.sleep(0.1)
    return a + b


def c(srv, msgs, **kw):
    "The document's shortcut: one LiteLLM completion with `model`."
    msgs = [msgs] if isinstance(msgs, dict) else list(msgs)
    return litellm.completion(MODEL, msgs, **srv.kwargs('anthropic'), **kw)


def mk_chat(srv, cls=Chat, model=MODEL, provider='anthropic', **kw):
    return cls(model, **kw, **srv.kwargs(provider))


def text_of(r): return r.choices[0].message.content


def sent(srv, i=-1):
    "The messages of a recorded Anthropic request."
    return srv.requests[i].body['messages']


def blocks(m, kind):
    "The content blocks of one sent Anthropic message of type `kind`."
    return [b for b in m['content'] if b['type'] == kind] if isinstance(m['content'], list) else []


def _get(o, k): return o[k] if isinstance(o, dict) else getattr(o, k)


def shape(m):
    "A message as plain data: dicts as they are; Messages as role, content and (id, name, parsed arguments) per call."
    if isinstance(m, dict): return m
    calls = [(_get(tc, 'id'), _get(_get(tc, 'function'), 'name'), json.loads(_get(_get(tc, 'function'), 'arguments')))
             for tc in m.tool_calls or []]
    return {'role': m.role, 'content': m.content, 'tool_calls': calls}


def stream_text(items):
    return ''.join(delta_text(o) or '' for o in items if isinstance(o, ModelResponseStream))


# ------------------------------------------------------------------ LiteLLM: deterministic outputs

def test_patch_litellm_fixes_ids_across_providers(standin):
    msg = [{'role': 'user', 'content': 'Hey there!', 'cache_control': {'type': 'ephemeral'}}]
    with patch_litellm():
        for m, provider, served in MS:
            standin.queue(Reply(text='Hello! How can I help you today?', model=served))
            r = litellm.completion(m, msg, **standin.kwargs(provider))
            assert (r.id, r.model, r.choices[0].finish_reason) == ('chatcmpl-xxx', served, 'stop')
            md = render_response(r)
            assert md.startswith('Hello! How can I help you today?')
            assert '- id: `chatcmpl-xxx`' in md and f'- model: `{served}`' in md and '- finish_reason: `stop`' in md
        standin.queue(Reply(text='Hi!'))
        cap = stream_with_complete(litellm.completion(MODEL, msg, stream=True, **standin.kwargs('anthropic')))
        assert [o for o in cap] and cap.value.id == 'chatcmpl-xxx'
    assert [r.provider for r in standin.requests] == ['gemini', 'anthropic', 'openai', 'anthropic']
    # the message-level cache_control reaches Anthropic as a checkpoint on the text block
    assert standin.requests[1].body['messages'][0]['content'][0]['cache_control'] == {'type': 'ephemeral'}


# ------------------------------------------------------------------ Messages formatting

def test_mk_msg_text_and_the_c_shortcut(standin):
    msg = mk_msg("hey")
    assert msg == {'role': 'user', 'content': 'hey'}
    standin.queue(Reply(text='Hey! How’s it going? What’s on your mind?', model=DATED),
                  Reply(text='Hey! How’s it going? What’s on your mind?', model=DATED))
    res = litellm.completion(MODEL, [msg], **standin.kwargs('anthropic'))
    assert text_of(res) == 'Hey! How’s it going? What’s on your mind?' and res.model == DATED
    assert text_of(c(standin, msg)) == 'Hey! How’s it going? What’s on your mind?'
    assert sent(standin) == [{'role': 'user', 'content': [{'type': 'text', 'text': 'hey'}]}]


def test_one_string_list_is_flattened():
    assert mk_msg("hey") == mk_msg(["hey"])


def test_mk_msg_text_and_image(standin):
    msg = mk_msg(['hey what in this image?', IMG])
    assert json.dumps(msg, indent=1).startswith(
        '{\n "role": "user",\n "content": [\n  {\n   "type": "text",\n   "text": "hey what in this image?"\n  },\n'
        '  {\n   "type": "image_url",\n   "image_url": "')
    assert msg['content'][1]['image_url'].startswith('data:image/jpeg;base64,')
    standin.queue(Reply(text='This image shows an adorable Cavalier King Charles Spaniel puppy!'))
    assert 'puppy' in text_of(c(standin, msg))
    img = blocks(sent(standin)[0], 'image')[0]
    assert img['source']['type'] == 'base64' and img['source']['media_type'] == 'image/jpeg'


def test_mk_msg_pdf(standin):
    msg = mk_msg(['Who is the author of this pdf?', PDF])
    assert msg['content'][1]['type'] == 'file'
    standin.queue(Reply(text='The author of this PDF is Jeremy Howard from fast.ai.'))
    assert text_of(c(standin, msg)).startswith('The author of this PDF is Jeremy Howard')
    doc = blocks(sent(standin)[0], 'document')[0]
    assert doc['source']['media_type'] == 'application/pdf'


# ------------------------------------------------------------------ Caching

def cpr(i): return f'{i} ' * 1024 + 'This is a caching test. Report back only what number you see repeated above.'


def test_cache_checkpoints_and_cached_usage(standin):
    msg = mk_msg(cpr(1), cache=True)
    assert msg == {'role': 'user', 'content': [{'type': 'text', 'text': cpr(1), 'cache_control': {'type': 'ephemeral'}}]}
    standin.queue(Reply(text='1', usage=dict(input=2073, cache_write=2070)))
    res = c(standin, msg)
    assert text_of(res) == '1'
    assert (res.usage.cache_creation_input_tokens, res.usage.cache_read_input_tokens) == (2070, 0)
    assert blocks(sent(standin)[0], 'text')[-1]['cache_control'] == {'type': 'ephemeral'}
    # at most 4 checkpoints: remove the previous one as we go
    assert remove_cache_ckpts(msg) == {'role': 'user', 'content': cpr(1)}
    standin.queue(Reply(text='2', usage=dict(input=4147, cache_read=2070, cache_write=2074)))
    res = c(standin, [remove_cache_ckpts(msg), mk_msg(res), mk_msg(cpr(2), cache=True)])
    assert text_of(res) == '2'
    assert res.usage.prompt_tokens_details.cached_tokens == 2070
    assert (res.usage.cache_read_input_tokens, res.usage.cache_creation_input_tokens) == (2070, 2074)
    roles_ckpts = [(m['role'], ['cache_control' in b for b in m['content']]) for m in sent(standin)]
    assert roles_ckpts == [('user', [False]), ('assistant', [False]), ('user', [True])]
    assert blocks(sent(standin)[1], 'text')[0]['text'] == '1'


# ------------------------------------------------------------------ Reconstructing formatted outputs

BLOCK1 = ('<details class=\'tool-usage-details\'>\n\n```json\n{\n "id": "toolu_01KjnQH2Nsz2viQ7XYpLW3Ta",\n'
          ' "call": { "function": "simple_add", "arguments": { "a": 10, "b": 5 } },\n "result": "15"\n}\n```\n\n</details>')
BLOCK2 = ('<details class=\'tool-usage-details\'>\n\n```json\n{\n "id": "toolu_01Koi2EZrGZsBbnQ13wuuvzY",\n'
          ' "call": { "function": "simple_add", "arguments": { "a": 2, "b": 1 } },\n "result": "3"\n}\n```\n\n</details>')
BLOCK3 = ('<details class=\'tool-usage-details\'>\n\n```json\n{\n "id": "toolu_0141NRaWUjmGtwxZjWkyiq6C",\n'
          ' "call": { "function": "multiply", "arguments": { "a": 15, "b": 3 } },\n "result": "45"\n}\n```\n\n</details>')
TEXT1 = "I'll solve this step-by-step, using parallel calls where possible."
TEXT3 = 'Now I need to multiply 15 * 3 before I can do the final division:'
fmt_outp = f'\n{TEXT1}\n\n{BLOCK1}\n\n{BLOCK2}\n\n{TEXT3}\n\n{BLOCK3}\n'


def _json_of(block): return block[block.index('{'):block.rindex('}') + 1]


def test_re_tools_splits_into_text_block_json():
    sp = re_tools.split(fmt_outp)
    assert list(chunked(sp, 3, pad=True)) == [
        [f'\n{TEXT1}\n\n', BLOCK1, _json_of(BLOCK1)],
        ['\n\n', BLOCK2, _json_of(BLOCK2)],
        [f'\n\n{TEXT3}\n\n', BLOCK3, _json_of(BLOCK3)],
        ['\n', None, None]]


FMT_HIST = [  # fmt2hist(fmt_outp), as lexi builds it
    {'role': 'assistant', 'content': TEXT1,
     'tool_calls': [('toolu_01KjnQH2Nsz2viQ7XYpLW3Ta', 'simple_add', {'a': 10, 'b': 5}),
                    ('toolu_01Koi2EZrGZsBbnQ13wuuvzY', 'simple_add', {'a': 2, 'b': 1})]},
    {'tool_call_id': 'toolu_01KjnQH2Nsz2viQ7XYpLW3Ta', 'role': 'tool', 'name': 'simple_add', 'content': '15'},
    {'tool_call_id': 'toolu_01Koi2EZrGZsBbnQ13wuuvzY', 'role': 'tool', 'name': 'simple_add', 'content': '3'},
    {'role': 'assistant', 'content': TEXT3, 'tool_calls': [('toolu_0141NRaWUjmGtwxZjWkyiq6C', 'multiply', {'a': 15, 'b': 3})]},
    {'tool_call_id': 'toolu_0141NRaWUjmGtwxZjWkyiq6C', 'role': 'tool', 'name': 'multiply', 'content': '45'}]


def test_fmt2hist_turns_formatted_output_into_history():
    h = fmt2hist(fmt_outp)
    # lexi: the two blocks with no text between them are ONE assistant turn with two parallel calls, and
    # there is no trailing '.' message (lisette made two turns, the second with content '', and added '.')
    assert [shape(m) for m in h] == FMT_HIST
    assert h[0].tool_calls[0].function.arguments == '{"a":10,"b":5}'   # compact JSON, as the document shows
    assert all(isinstance(m, Message) for m in (h[0], h[3]))


# ------------------------------------------------------------------ mk_msgs

def test_mk_msgs_whole_conversation():
    assert mk_msgs(['Hey!', "Hi there!", "How are you?", "I'm doing fine and you?"]) == [
        {'role': 'user', 'content': 'Hey!'}, {'role': 'assistant', 'content': 'Hi there!'},
        {'role': 'user', 'content': 'How are you?'}, {'role': 'assistant', 'content': "I'm doing fine and you?"}]


def test_mk_msgs_caches_the_last_message_by_default():
    msgs = mk_msgs(['Hey!', "Hi there!", "How are you?", "I'm doing fine and you?"], cache=True)
    assert msgs == [
        {'role': 'user', 'content': 'Hey!'}, {'role': 'assistant', 'content': 'Hi there!'},
        {'role': 'user', 'content': 'How are you?'},
        {'role': 'assistant', 'content': [{'type': 'text', 'text': "I'm doing fine and you?",
                                           'cache_control': {'type': 'ephemeral'}}]}]
    assert 'cache_control' in msgs[-1]['content'][0]


def test_mk_msgs_cache_idxs_skip_tool_calls_and_results():
    # lexi: formatted output expands when it is marked as lexi's (Formatted, as hist2fmt and StreamFormatter.outp
    # return it); a plain str is text, so text a person or a model wrote never becomes tool calls.
    msgs = mk_msgs(['Hello!', 'Hi! How can I help you?', 'Call some functions!', Formatted(fmt_outp)], cache=True, cache_idxs=[0, -2, -1])
    cc = {'type': 'ephemeral'}
    # lexi: fmt2hist adds no trailing '.' message, so the cacheable messages are the first three and
    # cache_idxs [0,-2,-1] mark all three (lisette's -1 was the '.' it had added after the last tool result)
    assert msgs[:3] == [
        {'role': 'user', 'content': [{'type': 'text', 'text': 'Hello!', 'cache_control': cc}]},
        {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Hi! How can I help you?', 'cache_control': cc}]},
        {'role': 'user', 'content': [{'type': 'text', 'text': 'Call some functions!', 'cache_control': cc}]}]
    assert [shape(m) for m in msgs[3:]] == FMT_HIST      # tool calls and results carry no checkpoint
    assert 'cache_control' in msgs[0]['content'][0]
    assert 'cache_control' in msgs[2]['content'][0]      # shifted idxs to skip tools


def test_mk_msgs_infers_roles_around_tool_messages():
    msgs = mk_msgs(['Tell me the weather in Paris and Rome', 'Assistant calls weather tool two times',
                    {'role': 'tool', 'content': 'Weather in Paris is ...'},
                    {'role': 'tool', 'content': 'Weather in Rome is ...'},
                    'Assistant returns weather', 'Thanks!'])
    assert msgs == [{'role': 'user', 'content': 'Tell me the weather in Paris and Rome'},
                    {'role': 'assistant', 'content': 'Assistant calls weather tool two times'},
                    {'role': 'tool', 'content': 'Weather in Paris is ...'},
                    {'role': 'tool', 'content': 'Weather in Rome is ...'},
                    {'role': 'assistant', 'content': 'Assistant returns weather'},
                    {'role': 'user', 'content': 'Thanks!'}]


def test_mk_msgs_wraps_a_single_prompt_and_nested_parts():
    assert mk_msgs("Hey") == [{'role': 'user', 'content': 'Hey'}]
    assert mk_msgs(['Hey!', "Hi there!", "How are you?", "I'm fine, you?"]) == [
        {'role': 'user', 'content': 'Hey!'}, {'role': 'assistant', 'content': 'Hi there!'},
        {'role': 'user', 'content': 'How are you?'}, {'role': 'assistant', 'content': "I'm fine, you?"}]
    msgs = mk_msgs([['Whats in this img?', IMG]])
    assert json.dumps(msgs, indent=1).startswith(
        '[\n {\n  "role": "user",\n  "content": [\n   {\n    "type": "text",\n    "text": "Whats in this img?"\n   },\n'
        '   {\n    "type": "image_url",\n    "image_url": "')
    assert len(msgs) == 1


# ------------------------------------------------------------------ Streaming

def test_stream_with_complete_and_save_return(standin):
    text = "Hey! How's it going? 😊 What can I help you with today?"
    standin.queue(Reply(text=text, model=DATED))
    r = c(standin, mk_msgs("Hey!"), stream=True)
    r2 = SaveReturn(stream_with_complete(r))
    printed = ''.join(o.choices[0].delta.content or '' for o in r2)
    assert printed == text
    assert text_of(r2.value) == text and r2.value.choices[0].finish_reason == 'stop'
    assert r2.value.model == DATED   # lexi: a streamed reply names the provider's dated model (lisette: 'claude-sonnet-4-5')
    assert r2.value.usage.completion_tokens > 0


# ------------------------------------------------------------------ Tools

TMSG = ("What is 5478954793+547982745? How about 5479749754+9875438979? Always use tools for calculations, and describe "
        "what you'll do before using a tool. Where multiple tool calls are required, do them in a single response where possible. ")
BIG = [ToolCall('simple_add', {'a': 5478954793, 'b': 547982745}, id='toolu_01KATe5b5tmd4tK5D9BUZE5S'),
       ToolCall('simple_add', {'a': 5479749754, 'b': 9875438979}, id='toolu_01E4WQj8RkQj8Z7QLJ6ireTe')]


def test_lite_mk_func_schema():
    assert lite_mk_func(simple_add) == {
        'type': 'function',
        'function': {'name': 'simple_add',
                     'description': 'Add two numbers together\n\nReturns:\n- type: integer',
                     'parameters': {'type': 'object',
                                    'properties': {'a': {'type': 'integer', 'description': 'first operand'},
                                                   'b': {'type': 'integer', 'description': 'second operand', 'default': 0}},
                                    'required': ['a']}}}


def test_parallel_tool_calls_display_and_run(standin):
    toolsc = lite_mk_func(simple_add)
    intro = "I'll help you calculate both of those sums using the addition tool."
    standin.queue(Reply(text=intro, tool_calls=BIG, model=DATED))
    r = c(standin, mk_msg(TMSG), tools=[toolsc])
    md = render_response(r)
    assert md.startswith(intro + '\n\n🔧 simple_add({"a": 5478954793, "b": 547982745})\n\n'
                                 '🔧 simple_add({"a": 5479749754, "b": 9875438979})')
    assert '- finish_reason: `tool_calls`' in md and f'- model: `{DATED}`' in md
    assert standin.requests[-1].body['tools'][0]['name'] == 'simple_add'
    assert ToolResponse(['a']).content == ['a']
    tcs = [call_tool(o, mk_ns([simple_add])) for o in r.choices[0].message.tool_calls]
    assert tcs == [{'tool_call_id': 'toolu_01KATe5b5tmd4tK5D9BUZE5S', 'role': 'tool', 'name': 'simple_add', 'content': '6026937538'},
                   {'tool_call_id': 'toolu_01E4WQj8RkQj8Z7QLJ6ireTe', 'role': 'tool', 'name': 'simple_add', 'content': '15355188733'}]


def test_delta_text_while_streaming_tool_calls(standin):
    intro = "I'll help you calculate those two sums using the addition tool."
    standin.queue(Reply(text=intro, tool_calls=BIG))
    r = c(standin, mk_msg(TMSG), stream=True, tools=[lite_mk_func(simple_add)])
    r2 = SaveReturn(stream_with_complete(r))
    assert ''.join(delta_text(o) or '' for o in r2) == intro + '\n🔧 simple_add\n\n🔧 simple_add\n'
    msg = r2.value.choices[0].message
    assert msg.content == intro and r2.value.choices[0].finish_reason == 'tool_calls'
    assert [(tc.function.name, json.loads(tc.function.arguments)) for tc in msg.tool_calls] == [
        ('simple_add', {'a': 5478954793, 'b': 547982745}), ('simple_add', {'a': 5479749754, 'b': 9875438979})]


def test_delta_text_marks_reasoning_then_text(standin):
    answer = "# Derivative Solution\n\n**f'(x) = 3x² + 4x - 5**"
    standin.queue(Reply(thinking='Apply the power rule to each term: 3x^2, 4x, -5, 0.', text=answer))
    msg = mk_msg("Solve this complex math problem: What is the derivative of x^3 + 2x^2 - 5x + 1?")
    r2 = SaveReturn(stream_with_complete(c(standin, msg, stream=True, reasoning_effort="low")))
    printed = ''.join(delta_text(o) or '' for o in r2)
    assert re.fullmatch('(🧠)+\n\n' + re.escape(answer), printed)
    assert text_of(r2.value) == answer and r2.value.choices[0].finish_reason == 'stop'
    assert r2.value.usage.completion_tokens_details.reasoning_tokens > 0
    assert standin.requests[-1].body['thinking']['type'] == 'enabled'


# ------------------------------------------------------------------ Search and citations

def test_has_search_per_model():
    from lexi._caps import has_search   # the document's private _has_search
    # lexi trusts LiteLLM's model map, which (in 1.106) lists web search for openai/gpt-4.1; the document's
    # older map said False. A model the map does not list as searching is refused (see test_chat_wire).
    assert [(m, has_search(m)) for m, _, _ in MS] == [(GEMINI, True), (MODEL, True), (OPENAI, True)]
    assert has_search('openai/o3-mini') is False


SMSG = "Search the web and tell me very briefly about otters"
OTTERS = [Cited('Otters are carnivorous mammals in the subfamily Lutrinae.', [OTTER]),
          ' They are found on every continent except Australia and Antarctica.']


def test_search_citations_in_provider_specific_fields(standin):
    standin.queue(Reply(text=OTTERS, search=['otters'], model=DATED))
    r = c(standin, mk_msg(SMSG), web_search_options={"search_context_size": "low"})
    assert text_of(r) == ('Otters are carnivorous mammals in the subfamily Lutrinae. They are found on every continent '
                          'except Australia and Antarctica.')
    assert r.usage.server_tool_use.web_search_requests == 1
    cit = r.choices[0].message.provider_specific_fields['citations'][0]
    assert [{k: d[k] for k in ('type', 'cited_text', 'url', 'title')} for d in cit] == [
        {'type': 'web_search_result_location', 'cited_text': 'Otters are carnivorous mammals in the subfamily Lutrinae. ',
         'url': 'https://en.wikipedia.org/wiki/Otter', 'title': 'Otter - Wikipedia'}]
    assert cit[0]['encrypted_index']
    assert [(d['url'], d['title']) for d in citations(r)] == [('https://en.wikipedia.org/wiki/Otter', 'Otter - Wikipedia')]
    assert standin.requests[-1].body['tools'][0]['name'] == 'web_search'


def test_search_response_displays_without_a_tool_line(standin):
    standin.queue(Reply(text=OTTERS, search=['otters'], model=DATED))
    r = c(standin, mk_msg(SMSG), web_search_options={"search_context_size": "low"})
    assert '🔧' not in render_response(r)


def test_cite_footnotes_in_a_stream(standin):
    standin.queue(Reply(text=['Otters are ', Cited('charismatic members of the weasel family.', [OTTER]),
                              ' All otters are expert hunters.'], search=['otters']))
    r = list(c(standin, mk_msg(SMSG), stream=True, web_search_options={"search_context_size": "low"}))
    cite_footnotes(r)
    built = litellm.stream_chunk_builder(r)
    assert text_of(built) == f'Otters are {OTTER_LINK}charismatic members of the weasel family. All otters are expert hunters.'
    assert cite_footnotes(r) and text_of(litellm.stream_chunk_builder(r)) == text_of(built)   # idempotent


# ------------------------------------------------------------------ Chat: history tracking

def test_chat_keeps_history_and_continues_from_it(standin):
    standin.queue(Reply(text='Hey Rens! Nice to meet you. How can I help you today?', model=DATED),
                  Reply(text='Your name is Rens! You told me that when you introduced yourself.', model=DATED),
                  Reply(text='Your name is Rens! You’ve asked me a couple times now.', model=DATED))
    chat = mk_chat(standin)
    res = chat("Hey my name is Rens")
    assert text_of(res) == 'Hey Rens! Nice to meet you. How can I help you today?' and res.model == DATED
    assert text_of(chat("Whats my name")).startswith('Your name is Rens!')
    assert [shape(m) for m in chat.hist] == [
        {'role': 'user', 'content': 'Hey my name is Rens'},
        {'role': 'assistant', 'content': 'Hey Rens! Nice to meet you. How can I help you today?', 'tool_calls': []},
        {'role': 'user', 'content': 'Whats my name'},
        {'role': 'assistant', 'content': 'Your name is Rens! You told me that when you introduced yourself.', 'tool_calls': []}]
    assert 'temperature' not in standin.requests[-1].body   # lexi: Chat's default temp is None, not sent (lisette: 0)
    assert chat.cost > 0   # the document's `cost` property
    chat2 = mk_chat(standin, hist=chat.hist)
    assert text_of(chat2("What was my name again?")).startswith('Your name is Rens!')
    assert [(m['role'], blocks(m, 'text')[0]['text']) for m in sent(standin)] == [
        ('user', 'Hey my name is Rens'), ('assistant', 'Hey Rens! Nice to meet you. How can I help you today?'),
        ('user', 'Whats my name'), ('assistant', 'Your name is Rens! You told me that when you introduced yourself.'),
        ('user', 'What was my name again?')]
    assert len(chat.hist) == 4   # chat2 did not change chat's history


# ------------------------------------------------------------------ Chat: synthetic history

PR = "What is 5 + 7? Use the tool to calculate it."
TC_CTS = "I'll use the simple_add tool to calculate 5 + 7 for you."


def test_tool_loop_history_goes_from_the_tool_result_to_the_answer(standin, capsys):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 7}, id='toolu_012bi9eSyzhwaG3TgGpytJbc')]),
                  Reply(text='\n\nThe result of 5 + 7 is **12**.'))
    c_ = mk_chat(standin, tools=[simple_add])
    c_(PR)
    # lexi: max_steps defaults to 10, so one tool round does not reach the step limit (lisette's 2 sent
    # the final prompt here and kept it in hist, where it told later turns that tools were used up)
    assert [shape(m) for m in c_.hist] == [
        {'role': 'user', 'content': PR},
        {'role': 'assistant', 'content': None, 'tool_calls': [('toolu_012bi9eSyzhwaG3TgGpytJbc', 'simple_add', {'a': 5, 'b': 7})]},
        {'tool_call_id': 'toolu_012bi9eSyzhwaG3TgGpytJbc', 'role': 'tool', 'name': 'simple_add', 'content': '12'},
        {'role': 'assistant', 'content': '\n\nThe result of 5 + 7 is **12**.', 'tool_calls': []}]
    assert 'tool_choice' not in standin.requests[-1].body
    assert FINAL_PROMPT not in json.dumps(standin.requests[-1].body)
    # lexi: print_hist prints the readable transcript (who said what, each call with its result, usage), not the
    # raw reprs of the messages
    c_.print_hist()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ['🧑 user: What is 5 + 7? Use the tool to calculate it.', '   🔧 simple_add(a=5, b=7) → 12',
                         '🤖 assistant: The result of 5 + 7 is **12**.'] and lines[-1].startswith('── use: ')


def test_random_tool_id_and_mk_tc():
    assert re.fullmatch(r'toolu_[A-Za-z0-9]{25}', random_tool_id())
    assert random_tool_id() != random_tool_id()
    tc = mk_tc(simple_add.__name__, json.dumps(dict(a=5, b=7)))
    assert {k: v for k, v in tc.items() if k != 'id'} == {
        'index': 1, 'function': {'arguments': '{"a": 5, "b": 7}', 'name': 'simple_add'}, 'type': 'function'}
    assert list(tc) == ['index', 'function', 'id', 'type'] and re.fullmatch(r'toolu_[A-Za-z0-9]{25}', tc['id'])


def test_mk_tc_req_keeps_tool_calls_as_dicts():
    tc = mk_tc(simple_add.__name__, json.dumps(dict(a=5, b=7)))
    tcq = mk_tc_req(TC_CTS, [tc])
    assert isinstance(tcq, Message) and (tcq.role, tcq.content, tcq.function_call) == ('assistant', TC_CTS, None)
    assert tcq.tool_calls == [tc] and isinstance(tcq.tool_calls[0], dict)


def test_mk_tc_result_and_results():
    tc = mk_tc('simple_add', '{"a": 5, "b": 7}', tcid='toolu_gAL47D1qXIaSyZPaE1pu1lJo7')
    tcq = mk_tc_req(TC_CTS, [tc])
    assert tcq.tool_calls[0] == {'index': 1, 'function': {'arguments': '{"a": 5, "b": 7}', 'name': 'simple_add'},
                                 'id': 'toolu_gAL47D1qXIaSyZPaE1pu1lJo7', 'type': 'function'}
    expected = {'tool_call_id': 'toolu_gAL47D1qXIaSyZPaE1pu1lJo7', 'role': 'tool', 'name': 'simple_add', 'content': '12'}
    assert mk_tc_result(tcq.tool_calls[0], '12') == expected
    assert mk_tc_results(tcq, ['12']) == [expected]


@pytest.mark.parametrize('result,answer', [('12', 'The result of 5 + 7 is **12**.'), ('13', 'The result of 5 + 7 is 12.')])
def test_chat_from_synthetic_history_with_one_result(standin, capsys, result, answer):
    tc = mk_tc(simple_add.__name__, json.dumps(dict(a=5, b=7)))
    tcq = mk_tc_req(TC_CTS, [tc])
    c_ = mk_chat(standin, tools=[simple_add], hist=[PR, tcq])
    c_.print_hist()
    assert capsys.readouterr().out.splitlines()[:3] == [f'🧑 user: {PR}', f'🤖 assistant: {TC_CTS}',
                                                        '   🔧 simple_add(a=5, b=7) → (no result)']
    tcr = mk_tc_results(tcq, [result])
    assert tcr == [{'tool_call_id': tc['id'], 'role': 'tool', 'name': 'simple_add', 'content': result}]
    standin.queue(Reply(text=answer, model=DATED))
    assert text_of(c_(tcr[0])) == answer
    assert [shape(m) for m in c_.hist] == [
        {'role': 'user', 'content': PR},
        {'role': 'assistant', 'content': TC_CTS, 'tool_calls': [(tc['id'], 'simple_add', {'a': 5, 'b': 7})]},
        tcr[0], {'role': 'assistant', 'content': answer, 'tool_calls': []}]
    user, asst, results = sent(standin)
    assert blocks(asst, 'text')[0]['text'] == TC_CTS
    assert [(b['id'], b['name'], b['input']) for b in blocks(asst, 'tool_use')] == [(tc['id'], 'simple_add', {'a': 5, 'b': 7})]
    assert [(b['tool_use_id'], b['content']) for b in blocks(results, 'tool_result')] == [(tc['id'], result)]


def test_chat_from_synthetic_history_with_parallel_calls(standin):
    tcs = [mk_tc(simple_add.__name__, json.dumps({"a": 5, "b": 7})), mk_tc(simple_add.__name__, json.dumps({"a": 6, "b": 7}))]
    tcq = mk_tc_req("I will calculate these for you!", tcs)
    assert tcq.tool_calls == tcs and [t['index'] for t in tcq.tool_calls] == [1, 1]
    tcr = mk_tc_results(tcq, ['12', '13'])
    c_ = mk_chat(standin, tools=[simple_add], hist=[PR, tcq, tcr[0]])
    standin.queue(Reply(text='5 + 7 = **12**'))
    assert text_of(c_(tcr[1])) == '5 + 7 = **12**'
    assert [shape(m) for m in c_.hist] == [
        {'role': 'user', 'content': PR},
        {'role': 'assistant', 'content': 'I will calculate these for you!',
         'tool_calls': [(tcs[0]['id'], 'simple_add', {'a': 5, 'b': 7}), (tcs[1]['id'], 'simple_add', {'a': 6, 'b': 7})]},
        tcr[0], tcr[1], {'role': 'assistant', 'content': '5 + 7 = **12**', 'tool_calls': []}]
    user, asst, results = sent(standin)
    assert [b['id'] for b in blocks(asst, 'tool_use')] == [t['id'] for t in tcs]
    assert [(b['tool_use_id'], b['content']) for b in blocks(results, 'tool_result')] == [(tcs[0]['id'], '12'), (tcs[1]['id'], '13')]


def test_tool_result_then_a_follow_up_turn(standin):
    joke = "Here's a joke based on the number 8:\n\nWhy was 6 afraid of 7?\n\nBecause 7 8 (ate) 9!"
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3}, id='toolu_016dgFwdeaQXSwLPnJzufcWq')]),
                  Reply(text='\n\nThe result of 5 + 3 is **8**.'), Reply(text=joke))
    chat = mk_chat(standin, tools=[simple_add])
    assert text_of(chat("What's 5 + 3? Use the `simple_add` tool.")) == '\n\nThe result of 5 + 3 is **8**.'
    assert text_of(chat("Now, tell me a joke based on that result.")) == joke
    assert [shape(m) for m in chat.hist] == [
        {'role': 'user', 'content': "What's 5 + 3? Use the `simple_add` tool."},
        {'role': 'assistant', 'content': None, 'tool_calls': [('toolu_016dgFwdeaQXSwLPnJzufcWq', 'simple_add', {'a': 5, 'b': 3})]},
        {'tool_call_id': 'toolu_016dgFwdeaQXSwLPnJzufcWq', 'role': 'tool', 'name': 'simple_add', 'content': '8'},
        # lexi: no final prompt here (max_steps=10 by default; and a final prompt is never kept in hist)
        {'role': 'assistant', 'content': '\n\nThe result of 5 + 3 is **8**.', 'tool_calls': []},
        {'role': 'user', 'content': 'Now, tell me a joke based on that result.'},
        {'role': 'assistant', 'content': joke, 'tool_calls': []}]
    assert 'tool_choice' not in standin.requests[-1].body   # a new turn may use tools again


# ------------------------------------------------------------------ Chat: images, prefill, streaming

def test_chat_with_an_image(standin):
    standin.queue(Reply(text='This adorable image shows a Cavalier King Charles Spaniel puppy.'))
    chat = mk_chat(standin)
    assert 'puppy' in text_of(chat(['Whats in this img?', IMG]))
    assert [b['type'] for b in sent(standin)[0]['content']] == ['text', 'image']
    assert chat.hist[0]['content'][1]['image_url'].startswith('data:image/jpeg;base64,')


def test_prefill_is_kept_whole_in_history(standin):
    rest = " D A C T E D\n\nI don’t actually know your name - you haven’t told me what it is yet!"
    standin.queue(Reply(text=rest))
    chat = mk_chat(standin)
    res = chat("Spell my name", prefill="Your name is R E")
    assert text_of(res) == 'Your name is R E' + rest
    assert chat.hist[-1].content == 'Your name is R E' + rest and chat.hist[-1].role == 'assistant'
    assert sent(standin)[-1] == {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Your name is R E'}]}


def test_chat_streaming_with_and_without_prefill(standin):
    standin.queue(Reply(text='1, 2, 3, 4, 5', model=DATED), Reply(text=', 8, 9, 10'))
    chat = mk_chat(standin)
    items = list(chat("Count to 5", stream=True))
    assert isinstance(items[-1], ModelResponse) and all(isinstance(o, ModelResponseStream) for o in items[:-1])
    assert stream_text(items) == '1, 2, 3, 4, 5' and text_of(items[-1]) == '1, 2, 3, 4, 5'
    assert items[-1].model == DATED   # lexi: the provider's dated name (lisette showed 'claude-sonnet-4-5')
    assert items[-1].usage.total_tokens > 0
    items = list(chat("Continue counting to 10", "Okay! 6, 7", stream=True))
    assert stream_text(items) == 'Okay! 6, 7, 8, 9, 10' and text_of(items[-1]) == 'Okay! 6, 7, 8, 9, 10'
    assert chat.hist[-1].content == 'Okay! 6, 7, 8, 9, 10'
    assert sent(standin)[-1] == {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Okay! 6, 7'}]}


# ------------------------------------------------------------------ Chat: tool use

@pytest.mark.parametrize('model,provider,served', MS)
def test_tool_use_on_each_provider(standin, model, provider, served):
    answer = 'I used the simple_add tool with a=5 and b=3. The tool returned 8.\n\nTherefore, 5 + 3 = 8.'
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3})], model=served), Reply(text=answer, model=served))
    chat = mk_chat(standin, model=model, provider=provider, tools=[simple_add])
    res = chat("What's 5 + 3? Use the `simple_add` tool. Explain.")
    assert (text_of(res), res.model, res.choices[0].finish_reason) == (answer, served, 'stop')
    assert chat.hist[2]['content'] == '8' and chat.hist[2]['tool_call_id'] == chat.hist[1].tool_calls[0].id


def test_thinking_with_tool_use_returns_all(standin):
    standin.queue(Reply(thinking='The user wants 5 + 3; I will use simple_add.',
                        tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3}, id='toolu_01SY1R38L37vhWpgNgQz2B5h')], model=DATED),
                  Reply(text='5 + 3 = 8', model=DATED))
    chat = mk_chat(standin, tools=[simple_add])
    res = chat("What's 5 + 3?", think='l', return_all=True)
    assert [type(o) for o in res] == [ModelResponse, dict, ModelResponse]
    body = render_response(res[0]).split('\n\n<details>\n\n- id')[0]
    assert body.endswith('🔧 simple_add({"a": 5, "b": 3})')
    assert res[0].choices[0].finish_reason == 'tool_calls'
    assert res[0].usage.completion_tokens_details.reasoning_tokens > 0
    assert res[1] == {'tool_call_id': 'toolu_01SY1R38L37vhWpgNgQz2B5h', 'role': 'tool', 'name': 'simple_add', 'content': '8'}
    assert text_of(res[2]) == '5 + 3 = 8'
    assert all(r.body['thinking']['type'] == 'enabled' for r in standin.requests)
    thinking = blocks(sent(standin)[1], 'thinking')   # the thinking block goes back with its tool call
    assert [b['thinking'] for b in thinking] == ['The user wants 5 + 3; I will use simple_add.'] and thinking[0]['signature']


def test_chat_search_stream_puts_footnotes_in_the_text(standin):
    standin.queue(Reply(text=['Otters are ', Cited('charismatic members of the weasel family.', [OTTER]),
                              ' There are 13 species in total.'], search=['otters']))
    chat = mk_chat(standin)
    items = list(chat(SMSG, search='l', stream=True))
    final = f'Otters are {OTTER_LINK}charismatic members of the weasel family. There are 13 species in total.'
    assert text_of(items[-1]) == final and chat.hist[-1].content == final
    assert ''.join(o.choices[0].delta.content or '' for o in items[:-1] if o.choices) == final
    assert standin.requests[-1].body['tools'][0]['name'] == 'web_search'


def test_chat_search_stream_prints_only_the_answer(standin):
    standin.queue(Reply(text=['Otters are ', Cited('charismatic members of the weasel family.', [OTTER])], search=['otters']))
    items = list(mk_chat(standin)(SMSG, search='l', stream=True))
    assert stream_text(items) == f'Otters are {OTTER_LINK}charismatic members of the weasel family.'


def test_multi_step_tool_calls(standin):
    standin.queue(Reply(text='Step 1: First, let me calculate 5 + 3', tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3})]),
                  Reply(text="Step 2: Now I'll add 7 to that result (8 + 7)", tool_calls=[ToolCall('simple_add', {'a': 8, 'b': 7})]),
                  Reply(text="Step 3: Finally, I'll add 11 to that result (15 + 11)", tool_calls=[ToolCall('simple_add', {'a': 15, 'b': 11})]),
                  Reply(text='Answer: ((5 + 3) + 7) + 11 = 26'))
    chat = mk_chat(standin, tools=[simple_add])
    res = chat("What's ((5 + 3)+7)+11? Work step by step", return_all=True, max_steps=5)
    assert [type(o) for o in res] == [ModelResponse, dict] * 3 + [ModelResponse]
    assert [o['content'] for o in res if isinstance(o, dict)] == ['8', '15', '26']
    assert text_of(res[-1]) == 'Answer: ((5 + 3) + 7) + 11 = 26'
    assert render_response(res[0]).startswith('Step 1: First, let me calculate 5 + 3\n\n🔧 simple_add({"a": 5, "b": 3})')
    assert all('tool_choice' not in r.body for r in standin.requests)   # the steps never ran out


def test_parallel_tool_calls_on_openai(standin):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3}), ToolCall('simple_add', {'a': 7, 'b': 2})],
                        model='gpt-4.1-2025-04-14'),
                  Reply(tool_calls=[ToolCall('multiply', {'a': 8, 'b': 9})], model='gpt-4.1-2025-04-14'),
                  Reply(text='(5 + 3) = 8 and (7 + 2) = 9. Multiplying them gives: 8 × 9 = 72.', model='gpt-4.1-2025-04-14'))
    chat = mk_chat(standin, model=OPENAI, provider='openai', tools=[simple_add, multiply])
    res = chat("Calculate (5 + 3) * (7 + 2)", max_steps=5, return_all=True)
    assert [type(o) for o in res] == [ModelResponse, dict, dict, ModelResponse, dict, ModelResponse]
    ids = [tc.id for tc in res[0].choices[0].message.tool_calls]
    assert all(i.startswith('call_') for i in ids)
    assert [(o['tool_call_id'], o['name'], o['content']) for o in res[1:3]] == [(ids[0], 'simple_add', '8'), (ids[1], 'simple_add', '9')]
    assert res[4]['name'] == 'multiply' and res[4]['content'] == '72'
    assert render_response(res[0]).startswith('🔧 simple_add({"a": 5, "b": 3})\n\n🔧 simple_add({"a": 7, "b": 2})')
    assert res[0].model == 'gpt-4.1-2025-04-14' and text_of(res[-1]).endswith('8 × 9 = 72.')


def test_max_steps_stops_with_a_custom_final_prompt(standin):
    wrap = "Please wrap-up for now and summarize how far we got."
    standin.queue(Reply(text="I'll calculate this step by step.", tool_calls=[ToolCall('simple_add', {'a': 10, 'b': 5}),
                                                                              ToolCall('simple_add', {'a': 2, 'b': 1})]),
                  Reply(text='Step 2: Multiply 15 * 3', tool_calls=[ToolCall('multiply', {'a': 15, 'b': 3})]),
                  Reply(text='Step 3: Divide 45 / 3'))
    chat = mk_chat(standin, tools=[simple_add, multiply, divide])
    res = chat("Calculate ((10 + 5) * 3) / (2 + 1) step by step.", max_steps=3, return_all=True, final_prompt=wrap)
    assert [type(o) for o in res] == [ModelResponse, dict, dict, ModelResponse, dict, ModelResponse]
    assert [o['content'] for o in res if isinstance(o, dict)] == ['15', '3', '45']
    assert text_of(res[-1]) == 'Step 3: Divide 45 / 3' and res[-1].choices[0].finish_reason == 'stop'
    # lexi: the final prompt went in that request only (lisette kept it in hist, as 'assistant')
    assert chat.hist[-2]['role'] == 'tool' and wrap not in str(chat.hist)
    last = standin.requests[-1].body
    assert last['tool_choice'] == {'type': 'none'}              # lexi: the step-limit request forbids tools
    assert blocks(last['messages'][-1], 'text')[-1]['text'] == wrap


def test_tool_call_exhaustion(standin):
    pr = "What is 1+2, and then the result of adding +2, and then +3 to it? Use tools to calculate!"
    answer = "Let me continue with the next calculation. Now I'll add 2 to the result (3+2):"
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text=answer, model=DATED))
    c_ = mk_chat(standin, tools=[simple_add])
    res = c_(pr, max_steps=2)
    assert text_of(res) == answer and res.choices[0].finish_reason == 'stop'
    # lexi: sent as a 'user' message (lisette: 'assistant') in the last request only, not kept in hist
    assert blocks(standin.requests[-1].body['messages'][-1], 'text')[-1]['text'] == FINAL_PROMPT
    assert c_.hist[-2]['role'] == 'tool' and FINAL_PROMPT not in str(c_.hist)


# ------------------------------------------------------------------ AsyncChat

async def test_async_chat_basic(standin):
    standin.queue(Reply(text='2+2 = 4', model=DATED))
    chat = mk_chat(standin, AsyncChat)
    res = await chat("What is 2+2?")
    assert text_of(res) == '2+2 = 4' and res.model == DATED
    assert [shape(m) for m in chat.hist] == [{'role': 'user', 'content': 'What is 2+2?'},
                                             {'role': 'assistant', 'content': '2+2 = 4', 'tool_calls': []}]


async def test_async_chat_tools_return_all_async_for(standin):
    standin.queue(Reply(tool_calls=[ToolCall('async_add', {'a': 5, 'b': 7}, id='toolu_01NHDNkcpwxW66XRuRFChLxe')]),
                  Reply(text='The result of 5 + 7 is **12**.'))
    chat_with_tools = mk_chat(standin, AsyncChat, tools=[async_add])
    res = await chat_with_tools(PR, return_all=True)
    got = [r async for r in res]
    assert [type(o) for o in got] == [ModelResponse, dict, ModelResponse]
    assert render_response(got[0]).startswith('🔧 async_add({"a": 5, "b": 7})')
    assert got[1] == {'tool_call_id': 'toolu_01NHDNkcpwxW66XRuRFChLxe', 'role': 'tool', 'name': 'async_add', 'content': '12'}
    assert text_of(got[2]) == 'The result of 5 + 7 is **12**.'


async def test_async_chat_stream_yields_chunks_and_tool_results(standin):
    standin.queue(Reply(tool_calls=[ToolCall('async_add', {'a': 5, 'b': 7}, id='toolu_011RxwEK3HSc3VQwwsBZnXnV')]),
                  Reply(text='The result of 5 + 7 is **12**.'))
    chat_with_tools = mk_chat(standin, AsyncChat, tools=[async_add])
    res = await chat_with_tools(PR, stream=True)
    printed = ''
    async for o in res:
        if isinstance(o, ModelResponseStream): printed += delta_text(o) or ''
        elif isinstance(o, dict): printed += f'{o}\n'
    assert printed == ("\n🔧 async_add\n{'tool_call_id': 'toolu_011RxwEK3HSc3VQwwsBZnXnV', 'role': 'tool', "
                       "'name': 'async_add', 'content': '12'}\nThe result of 5 + 7 is **12**.")


# ------------------------------------------------------------------ Formatting a stream

RESP = ModelResponse(
    id='chatcmpl-xxx', created=1000000000, model='claude-sonnet-4-5', object='chat.completion', system_fingerprint=None,
    choices=[Choices(finish_reason='tool_calls', index=0, message=Message(
        content="I'll calculate ((10 + 5) * 3) / (2 + 1) step by step:", role='assistant',
        tool_calls=[ChatCompletionMessageToolCall(function=Function(arguments='{"a": 10, "b": 5}', name='simple_add'),
                                                  id='toolu_018BGyenjiRkDQFU1jWP6qRo', type='function'),
                    ChatCompletionMessageToolCall(function=Function(arguments='{"a": 2, "b": 1}', name='simple_add'),
                                                  id='toolu_01CWqrNQvoRjf1Q1GLpTUgQR', type='function')],
        function_call=None, provider_specific_fields=None))],
    usage=Usage(completion_tokens=228, prompt_tokens=794, total_tokens=1022, prompt_tokens_details=None))


def test_mk_tr_details_cuts_long_results():
    tc = RESP.choices[0].message.tool_calls[0]
    assert (tc.id, tc.function.name, tc.function.arguments) == ('toolu_018BGyenjiRkDQFU1jWP6qRo', 'simple_add', '{"a": 10, "b": 5}')
    content = '15 is the answerrrr' + 'r' * 2000
    tr = {'tool_call_id': 'toolu_018BGyenjiRkDQFU1jWP6qRo', 'role': 'tool', 'name': 'simple_add', 'content': content}
    kept = content[:2000] + '<TRUNCATED>'
    # lexi: arguments keep their types (10, not "10"), and a cut result is flagged "truncated": true
    assert mk_tr_details(tr, tc) == (
        "\n\n<details class='tool-usage-details'>\n\n```json\n{\n"
        '  "id": "toolu_018BGyenjiRkDQFU1jWP6qRo",\n'
        '  "call": {\n    "function": "simple_add",\n    "arguments": {\n      "a": 10,\n      "b": 5\n    }\n  },\n'
        f'  "result": "{kept}",\n  "truncated": true\n}}\n```\n\n</details>\n\n')


def test_format_item_text_and_reasoning_chunks():
    stream_msg = ModelResponseStream([StreamingChoices(delta=Delta(content="Hello world!"))])
    assert AsyncStreamFormatter().format_item(stream_msg) == 'Hello world!'
    reasoning_msg = ModelResponseStream([StreamingChoices(delta=Delta(reasoning_content="thinking..."))])
    assert AsyncStreamFormatter().format_item(reasoning_msg) == '🧠'


def test_format_item_with_duck_typed_response_then_tool_result():
    mock_tool_call = ChatCompletionMessageToolCall(
        id="toolu_123abc456def", type="function", function=Function(name="simple_add", arguments='{"a": 5, "b": 3}'))
    mock_response = ModelResponse()
    mock_response.choices = [type('Choice', (), {'message': type('Message', (), {'tool_calls': [mock_tool_call]})()})()]
    mock_tool_result = {'tool_call_id': 'toolu_123abc456def', 'role': 'tool', 'name': 'simple_add', 'content': '8'}
    fmt = AsyncStreamFormatter()
    assert fmt.format_item(mock_response) == ''
    # lexi: arguments keep their types; the block carries the step it belongs to
    assert fmt.format_item(mock_tool_result) == (
        "\n\n<details class='tool-usage-details'>\n\n```json\n{\n"
        '  "id": "toolu_123abc456def",\n'
        '  "call": {\n    "function": "simple_add",\n    "arguments": {\n      "a": 5,\n      "b": 3\n    }\n  },\n'
        '  "result": "8",\n  "step": 1\n}\n```\n\n</details>\n\n')


# ------------------------------------------------------------------ adisplay_stream examples

async def test_adisplay_stream_tool_call(standin, capsys):
    standin.queue(Reply(tool_calls=[ToolCall('async_add', {'a': 5, 'b': 7}, id='toolu_011RxwEK3HSc3VQwwsBZnXnV')]),
                  Reply(text='The result of 5 + 7 is **12**.'))
    chat = mk_chat(standin, AsyncChat, tools=[async_add])
    res = await chat(PR, stream=True)
    fmt = await adisplay_stream(res)
    parts = re_tools.split(fmt.outp)
    assert len(parts) == 4 and parts[0].strip() == '' and parts[3] == '\n\nThe result of 5 + 7 is **12**.'
    # lexi: int arguments and a "step" (lisette showed "a": "5")
    assert json.loads(parts[2]) == {'id': 'toolu_011RxwEK3HSc3VQwwsBZnXnV',
                                    'call': {'function': 'async_add', 'arguments': {'a': 5, 'b': 7}}, 'result': '12', 'step': 1}
    assert capsys.readouterr().out == fmt.outp   # without a notebook, the formatted text is printed as it comes


async def test_adisplay_stream_thinking(standin, capsys):
    answer = "## Use your language's built-in sort\n\nFor 1000 random integers, use `sorted()`."
    standin.queue(Reply(thinking='1000 integers is small; built-in Timsort is O(n log n) and optimized.', text=answer))
    chat = mk_chat(standin, AsyncChat)
    res = await chat("Briefly, what's the most efficient way to sort a list of 1000 random integers?", think='l', stream=True)
    fmt = await adisplay_stream(res)
    assert re.fullmatch('(🧠)+\n\n' + re.escape(answer), fmt.outp)
    assert standin.requests[-1].body['thinking']['type'] == 'enabled'
    capsys.readouterr()


async def test_formatted_output_loads_back_into_a_new_chat(standin, capsys):
    tools = [simple_add, multiply, divide]
    standin.queue(Reply(text="I'll solve this step-by-step, using parallel calls where possible.",
                        tool_calls=[ToolCall('simple_add', {'a': 10, 'b': 5}), ToolCall('simple_add', {'a': 2, 'b': 1})]),
                  Reply(text='Now I need to multiply 15 * 3:', tool_calls=[ToolCall('multiply', {'a': 15, 'b': 3})]),
                  Reply(tool_calls=[ToolCall('divide', {'a': 45, 'b': 3})]),
                  Reply(text='((10 + 5) * 3) / (2 + 1) = 15'))
    chat = mk_chat(standin, AsyncChat, tools=tools)
    res = await chat("Calculate ((10 + 5) * 3) / (2 + 1) step by step.", max_steps=5, stream=True)
    fmt = await adisplay_stream(res)
    capsys.readouterr()
    ids = [tc.id for tc in chat.hist[1].tool_calls]
    assert [shape(m) for m in chat.hist[1:6]] == [
        {'role': 'assistant', 'content': "I'll solve this step-by-step, using parallel calls where possible.",
         'tool_calls': [(ids[0], 'simple_add', {'a': 10, 'b': 5}), (ids[1], 'simple_add', {'a': 2, 'b': 1})]},
        {'tool_call_id': ids[0], 'role': 'tool', 'name': 'simple_add', 'content': '15'},
        {'tool_call_id': ids[1], 'role': 'tool', 'name': 'simple_add', 'content': '3'},
        {'role': 'assistant', 'content': 'Now I need to multiply 15 * 3:', 'tool_calls': [(chat.hist[4].tool_calls[0].id, 'multiply', {'a': 15, 'b': 3})]},
        {'tool_call_id': chat.hist[4].tool_calls[0].id, 'role': 'tool', 'name': 'multiply', 'content': '45'}]
    h = fmt2hist(fmt.outp)
    assert [shape(m) for m in h] == [shape(m) for m in chat.hist[1:]]   # the assistant side, losslessly
    standin.queue(Reply(text='We calculated ((10 + 5) * 3) / (2 + 1) = 15 step by step with the tools.'))
    chat5 = mk_chat(standin, Chat, hist=h, tools=tools)
    assert text_of(chat5('what did we just do?')).startswith('We calculated')
    msgs = sent(standin)
    # lexi: Anthropic refuses a first message that is not the user's, so the request opens with a short user turn
    assert msgs[0]['content'][0]['text'] == OPENING and chat5.hist[0]['role'] == 'assistant'
    assert [(m['role'], [b['type'] for b in m['content']]) for m in msgs] == [
        ('user', ['text']), ('assistant', ['text', 'tool_use', 'tool_use']), ('user', ['tool_result', 'tool_result']),
        ('assistant', ['text', 'tool_use']), ('user', ['tool_result']),
        ('assistant', ['tool_use']), ('user', ['tool_result']),
        ('assistant', ['text']), ('user', ['text'])]
    assert [b['content'] for m in msgs for b in blocks(m, 'tool_result')] == ['15', '3', '45', '15.0']
    assert {t['name'] for t in standin.requests[-1].body['tools']} == {'simple_add', 'multiply', 'divide'}


async def test_adisplay_stream_search(standin, capsys):
    standin.queue(Reply(text=['Otters are ', Cited('charismatic members of the weasel family.', [OTTER]),
                              ' They are playful.'], search=['otters']))
    chat_stream_tools = mk_chat(standin, AsyncChat, search='l')
    res = await chat_stream_tools(SMSG, stream=True)
    fmt = await adisplay_stream(res)
    assert fmt.outp == f'Otters are {OTTER_LINK}charismatic members of the weasel family. They are playful.'
    assert standin.requests[-1].body['tools'][0]['name'] == 'web_search'
    capsys.readouterr()


# ------------------------------------------------------------------ Caching with AsyncChat

async def test_async_chat_cache_writes_then_reads(standin):
    a, b = 17, 25   # the document draws them at random
    hist = [[f"What is {a}+{b}?\n" * 200], f"It's {a+b}", ['hi'], "Hello"]
    chat = mk_chat(standin, AsyncChat, cache=True, hist=hist)
    standin.queue(Reply(text='Hi again! How can I help?', usage=dict(input=1620, cache_write=1610)))
    rs = await chat('hi again', stream=True, stream_options={"include_usage": True})
    o = [o async for o in rs if isinstance(o, ModelResponse)][-1]
    assert o.usage.cache_creation_input_tokens > 1000
    assert o.usage.cache_read_input_tokens == 0
    ckpts = [(m['role'], b['text']) for m in sent(standin) for b in m['content'] if 'cache_control' in b]
    # cache creation until the last user msg; lexi also marks where the request that produced the last
    # reply ended ('hi', before "Hello"), so reading that request's cache never depends on Anthropic's look-back
    assert ckpts == [('user', 'hi'), ('user', 'hi again')]
    assert [m['role'] for m in sent(standin)] == ['user', 'assistant', 'user', 'assistant', 'user']

    hist.extend([['hi again'], 'how may i help you?'])
    chat = mk_chat(standin, AsyncChat, cache=True, hist=hist)
    standin.queue(Reply(text='Bye!', usage=dict(input=1640, cache_read=1610, cache_write=20)))
    rs = await chat('bye!', stream=True, stream_options={"include_usage": True})
    o = [o async for o in rs if isinstance(o, ModelResponse)][-1]
    assert o.usage.cache_read_input_tokens == 1610   # the subsequent call re-uses the existing cache
    assert (chat.use.cached, chat.use.cache_write) == (1610, 20)
    ckpts = [(m['role'], b['text']) for m in sent(standin) for b in m['content'] if 'cache_control' in b]
    assert ckpts == [('user', 'hi again'), ('user', 'bye!')]
    assert len(sent(standin)) == 7
