"""The backend seam: Chat(model, backend=None | litellm.Router | a function), sync and async."""
import asyncio, json

import litellm
import pytest
from litellm import ModelResponse, ModelResponseStream

from lexi import AsyncChat, Chat, UsageError
from lexi.demo import simple_add
from lexi.testing import Fault, Reply, Scripted, ToolCall, model_response, response_chunks

MODEL = 'anthropic/claude-sonnet-4-5'


def test_a_plain_function_backend_gets_litellms_keywords_and_drives_the_tool_loop():
    seen = []
    def backend(**kw):
        seen.append(kw)
        if len(seen) == 1: return model_response(Reply(tool_calls=[ToolCall('simple_add', {'a': 2, 'b': 3}, id='c1')]), kw['model'])
        return model_response(f"got {kw['messages'][-1]['content']}", kw['model'])
    chat = Chat(MODEL, tools=[simple_add], backend=backend, max_tokens=50)
    r = chat('2+3?', max_steps=3)
    assert r.choices[0].message.content == 'got 5' and chat.last_response is r
    assert seen[0]['model'] == MODEL and seen[0]['max_tokens'] == 50 and seen[0]['tools'][0]['function']['name'] == 'simple_add'
    assert [m['role'] for m in seen[1]['messages']] == ['user', 'assistant', 'tool']


def test_a_function_backend_streams_by_returning_chunks():
    chat = Chat(MODEL, backend=lambda **kw: iter(response_chunks('one two three', kw['model'])))
    s = chat('count', stream=True)
    text = ''.join(o.choices[0].delta.content or '' for o in s if isinstance(o, ModelResponseStream) and o.choices)
    assert text == 'one two three' == s.value.choices[0].message.content == chat.last_response.choices[0].message.content


async def test_asyncchat_takes_a_coroutine_function_or_a_plain_one():
    async def abackend(**kw):
        await asyncio.sleep(0)
        return model_response('async hi', kw['model'])
    assert (await AsyncChat(MODEL, backend=abackend)('hi')).choices[0].message.content == 'async hi'
    assert (await AsyncChat(MODEL, backend=Scripted('sync hi'))('hi')).choices[0].message.content == 'sync hi'
    items = [o async for o in AsyncChat(MODEL, backend=Scripted('a b'))('hi', stream=True)]
    assert isinstance(items[-1], ModelResponse) and items[-1].choices[0].message.content == 'a b'


def test_chat_refuses_a_coroutine_function_backend():
    async def abackend(**kw): return None
    with pytest.raises(UsageError, match='AsyncChat'): Chat(MODEL, backend=abackend)
    chat = Chat(MODEL, backend=Scripted())
    with pytest.raises(UsageError, match='AsyncChat'): chat('hi', backend=abackend)


def test_a_backend_returning_something_else_is_a_clear_error_and_hist_is_kept():
    chat = Chat(MODEL, backend=lambda **kw: None)
    with pytest.raises(UsageError, match='returns what litellm.completion returns') as ei:
        chat('hi')
    assert chat.hist == [] and any('unchanged' in n for n in ei.value.__notes__)


def test_last_response_is_the_last_one_received_and_survives_a_failure():
    backend = Scripted('first', ConnectionError('down'))
    chat = Chat(MODEL, backend=backend, retries=0)
    r = chat('a')
    with pytest.raises(ConnectionError): chat('b')
    assert chat.last_response is r


def test_scripted_records_requests_and_says_when_nothing_is_queued():
    backend = Scripted(Reply(text='x', usage={'input': 7, 'output': 2}))
    chat = Chat(MODEL, backend=backend)
    chat('hi')
    assert backend.requests[0]['messages'] == [{'role': 'user', 'content': 'hi'}]
    assert (chat.use.input, chat.use.output) == (7, 2)
    with pytest.raises(UsageError, match='nothing scripted'): chat('again')
    assert len(chat.hist) == 2


# ---------------------------------------------------------------- a litellm.Router

def router(srv, *models, strategy='simple-shuffle'):
    provider = lambda m: m.split('/')[0]
    return litellm.Router(model_list=[{'model_name': 'smart', 'litellm_params': {'model': m, **srv.kwargs(provider(m))}}
                                      for m in models], routing_strategy=strategy)


def test_a_router_backend_sends_to_its_deployments_and_prices_what_answered(standin):
    n = 40   # shuffled: all to one deployment has odds of 2 in 2**40
    standin.queue(*[Reply(text=f'r{i}', usage={'input': 1000, 'output': 100}) for i in range(n)])
    r = router(standin, 'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1')
    chat = Chat('smart', backend=r, sp='Be brief.')
    for i in range(n): chat(f'q{i}')
    providers = [q.provider for q in standin.requests]
    assert set(providers) == {'anthropic', 'openai'}          # the group's two deployments both answered
    assert [m.content for m in chat.hist[1::2]] == [f'r{i}' for i in range(n)]
    price = {p: sum(litellm.cost_per_token(model=m, prompt_tokens=1000, completion_tokens=100))
             for p, m in [('anthropic', 'anthropic/claude-sonnet-4-5'), ('openai', 'openai/gpt-4.1')]}
    assert chat.cost == pytest.approx(sum(price[p] for p in providers))


