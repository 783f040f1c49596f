"""Wire tests of lexi.testing: LiteLLM's real request and response handling against the stand-in.

Each test queues provider-neutral scripts, calls LiteLLM with the stand-in's routing, and checks
that what LiteLLM hands back is what the script says. Expected values are built from the script
objects in the test, never read back from the stand-in.
"""
import asyncio
import json
import re
import urllib.error
import urllib.request

import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError

from lexi.errors import UsageError
from lexi.testing import Citation, Cited, Embeddings, Fault, Reply, StandIn, ToolCall

pytest_plugins = ['pytester']

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
PROVIDERS = list(MODELS)
PATHS = {'openai': '/v1/chat/completions', 'anthropic': '/v1/messages',
         'gemini': '/v1beta/models/gemini-2.5-flash:generateContent'}
AUTH_HEADER = {'openai': 'authorization', 'anthropic': 'x-api-key', 'gemini': 'x-goog-api-key'}
ID_PREFIX = {'openai': 'call_', 'anthropic': 'toolu_', 'gemini': 'call_'}
MSGS = [{'role': 'user', 'content': 'Hello'}]

SCRIPTS = {
    'text': Reply(text='Hello! How can I help you today?', chunk_size=7,
                  usage=dict(input=31, output=9, cache_read=12, cache_write=5)),
    'tools': Reply(text='Let me compute both.',
                   tool_calls=[ToolCall('add', {'a': 5, 'b': 7}),
                               ToolCall('describe', {'items': [1, 2.5, None], 'note': 'naïve "quote"'}, id='call_given')],
                   usage=dict(input=120, output=40)),
    'thinking': Reply(text='It is 4.', thinking='The user asks for 2+2, which is 4.', signature='c2lnbmF0dXJlLTE=',
                      usage=dict(input=20, output=30, reasoning=18)),
}


# -- helpers: call LiteLLM, and reduce what comes back to comparable data

async def complete(srv, provider, stream=False, mode='sync', **kw):
    "(response, None) for JSON calls, (None, chunks) for streams; sync or async LiteLLM."
    args = dict(model=MODELS[provider], messages=MSGS, **srv.kwargs(provider), **kw)
    if stream: args.update(stream=True, stream_options={'include_usage': True})
    if mode == 'sync':
        r = litellm.completion(**args)
        return (None, list(r)) if stream else (r, None)
    r = await litellm.acompletion(**args)
    return (None, [c async for c in r]) if stream else (r, None)


def expected(script, provider):
    u = script.usage
    usage = dict(prompt=u['input'], completion=u['output'], total=u['input'] + u['output'],
                 cached=u.get('cache_read', 0),
                 reasoning=None if provider == 'anthropic' else u.get('reasoning', 0),  # Anthropic sends no count
                 cache_write=u.get('cache_write', 0) if provider == 'anthropic' else None)
    return dict(content=script.text or None, reasoning=script.thinking,
                tool_calls=[(tc.name, tc.args) for tc in script.tool_calls],
                finish='tool_calls' if script.tool_calls else 'stop', usage=usage)


def usage_summary(u, provider):
    details = u.completion_tokens_details
    return dict(prompt=u.prompt_tokens, completion=u.completion_tokens, total=u.total_tokens,
                cached=(u.prompt_tokens_details.cached_tokens or 0) if u.prompt_tokens_details else 0,
                reasoning=None if provider == 'anthropic' else ((details.reasoning_tokens or 0) if details else 0),
                cache_write=u.cache_creation_input_tokens if provider == 'anthropic' else None)


def summary(resp, provider):
    m = resp.choices[0].message
    return dict(content=m.content, reasoning=getattr(m, 'reasoning_content', None),
                tool_calls=[(tc.function.name, json.loads(tc.function.arguments)) for tc in m.tool_calls or []],
                finish=resp.choices[0].finish_reason, usage=usage_summary(resp.usage, provider))


def assemble(chunks, provider):
    "The same summary, built by concatenating stream deltas by hand."
    content, reasoning, calls, finish, usage = '', '', {}, None, None
    for c in chunks:
        usage = getattr(c, 'usage', None) or usage
        if not c.choices: continue
        d = c.choices[0].delta
        content += d.content or ''
        reasoning += getattr(d, 'reasoning_content', None) or ''
        for tc in d.tool_calls or []:
            slot = calls.setdefault(tc.index, ['', ''])
            slot[0] += tc.function.name or ''
            slot[1] += tc.function.arguments or ''
        finish = c.choices[0].finish_reason or finish
    return dict(content=content or None, reasoning=reasoning or None,
                tool_calls=[(n, json.loads(a)) for n, a in calls.values()], finish=finish,
                usage=usage_summary(usage, provider))


def stream_tool_ids(chunks):
    return [tc.id for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [] if tc.id]


def signature_of(resp, provider):
    m = resp.choices[0].message
    if provider == 'anthropic': return m.thinking_blocks[0]['signature']
    return (m.provider_specific_fields or {}).get('thought_signatures', [None])[0]


