"""Tier 3: Chat and AsyncChat over the real path, lexi -> LiteLLM -> HTTP -> lexi.testing stand-in."""
import json

import litellm
import pytest
from litellm import ModelResponse, ModelResponseStream

from lexi import AsyncChat, Chat, fmt2hist, is_retryable, StreamFormatter
from lexi.testing import Citation, Cited, Fault, Reply, ToolCall

# provider -> (chat model, a model of that provider that reasons)
MODELS = {'anthropic': ('anthropic/claude-sonnet-4-5', 'anthropic/claude-sonnet-4-5'),
          'openai': ('openai/gpt-4.1', 'openai/o4-mini'),
          'gemini': ('gemini/gemini-2.5-flash', 'gemini/gemini-2.5-flash')}
PROVIDERS = list(MODELS)


# the demo's tools: simple_add has docments comments, as lisette's document shows
from lexi.demo import multiply, simple_add  # noqa: E402


def mk_chat(srv, provider, cls=Chat, reasoning=False, **kw):
    return cls(MODELS[provider][1 if reasoning else 0], **srv.kwargs(provider), **kw)


def text_of(r): return r.choices[0].message.content


def sent_texts(req):
    "Every text string in a recorded request body, in order, whatever the provider's layout."
    out = []
    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ('text', 'content') and isinstance(v, str): out.append(v)
                else: walk(v)
        elif isinstance(o, list):
            for v in o: walk(v)
    walk(req.body.get('messages') or req.body.get('contents'))
    return out


def tool_results_sent(req):
    "Tool results in a recorded request body as {id or name: result text}."
    b, out = req.body, {}
    if req.provider == 'openai':
        return {m['tool_call_id']: m['content'] for m in b['messages'] if m['role'] == 'tool'}
    if req.provider == 'anthropic':
        for m in b['messages']:
            for p in m['content'] if isinstance(m['content'], list) else []:
                if p.get('type') == 'tool_result':
                    c = p['content']
                    out[p['tool_use_id']] = c if isinstance(c, str) else ''.join(x.get('text', '') for x in c)
        return out
    for c in b['contents']:
        for p in c['parts']:
            if 'function_response' in p:
                fr = p['function_response']
                out[fr['name'] + ':' + str(len(out))] = json.dumps(fr['response'])
    return out


@pytest.mark.parametrize('provider', PROVIDERS)
def test_multi_turn_memory(standin, provider):
    standin.queue(Reply(text='Nice to meet you, Rens.'), Reply(text='Your name is Rens.'))
    chat = mk_chat(standin, provider, sp='Be brief.')
    chat('Hey my name is Rens')
    r = chat('Whats my name')
    assert text_of(r) == 'Your name is Rens.'
    texts = sent_texts(standin.requests[-1])
    assert texts[-3:] == ['Hey my name is Rens', 'Nice to meet you, Rens.', 'Whats my name']
    body = standin.requests[-1].body
    system = json.dumps(body.get('system') or body.get('system_instruction') or body.get('systemInstruction') or body['messages'][0])
    assert 'Be brief.' in system


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('stream', [False, True])
def test_parallel_tool_calls_then_a_second_step(standin, provider, stream):
    standin.queue(Reply(text='Adding both.', tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3}), ToolCall('simple_add', {'a': 7, 'b': 2})]),
                  Reply(tool_calls=[ToolCall('multiply', {'a': 8, 'b': 9})]),
                  Reply(text='The answer is 72.'))
    chat = mk_chat(standin, provider, tools=[simple_add, multiply])
    out = chat('Calculate (5 + 3) * (7 + 2)', max_steps=5, stream=stream)
    items = list(out) if stream else None
    r = [o for o in items if isinstance(o, ModelResponse)][-1] if stream else out
    assert text_of(r) == 'The answer is 72.'
    results = [m['content'] for m in chat.hist if isinstance(m, dict) and m.get('role') == 'tool']
    assert results == ['8', '9', '72']
    assert sorted(tool_results_sent(standin.requests[1]).values()) in (['8', '9'], [json.dumps({'content': '8'}), json.dumps({'content': '9'})])
    assert len(standin.requests) == 3 and all(r.stream == stream for r in standin.requests)
    if stream:  # chunks, then each complete response, then its tool results
        kinds = [type(o).__name__ if not isinstance(o, dict) else 'tool' for o in items]
        assert kinds.count('ModelResponse') == 3 and kinds.count('tool') == 3
        assert kinds.index('ModelResponse') < kinds.index('tool') and kinds[0] == 'ModelResponseStream'
        assert ''.join(c.choices[0].delta.content or '' for c in items if isinstance(c, ModelResponseStream) and c.choices) == 'Adding both.The answer is 72.'