def test_router_capabilities_come_from_the_groups_deployments(standin):
    r = router(standin, 'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1')
    with pytest.raises(UsageError, match='openai/gpt-4.1 does not support reasoning'):
        Chat('smart', backend=r)('hi', think='l')
    both = router(standin, 'anthropic/claude-sonnet-4-5', 'openai/o4-mini')
    standin.queue('ok')
    assert Chat('smart', backend=both)('hi', think='l').choices[0].message.content == 'ok'
    assert standin.requests[-1].body.get('reasoning_effort') == 'low' or 'thinking' in standin.requests[-1].body


def test_a_router_group_of_models_litellm_does_not_know_never_crashes(standin):
    r = router(standin, 'openai/my-proxy-model-2027')
    standin.queue('fine')
    chat = Chat('smart', backend=r, cache=True)
    assert chat('hi', think='l', search='l').choices[0].message.content == 'fine'
    assert chat.cost == 0


def test_router_checkpoints_go_where_a_deployment_needs_them(standin):
    standin.queue('a', 'b')
    r = router(standin, 'anthropic/claude-sonnet-4-5', strategy='simple-shuffle')
    chat = Chat('smart', backend=r, cache=True)
    chat('one'); chat('two')
    assert 'cache_control' in json.dumps(standin.requests[-1].body['messages'])


@pytest.mark.parametrize('stream', [False, True])
async def test_asyncchat_with_a_router_runs_a_tool_loop(standin, stream):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text='3'))
    r = router(standin, 'openai/gpt-4.1')
    chat = AsyncChat('smart', backend=r, tools=[simple_add])
    out = chat('1+2', max_steps=3, stream=stream)
    if stream: items = [o async for o in out]
    else: await out
    assert chat.hist[-1].content == '3' and chat.hist[2]['content'] == '3'


# ---------------------------------------------------------------- a list of models: lexi builds the Router

def _deployments(srv, *models):
    return [{'model': m, **srv.kwargs(m.split('/')[0])} for m in models]


def test_fallback_reaches_the_second_model_after_the_first_returns_500s(standin):
    standin.queue(Fault(500), Reply(text='from openai'))
    chat = Chat(_deployments(standin, 'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1'), route='fallback', retries=0)
    assert chat('hi').choices[0].message.content == 'from openai'
    assert [r.provider for r in standin.requests] == ['anthropic', 'openai']
    assert set(chat.use.by_model) == {'openai/gpt-4.1'} and chat.use.by_model['openai/gpt-4.1'].calls == 1


def test_shuffle_spreads_requests_over_the_models(standin):
    n = 200
    standin.queue(*['ok'] * n)
    chat = Chat(_deployments(standin, 'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1'), route='shuffle')
    for _ in range(n): chat('hi'); chat.hist.clear()
    share = sum(r.provider == 'openai' for r in standin.requests) / n
    assert 0.4 <= share <= 0.6
    by = chat.use.by_model
    assert set(by) == {'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1'} and sum(u.calls for u in by.values()) == n
    assert chat.cost == pytest.approx(sum(u.cost for u in by.values()))


@pytest.mark.parametrize('route', ['least-busy', 'latency-based-routing', 'usage-based-routing-v2'])
def test_litellm_routing_strategies_by_name(standin, route):
    standin.queue('a', 'b')
    chat = Chat(_deployments(standin, 'openai/gpt-4.1', 'openai/gpt-4.1-mini'), route=route)
    chat('one'); chat('two')
    assert len(standin.requests) == 2 and chat.settings.backend.routing_strategy == route


def test_a_model_list_takes_the_chats_own_credentials_for_each_model(standin):
    standin.queue('ok')
    chat = Chat(['openai/gpt-4.1', 'openai/gpt-4.1-mini'], route='shuffle', **standin.kwargs('openai'))
    assert chat('hi').choices[0].message.content == 'ok'


def test_model_list_mistakes_are_usage_errors(standin):
    with pytest.raises(UsageError, match='route'): Chat(['openai/gpt-4.1'], route='round-robin')
    with pytest.raises(UsageError, match='not both'): Chat(['openai/gpt-4.1'], backend=Scripted())
    with pytest.raises(UsageError, match="dict with 'model'"): Chat(['openai/gpt-4.1', 3])


def test_capability_checks_cover_the_fallbacks_too(standin):
    chat = Chat(_deployments(standin, 'anthropic/claude-sonnet-4-5', 'openai/gpt-4.1'), route='fallback')
    with pytest.raises(UsageError, match='openai/gpt-4.1 does not support reasoning'): chat('hi', think='l')


def test_one_repeated_item_answers_every_request_of_a_batch():
    from lexi import batch
    backend = Scripted(lambda **kw: kw['messages'][-1]['content'].upper(), repeat=True)
    results = batch([f'prompt {i}' for i in range(40)], Chat(MODEL, backend=backend), progress=False)
    assert [r.choices[0].message.content for r in results] == [f'PROMPT {i}' for i in range(40)]
    assert len(backend.requests) == 40 and len(backend.pending) == 1


def test_repeat_uses_the_queued_items_first_then_keeps_the_last():
    backend = Scripted('one', 'two', repeat=True)
    chat = Chat(MODEL, backend=backend)
    assert [chat(str(i)).choices[0].message.content for i in range(4)] == ['one', 'two', 'two', 'two']


def test_scripted_help_documents_function_replies_and_repeat():
    doc = Scripted.__doc__
    assert 'a function: called with the request' in doc and 'repeat=True' in doc
