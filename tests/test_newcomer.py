"""Mistakes a newcomer makes are UsageErrors before anything is sent, and a library call writes nothing to stdout:
a missing API key, a call with nothing in it, another library's name for an option, Chat(None), LiteLLM's banners."""
import asyncio, json, os, subprocess, sys, textwrap

import litellm
import pytest

from lexi import AsyncChat, Chat, UsageError
from lexi._caps import missing_key
from lexi.errors import is_retryable
from lexi.testing import Fault, Reply, Scripted

from fakes import tc

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
FAST = dict(max_wait=0.05)   # should a check fail to stop a call, its retries stay quick
KEY_VARS = ('OPENAI_API_KEY', 'OPENAI_ADMIN_KEY', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GEMINI_API_KEY',
            'GOOGLE_API_KEY')


@pytest.fixture
def no_keys(monkeypatch):
    "No provider key in the environment (the stand-in's env() sets dummy ones; a developer's shell may too)."
    for k in KEY_VARS: monkeypatch.delenv(k, raising=False)
    return monkeypatch


def base_only(srv, provider, monkeypatch):
    "The stand-in as the provider's base URL, from the environment, without its key."
    for k, v in srv.env(provider).items():
        if not k.endswith('_KEY'): monkeypatch.setenv(k, v)


# ---------------------------------------------------------------- missing API keys

@pytest.mark.parametrize('provider, var', [('openai', 'OPENAI_API_KEY'), ('anthropic', 'ANTHROPIC_API_KEY'),
                                           ('gemini', 'GEMINI_API_KEY or GOOGLE_API_KEY')])
def test_a_missing_key_is_a_usage_error_naming_it_and_nothing_is_sent(standin, no_keys, provider, var):
    base_only(standin, provider, no_keys)
    chat = Chat(MODELS[provider], **FAST)
    with pytest.raises(UsageError) as ei: chat('hi')
    assert str(ei.value).startswith(f'{var} is not set: {MODELS[provider]} needs that API key.')
    assert 'export ' in str(ei.value) and 'api_key=' in str(ei.value)
    assert standin.requests == [] and chat.hist == []


def test_asyncchat_checks_the_key_too(standin, no_keys):
    base_only(standin, 'anthropic', no_keys)
    chat = AsyncChat(MODELS['anthropic'])
    with pytest.raises(UsageError, match='ANTHROPIC_API_KEY is not set'): asyncio.run(chat('hi'))
    assert standin.requests == []


def test_a_key_exported_after_the_error_is_used_by_the_next_call(standin, no_keys):
    base_only(standin, 'openai', no_keys)
    chat = Chat(MODELS['openai'], **FAST)
    with pytest.raises(UsageError): chat('hi')
    no_keys.setenv('OPENAI_API_KEY', 'sk-test')
    standin.queue(Reply(text='Hello'))
    assert chat('hi').choices[0].message.content == 'Hello' and len(standin.requests) == 1


def test_an_empty_key_variable_is_named_as_empty(standin, no_keys):
    base_only(standin, 'openai', no_keys)
    no_keys.setenv('OPENAI_API_KEY', '')
    with pytest.raises(UsageError, match='OPENAI_API_KEY is empty'): Chat(MODELS['openai'], **FAST)('hi')
    assert standin.requests == []


@pytest.mark.parametrize('how', ['chat api_key', 'call api_key', 'litellm.api_key', 'litellm.anthropic_key', 'auth token'])
def test_a_key_given_another_way_is_not_asked_for(standin, no_keys, how):
    base_only(standin, 'anthropic', no_keys)
    chat_kw, call_kw = {}, {}
    if how == 'chat api_key': chat_kw['api_key'] = 'sk-test'
    elif how == 'call api_key': call_kw['api_key'] = 'sk-test'
    elif how == 'auth token': no_keys.setenv('ANTHROPIC_AUTH_TOKEN', 'tok-test')
    else: no_keys.setattr(litellm, how.split('.')[1], 'sk-test')
    standin.queue(Reply(text='Hello'))
    assert Chat(MODELS['anthropic'], **chat_kw)('hi', **call_kw).choices[0].message.content == 'Hello'


def test_a_backend_brings_its_own_credentials(no_keys):
    backend = Scripted('Hello')
    assert Chat(MODELS['openai'], backend=backend)('hi').choices[0].message.content == 'Hello'