@pytest.mark.parametrize('provider', PROVIDERS)
def test_step_limit_sends_final_prompt_with_tool_choice_none(standin, provider):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]),
                  Reply(tool_calls=[ToolCall('simple_add', {'a': 3, 'b': 2})]),
                  Reply(text='So far: 5. Next add 3.'), Reply(text='8.'))
    chat = mk_chat(standin, provider, tools=[simple_add])
    r = chat('1+2, then +2, then +3', max_steps=3, final_prompt='Wrap up now.')
    assert text_of(r) == 'So far: 5. Next add 3.'
    last = standin.requests[-1]
    assert sent_texts(last)[-1] == 'Wrap up now.'
    if provider == 'openai': assert last.body['tool_choice'] == 'none'
    if provider == 'anthropic': assert last.body['tool_choice'] == {'type': 'none'}
    if provider == 'gemini': assert last.body['toolConfig']['functionCallingConfig']['mode'] == 'NONE'
    # that prompt was for the last request only: the next turn (strict provider rules) does not carry it
    assert chat.hist[-2]['role'] == 'tool'
    assert text_of(chat('Go on')) == '8.' and 'Wrap up now.' not in sent_texts(standin.requests[-1])


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('stream', [False, True])
def test_prefill_is_sent_streamed_first_and_kept_whole(standin, provider, stream):
    standin.queue(Reply(text=' D A C T E D'))
    chat = mk_chat(standin, provider)
    out = chat('Spell my name', prefill='Your name is R E', stream=stream)
    if stream:
        items = list(out)
        assert items[0].choices[0].delta.content == 'Your name is R E'
    assert chat.hist[-1].content == 'Your name is R E D A C T E D'
    assert 'Your name is R E' in sent_texts(standin.requests[-1])


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('stream', [False, True])
def test_thinking_is_requested_and_kept(standin, provider, stream):
    standin.queue(Reply(thinking='5 plus 3 is 8.', signature='sig-abc', text='8'))
    chat = mk_chat(standin, provider, reasoning=True)
    out = chat('5+3?', think='l', stream=stream)
    if stream: list(out)
    body = standin.requests[-1].body
    if provider == 'anthropic': assert body['thinking']['type'] == 'enabled'
    if provider == 'openai': assert body['reasoning_effort'] == 'low'
    if provider == 'gemini': assert 'thinkingConfig' in body['generationConfig']
    msg = chat.hist[-1]
    assert msg.content == '8' and msg.reasoning_content == '5 plus 3 is 8.'
    if provider == 'anthropic': assert msg.thinking_blocks[0]['signature'] == 'sig-abc'


@pytest.mark.parametrize('provider', PROVIDERS)
def test_thinking_with_tools_sends_the_thinking_back(standin, provider):
    standin.queue(Reply(thinking='Use the tool.', signature='sig-1', tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3})]),
                  Reply(text='8'))
    chat = mk_chat(standin, provider, reasoning=True, tools=[simple_add])
    assert text_of(chat("What's 5 + 3?", think='l', max_steps=5)) == '8'
    if provider == 'anthropic':
        blocks = [p for m in standin.requests[1].body['messages'] if m['role'] == 'assistant' for p in m['content']]
        assert blocks[0] == {'type': 'thinking', 'thinking': 'Use the tool.', 'signature': 'sig-1'}


CITED = ['Otters are ', Cited('members of the weasel family', [Citation('https://en.wikipedia.org/wiki/Otter', 'Otter - Wikipedia', 'Otters are mustelids.')]), '.']


