"""AsyncChat over the real path (LiteLLM -> HTTP -> stand-in), and sync/async parity on several conversations."""
import asyncio, inspect, json

import litellm
import pytest
from litellm import ModelResponse, ModelResponseStream

from lexi import AsyncChat, Chat, UsageError, is_retryable
from lexi.testing import Citation, Cited, Fault, Reply, ToolCall
from test_chat_wire import MODELS, PROVIDERS, mk_chat, sent_texts, simple_add, multiply, text_of


async def run(chat, *args, stream=False, **kw):
    "Call a Chat or an AsyncChat alike; a stream comes back as the list of its items."
    out = chat(*args, stream=stream, **kw)
    if inspect.iscoroutine(out): out = await out
    if not stream: return out
    return [o async for o in out] if hasattr(out, '__aiter__') else list(out)


def final(items): return [o for o in items if isinstance(o, ModelResponse)][-1]


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_stream_with_parallel_tools(standin, provider):
    async def async_add(a: int, b: int) -> int:
        "Add two numbers asynchronously"
        await asyncio.sleep(0); return a + b
    standin.queue(Reply(text='Adding.', tool_calls=[ToolCall('async_add', {'a': 5, 'b': 7}), ToolCall('simple_add', {'a': 1, 'b': 1})]),
                  Reply(text='12 and 2.'))
    chat = mk_chat(standin, provider, AsyncChat, tools=[async_add, simple_add])
    items = await run(chat, 'add', stream=True, max_steps=5)
    assert [o['content'] for o in items if isinstance(o, dict)] == ['12', '2']
    assert text_of(final(items)) == '12 and 2.'
    assert ''.join(o.choices[0].delta.content or '' for o in items if isinstance(o, ModelResponseStream) and o.choices) == 'Adding.12 and 2.'


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_prefill_and_thinking_streamed(standin, provider):
    chat = mk_chat(standin, provider, AsyncChat, reasoning=True)
    if provider == 'anthropic':   # Anthropic: prefilling is only available without extended thinking
        with pytest.raises(UsageError, match='no prefill with extended thinking'):
            await run(chat, 'Continue counting to 10', prefill='Okay! 6, 7', think='l', stream=True)
        assert chat.hist == [] and standin.requests == []
        return
    standin.queue(Reply(thinking='Count on.', signature='sig-9', text=' 8, 9, 10'))
    items = await run(chat, 'Continue counting to 10', prefill='Okay! 6, 7', think='l', stream=True)
    assert items[0].choices[0].delta.content == 'Okay! 6, 7'
    assert chat.hist[-1].content == 'Okay! 6, 7 8, 9, 10' and chat.hist[-1].reasoning_content == 'Count on.'


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('status', [429, 500])
async def test_async_provider_errors_leave_hist_unchanged(standin, provider, status):
    standin.queue(Reply(text='first'), Fault(status))
    chat = mk_chat(standin, provider, AsyncChat, retries=0)
    await run(chat, 'one')
    before = list(chat.hist)
    with pytest.raises((litellm.RateLimitError, litellm.InternalServerError, litellm.APIError)) as ei:
        await run(chat, 'two')
    assert is_retryable(ei.value) and chat.hist == before


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_stream_cut_midway(standin, provider):
    standin.queue(Reply(text='one two three four five six', cut_after=4))
    chat = mk_chat(standin, provider, AsyncChat)
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        await run(chat, 'count', stream=True)
    assert [m['role'] for m in chat.hist] == ['user', 'assistant']   # the text shown before the cut is kept


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_abandoned_stream_then_next_call(standin, provider):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text='next'))
    chat = mk_chat(standin, provider, AsyncChat, tools=[simple_add])
    gen = await chat('add', stream=True, max_steps=5)
    async for o in gen:
        if isinstance(o, ModelResponse): break  # tool call recorded, its result never produced
    assert text_of(await chat('something else')) == 'next'
    sent = json.dumps(standin.requests[-1].body)
    assert 'Not run' in sent  # the unanswered call was answered before the new request


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_search_with_citations_streamed(standin, provider):
    if provider == 'openai': pytest.skip('covered with the search-capable OpenAI model in test_search_through_openai')
    standin.queue(Reply(text=['Otters are ', Cited('weasels', [Citation('https://en.wikipedia.org/wiki/Otter', 'Otter')]), '.'], search=['otters']))
    chat = mk_chat(standin, provider, AsyncChat)
    await run(chat, 'otters?', search='l', stream=True)
    assert 'weasels' in chat.hist[-1].content and len(standin.requests) == 1


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
async def test_search_through_openai(standin, cls):
    standin.queue(Reply(text=['Otters are ', Cited('weasels', [Citation('https://en.wikipedia.org/wiki/Otter', 'Otter')]), '.']))
    chat = mk_chat(standin, 'openai', cls)
    r = await run(chat, 'otters?', search='l')
    assert standin.requests[-1].body['web_search_options'] == {'search_context_size': 'low'}
    from lexi import citations
    assert [c['url'] for c in citations(r)] == ['https://en.wikipedia.org/wiki/Otter']


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
async def test_completion_keywords_reach_every_step_and_calls_override_them(standin, cls):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text='3'), Reply(text='ok'))
    chat = mk_chat(standin, 'openai', cls, tools=[simple_add], max_tokens=77, extra_headers={'x-app': 'lexi-test'})
    await run(chat, 'add', max_steps=5)
    await run(chat, 'again', max_tokens=12)
    assert [r.body['max_tokens'] for r in standin.requests] == [77, 77, 12]
    assert all(r.headers.get('x-app') == 'lexi-test' for r in standin.requests)


