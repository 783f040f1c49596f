"""A history moves between providers: each request carries what its provider takes; the stored history keeps all."""
import copy, json

import pytest

from lexi import Chat, lite_mk_func, mk_tc, mk_tc_req, mk_tc_result
from lexi._portable import for_models
from lexi.demo import simple_add
from lexi.testing import Reply, ToolCall

from fakes import valid_hist

ODD = 'fc_' + 'ab.cd|ef' * 7          # 59 characters, with '|' and '.': refused by OpenAI and Anthropic alike
ODD2 = 'fc_' + 'ab.cd|eg' * 7


def odd_hist():
    calls = [mk_tc('simple_add', {'a': 1, 'b': 2}, tcid=ODD), mk_tc('simple_add', {'a': 3, 'b': 4}, tcid=ODD2)]
    req = mk_tc_req('Adding.', calls)
    return ['Add 1+2 and 3+4', req, mk_tc_result(calls[0], '3'), mk_tc_result(calls[1], '7'), 'Done: 3 and 7.']


def _ids(msgs):
    return [tc['id'] for m in msgs for tc in m.get('tool_calls') or []] + [m['tool_call_id'] for m in msgs if m.get('role') == 'tool']


def test_ids_are_mapped_deterministically_distinctly_and_pairwise():
    from lexi._litellm import sendable
    msgs = [sendable(m) for m in Chat('openai/gpt-4.1', hist=odd_hist()).hist]
    a, b = for_models(copy.deepcopy(msgs), ['openai/gpt-4.1']), for_models(copy.deepcopy(msgs), ['openai/gpt-4.1'])
    assert _ids(a) == _ids(b)                                   # same input, same output
    call_ids, result_ids = _ids(a)[:2], _ids(a)[2:]
    assert call_ids == result_ids and len(set(call_ids)) == 2   # pairs kept, distinct ids stay distinct
    assert all(len(i) <= 40 for i in call_ids)
    anth = _ids(for_models(copy.deepcopy(msgs), ['anthropic/claude-sonnet-4-5']))
    assert all(len(i) <= 64 and set(i) <= set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-') for i in anth)
    assert _ids(for_models(copy.deepcopy(msgs), ['gemini/gemini-2.5-flash'])) == [ODD, ODD2, ODD, ODD2]   # Gemini: as they are


def test_valid_ids_and_plain_messages_pass_unchanged():
    msgs = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': None,
            'tool_calls': [{'id': 'call_1', 'type': 'function', 'function': {'name': 'f', 'arguments': '{}'}}]},
            {'role': 'tool', 'tool_call_id': 'call_1', 'content': 'x'}]
    assert for_models(copy.deepcopy(msgs), ['openai/gpt-4.1']) == msgs


@pytest.mark.parametrize('provider, model', [('openai', 'openai/gpt-4.1'), ('anthropic', 'anthropic/claude-sonnet-4-5')])
def test_foreign_ids_pass_the_providers_id_rules_and_hist_keeps_them(standin, provider, model):
    standin.queue(Reply(text='Sure.'))
    chat = Chat(model, hist=odd_hist(), tools=[simple_add], **standin.kwargs(provider))
    chat('And now?')
    assert not standin.violations
    assert _ids([m if isinstance(m, dict) else {'tool_calls': [tc.model_dump() if hasattr(tc, 'model_dump') else tc for tc in m.tool_calls or []]}
                 for m in chat.hist]) == [ODD, ODD2, ODD, ODD2]


def test_the_stand_in_refuses_what_the_providers_refuse(standin):
    import litellm
    msgs = [{'role': 'user', 'content': 'x'},
            {'role': 'assistant', 'content': None, 'tool_calls': [{'id': ODD, 'type': 'function', 'function': {'name': 'simple_add', 'arguments': '{}'}}]},
            {'role': 'tool', 'tool_call_id': ODD, 'content': '3'}]
    with pytest.raises(litellm.BadRequestError, match='string too long. Expected a string with maximum length 40'):
        litellm.completion('openai/gpt-4.1', msgs, max_retries=0, **standin.kwargs('openai'))
    standin.violations.clear()


