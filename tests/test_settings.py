"""Settings: one immutable object per call, the Chat's defaults merged with the call's overrides (tier 1, no LiteLLM call)."""
import dataclasses, inspect

import pytest

from lexi import AsyncChat, Chat, Settings, UsageError
from lexi.demo import multiply, simple_add
from lexi.testing import Scripted

MODEL = 'anthropic/claude-sonnet-4-5'


def test_merge_keeps_what_a_call_leaves_as_none_and_is_immutable():
    s = Settings(MODEL).merge(temp=0.3, max_steps=4, sp='x')
    t = s.merge(temp=None, max_steps=None, think='l')
    assert (t.temp, t.max_steps, t.sp, t.think) == (0.3, 4, 'x', 'l') and s.think is None
    with pytest.raises(dataclasses.FrozenInstanceError): s.temp = 1


def test_call_tools_add_to_the_chat_tools_and_replace_by_name():
    s = Settings(MODEL).merge(tools=[simple_add])
    t = s.merge(tools=[multiply, {'type': 'function', 'function': {'name': 'simple_add', 'parameters': {}}}])
    assert t.tool_names == ['simple_add', 'multiply'] and t.tools[0]['function']['parameters'] == {}
    assert set(t.namespace) == {'simple_add', 'multiply'} and s.tool_names == ['simple_add']


def test_explicit_ns_wins_over_the_tools_own_callables():
    other = lambda a, b=0: 0
    s = Settings(MODEL).merge(tools=[simple_add], ns={'simple_add': other})
    assert s.namespace['simple_add'] is other


def test_replacing_tools_drops_their_callables():
    s = Settings(MODEL).merge(tools=[simple_add]).replace(tools=[multiply])
    assert s.tool_names == ['multiply'] and set(s.namespace) == {'multiply'}


def test_unknown_keywords_become_completion_kwargs():
    s = Settings(MODEL).merge(api_base='http://x', top_k=3).merge(max_tokens=10, top_k=4)
    assert dict(s.completion_kwargs) == {'api_base': 'http://x', 'top_k': 4, 'max_tokens': 10}


@pytest.mark.parametrize('typo, meant', [('max_step', 'max_steps'), ('stream_', 'stream'), ('strem', 'stream'),
                                         ('cache_idx', 'cache_idxs'), ('final_promt', 'final_prompt'), ('hsit', 'hist')])
def test_a_near_miss_of_an_option_is_a_usage_error_naming_it(typo, meant):
    with pytest.raises(UsageError, match=f'did you mean {meant}='): Settings(MODEL).merge(**{typo: 1})


@pytest.mark.parametrize('name', ['top_k', 'top_p', 'stop', 'seed', 'n', 'user', 'thinking', 'caching', 'top_logprobs',
                                  'parallel_tool_calls', 'final_prompt_value', 'num_retries'])
def test_litellm_and_provider_keywords_pass_through(name):
    assert name in Settings(MODEL).merge(**{name: 1}).completion_kwargs


@pytest.mark.parametrize('bad, match', [(dict(max_steps=0), 'max_steps'), (dict(max_steps=True), 'max_steps'),
                                        (dict(think='max'), "'l', 'm' or 'h'"), (dict(ttl='2h'), 'ttl'),
                                        (dict(cache_idxs=['a']), 'cache_idxs'), (dict(model=''), 'model'),
                                        (dict(backend=3), 'backend'), (dict(sp=3), 'sp must be a str')])
def test_bad_values_are_usage_errors(bad, match):
    with pytest.raises(UsageError, match=match): Settings(MODEL).merge(**bad)


def test_repr_hides_credentials():
    s = Settings(MODEL).merge(api_key='sk-secret', extra_headers={'Authorization': 'Bearer x', 'X-Trace': 't'})
    assert 'sk-secret' not in repr(s) and 'Bearer' not in repr(s) and "'X-Trace': 't'" in repr(s)


def test_chat_and_asyncchat_calls_list_every_option_and_share_one_signature():
    sig = inspect.signature(Chat.__call__)
    options = {f.name for f in dataclasses.fields(Settings)} - {'completion_kwargs', 'tool_fns'}
    assert options <= set(sig.parameters) and list(sig.parameters)[:3] == ['self', 'msg', 'prefill']
    assert inspect.signature(AsyncChat.__call__) == sig
    for name in options | {'msg'}: assert f'- {name}: ' in Chat.__call__.__doc__ and f'- {name}: ' in AsyncChat.__call__.__doc__
    init = inspect.signature(Chat)
    assert list(init.parameters)[:10] == ['model', 'sp', 'temp', 'search', 'tools', 'hist', 'ns', 'cache', 'cache_idxs', 'ttl']
    assert init.parameters['max_steps'].default == Settings.__dataclass_fields__['max_steps'].default


def test_chat_takes_lisettes_positional_order_and_settings_read_as_attributes():
    chat = Chat(MODEL, 'Be brief.', 0.5, False, [simple_add], ['hi', 'hello'], backend=Scripted())
    assert (chat.sp, chat.temp, chat.model, chat.settings.tool_names) == ('Be brief.', 0.5, MODEL, ['simple_add'])
    assert len(chat.hist) == 2
    with pytest.raises(TypeError, match='positional'): Chat(MODEL, *range(12))


def test_setting_an_option_attribute_replaces_it_for_later_calls():
    backend = Scripted('a', 'b')
    chat = Chat(MODEL, backend=backend)
    chat('x')
    chat.model, chat.tools = 'openai/gpt-4.1', [multiply]
    chat('y')
    assert [r['model'] for r in backend.requests] == [MODEL, 'openai/gpt-4.1']
    assert [t['function']['name'] for t in backend.requests[1]['tools']] == ['multiply']
    with pytest.raises(UsageError): chat.max_steps = -1


def test_a_call_with_a_typo_sends_nothing_and_keeps_hist():
    backend = Scripted('a')
    chat = Chat(MODEL, backend=backend)
    with pytest.raises(UsageError, match='max_steps'): chat('hi', max_step=5)
    with pytest.raises(UsageError, match='stream'): Chat(MODEL, strem=True)
    assert backend.requests == [] and chat.hist == []