def user_text(body, provider):
    "The user message's text in a recorded request body."
    if provider == 'gemini': return body['contents'][0]['parts'][0]['text']
    content = body['messages'][0]['content']
    return content if isinstance(content, str) else content[0]['text']


# -- the wire matrix: provider x JSON/SSE x script x sync/async

@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
@pytest.mark.parametrize('kind', list(SCRIPTS))
@pytest.mark.parametrize('provider', PROVIDERS)
async def test_litellm_returns_exactly_what_was_scripted(standin, provider, kind, stream, mode):
    script = SCRIPTS[kind]
    standin.queue(script)
    resp, chunks = await complete(standin, provider, stream, mode)
    assert standin.requests[-1].stream is stream and standin.pending == []
    want = expected(script, provider)
    if stream:
        assert assemble(chunks, provider) == want
        resp = litellm.stream_chunk_builder(chunks, messages=MSGS)
    assert summary(resp, provider) == want
    ids = stream_tool_ids(chunks) if stream else [tc.id for tc in resp.choices[0].message.tool_calls or []]
    if script.tool_calls:   # a given id comes back as is; a missing one is made in the provider's style
        assert ids[1] == script.tool_calls[1].id and ids[0].startswith(ID_PREFIX[provider])
    if script.thinking and provider != 'openai':
        assert signature_of(resp, provider) == script.signature


@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
@pytest.mark.parametrize('finish', ['stop', 'length', 'content_filter', 'tool_calls'])
@pytest.mark.parametrize('provider', PROVIDERS)
async def test_finish_reason_comes_back_as_scripted(standin, provider, finish, stream):
    calls = [ToolCall('noop', {})] if finish == 'tool_calls' else []
    standin.queue(Reply(text='Partial answer', tool_calls=calls, finish=finish))
    resp, chunks = await complete(standin, provider, stream)
    resp = litellm.stream_chunk_builder(chunks, messages=MSGS) if stream else resp
    assert resp.choices[0].finish_reason == finish
    assert [(tc.function.name, json.loads(tc.function.arguments)) for tc in resp.choices[0].message.tool_calls or []] \
        == [(tc.name, tc.args) for tc in calls]


@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
@pytest.mark.parametrize('provider', PROVIDERS)
async def test_search_citations_reach_litellm(standin, provider, stream):
    sources = [Citation('https://otters.example/sleep', 'Otter sleep', 'Sea otters hold paws.'),
               Citation('https://zoo.example/tools', 'Zoo notes', 'Otters use rocks.')]
    script = Reply(text=['Fun fact: ', Cited('otters hold hands', sources[:1]), ' and ', Cited('use rocks', sources[1:]), '.'],
                   search=['otter facts'], usage=dict(input=50, output=12))
    standin.queue(script)
    resp, chunks = await complete(standin, provider, stream)
    resp = litellm.stream_chunk_builder(chunks, messages=MSGS) if stream else resp
    m, text = resp.choices[0].message, ''.join(p if isinstance(p, str) else p.text for p in script.text)
    cited = [(p.text, p.citations[0].url) for p in script.text if isinstance(p, Cited)]
    assert m.content == text
    if provider == 'anthropic':
        cits = [c for block in m.provider_specific_fields['citations'] for c in (block if isinstance(block, list) else [block])]
        assert [(c['url'], c['cited_text']) for c in cits] == [(c.url, c.cited_text) for c in sources]
        assert resp.usage.server_tool_use.web_search_requests == len(script.search)
    else:
        spans = [(text[a['url_citation']['start_index']:a['url_citation']['end_index']], a['url_citation']['url'])
                 for a in m.annotations]
        assert spans == cited
    if provider == 'gemini':
        assert resp.usage.prompt_tokens_details.web_search_requests == len(script.search)


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_stream_pacing_and_model_echo_keep_the_content(standin, provider):
    script = Reply(text='Slow and steady wins.', thinking='Pace it.', event_delay=0.002, chunk_size=3, model='served-7')
    standin.queue(script, script)
    _, chunks = await complete(standin, provider, stream=True)
    text = ''.join(c.choices[0].delta.content or '' for c in chunks if c.choices)
    assert text == script.text and len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    resp, _ = await complete(standin, provider)   # LiteLLM's stream chunks name the requested model instead
    assert resp.model == script.model


# -- recording

@pytest.mark.parametrize('provider', PROVIDERS)
def test_requests_are_recorded_with_credentials_redacted(standin, provider):
    standin.queue(Reply(text='ok'))
    litellm.completion(MODELS[provider], MSGS, **{**standin.kwargs(provider), 'api_key': 'sk-very-secret'})
    req = standin.requests[-1]
    assert (req.method, req.path, req.provider, req.stream) == ('POST', PATHS[provider], provider, False)
    assert req.model == MODELS[provider].split('/', 1)[1]
    assert req.headers[AUTH_HEADER[provider]] == '***'
    assert 'sk-very-secret' not in json.dumps([req.headers, req.query, req.body])
    assert user_text(req.body, provider) == 'Hello'


