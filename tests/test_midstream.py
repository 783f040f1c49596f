"""A stream that fails part-way (a reset, a stall past timeout=, an error event after text) keeps what the
caller saw: the user's message and the text streamed so far stay in chat.hist as the assistant's partial
reply, a note on the exception says so, no tool call is left without a result, and the chat goes on.

Every case runs through the stand-in for OpenAI, Anthropic and Gemini, with Chat and AsyncChat."""
import json

import litellm
import pytest
from litellm import ModelResponseStream

from lexi import AsyncChat, Chat
from lexi.testing import Reply, ToolCall

from fakes import valid_hist

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
TEXT = 'one two three four five six'
# Events before a cut that carry 'one two three': OpenAI role chunk + 3 deltas; Anthropic message_start,
# content_block_start, ping + 3 deltas; Gemini 3 chunks.
CUT = {'openai': 4, 'anthropic': 6, 'gemini': 3}
ERRORS = (litellm.exceptions.MidStreamFallbackError, litellm.Timeout, litellm.APIConnectionError)


async def stream(chat, msg, **kw):
    "Read a Chat or AsyncChat stream to its end; (text the caller saw, the exception it ended in)."
    seen, out = [], chat(msg, stream=True, **kw)
    def take(o):
        if isinstance(o, ModelResponseStream) and o.choices: seen.append(o.choices[0].delta.content or '')
    try:
        if isinstance(chat, AsyncChat):
            async for o in out: take(o)
        else:
            for o in out: take(o)
    except ERRORS as e: return ''.join(seen), e
    return ''.join(seen), None


def roles(hist): return [m['role'] if isinstance(m, dict) else m.role for m in hist]


def content(m): return m['content'] if isinstance(m, dict) else m.content


async def check_kept(standin, chat, provider, seen, err, before=()):
    "The partial reply is in hist as seen, the note says so, and the next call sends it (the stand-in checks the rules)."
    assert err is not None and seen.startswith('one two')
    assert roles(chat.hist)[len(before):] == ['user', 'assistant'] and content(chat.hist[-1]) == seen
    assert any(f'keeps your message and the {len(seen)} characters streamed so far' in n for n in err.__notes__)
    assert valid_hist(chat.hist)
    standin.queue('Go on.')
    out = chat('Go on')
    r = await out if isinstance(chat, AsyncChat) else out
    assert r.choices[0].message.content == 'Go on.'
    assert seen.strip() in json.dumps(standin.requests[-1].body)


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
@pytest.mark.parametrize('provider', list(MODELS))
async def test_a_reset_mid_stream_keeps_the_message_and_the_text_shown(standin, provider, cls):
    standin.queue(Reply(text=TEXT, cut_after=CUT[provider]))
    chat = cls(MODELS[provider], **standin.kwargs(provider))
    seen, err = await stream(chat, 'Count to six')
    assert seen == 'one two three' and isinstance(err, litellm.exceptions.MidStreamFallbackError)
    assert content(chat.hist[0]) == 'Count to six' and len(standin.requests) == 1   # not replayed
    await check_kept(standin, chat, provider, seen, err)


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
@pytest.mark.parametrize('provider', list(MODELS))
async def test_a_stall_past_the_timeout_mid_stream_keeps_the_text_shown(standin, provider, cls):
    standin.queue(Reply(text=TEXT, event_delay=2.0, event_delay_from=CUT[provider]))
    chat = cls(MODELS[provider], timeout=0.5, retries=1, max_wait=0.01, **standin.kwargs(provider))
    seen, err = await stream(chat, 'Count to six')
    assert seen == 'one two three' and len(standin.requests) == 1
    await check_kept(standin, chat, provider, seen, err)


def _sse(d, event=None, sep='\n\n'):
    return (f'event: {event}\n' if event else '') + f'data: {json.dumps(d)}{sep}'


