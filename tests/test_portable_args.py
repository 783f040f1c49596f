"""Tool-call arguments that are not a JSON object (cut, an array, a string, empty) never make a history unsendable.

The stored history keeps the text the model wrote; each request carries it in a form every provider takes,
and the stand-in refuses what the providers refuse (Anthropic's tool_use.input and Gemini's functionCall.args
must be objects), so these tests prove the next request goes out and is answered.
"""
import copy
import json

import pytest

from lexi import AsyncChat, Chat
from lexi._portable import RAW_ARGS, for_models
from lexi.demo import simple_add
from lexi.testing import Reply, ToolCall

from fakes import valid_hist

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
CUT = '{"a": 1, "b'
# raw arguments the model wrote -> the object every request carries for them
SENT = {CUT: {RAW_ARGS: CUT}, '[1, 2]': {RAW_ARGS: '[1, 2]'}, '"1 and 2"': {RAW_ARGS: '"1 and 2"'},
        '{"a": NaN}': {RAW_ARGS: '{"a": NaN}'}, '': {}, '  ': {}, 'null': {}}


def _hist_args(chat):
    "The arguments text of every tool call in the stored history."
    out = []
    for m in chat.hist:
        for tc in (m.get('tool_calls') if isinstance(m, dict) else m.tool_calls) or []:
            fn = tc['function'] if isinstance(tc, dict) else tc.function
            out.append(fn['arguments'] if isinstance(fn, dict) else fn.arguments)
    return out


def _sent_args(body, provider):
    "The arguments of every tool call in a request body, as objects, in the provider's wire format."
    if provider == 'anthropic':
        return [b['input'] for m in body['messages'] if isinstance(m['content'], list) for b in m['content']
                if b.get('type') == 'tool_use']
    if provider == 'gemini':
        return [p['function_call'].get('args', {}) for c in body['contents'] for p in c['parts'] if 'function_call' in p]
    return [json.loads(tc['function']['arguments']) for m in body['messages'] for tc in m.get('tool_calls') or []]


def _switch(chat, standin, provider):
    chat.model = MODELS[provider]
    chat.settings = chat.settings.merge(**standin.kwargs(provider))


# -- the whole scenario: a stream cut mid-call on Anthropic, then the chat goes on

def test_a_tool_call_streamed_with_cut_arguments_leaves_a_chat_that_still_answers(standin):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', CUT)]), Reply(text='Let me retry.'), Reply(text='Fine.'))
    chat = Chat(MODELS['anthropic'], tools=[simple_add], **standin.kwargs('anthropic'))
    list(chat('Add 1 and 2.', stream=True))
    result = chat.hist[2]                                             # recorded with its error result
    assert _hist_args(chat) == [CUT] and valid_hist(chat.hist)
    assert result['role'] == 'tool' and 'are not valid JSON' in result['content'] and CUT in result['content']
    assert chat.hist[-1].content == 'Let me retry.'                   # the step after the error went out
    assert chat('Go on.').choices[0].message.content == 'Fine.'       # and so does the next call
    assert not standin.violations and not standin.unscripted and len(standin.requests) == 3
    for req in standin.requests[1:]: assert _sent_args(req.body, 'anthropic') == [{RAW_ARGS: CUT}]
    assert _hist_args(chat) == [CUT]                                  # the history still holds the model's text


# -- any history with such arguments, on every provider and after a switch of provider

# (provider that made the call, its raw arguments): OpenAI returns any text; Anthropic streams a prefix of JSON
MADE = [('openai', raw) for raw in SENT] + [('anthropic', CUT)]


@pytest.mark.parametrize('first, raw', MADE)
@pytest.mark.parametrize('then', list(MODELS))
def test_arguments_that_are_no_object_are_sent_as_one_on_every_provider(standin, first, raw, then):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', raw)]), Reply(text='Answered.'), Reply(text='Again.'))
    chat = Chat(MODELS[first], tools=[simple_add], **standin.kwargs(first))
    list(chat('Add.', stream=True)) if first == 'anthropic' else chat('Add.')
    assert _hist_args(chat) == [raw]
    _switch(chat, standin, then)
    assert chat('And now?').choices[0].message.content == 'Again.'
    assert not standin.violations and not standin.unscripted and len(standin.requests) == 3   # no retries either
    assert _sent_args(standin.requests[-1].body, then) == [SENT[raw]]
    assert _hist_args(chat) == [raw] and valid_hist(chat.hist)


async def test_async_chat_sends_the_same_form(standin):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', CUT)]), Reply(text='Retrying.'), Reply(text='Done.'))
    chat = AsyncChat(MODELS['anthropic'], tools=[simple_add], **standin.kwargs('anthropic'))
    async for _ in await chat('Add.', stream=True): pass
    _switch(chat, standin, 'gemini')
    assert (await chat('Go on.')).choices[0].message.content == 'Done.' and not standin.violations
    assert _sent_args(standin.requests[-1].body, 'gemini') == [{RAW_ARGS: CUT}]


def test_a_function_backend_gets_the_same_form_and_hist_the_models_text():
    from lexi.testing import Scripted
    backend = Scripted(Reply(tool_calls=[ToolCall('simple_add', CUT)]), Reply(text='Retrying.'))
    chat = Chat(MODELS['anthropic'], tools=[simple_add], backend=backend)
    assert chat('Add.').choices[0].message.content == 'Retrying.'
    [call] = [tc for m in backend.requests[-1]['messages'] for tc in m.get('tool_calls') or []]
    assert json.loads(call['function']['arguments']) == {RAW_ARGS: CUT} and _hist_args(chat) == [CUT]


# -- the shaping itself (pure)

def _msgs(raw):
    call = {'id': 'toolu_1', 'type': 'function', 'function': {'name': 'simple_add', 'arguments': raw}}
    return [{'role': 'user', 'content': 'Add.'}, {'role': 'assistant', 'content': None, 'tool_calls': [call]},
            {'role': 'tool', 'tool_call_id': 'toolu_1', 'content': 'error'}]


@pytest.mark.parametrize('model', list(MODELS.values()) + ['deepseek/deepseek-chat', 'bedrock/anthropic.claude-3-haiku'])
@pytest.mark.parametrize('raw', list(SENT) + [None, {'a': 1}, '{"a": 1}', ' {"b": [2]} '])
def test_every_request_carries_arguments_that_parse_to_an_object(model, raw):
    msgs = _msgs(raw)
    before = copy.deepcopy(msgs)
    [sent] = [tc['function']['arguments'] for m in for_models(msgs, [model]) for tc in m.get('tool_calls') or []]
    assert isinstance(sent, str) and isinstance(json.loads(sent), dict)
    if isinstance(raw, str) and raw in SENT: assert json.loads(sent) == SENT[raw]
    if raw in ('{"a": 1}', ' {"b": [2]} '): assert sent == raw          # an object is sent as the model wrote it
    assert msgs == before                                              # the input list is left as it was given


def test_a_router_group_across_providers_gets_one_form_for_all():
    sent = for_models(_msgs(CUT), [MODELS['openai'], MODELS['anthropic'], MODELS['gemini']])
    assert json.loads(sent[1]['tool_calls'][0]['function']['arguments']) == {RAW_ARGS: CUT}
