"""Anthropic shapes through lexi: web search interleaved with text and several thinking blocks, searches that
fail, usage that counts fewer searches than search blocks, and tool blocks with or without `caller`."""
import json

import httpx
import pytest

from lexi import citations
from lexi.testing import Citation, Cited, Reply, Search, Thinking, ToolCall

from test_shapes_kit import MODELS, both_ways, clean, comparable, converse, same_requests, switch

CLAUDE = MODELS['anthropic']
SEARCH_THINK = {'call_kw': {'search': 'l', 'think': 'l'}}
ADD = ToolCall('simple_add', {'a': 1, 'b': 2}, id='toolu_add')


def interleaved(*cited, **kw):
    "A reply as Anthropic interleaves it: think, say, two searches (one fails), think again, answer, call a tool."
    return Reply(text=[Thinking('Search both.'), 'Sure, searching. ', Search('otters'),
                       Search('weasels', error='max_uses_exceeded'), Thinking('Only otters came back.'),
                       'Otters ', *cited, 'are weasels.'], tool_calls=[ADD], **{'usage': dict(input=500, output=60), **kw})


def blocks(srv, reply, stream=False) -> list:
    "The content blocks the stand-in sends for `reply` (from the JSON body, or the stream's block starts)."
    srv.queue(reply)
    body = {'model': 'claude-sonnet-4-5', 'max_tokens': 99, 'messages': [{'role': 'user', 'content': 'Go.'}], 'stream': stream}
    answer = httpx.post(f'{srv.url}/v1/messages', json=body)
    if not stream: return answer.json()['content'], answer.json()['usage']
    evs = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith('data: ')]
    return [e['content_block'] for e in evs if e['type'] == 'content_block_start'], evs[-2]['usage']


def kinds(bs) -> list:
    return [b['type'] + ('!' if isinstance(b.get('content'), dict) else '') for b in bs]


INTERLEAVED = ['thinking', 'text', 'server_tool_use', 'server_tool_use', 'web_search_tool_result',
               'web_search_tool_result!', 'thinking', 'text', 'text', 'tool_use']


@pytest.mark.parametrize('stream', [False, True])
def test_the_stand_in_interleaves_blocks_as_anthropic_does(standin, stream):
    bs, usage = blocks(standin, interleaved(), stream)
    assert kinds(bs) == INTERLEAVED                      # '!': a web_search_tool_result_error
    assert bs[5]['content'] == {'type': 'web_search_tool_result_error', 'error_code': 'max_uses_exceeded'}
    assert usage['server_tool_use'] == {'web_search_requests': 1, 'web_fetch_requests': 0}   # the search that ran
    assert all(b['caller'] == {'type': 'direct'} for b in bs if 'use' in b['type'] or 'result' in b['type'])
    if not stream: assert [b['signature'] for b in bs if b['type'] == 'thinking'][0] != bs[6]['signature']
    bare, usage = blocks(standin, interleaved(caller=False, usage=dict(input=9, output=9, search=3)), stream)
    assert not any('caller' in b for b in bare) and usage['server_tool_use']['web_search_requests'] == 3


def test_an_interleaved_search_and_tool_loop_leaves_the_same_hist_streamed_or_not():
    (plain, p_srv), (streamed, s_srv) = both_ways(CLAUDE, [interleaved(), Reply(thinking='Done.', text='3.')], **SEARCH_THINK)
    assert clean(p_srv) == clean(s_srv) == []            # the thinking blocks go back first, signed, in the tool loop
    assert comparable(streamed.hist) == comparable(plain.hist) and same_requests(p_srv, s_srv)
    fields = streamed.hist[1].provider_specific_fields
    assert [b['thinking'] for b in fields['thinking_blocks']] == ['Search both.', 'Only otters came back.']
    assert [r['content'] if isinstance(r['content'], dict) else 'results' for r in fields['web_search_results']] == [
        'results', {'type': 'web_search_tool_result_error', 'error_code': 'max_uses_exceeded'}]
    sent = [b['type'] for m in s_srv.requests[1].body['messages'] if m['role'] == 'assistant' for b in m['content']]
    assert sent.count('thinking') == 2 and sent.count('web_search_tool_result') == 2 and sent[0] == 'thinking'


def test_a_cited_streamed_reply_differs_from_a_plain_one_only_by_what_the_stream_showed():
    cite = Cited('play, and ', [Citation('https://a.org/o', 'Otters', 'they play')])
    (plain, p_srv), (streamed, s_srv) = both_ways(CLAUDE, [interleaved(cite), 'Done.'], **SEARCH_THINK)
    assert clean(p_srv) == clean(s_srv) == []
    # lexi's streams show a footnote link after each citation, and the reply keeps the text as shown
    assert streamed.hist[1].content == plain.hist[1].content.replace('Otters play', 'Otters [*](https://a.org/o "Otters") play')
    # a stream does not say where a cited span ends, so its citations have no supported_text
    assert [{k: v for k, v in c.items() if k != 'supported_text'} for c in citations(plain.hist[1])] == citations(streamed.hist[1])