@pytest.mark.parametrize('provider', ['anthropic', 'gemini'])
@pytest.mark.parametrize('stream', [False, True])
def test_search_with_citations(standin, provider, stream):
    standin.queue(Reply(text=CITED, search=['otters']))
    chat = mk_chat(standin, provider)
    out = chat('Tell me about otters', search='l', stream=stream)
    if stream: list(out)
    body = standin.requests[-1].body
    if provider == 'anthropic': assert any(t.get('type', '').startswith('web_search') for t in body['tools'])
    else: assert any('googleSearch' in t for t in body['tools'])
    content = chat.hist[-1].content
    assert 'members of the weasel family' in content
    if stream and provider == 'anthropic': assert '(https://en.wikipedia.org/wiki/Otter' in content  # footnote link
    assert len(standin.requests) == 1  # the server-side search call is never run locally
    if provider == 'anthropic': assert chat.use.search == 1  # server_tool_use.web_search_requests


def test_search_on_a_model_without_it_is_a_usage_error(standin):
    from lexi import UsageError
    chat = Chat('openai/o3-mini', **standin.kwargs('openai'))
    with pytest.raises(UsageError, match='web search'):
        chat('hi', search='l')
    assert standin.requests == [] and chat.hist == []


def _ckpts(body):
    "Positions (message index, block index) of cache_control in an Anthropic request body."
    return [(i, j) for i, m in enumerate(body['messages']) for j, p in enumerate(m['content'] if isinstance(m['content'], list) else [])
            if 'cache_control' in p]


def test_caching_over_a_22_step_tool_loop(standin):
    n = 22
    standin.queue(*[Reply(tool_calls=[ToolCall('simple_add', {'a': i, 'b': 1})]) for i in range(n - 1)], Reply(text='done'))
    chat = mk_chat(standin, 'anthropic', sp='You add.', tools=[simple_add], cache=True, cache_idxs=(0, -1), ttl='1h')
    chat('Count up with the tool', max_steps=n + 1)
    assert len(standin.requests) == n
    prev_last = None
    for req in standin.requests:
        b = req.body
        sys_ckpt = sum('cache_control' in p for p in b['system'])
        pos = _ckpts(b)
        assert sys_ckpt == 1 and 1 <= len(pos) + sys_ckpt <= 4
        assert all(b['messages'][i]['content'][j]['cache_control'] == {'type': 'ephemeral', 'ttl': '1h'} for i, j in pos)
        last = (len(b['messages']) - 1, len(b['messages'][-1]['content']) - 1)
        assert pos[-1] == last  # the request's last block (a tool_result after the first step) is written to the cache
        if prev_last is not None: assert prev_last in pos  # the previous request's end is marked again: its prefix is read
        prev_last = last
    assert b['messages'][-1]['content'][-1]['type'] == 'tool_result' 


@pytest.mark.parametrize('provider', PROVIDERS)
@pytest.mark.parametrize('status', [429, 500])
def test_provider_errors_are_classified_and_leave_hist_unchanged(standin, provider, status):
    standin.queue(Reply(text='first'), Fault(status, retry_after=1 if status == 429 else None))
    chat = mk_chat(standin, provider, retries=0)
    chat('one')
    before = list(chat.hist)
    with pytest.raises((litellm.RateLimitError, litellm.InternalServerError, litellm.APIError)) as ei:
        chat('two')
    assert is_retryable(ei.value) and chat.hist == before
    assert isinstance(ei.value, litellm.RateLimitError if status == 429 else (litellm.InternalServerError, litellm.APIError))


@pytest.mark.parametrize('provider', PROVIDERS)
def test_a_tool_that_raises_reports_to_the_model(standin, provider):
    def lookup(key: str) -> str:
        "Look a key up"
        raise KeyError(key)
    standin.queue(Reply(tool_calls=[ToolCall('lookup', {'key': 'zebra'})]), Reply(text='Not found.'))
    chat = mk_chat(standin, provider, tools=[lookup])
    assert text_of(chat('find zebra', max_steps=5)) == 'Not found.'
    result = next(m for m in chat.hist if isinstance(m, dict) and m.get('role') == 'tool')['content']
    assert 'KeyError' in result and 'zebra' in result
    assert 'zebra' in json.dumps(standin.requests[1].body)


@pytest.mark.parametrize('provider', PROVIDERS)
def test_stream_cut_midway_raises_and_hist_stays_valid(standin, provider):
    standin.queue(Reply(text='ok'), Reply(text='one two three four five six', cut_after=4))
    chat = mk_chat(standin, provider)
    chat('warm up')
    before = list(chat.hist)
    seen = []
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        for o in chat('count', stream=True): seen.append(o)
    assert seen and chat.hist[:len(before)] == before  # chunks before the cut were shown: kept as a partial reply
    assert [m['role'] for m in chat.hist[len(before):]] == ['user', 'assistant']
    standin.queue(Reply(text='again'))
    assert text_of(chat('retry')) == 'again'  # hist is still valid to send