def error_after_text(provider: str, words: list) -> str:
    "A stream in `provider`'s wire format: `words` as text, then the error event that provider sends."
    if provider == 'openai':
        head = {'id': 'chatcmpl-1', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'gpt-4.1'}
        chunk = lambda d: _sse({**head, 'choices': [{'index': 0, 'delta': d, 'finish_reason': None}]})
        return (chunk({'role': 'assistant', 'content': ''}) + ''.join(chunk({'content': w}) for w in words)
                + _sse({'error': {'message': 'The server had an error while processing your request.', 'type': 'server_error'}}))
    if provider == 'anthropic':
        start = {'id': 'msg_01', 'type': 'message', 'role': 'assistant', 'model': 'claude-sonnet-4-5', 'content': [],
                 'stop_reason': None, 'stop_sequence': None, 'usage': {'input_tokens': 5, 'output_tokens': 1}}
        return (_sse({'type': 'message_start', 'message': start}, 'message_start')
                + _sse({'type': 'content_block_start', 'index': 0, 'content_block': {'type': 'text', 'text': ''}}, 'content_block_start')
                + ''.join(_sse({'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': w}},
                               'content_block_delta') for w in words)
                + _sse({'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}, 'error'))
    usage = {'promptTokenCount': 3, 'candidatesTokenCount': 1, 'totalTokenCount': 4}
    return (''.join(_sse({'candidates': [{'content': {'parts': [{'text': w}], 'role': 'model'}, 'index': 0}],
                          'usageMetadata': usage, 'modelVersion': 'gemini-2.5-flash', 'responseId': 'r1'}, sep='\r\n\r\n')
                    for w in words)
            + _sse({'error': {'code': 503, 'message': 'The model is overloaded.', 'status': 'UNAVAILABLE'}}, sep='\r\n\r\n'))


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
@pytest.mark.parametrize('provider', list(MODELS))
async def test_an_error_event_after_text_keeps_the_text_shown(standin, provider, cls):
    standin.queue_raw(error_after_text(provider, ['one', ' two', ' three']), content_type='text/event-stream')
    chat = cls(MODELS[provider], **standin.kwargs(provider))
    seen, err = await stream(chat, 'Count to six')
    assert seen == 'one two three' and len(standin.requests) == 1
    await check_kept(standin, chat, provider, seen, err)


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
@pytest.mark.parametrize('provider', ['openai', 'anthropic'])
async def test_a_tool_call_begun_before_the_cut_is_left_out_and_never_run(standin, provider, cls):
    ran = []
    def add(a: int, b: int) -> int:
        "Add two numbers."
        ran.append((a, b)); return a + b
    # OpenAI: role chunk + 3 text deltas + the call's name chunk; Anthropic: start, block start, ping, 3 deltas,
    # block stop, the tool_use block start
    cut = {'openai': 5, 'anthropic': 8}[provider]
    standin.queue(Reply(text='one two three', tool_calls=[ToolCall('add', {'a': 1, 'b': 2})], cut_after=cut))
    chat = cls(MODELS[provider], tools=[add], **standin.kwargs(provider))
    seen, err = await stream(chat, 'Add 1 and 2', max_steps=3)
    assert seen == 'one two three' and ran == []
    assert not any(m.get('tool_calls') for m in chat.hist if isinstance(m, dict))
    assert any('the tool calls it had begun are left out (none was run)' in n for n in err.__notes__)
    await check_kept(standin, chat, provider, seen, err)


@pytest.mark.parametrize('provider', list(MODELS))
async def test_a_cut_in_a_later_step_of_a_tool_loop_keeps_the_steps_before_it(standin, provider):
    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b
    standin.queue(Reply(tool_calls=[ToolCall('add', {'a': 1, 'b': 2})]), Reply(text=TEXT, cut_after=CUT[provider]))
    chat = Chat(MODELS[provider], tools=[add], **standin.kwargs(provider))
    seen, err = await stream(chat, 'Add 1 and 2', max_steps=3)
    assert seen == 'one two three'
    assert roles(chat.hist) == ['user', 'assistant', 'tool', 'assistant'] and content(chat.hist[-1]) == seen
    assert any(f'keeps the {len(seen)} characters streamed so far' in n for n in err.__notes__)
    assert valid_hist(chat.hist)
    standin.queue('Three.')
    assert chat('So?').choices[0].message.content == 'Three.'


async def test_a_failure_before_any_text_still_leaves_hist_unchanged(standin):
    standin.queue(Reply(text=TEXT, cut_after=1))   # only the role chunk came
    chat = Chat(MODELS['openai'], **standin.kwargs('openai'))
    seen, err = await stream(chat, 'Count')
    assert seen == '' and err is not None and chat.hist == []
    assert any('chat.hist is unchanged by this call' in n for n in err.__notes__)