@pytest.mark.parametrize('search', [None, 0, 3])
def test_searches_are_counted_as_anthropic_bills_them(search):
    usage = dict(input=500, output=60) if search is None else dict(input=500, output=60, search=search)
    done = Reply(text='Done.', usage=dict(input=600, output=5))
    (plain, _), (streamed, _) = both_ways(CLAUDE, [interleaved(usage=usage), done], **SEARCH_THINK)
    want = 1 if search is None else search               # by default, the searches without an error
    assert plain.use.search == streamed.use.search == want
    assert plain.use.cost == streamed.use.cost
    (none, _) = converse(CLAUDE, [interleaved(usage=dict(input=500, output=60, search=0)), done], **SEARCH_THINK)
    assert plain.use.cost - none.use.cost == pytest.approx(want * 0.01)   # $10 per 1,000 searches


def test_tool_blocks_without_caller_run_and_go_back_alike():
    (plain, p_srv), (streamed, s_srv) = both_ways(CLAUDE, [interleaved(caller=False), 'Done.'], **SEARCH_THINK)
    assert clean(p_srv) == clean(s_srv) == [] and same_requests(p_srv, s_srv)
    assert comparable(streamed.hist) == comparable(plain.hist)
    assert [m['content'] for m in plain.hist if isinstance(m, dict) and m.get('role') == 'tool'] == ['3']


@pytest.mark.parametrize('to', ['openai', 'gemini', 'gemini3'])
def test_after_interleaved_search_the_chat_continues_on_another_provider(to):
    chat, _ = converse(CLAUDE, [interleaved(), 'Done.'], stream=True, **SEARCH_THINK)
    after = switch(chat, MODELS[to], [Reply(tool_calls=[ToolCall('simple_add', {'a': 4}, id='call_4')]), 'Four.'])
    assert clean(after) == []
    sent = json.dumps(after.requests[-1].body)
    assert 'srvtoolu_' not in sent and 'Sure, searching.' in sent       # the search ran on Anthropic: not sent on
    assert ('Only otters came back.' in sent) == (to != 'openai')       # Gemini takes the thinking as a thought part


THINKING = {'type': 'enabled', 'budget_tokens': 1024}


def tool_round(first):
    call = {'type': 'tool_use', 'id': 'toolu_1', 'name': 'add', 'input': {}}
    return [{'role': 'user', 'content': 'Add.'}, {'role': 'assistant', 'content': [first, call] if first else [call]},
            {'role': 'user', 'content': [{'type': 'tool_result', 'tool_use_id': 'toolu_1', 'content': '1'}]}]


@pytest.mark.parametrize('first, thinking, refused', [
    (None, THINKING, 'tool_use'), ({'type': 'text', 'text': 'Adding.'}, THINKING, 'text'),
    ({'type': 'thinking', 'thinking': 'Add.', 'signature': 'sig'}, THINKING, None), (None, None, None)])
def test_the_stand_in_wants_the_thinking_block_back_first_mid_tool_loop(standin, first, thinking, refused):
    standin.queue('Fine.')
    body = {'model': 'claude-sonnet-4-5', 'max_tokens': 2048, 'messages': tool_round(first),
            **({'thinking': thinking} if thinking else {})}
    answer = httpx.post(f'{standin.url}/v1/messages', json=body)
    if refused is None:
        assert answer.status_code == 200 and not standin.violations
        return
    assert answer.status_code == 400 and answer.json()['error']['message'].startswith(
        f'messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{refused}`.')
    standin.violations.clear()


def test_later_steps_of_a_tool_loop_need_not_think_again(standin):
    standin.queue('Fine.')
    second = [{'role': 'assistant', 'content': [{'type': 'tool_use', 'id': 'toolu_2', 'name': 'add', 'input': {}}]},
              {'role': 'user', 'content': [{'type': 'tool_result', 'tool_use_id': 'toolu_2', 'content': '2'}]}]
    think = {'type': 'thinking', 'thinking': 'Add.', 'signature': 'sig'}
    body = {'model': 'claude-sonnet-4-5', 'max_tokens': 2048, 'thinking': THINKING, 'messages': tool_round(think) + second}
    assert httpx.post(f'{standin.url}/v1/messages', json=body).status_code == 200
    body['messages'] = tool_round(None) + second                 # the turn's first step lost its thinking
    answer = httpx.post(f'{standin.url}/v1/messages', json=body)
    assert answer.status_code == 400 and answer.json()['error']['message'].startswith('messages.1.content.0.type:')
    standin.violations.clear()