def test_query_key_is_redacted(standin):
    standin.queue(Reply(text='ok'))
    url = standin.url + '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=secret-123'
    body = json.dumps({'contents': [{'role': 'user', 'parts': [{'text': 'Hi'}]}]}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method='POST')) as r:
        assert b'"text":"ok"' in r.read()
    req = standin.requests[-1]
    assert req.query == {'alt': 'sse', 'key': '***'} and req.stream and req.provider == 'gemini'


# -- faults, delays, cuts, unscripted requests

@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('provider', PROVIDERS)
async def test_fault_429_is_a_rate_limit_error_with_retry_after(standin, provider, mode):
    standin.queue(Fault(429, 'Slow down, please.', retry_after=7), Reply(text='later'))
    with pytest.raises(litellm.RateLimitError, match='Slow down, please.') as e:
        await complete(standin, provider, mode=mode)
    assert dict(e.value.litellm_response_headers)['retry-after'] == '7'
    assert len(standin.requests) == 1 and len(standin.pending) == 1   # no silent SDK retry took the Reply


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_fault_500_is_an_internal_server_error(standin, provider):
    standin.queue(Fault(500, 'Boom.'))
    with pytest.raises(litellm.InternalServerError, match='Boom.') as e:
        await complete(standin, provider)
    assert e.value.status_code == 500 and len(standin.requests) == 1


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_unscripted_request_gets_an_error_naming_it(standin, provider):
    with pytest.raises(litellm.BadRequestError, match=re.escape(f'nothing scripted for POST {PATHS[provider]}')):
        await complete(standin, provider, timeout=10)
    assert [r.path for r in standin.unscripted] == [PATHS[provider]]
    standin.unscripted.clear()   # provoked on purpose; the fixture would fail the test otherwise


def test_fixture_fails_a_test_that_forgot_to_queue(pytester):
    pytester.makepyfile('''
        import urllib.error, urllib.request
        def test_forgot(standin):
            body = b'{"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "Hi"}]}'
            req = urllib.request.Request(standin.url + '/v1/messages', data=body, method='POST')
            try: urllib.request.urlopen(req)
            except urllib.error.HTTPError as e: assert e.code == 400
    ''')
    result = pytester.runpytest_inprocess('-p', 'no:socket', '-p', 'no:cacheprovider',
                                          '-o', 'asyncio_default_fixture_loop_scope=function')
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(['*nothing scripted for POST /v1/messages*'])


@pytest.mark.parametrize('provider', PROVIDERS)
async def test_delay_holds_the_reply_back(standin, provider):
    standin.queue(Reply(text='too late', delay=3))
    retries = {'max_retries': 0} if provider == 'openai' else {}
    with pytest.raises(litellm.Timeout):
        await complete(standin, provider, timeout=0.2, **retries)
    assert len(standin.requests) == 1


# Events before the cut that carry 'one two': OpenAI role chunk + 2 deltas; Anthropic message_start,
# content_block_start, ping + 2 deltas; Gemini 2 chunks.
CUTS = {'openai': 3, 'anthropic': 5, 'gemini': 2}


@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('provider', PROVIDERS)
async def test_cut_after_breaks_the_stream_with_an_error(standin, provider, mode):
    script = Reply(text='one two three four', cut_after=CUTS[provider])
    standin.queue(script)
    args = dict(model=MODELS[provider], messages=MSGS, stream=True, **standin.kwargs(provider))
    got = []
    with pytest.raises(MidStreamFallbackError, match='APIConnectionError'):   # the connection broke
        if mode == 'sync':
            for c in litellm.completion(**args): got.append(c.choices[0].delta.content or '')
        else:
            async for c in await litellm.acompletion(**args): got.append(c.choices[0].delta.content or '')
    assert ''.join(got) == ' '.join(script.text.split()[:2])


RAW_ARGS = '{"a": 1, "b'   # a call cut mid-stream


@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
async def test_raw_argument_text_comes_back_as_written_where_the_provider_can_send_it(standin, stream):
    standin.queue(Reply(tool_calls=[ToolCall('add', RAW_ARGS), ToolCall('mul', '[1, 2]')]))
    resp, chunks = await complete(standin, 'openai', stream)
    resp = litellm.stream_chunk_builder(chunks, messages=MSGS) if stream else resp
    assert [tc.function.arguments for tc in resp.choices[0].message.tool_calls] == [RAW_ARGS, '[1, 2]']


async def test_anthropic_streams_raw_argument_text_as_written(standin):
    standin.queue(Reply(tool_calls=[ToolCall('add', RAW_ARGS)]))
    _, chunks = await complete(standin, 'anthropic', stream=True)
    [tc] = litellm.stream_chunk_builder(chunks, messages=MSGS).choices[0].message.tool_calls
    assert (tc.function.name, tc.function.arguments) == ('add', RAW_ARGS)