def _anthropic_loop(standin):
    standin.queue(Reply(thinking='Add, and look otters up.', signature='sig-1', text='Searching and adding.', search=['otters'],
                        tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})]), Reply(text='3, and otters are weasels.'))
    chat = Chat('anthropic/claude-sonnet-4-5', tools=[simple_add], cache=True, **standin.kwargs('anthropic'))
    chat('1+2, and otters?', think='l', search='l', max_steps=4)
    return chat


@pytest.mark.parametrize('provider, model', [('openai', 'openai/gpt-4.1'), ('gemini', 'gemini/gemini-2.5-flash')])
def test_an_anthropic_tool_loop_with_thinking_and_search_continues_on_another_provider(standin, provider, model):
    chat = _anthropic_loop(standin)
    stored = copy.deepcopy([m if isinstance(m, dict) else m.model_dump() for m in chat.hist])
    standin.queue(Reply(text='Next.'))
    chat.model = model
    chat.settings = chat.settings.merge(**standin.kwargs(provider))
    assert chat('And then?').choices[0].message.content == 'Next.'
    assert not standin.violations and valid_hist(chat.hist)
    body = json.dumps(standin.requests[-1].body)
    for anthropic_only in ('thinking_blocks', 'provider_specific_fields', 'srvtoolu_', 'cache_control', 'caller'):
        assert anthropic_only not in body
    assert 'Searching and adding.' in body and '3, and otters are weasels.' in body   # what it can take is kept
    assert [m if isinstance(m, dict) else m.model_dump() for m in chat.hist][:len(stored)] == stored   # hist untouched


def test_back_on_anthropic_the_thinking_and_search_blocks_are_sent_again(standin):
    chat = _anthropic_loop(standin)
    standin.queue(Reply(text='More.'))
    chat('And then?', think='l')
    blocks = [b['type'] for m in standin.requests[-1].body['messages'] if m['role'] == 'assistant' for b in m['content']]
    assert {'thinking', 'server_tool_use', 'web_search_tool_result', 'tool_use'} <= set(blocks)


# -- a history that starts with the assistant (fmt2hist of a formatted reply)

def _formatted_hist():
    from lexi import fmt2hist, mk_tr_details
    call = mk_tc('simple_add', {'a': 5, 'b': 3}, tcid='toolu_01')
    return fmt2hist('Let me add.\n\n' + mk_tr_details(mk_tc_result(call, '8'), call) + '\n\nIt is 8.')


@pytest.mark.parametrize('provider, model', [('anthropic', 'anthropic/claude-sonnet-4-5'), ('gemini', 'gemini/gemini-2.5-flash')])
def test_the_stand_in_refuses_an_assistant_first_history_as_the_provider_does(standin, provider, model):
    import litellm
    from lexi._litellm import sendable
    msgs = [sendable(m) for m in _formatted_hist()] + [{'role': 'user', 'content': 'And 8 + 1?'}]
    assert msgs[0]['role'] == 'assistant'
    match = 'first message must use the' if provider == 'anthropic' else 'function call turn comes immediately after a user turn'
    with pytest.raises(litellm.BadRequestError, match=match):
        litellm.completion(model, msgs, max_retries=0, tools=[lite_mk_func(simple_add)], **standin.kwargs(provider))
    standin.violations.clear()


@pytest.mark.parametrize('provider, model', [('anthropic', 'anthropic/claude-sonnet-4-5'), ('gemini', 'gemini/gemini-2.5-flash'),
                                             ('openai', 'openai/gpt-4.1')])
def test_an_assistant_first_history_is_sent_in_a_form_each_provider_takes(standin, provider, model):
    from lexi._portable import OPENING
    standin.queue(Reply(text='9.'))
    chat = Chat(model, hist=_formatted_hist(), tools=[simple_add], **standin.kwargs(provider))
    assert chat('And 8 + 1?').choices[0].message.content == '9.' and not standin.violations
    body = json.dumps(standin.requests[-1].body)
    assert (OPENING in body) == (provider != 'openai')   # OpenAI takes an assistant message first as it is
    assert chat.hist[0]['role'] == 'assistant' and OPENING not in str(chat.hist)   # in the request only