def test_with_api_base_the_server_there_decides_and_a_refusal_is_not_retried(standin, no_keys):
    # No key asked for (a proxy or local server may need none); the OpenAI SDK then refuses to send without one,
    # which is final: one attempt, not three.
    chat = Chat(MODELS['openai'], api_base=standin.kwargs('openai')['api_base'], retries=2, **FAST)
    with pytest.raises(Exception) as ei: chat('hi')
    assert not isinstance(ei.value, UsageError) and not is_retryable(ei.value)
    assert not any('gave up after' in n for n in getattr(ei.value, '__notes__', []))
    assert standin.requests == [] and chat.hist == []


@pytest.mark.parametrize('model', ['azure/gpt-4.1', 'bedrock/anthropic.claude-3-haiku-20240307-v1:0',
                                   'vertex_ai/gemini-2.5-flash', 'ollama/llama3', 'hosted_vllm/my-model', 'nowhere/model'])
def test_providers_with_other_credentials_or_none_are_left_to_decide(no_keys, model):
    for k in ('AZURE_API_KEY', 'AWS_ACCESS_KEY_ID', 'VERTEXAI_PROJECT', 'OLLAMA_API_BASE'): no_keys.delenv(k, raising=False)
    assert missing_key(model) == ()


def test_a_known_provider_with_a_model_litellm_does_not_list_is_still_checked(no_keys):
    assert missing_key('openai/a-model-from-next-month') == ('OPENAI_API_KEY',)
    assert missing_key('gpt-4.1') == ('OPENAI_API_KEY',)


# ---------------------------------------------------------------- calls with nothing to send

def test_a_call_on_a_fresh_chat_without_a_message_sends_nothing():
    backend = Scripted('never')
    chat = Chat(MODELS['anthropic'], sp='Be brief.', backend=backend)
    with pytest.raises(UsageError, match='nothing to send'): chat()
    with pytest.raises(UsageError, match='nothing to send'): chat(prefill='Sure')
    assert backend.requests == [] and chat.hist == []


@pytest.mark.parametrize('msg', ['', '   ', '\n\t', ['', ' '], {'role': 'user', 'content': ''},
                                 {'role': 'user', 'content': [{'type': 'text', 'text': ' '}]}])
def test_a_blank_message_is_a_usage_error(msg):
    backend = Scripted('never')
    chat = Chat(MODELS['anthropic'], backend=backend, hist=['Hi', 'Hello!'])
    with pytest.raises(UsageError, match='msg is empty'): chat(msg)
    assert backend.requests == [] and len(chat.hist) == 2


def test_a_blank_message_never_reaches_anthropic(standin):
    chat = Chat(MODELS['anthropic'], **standin.kwargs('anthropic'))
    with pytest.raises(UsageError, match='msg is empty'): chat('')
    assert standin.requests == []


def test_a_call_without_a_message_continues_after_tool_results_the_caller_added():
    hist = [{'role': 'user', 'content': 'Add 1 and 2'},
            {'role': 'assistant', 'content': None, 'tool_calls': [tc('add', {'a': 1, 'b': 2}, 'call_1')]},
            {'role': 'tool', 'tool_call_id': 'call_1', 'name': 'add', 'content': '3'}]
    backend = Scripted('It is 3.')
    chat = Chat(MODELS['anthropic'], backend=backend, hist=hist)
    assert chat().choices[0].message.content == 'It is 3.'
    assert [m['role'] for m in backend.requests[0]['messages']] == ['user', 'assistant', 'tool']
    assert len(chat.hist) == 4


# ---------------------------------------------------------------- other libraries' names, Chat(None)

@pytest.mark.parametrize('name, meant', [('system_prompt', 'sp'), ('system', 'sp'), ('instructions', 'sp'),
                                         ('system_instruction', 'sp'), ('tools_choice', 'tool_choice'),
                                         ('max_step', 'max_steps'), ('max_turns', 'max_steps'),
                                         ('max_iterations', 'max_steps'), ('response_model', 'output_type'),
                                         ('history', 'hist'), ('messages', 'hist'), ('prompt', 'msg')])
def test_another_librarys_name_for_an_option_names_lexis(name, meant):
    backend = Scripted('never')
    with pytest.raises(UsageError, match=f'^{name}= is not a lexi option: did you mean {meant}= '):
        Chat(MODELS['anthropic'], backend=backend, **{name: 'x'})
    chat = Chat(MODELS['anthropic'], backend=backend)
    with pytest.raises(UsageError, match=f'did you mean {meant}='): chat('hi', **{name: 'x'})
    assert backend.requests == [] and chat.hist == []