@pytest.mark.parametrize('provider', PROVIDERS)
def test_abandoned_stream_keeps_what_the_caller_saw(standin, provider):
    standin.queue(Reply(text='one two three four five', chunk_size=3))
    chat = mk_chat(standin, provider)
    gen = chat('count', stream=True)
    seen = ''.join(next(gen).choices[0].delta.content or '' for _ in range(3))
    gen.close()
    assert seen and [m['role'] for m in chat.hist] == ['user', 'assistant']
    assert chat.hist[0]['content'] == 'count' and chat.hist[1]['content'] == seen


@pytest.mark.parametrize('provider', PROVIDERS)
def test_abandoned_stream_before_any_text_leaves_hist_unchanged(standin, provider):
    standin.queue(Reply(text='one two three four five', chunk_size=3))
    chat = mk_chat(standin, provider, tools=[simple_add])
    gen = chat('count', stream=True, prefill='Sure:')
    assert next(gen).choices[0].delta.content == 'Sure:'   # the caller's own prefill, no model text yet
    gen.close()
    assert chat.hist == []


@pytest.mark.parametrize('provider', PROVIDERS)
def test_streamed_usage_is_counted(standin, provider):
    standin.queue(Reply(text='hello', usage={'input': 40, 'output': 6}))
    chat = mk_chat(standin, provider)
    list(chat('hi', stream=True))
    assert (chat.use.input, chat.use.output, chat.use.calls) == (40, 6, 1)


@pytest.mark.parametrize('provider', PROVIDERS)
def test_formatted_stream_output_round_trips_into_a_new_chat(standin, provider):
    standin.queue(Reply(text='Adding.', tool_calls=[ToolCall('simple_add', {'a': 10, 'b': 5}), ToolCall('simple_add', {'a': 2, 'b': 1})]),
                  Reply(text='15 and 3.'), Reply(text='We added numbers.'))
    chat = mk_chat(standin, provider, tools=[simple_add])
    fmt = StreamFormatter()
    outp = ''.join(fmt.format_stream(chat('add 10+5 and 2+1', stream=True, max_steps=5)))
    assert outp == fmt.outp
    chat5 = mk_chat(standin, provider, tools=[simple_add], hist=fmt2hist(outp))
    assert text_of(chat5('what did we just do?')) == 'We added numbers.'
    assert tool_results_sent(standin.requests[-1]) == tool_results_sent(standin.requests[1])


async def _run_async(srv, provider, script):
    srv.queue(*script)
    chat = mk_chat(srv, provider, AsyncChat, sp='s', tools=[simple_add])
    rs = await chat('compute', max_steps=5, return_all=True)
    return chat, rs


def _script():
    return [Reply(text='Go.', tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2}, id='call_a'), ToolCall('simple_add', {'a': 3, 'b': 4}, id='call_b')]),
            Reply(text='3 and 7.')]


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_chat_and_asyncchat_parity_over_the_wire(standin, provider):
    standin.queue(*_script())
    s = mk_chat(standin, provider, sp='s', tools=[simple_add])
    rs = s('compute', max_steps=5, return_all=True)
    sync_bodies = [r.body for r in standin.requests]
    standin.reset()
    a, ra = await _run_async(standin, provider, _script())
    assert [r.body for r in standin.requests] == sync_bodies
    strip = lambda h: [m if isinstance(m, dict) else m.model_dump(exclude={'provider_specific_fields'}) for m in h]
    assert strip(s.hist) == strip(a.hist)
    assert [type(o) for o in rs] == [type(o) for o in ra]


@pytest.mark.parametrize('provider', ['openai', 'gemini'])
def test_abandoned_stream_releases_its_http_response(standin, provider):
    from lexi import stream_with_complete
    standin.queue(Reply(text=' '.join(f'w{i}' for i in range(200))))
    st = litellm.completion(MODELS[provider][0], [{'role': 'user', 'content': 'count'}], stream=True, **standin.kwargs(provider))
    it = iter(stream_with_complete(st))
    next(it); next(it)
    response = st.completion_stream.response  # the provider stream LiteLLM wraps (OpenAI SDK Stream / LiteLLM iterator)
    assert not response.is_closed
    it.close()
    assert response.is_closed