@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
@pytest.mark.parametrize('provider', ['anthropic', 'gemini'])
async def test_raw_argument_text_that_is_an_object_goes_as_one(standin, provider, stream):
    standin.queue(Reply(tool_calls=[ToolCall('add', ' {"a": 1} ')]))
    resp, chunks = await complete(standin, provider, stream)
    resp = litellm.stream_chunk_builder(chunks, messages=MSGS) if stream else resp
    assert [json.loads(tc.function.arguments) for tc in resp.choices[0].message.tool_calls] == [{'a': 1}]


@pytest.mark.parametrize('provider, stream', [('anthropic', False), ('gemini', False), ('gemini', True)])
async def test_raw_argument_text_a_provider_cannot_send_is_the_stand_ins_error(standin, provider, stream):
    standin.queue(Reply(tool_calls=[ToolCall('add', RAW_ARGS)]))
    with pytest.raises(litellm.BadRequestError, match='sends tool arguments as a JSON object'):
        await complete(standin, provider, stream)
    assert len(standin.unscripted) == 1
    standin.unscripted.clear()


# -- embeddings, models, raw bodies, routing by environment

@pytest.mark.parametrize('mode', ['sync', 'async'])
async def test_embeddings_return_the_scripted_vectors(standin, mode):
    vectors = [[0.25, -1.5, 3.0], [0.0, 2.0, -0.125]]
    standin.queue(Embeddings(vectors, tokens=4))
    args = dict(model='openai/text-embedding-3-small', input=['a', 'b'], **standin.kwargs('openai'))
    r = litellm.embedding(**args) if mode == 'sync' else await litellm.aembedding(**args)
    assert [d['embedding'] for d in r.data] == vectors and r.usage.prompt_tokens == 4
    assert standin.requests[-1].body['input'] == ['a', 'b']


def test_models_endpoint_lists_the_configured_models(standin):
    standin.models = ['gpt-x', 'gpt-y']
    got = litellm.get_valid_models(check_provider_endpoint=True, custom_llm_provider='openai', **standin.kwargs('openai'))
    assert got == ['gpt-x', 'gpt-y']
    assert standin.requests[-1].path == '/v1/models' and standin.unscripted == []


def test_queue_raw_sends_bodies_verbatim(standin):
    body = {'id': 'chatcmpl-raw1', 'object': 'chat.completion', 'created': 1, 'model': 'gpt-4.1',
            'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': 'Raw hello'}, 'finish_reason': 'stop'}],
            'usage': {'prompt_tokens': 3, 'completion_tokens': 2, 'total_tokens': 5}}
    events = [('message_start', {'type': 'message_start', 'message': {
                  'id': 'msg_raw', 'type': 'message', 'role': 'assistant', 'model': 'claude-sonnet-4-5', 'content': [],
                  'stop_reason': None, 'stop_sequence': None, 'usage': {'input_tokens': 3, 'output_tokens': 1}}}),
              ('content_block_start', {'type': 'content_block_start', 'index': 0, 'content_block': {'type': 'text', 'text': ''}}),
              ('content_block_delta', {'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': 'Raw stream'}}),
              ('content_block_stop', {'type': 'content_block_stop', 'index': 0}),
              ('message_delta', {'type': 'message_delta', 'delta': {'stop_reason': 'end_turn'}, 'usage': {'output_tokens': 2}}),
              ('message_stop', {'type': 'message_stop'})]
    sse = ''.join(f'event: {e}\ndata: {json.dumps(d)}\n\n' for e, d in events)
    standin.queue_raw(body).queue_raw(sse, content_type='text/event-stream')
    standin.queue_raw({'error': {'message': 'Try later.', 'type': 'server_error'}}, status=503)
    r = litellm.completion(MODELS['openai'], MSGS, **standin.kwargs('openai'))
    assert (r.id, r.choices[0].message.content) == ('chatcmpl-raw1', 'Raw hello')
    chunks = list(litellm.completion(MODELS['anthropic'], MSGS, stream=True, **standin.kwargs('anthropic')))
    assert ''.join(c.choices[0].delta.content or '' for c in chunks) == 'Raw stream'
    with pytest.raises(litellm.ServiceUnavailableError, match='Try later.'):
        litellm.completion(MODELS['openai'], MSGS, **standin.kwargs('openai'))


@pytest.mark.parametrize('provider', PROVIDERS)
def test_env_routes_litellm_to_the_stand_in(standin, provider, monkeypatch):
    for k, v in standin.env(provider).items(): monkeypatch.setenv(k, v)
    standin.queue(Reply(text='via environment'))
    r = litellm.completion(MODELS[provider], MSGS)
    assert r.choices[0].message.content == 'via environment' and standin.requests[-1].provider == provider


# -- the queue itself