def test_system_prompt_error_says_what_sp_is():
    with pytest.raises(UsageError, match=r'did you mean sp= \(system prompt\)'): Chat(MODELS['openai'], system_prompt='Be brief.')


@pytest.mark.parametrize('name', ['temperature', 'reasoning_effort', 'response_format', 'functions', 'num_retries',
                                  'max_retries'])
def test_litellms_own_keywords_still_pass_through(name):
    backend = Scripted('ok')
    Chat(MODELS['openai'], backend=backend, **{name: 1})('hi')
    assert backend.requests[0][name] == 1


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
def test_a_chat_without_a_model_is_a_usage_error_at_once(cls):
    with pytest.raises(UsageError, match=f'{cls.__name__} needs a model: a LiteLLM model name'): cls(None)


# ---------------------------------------------------------------- nothing on stdout

BANNERS = '''
import sys
from lexi import Chat
from lexi.testing import StandIn, Fault
with StandIn() as srv:
    srv.queue(Fault(500), Fault(500), Fault(500), Fault(500))
    for model in ('anthropic/claude-sonnet-4-5', 'nowhere/some-model'):   # retried server errors; an unknown provider
        try: Chat(model, retries=1, max_wait=0.01, **srv.kwargs('anthropic'))('hi')
        except Exception as e: print(type(e).__name__, file=sys.stderr)
    import litellm
    litellm.suppress_debug_info = False     # a user who wants LiteLLM's banners back gets them
    sys.stdout.write('---'); sys.stdout.flush()
    try: Chat('anthropic/claude-sonnet-4-5', retries=0, **srv.kwargs('anthropic'))('hi')
    except Exception as e: print(type(e).__name__, file=sys.stderr)
'''


def test_failed_and_retried_calls_print_nothing_to_stdout_unless_the_user_turns_banners_back_on():
    env = {**os.environ, 'LITELLM_LOCAL_MODEL_COST_MAP': 'True'}
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(BANNERS)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.stderr.split()[-3:] == ['InternalServerError', 'BadRequestError', 'InternalServerError'], out.stderr
    before, after = out.stdout.split('---')
    assert before == ''
    assert 'Give Feedback / Get Help' in after


# ---------------------------------------------------------------- what lexi opens on its own event loops it closes

def open_sessions_of_closed_loops() -> set:
    "ids of the aiohttp sessions still open whose event loop has closed (what interpreter teardown would report)."
    import gc, aiohttp
    gc.collect()
    return {id(s) for s in gc.get_objects()
            if isinstance(s, aiohttp.ClientSession) and not s.closed and s._loop.is_closed()}


@pytest.mark.parametrize('provider', list(MODELS))
def test_batch_closes_litellms_sessions_of_its_own_loop(standin, provider):
    from lexi import batch
    before = open_sessions_of_closed_loops()
    standin.queue('one', 'two')
    out = batch(['a', 'b'], MODELS[provider], progress=False, **standin.kwargs(provider))
    assert sorted(r.choices[0].message.content for r in out) == ['one', 'two']
    assert open_sessions_of_closed_loops() - before == set()


def test_closing_a_loops_clients_leaves_none_open_and_later_loops_still_work(standin):
    from lexi._litellm import aclose_loop_clients
    standin.queue(Reply(text='one two three four', cut_after=2), *['ok'] * 4)
    async def run(close: bool):
        with pytest.raises(litellm.exceptions.MidStreamFallbackError):   # a stream cut mid-way (a shared client's)
            async for _ in await litellm.acompletion(model=MODELS['gemini'], messages=[{'role': 'user', 'content': 'hi'}],
                                                     stream=True, **standin.kwargs('gemini')): pass
        for p in ('openai', 'gemini'): await AsyncChat(MODELS[p], **standin.kwargs(p))('hi')
        if close: await aclose_loop_clients()
    before = open_sessions_of_closed_loops()
    asyncio.run(run(close=True))
    assert open_sessions_of_closed_loops() - before == set()
    standin.queue(*['ok'] * 2)
    async def again():   # the clients LiteLLM shares across loops were not closed, only this loop's sessions
        return [(await AsyncChat(MODELS[p], **standin.kwargs(p))('hi')).choices[0].message.content for p in ('openai', 'gemini')]
    assert asyncio.run(again()) == ['ok', 'ok']