def _wait_until(cond, timeout=5.0):
    import time
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end: time.sleep(0.01)
    return cond()


LONG = ' '.join(f'w{i}' for i in range(400))


@pytest.mark.parametrize('provider', PROVIDERS)
def test_the_next_call_closes_an_abandoned_stream_http_response(standin, provider):
    from lexi import UsageError
    standin.queue(Reply(text=LONG, event_delay=0.005), Reply(text='b'))
    chat = mk_chat(standin, provider)
    g1 = chat('a', stream=True)
    seen = ''.join(next(g1).choices[0].delta.content or '' for _ in range(3))
    assert not standin.requests[0].client_closed
    assert text_of(chat('b')) == 'b'
    assert _wait_until(lambda: standin.requests[0].client_closed)   # the provider stops sending: nobody reads it
    assert [m['role'] for m in chat.hist] == ['user', 'assistant', 'user', 'assistant']
    assert chat.hist[1]['content'] == seen
    with pytest.raises(UsageError, match='superseded'): next(g1)


@pytest.mark.parametrize('provider', PROVIDERS)
def test_a_stream_superseded_before_it_was_read_raises_when_read(standin, provider):
    from lexi import UsageError
    standin.queue(Reply(text='second'))
    chat = mk_chat(standin, provider)
    g1 = chat('a', stream=True)
    g2 = chat('b', stream=True)
    with pytest.raises(UsageError, match='superseded'): next(g1)
    with pytest.raises(UsageError, match='superseded'): list(g1)
    assert g2.value is None and ''.join(o.choices[0].delta.content or '' for o in g2 if isinstance(o, ModelResponseStream) and o.choices) == 'second'
    assert g2.value.choices[0].message.content == 'second'
    assert len(standin.requests) == 1 and [m['content'] for m in chat.hist][0] == 'b'


@pytest.mark.parametrize('provider', PROVIDERS)
def test_a_stream_abandoned_after_a_tool_call_records_it_not_run(standin, provider):
    standin.queue(Reply(text='Adding.', tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text='fine'))
    chat = mk_chat(standin, provider, tools=[simple_add])
    for o in chat('add', stream=True, max_steps=5):
        if isinstance(o, ModelResponse): break
    assert text_of(chat('other')) == 'fine'
    tool = [m for m in chat.hist if isinstance(m, dict) and m.get('role') == 'tool']
    assert len(tool) == 1 and tool[0]['content'].startswith('Not run')


def _cache_share(requests, uses):
    "Cache reads as a share of the ceiling: what each request shares with the one before it."
    from lexi.testing._cache import shared_prefix
    ceiling = sum(shared_prefix(a.body, b.body) for a, b in zip(requests, requests[1:]))
    return sum(u.cached for u in uses) / ceiling


@pytest.mark.parametrize('ttl', [None, '1h'])
def test_a_20_step_cached_tool_loop_reads_nearly_all_it_could_from_the_cache(ttl):
    from lexi.testing import StandIn
    from lexi import Use
    with StandIn(prompt_cache=True) as srv:
        n = 20
        srv.queue(*[Reply(text=f'Step {i}: adding.', tool_calls=[ToolCall('simple_add', {'a': i, 'b': 1})]) for i in range(n - 1)],
                  Reply(text='done'))
        uses = []
        chat = Chat(MODELS['anthropic'][0], sp='You add numbers. ' * 50, tools=[simple_add], cache=True, ttl=ttl,
                    **srv.kwargs('anthropic'))
        for o in chat('Count up with the tool. ' * 40, max_steps=n + 1, return_all=True):
            if isinstance(o, ModelResponse): uses.append(Use.of(o))
        assert len(srv.requests) == n and not srv.violations
        assert _cache_share(srv.requests, uses) >= 0.995
        assert chat.use.cached == sum(u.cached for u in uses) and chat.use.cache_write > 0


def test_without_cache_nothing_is_read_from_the_cache():
    from lexi.testing import StandIn
    with StandIn(prompt_cache=True) as srv:
        srv.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 1})]), Reply(text='2'))
        chat = Chat(MODELS['anthropic'][0], sp='You add. ' * 100, tools=[simple_add], **srv.kwargs('anthropic'))
        chat('add', max_steps=3)
        assert chat.use.cached == 0 and chat.use.cache_write == 0