async def test_queue_is_one_fifo_shared_by_all_providers(standin):
    standin.queue('first', Reply(text='second'), 'third')
    for provider, text in zip(PROVIDERS, ['first', 'second', 'third']):
        resp, _ = await complete(standin, provider)
        assert resp.choices[0].message.content == text
    assert [r.provider for r in standin.requests] == PROVIDERS and standin.pending == []
    standin.queue('left over')
    standin.reset()
    assert (standin.pending, standin.requests, standin.unscripted) == ([], [], [])


async def test_concurrent_requests_each_get_one_item(standin):
    texts = [f'answer {i}' for i in range(6)]
    standin.queue(*texts)
    results = await asyncio.gather(*(complete(standin, PROVIDERS[i % 3], mode='async') for i in range(6)))
    assert sorted(r.choices[0].message.content for r, _ in results) == texts


def test_script_mistakes_raise_usage_errors():
    with pytest.raises(UsageError, match='finish'): Reply(text='x', finish='done')
    with pytest.raises(UsageError, match='cache_read'): Reply(usage=dict(input=3, cache_read=5))
    with pytest.raises(UsageError, match='ToolCall'): Reply(tool_calls=[('add', {})])
    with pytest.raises(UsageError, match='dict of arguments'): ToolCall('add', [1, 2])
    with StandIn() as srv:
        with pytest.raises(UsageError, match='openai, anthropic, gemini'): srv.kwargs('azure')
        with pytest.raises(UsageError, match='Reply, Fault'): srv.queue(42)
    with pytest.raises(UsageError, match='not running'): StandIn().url


# -- provider rules: requests the real providers refuse get their 400, and use no scripted item

def tool_schema(name):
    return {'type': 'function', 'function': {'name': name, 'description': f'{name} two numbers',
                                             'parameters': {'type': 'object', 'properties': {'a': {'type': 'integer'}}}}}


TOOLS = [tool_schema('add'), tool_schema('mul')]
ASK = {'role': 'user', 'content': 'Compute both.'}
GEMINI_PATH = '/v1beta/models/gemini-2.5-flash:generateContent'
INVALID_REQUEST = {'openai': ('invalid_request_error',), 'anthropic': ('error', 'invalid_request_error'),
                   'gemini': (400, 'INVALID_ARGUMENT')}


def calls(*ids, names=('add', 'mul', 'add')):
    "An assistant message calling tools in parallel, one call per id."
    return {'role': 'assistant', 'content': None, 'tool_calls': [
        {'id': i, 'type': 'function', 'function': {'name': n, 'arguments': '{"a": 1}'}} for i, n in zip(ids, names)]}


def called(tcid, arguments):
    "An assistant message with one call of 'add' whose arguments text is `arguments`."
    return {'role': 'assistant', 'content': None, 'tool_calls': [
        {'id': tcid, 'type': 'function', 'function': {'name': 'add', 'arguments': arguments}}]}


def result(tcid, name='add'):
    return {'role': 'tool', 'tool_call_id': tcid, 'name': name, 'content': '2'}


def tool_history(p):
    "User -> two parallel calls -> both results -> one more call -> its result -> user; p is the id prefix."
    return [ASK, calls(f'{p}a', f'{p}b'), result(f'{p}a'), result(f'{p}b', 'mul'),
            calls(f'{p}c'), result(f'{p}c'), {'role': 'user', 'content': 'Thanks, and now?'}]


def post(srv, path, body):
    "POST a JSON body straight to the stand-in: (status, parsed JSON answer)."
    req = urllib.request.Request(srv.url + path, data=json.dumps(body).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req) as r: return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read())


def provider_error(body, provider):
    "(the provider's invalid-request markers, the message) from an error body of that provider's shape."
    err = body['error']
    if provider == 'anthropic': return (body['type'], err['type']), err['message']
    if provider == 'gemini': return (err['code'], err['status']), err['message']
    return (err['type'],), err['message']


@pytest.mark.parametrize('provider', PROVIDERS)
def test_a_valid_multi_step_tool_history_passes_the_rules(standin, provider):
    standin.queue('All done.')
    r = litellm.completion(MODELS[provider], tool_history(ID_PREFIX[provider]), tools=TOOLS, **standin.kwargs(provider))
    assert r.choices[0].message.content == 'All done.'
    assert standin.violations == [] and standin.pending == []