def _conversations():
    "Scripted conversations for the parity test: (call kwargs, replies)."
    par = [ToolCall('simple_add', {'a': 1, 'b': 2}, id='call_p1'), ToolCall('simple_add', {'a': 3, 'b': 4}, id='call_p2')]
    return {
        'parallel': (dict(max_steps=5), [Reply(text='Go.', tool_calls=par), Reply(text='3 and 7.')]),
        'streamed': (dict(max_steps=5, stream=True), [Reply(text='Go.', tool_calls=par), Reply(text='3 and 7.')]),
        'exhausted': (dict(max_steps=2), [Reply(tool_calls=[ToolCall('multiply', {'a': 2, 'b': 3}, id='call_m')]), Reply(text='6, stopping.')]),
        'prefill': (dict(prefill='Sure:', stream=True), [Reply(text=' done.')]),
    }


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('name', list(_conversations()))
async def test_chat_and_asyncchat_parity(standin, provider, name):
    kw, replies = _conversations()[name]
    results = []
    for cls in (Chat, AsyncChat):
        standin.reset(); standin.queue(*replies)
        chat = mk_chat(standin, provider, cls, sp='s', tools=[simple_add, multiply])
        out = await run(chat, 'compute', **kw)
        strip = lambda h: [m if isinstance(m, dict) else m.model_dump(exclude={'provider_specific_fields'}) for m in h]
        kinds = [type(o).__name__ for o in out] if isinstance(out, list) else [type(out).__name__]
        # (input tokens are left out: the stand-in counts them from the raw body, whose JSON spacing
        # differs between LiteLLM's sync and async HTTP clients)
        results.append(([r.body for r in standin.requests], strip(chat.hist), kinds, chat.use.output, chat.use.calls))
    assert results[0] == results[1]


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_next_call_closes_an_abandoned_stream_http_response(standin, provider):
    from test_chat_wire import LONG, _wait_until
    standin.queue(Reply(text=LONG, event_delay=0.005), Reply(text='b'))
    chat = mk_chat(standin, provider, AsyncChat)
    s1 = chat('a', stream=True)
    seen = ''
    for _ in range(3): seen += (await s1.__anext__()).choices[0].delta.content or ''
    assert text_of(await chat('b')) == 'b'
    assert _wait_until(lambda: standin.requests[0].client_closed)
    assert [m['role'] for m in chat.hist] == ['user', 'assistant', 'user', 'assistant'] and chat.hist[1]['content'] == seen
    with pytest.raises(UsageError, match='superseded'): await s1.__anext__()


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_async_stream_superseded_before_it_was_read_raises(standin, provider):
    standin.queue(Reply(text='second'))
    chat = mk_chat(standin, provider, AsyncChat)
    s1 = chat('a', stream=True)
    s2 = chat('b', stream=True)
    with pytest.raises(UsageError, match='superseded'):
        async for _ in s1: pass
    items = [o async for o in s2]          # `async for` works on the call itself, no separate await
    assert final(items).choices[0].message.content == 'second' and s2.value is final(items)
    assert len(standin.requests) == 1
    assert (await chat('c', stream=True)) is not None  # awaiting a stream gives the stream (lisette's spelling)