def test_anthropic_server_tool_blocks_need_no_tool_result(standin):
    standin.queue(Reply(text='Searching, then adding.', search=['otter facts'], tool_calls=[ToolCall('add', {'a': 1})]),
                  'Answered.', 'never sent')
    kw = dict(tools=TOOLS, **standin.kwargs('anthropic'))
    m = litellm.completion(MODELS['anthropic'], [ASK], **kw).choices[0].message
    # LiteLLM up to 1.109 lists the server-side web_search call among tool_calls; 1.110 moved it to
    # provider_specific_fields['server_tool_calls'] (and rebuilds the server blocks from there)
    moved = (m.provider_specific_fields or {}).get('server_tool_calls') or []
    server = [tc['id'] for tc in moved] + [tc.id for tc in m.tool_calls if tc.id.startswith('srvtoolu_')]
    own = [tc for tc in m.tool_calls if not tc.id.startswith('srvtoolu_')]
    assert len(server) == 1 and server[0].startswith('srvtoolu_') and [tc.function.name for tc in own] == ['add']
    r = litellm.completion(MODELS['anthropic'], [ASK, m, result(own[0].id)], **kw)
    assert r.choices[0].message.content == 'Answered.' and standin.violations == []
    sent = standin.requests[-1].body['messages'][1]['content']
    assert [b['type'] for b in sent] == ['text', 'server_tool_use', 'web_search_tool_result', 'tool_use']
    # a client result for the server's call: Anthropic refuses it; LiteLLM from 1.108 leaves it out of the request
    try: litellm.completion(MODELS['anthropic'], [ASK, m, result(own[0].id), result(server[0], 'web_search')], **kw)
    except litellm.BadRequestError as e:
        assert f'unexpected `tool_use_id` found in `tool_result` blocks: {server[0]}' in str(e)
        assert [p.text for p in standin.pending] == ['never sent']
    else:
        assert server[0] not in json.dumps(standin.requests[-1].body['messages'][2])
    standin.violations.clear()


def cached(i):
    return {'role': 'user' if i % 2 == 0 else 'assistant',
            'content': [{'type': 'text', 'text': f'turn {i}', 'cache_control': {'type': 'ephemeral'}}]}


# (provider, messages, extra completion arguments, what the refusal says)
RULE_CASES = {
    'anthropic-tool_use-without-result': (
        'anthropic', [ASK, calls('toolu_a', 'toolu_b'), result('toolu_a'), {'role': 'user', 'content': 'Go on.'}], {},
        'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_b.'),
    'anthropic-tool_result-without-tool_use': (
        'anthropic', [ASK, result('toolu_x')], {},
        'messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x.'),
    'anthropic-five-cache-checkpoints': (
        'anthropic', [cached(i) for i in range(5)], {},
        'A maximum of 4 blocks with cache_control may be provided. Found 5.'),
    'anthropic-duplicate-tool-names': (
        'anthropic', [ASK], {'tools': [tool_schema('add'), tool_schema('add')]}, 'tools: Tool names must be unique.'),
    'openai-tool_calls-not-all-answered': (
        'openai', [ASK, calls('call_a', 'call_b'), result('call_a'), {'role': 'user', 'content': 'Go on.'}], {},
        "messages.[1]: An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: call_b"),
    'openai-answer-after-another-role': (
        'openai', [ASK, calls('call_a'), {'role': 'user', 'content': 'Hurry.'}, result('call_a')], {},
        'The following tool_call_ids did not have response messages: call_a'),
    'openai-tool-message-without-tool_calls': (
        'openai', [ASK, result('call_x')], {},
        "messages.[1].role: Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
        "with 'tool_calls'."),
    'openai-tool-message-with-unknown-id': (
        'openai', [ASK, calls('call_a'), result('call_a'), result('call_x')], {},
        "messages.[3]: Invalid parameter: 'tool_call_id' of 'call_x' not found in 'tool_calls' of previous message."),
    'gemini-fewer-responses-than-calls': (
        'gemini', [ASK, calls('call_a', 'call_b'), result('call_a')], {},
        'contents[2]: Please ensure that the number of function response parts is equal to the number of function '
        'call parts of the function call turn. (contents[1] has 2 function call parts, contents[2] has 1'),
    'gemini-response-without-call': (
        'gemini', [ASK, result('call_x')], {},
        'contents[1]: Please ensure that function response turn comes immediately after a function call turn.'),
    'anthropic-tool_use-input-not-an-object': (
        'anthropic', [ASK, called('toolu_a', '[1, 2]'), result('toolu_a')], {},
        'messages.1.content.0.tool_use.input: Input should be a valid dictionary'),
    'gemini-function_call-args-not-an-object': (
        'gemini', [ASK, called('call_a', '[1, 2]'), result('call_a')], {},
        # "Invalid value at '...' (type.googleapis.com/google.protobuf.Struct), [1, 2]": LiteLLM escapes the quotes
        # in a stream's error, so the path alone is matched
        'contents[1].parts[0].function_call.args'),
    'gemini-duplicate-declarations': (
        'gemini', [ASK], {'tools': [tool_schema('add'), tool_schema('add')]}, 'Duplicate function declaration found: add'),
}


@pytest.mark.parametrize('stream', [False, True], ids=['json', 'sse'])
@pytest.mark.parametrize('case', list(RULE_CASES))
def test_a_rule_violation_gets_the_providers_400_and_keeps_the_queue(standin, case, stream):
    provider, msgs, kw, message = RULE_CASES[case]
    standin.queue('Not for an invalid request.')
    with pytest.raises(litellm.BadRequestError, match=re.escape(message)):
        r = litellm.completion(MODELS[provider], msgs, stream=stream, **standin.kwargs(provider), **kw)
        list(r) if stream else r
    [refused] = standin.violations
    assert message in refused.error and refused.provider == provider and refused.stream is stream
    assert [p.text for p in standin.pending] == ['Not for an invalid request.']
    status, body = post(standin, refused.path, refused.body)        # the same body again, to see the raw answer
    assert (status, provider_error(body, provider)) == (400, (INVALID_REQUEST[provider], refused.error))
    standin.violations.clear()


ANTHROPIC_PATH = '/v1/messages'
# Bodies LiteLLM itself never sends (it fills or refuses them first), checked on the wire.
RAW_CASES = {
    'anthropic-no-messages': (
        'anthropic', ANTHROPIC_PATH, {'model': 'm', 'max_tokens': 9, 'messages': []},
        'messages: at least one message is required'),
    'anthropic-empty-text-block': (
        'anthropic', ANTHROPIC_PATH, {'model': 'm', 'max_tokens': 9, 'messages': [
            {'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}, {'type': 'text', 'text': ''}]}]},
        'messages.0.content.1: text content blocks must be non-empty'),
    'anthropic-empty-system-text': (
        'anthropic', ANTHROPIC_PATH, {'model': 'm', 'max_tokens': 9, 'system': [{'type': 'text', 'text': ''}],
                                      'messages': [{'role': 'user', 'content': 'Hi'}]},
        'system: text content blocks must be non-empty'),
    'anthropic-empty-content': (
        'anthropic', ANTHROPIC_PATH, {'model': 'm', 'max_tokens': 9, 'messages': [
            {'role': 'user', 'content': []}, {'role': 'assistant', 'content': 'Hello'}]},
        'messages.0: all messages must have non-empty content except for the optional final assistant message'),
    'anthropic-cache-in-system-and-tools': (
        'anthropic', ANTHROPIC_PATH, {'model': 'm', 'max_tokens': 9,
            'system': [{'type': 'text', 'text': 'Be brief.', 'cache_control': {'type': 'ephemeral'}}],
            'tools': [{'name': n, 'input_schema': {'type': 'object'}, 'cache_control': {'type': 'ephemeral'}}
                      for n in ('add', 'mul')],
            'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi', 'cache_control': {'type': 'ephemeral'}}]},
                         {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Yo', 'cache_control': {'type': 'ephemeral'}}]}]},
        'A maximum of 4 blocks with cache_control may be provided. Found 5.'),
    'gemini-no-contents': ('gemini', GEMINI_PATH, {'contents': []},
                           '* GenerateContentRequest.contents: contents is not specified'),
    'gemini-empty-parts': ('gemini', GEMINI_PATH, {'contents': [{'role': 'user', 'parts': []}]},
                           '* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.'),
    'gemini-function-response-not-an-object': (
        'gemini', GEMINI_PATH, {'contents': [
            {'role': 'user', 'parts': [{'text': 'Compute.'}]},
            {'role': 'model', 'parts': [{'functionCall': {'name': 'add', 'args': {'a': 1}}}]},
            {'role': 'user', 'parts': [{'functionResponse': {'name': 'add', 'response': '2'}}]}]},
        "Invalid value at 'contents[2].parts[0].function_response.response' (type.googleapis.com/google.protobuf.Struct), \"2\""),
    'gemini-camelCase-parts': (
        'gemini', GEMINI_PATH, {'contents': [
            {'role': 'user', 'parts': [{'text': 'Compute both.'}]},
            {'role': 'model', 'parts': [{'functionCall': {'name': n, 'args': {}}} for n in ('add', 'mul')]},
            {'role': 'user', 'parts': [{'functionResponse': {'name': 'add', 'response': {'content': '2'}}}]}]},
        'contents[2]: Please ensure that the number of function response parts is equal to the number of function '
        'call parts of the function call turn. (contents[1] has 2 function call parts, contents[2] has 1'),
}


@pytest.mark.parametrize('case', list(RAW_CASES))
def test_bodies_litellm_never_sends_are_checked_too(standin, case):
    provider, path, body, message = RAW_CASES[case]
    standin.queue('Not for an invalid request.')
    status, answer = post(standin, path, body)
    kind, said = provider_error(answer, provider)
    assert (status, kind) == (400, INVALID_REQUEST[provider]) and said.startswith(message)
    assert [r.error for r in standin.violations] == [said] and len(standin.pending) == 1
    standin.violations.clear()


@pytest.mark.parametrize('provider', PROVIDERS)
def test_strict_false_lets_invalid_histories_through(provider):
    msgs = [ASK, calls('x_a', 'x_b'), result('x_a')]
    with StandIn(strict=False) as srv:
        srv.queue('Answered anyway.')
        r = litellm.completion(MODELS[provider], msgs, **srv.kwargs(provider))
    assert r.choices[0].message.content == 'Answered anyway.'
    assert srv.violations == [] and srv.pending == []


def test_fixture_fails_a_test_that_sent_an_invalid_history(pytester):
    pytester.makepyfile('''
        import json, urllib.error, urllib.request
        BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "Hi"},
                                                 {"role": "tool", "tool_call_id": "call_x", "content": "1"}]}

        def send(standin):
            req = urllib.request.Request(standin.url + "/v1/chat/completions", data=json.dumps(BODY).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
            try: urllib.request.urlopen(req)
            except urllib.error.HTTPError as e: return e.code

        def test_invalid(standin):
            assert send(standin) == 400

        def test_checked_on_purpose(standin):
            assert send(standin) == 400 and len(standin.violations) == 1
            standin.violations.clear()

        def test_rules_off(standin):
            standin.strict = False
            standin.queue("fine")
            assert send(standin) is None and standin.violations == []
    ''')
    result = pytester.runpytest_inprocess('-p', 'no:socket', '-p', 'no:cacheprovider',
                                          '-o', 'asyncio_default_fixture_loop_scope=function')
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(['*1 request(s) to the lexi.testing stand-in broke a provider rule*',
                                 "*POST /v1/chat/completions (openai): messages.*: Invalid parameter: messages with role "
                                 "'tool' must be a response to a preceeding message with 'tool_calls'.*"])


# ---------------------------------------------------------------- the simulated prompt cache

def _body(n_blocks, marks=(), extra=''):
    "An Anthropic body with one user message of `n_blocks` text blocks, marked at `marks`."
    content = [{'type': 'text', 'text': f'block {i} ' * 20 + (extra if i == n_blocks - 1 else '')} for i in range(n_blocks)]
    for i in marks: content[i]['cache_control'] = {'type': 'ephemeral'}
    return {'model': 'claude-sonnet-4-5', 'messages': [{'role': 'user', 'content': content}]}


def test_prompt_cache_reads_the_prefix_an_earlier_mark_wrote_within_20_blocks():
    from lexi.testing._cache import PromptCache, shared_prefix
    cache = PromptCache()
    first = cache.use(_body(10, marks=[9]))
    assert first.read == 0 and first.written == first.total
    near = _body(29, marks=[28])                       # 19 blocks after the mark: found by the look-back
    assert cache.use(near).read == shared_prefix(_body(10), near) == first.total
    far = PromptCache(); far.use(_body(10, marks=[9]))
    assert far.use(_body(40, marks=[39])).read == 0    # 30 blocks after it: out of reach
    exact = PromptCache(); exact.use(_body(10, marks=[9]))
    assert exact.use(_body(40, marks=[9, 39])).read == first.total   # a mark at the old end reads it exactly


def test_prompt_cache_ignores_marks_when_comparing_content_and_needs_a_mark():
    from lexi.testing._cache import PromptCache
    cache = PromptCache()
    cache.use(_body(5, marks=[4]))
    assert cache.use(_body(5)).read == 0                # no mark in the request: no cache use at all
    assert cache.use(_body(5, marks=[2, 4])).read > 0   # same blocks, other marks: still the same prefix


def test_standin_reports_simulated_cache_use_for_anthropic(standin):
    import litellm
    standin.prompt_cache = __import__('lexi.testing', fromlist=['PromptCache']).PromptCache()
    msgs = [{'role': 'user', 'content': [{'type': 'text', 'text': 'long context ' * 300, 'cache_control': {'type': 'ephemeral'}}]}]
    standin.queue('one', 'two')
    r1 = litellm.completion('anthropic/claude-sonnet-4-5', msgs, **standin.kwargs('anthropic'))
    r2 = litellm.completion('anthropic/claude-sonnet-4-5', msgs, **standin.kwargs('anthropic'))
    assert r1.usage.cache_creation_input_tokens > 900 and r1.usage.cache_read_input_tokens == 0
    assert r2.usage.cache_read_input_tokens == r1.usage.cache_creation_input_tokens and r2.usage.cache_creation_input_tokens == 0


def test_prompt_cache_reports_writes_under_a_1h_mark_as_1h_writes():
    from lexi import Chat
    from lexi.testing import StandIn
    costs = {}
    for ttl in (None, '1h'):
        with StandIn(prompt_cache=True) as srv:
            srv.queue(Reply(text='hi'))
            chat = Chat('anthropic/claude-sonnet-4-5', cache=True, ttl=ttl, **srv.kwargs('anthropic'))
            chat('x' * 4000)
            d = chat.last_response.usage.prompt_tokens_details.cache_creation_token_details
            writes = chat.last_response.usage.prompt_tokens_details.cache_creation_tokens
            assert writes > 0 and (d.ephemeral_1h_input_tokens, d.ephemeral_5m_input_tokens) == ((writes, 0) if ttl else (0, writes))
            costs[ttl] = chat.cost
    assert costs['1h'] > costs[None]   # LiteLLM prices 1-hour writes higher
