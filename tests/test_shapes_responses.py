"""OpenAI's Responses API through LiteLLM's 'openai/responses/<model>' route: the stand-in's /v1/responses, and
lexi's tool loop, streaming, structured output, usage, citations and provider switching over it."""
import json

import httpx
import pytest
from pydantic import BaseModel

from lexi import Chat, citations
from lexi.testing import Citation, Cited, Reply, StandIn, ToolCall

from test_shapes_kit import MODELS, both_ways, clean, comparable, converse, same_requests, switch

import importlib.metadata as _metadata

# LiteLLM before 1.110 carries no reasoning items through its Responses bridge: 1.106 drops them from a streamed
# reply and does not send them back from a history it is given. lexi's Responses-route promises hold from 1.110.
_BRIDGE_KEEPS_REASONING = tuple(int(x) for x in _metadata.version('litellm').split('.')[:2]) >= (1, 110)
needs_reasoning_bridge = pytest.mark.skipif(not _BRIDGE_KEEPS_REASONING, reason='LiteLLM < 1.110 drops Responses reasoning '
                                            'items in streams and histories (lexi supports that route from 1.110)')

O4 = 'openai/responses/o4-mini'
THINK = {'call_kw': {'think': 'l'}}


def loop_replies():
    return [Reply(text='Adding both.', thinking='Two sums.', tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2}),
                                                                        ToolCall('simple_add', {'a': 3, 'b': 4})],
                  usage=dict(input=60, output=30, reasoning=12, cache_read=20)),
            Reply(text='3 and 7.', thinking='Done.', usage=dict(input=120, output=8, reasoning=3))]


def post(srv, body):
    return httpx.post(f'{srv.url}/v1/responses', json={'model': 'o4-mini', **body})


ASK = {'input': [{'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Go.'}]}]}


def test_the_stand_in_answers_a_responses_request_as_openai_does(standin):
    reply = Reply(text=['Otters ', Cited('play', [Citation('https://a.org/o', 'A')]), '.'], thinking='Look up.',
                  search=['otters'], tool_calls=[ToolCall('add', {'a': 1})], usage=dict(input=50, output=20, reasoning=5))
    standin.queue(reply, reply)
    body = post(standin, ASK).json()
    assert body['object'] == 'response' and body['status'] == 'completed' and body['id'].startswith('resp_')
    assert [i['type'] for i in body['output']] == ['reasoning', 'web_search_call', 'message', 'function_call']
    reasoning, _, message, call = body['output']
    assert reasoning['summary'] == [] and 'encrypted_content' not in reasoning          # nothing asked for
    assert message['content'][0]['annotations'] == [{'type': 'url_citation', 'end_index': 11, 'start_index': 7,
                                                     'title': 'A', 'url': 'https://a.org/o'}]
    assert call['id'].startswith('fc_') and call['call_id'].startswith('call_') and call['arguments'] == '{"a": 1}'
    assert body['usage'] == {'input_tokens': 50, 'input_tokens_details': {'cached_tokens': 0}, 'output_tokens': 20,
                             'output_tokens_details': {'reasoning_tokens': 5}, 'total_tokens': 70}
    asked = post(standin, {**ASK, 'reasoning': {'effort': 'low', 'summary': 'auto'},
                           'include': ['reasoning.encrypted_content']}).json()['output'][0]
    assert asked['summary'] == [{'type': 'summary_text', 'text': 'Look up.'}] and asked['encrypted_content']


def test_the_stand_in_streams_typed_events_ending_with_the_whole_response(standin):
    standin.queue(Reply(text='Hi there.', tool_calls=[ToolCall('add', {'a': 1})], finish='length'))
    raw = post(standin, {**ASK, 'stream': True}).text
    names = [line[7:] for line in raw.splitlines() if line.startswith('event: ')]
    assert names[:3] == ['response.created', 'response.in_progress', 'response.output_item.added']
    assert names[-1] == 'response.incomplete' and '[DONE]' not in raw           # cut by the token limit; no [DONE]
    assert names.count('response.output_text.delta') == 2 and 'response.function_call_arguments.done' in names
    last = json.loads(raw.strip().splitlines()[-1][6:])['response']
    assert last['incomplete_details'] == {'reason': 'max_output_tokens'} and len(last['output']) == 2


@needs_reasoning_bridge
def test_a_tool_loop_on_the_responses_route_leaves_the_same_hist_streamed_or_not():
    (plain, p_srv), (streamed, s_srv) = both_ways(O4, loop_replies(), **THINK)
    assert clean(p_srv) == clean(s_srv) == []           # every call answered, the reasoning item sent back by id
    assert comparable(streamed.hist) == comparable(plain.hist) and same_requests(p_srv, s_srv)
    sent = s_srv.requests[1].body['input']
    assert [i['type'] for i in sent] == ['message', 'reasoning', 'message', 'function_call', 'function_call',
                                         'function_call_output', 'function_call_output']
    assert [i['output'][0]['text'] for i in sent if i['type'] == 'function_call_output'] == ['3', '7']
    for chat in (plain, streamed):
        u = chat.use
        assert (u.input, u.output, u.reasoning, u.cached, u.calls) == (180, 38, 15, 20, 2) and u.cost > 0
    assert streamed.use.cost == plain.use.cost


def test_without_store_the_reasoning_goes_back_encrypted():
    replies = [Reply(thinking='Add.', tool_calls=[ToolCall('simple_add', {'a': 1})]), 'One.']
    chat, srv = converse(O4, replies, call_kw={'think': 'l'}, store=False, include=['reasoning.encrypted_content'])
    assert clean(srv) == [] and chat.hist[-1].content == 'One.'
    reasoning = srv.requests[1].body['input'][1]
    assert reasoning['type'] == 'reasoning' and reasoning['encrypted_content'].startswith('gAAAAA')


def test_the_stand_in_refuses_what_the_responses_api_refuses(standin):
    call = {'type': 'function_call', 'call_id': 'call_x', 'name': 'add', 'arguments': '{}'}
    answer = {'type': 'function_call_output', 'call_id': 'call_x', 'output': '1'}
    cases = {'No tool output found for function call call_x.': [*ASK['input'], call],
             'No tool call found for function call output with call_id call_x.': [*ASK['input'], answer],
             "Item with id 'rs_nope' not found.": [*ASK['input'], {'type': 'reasoning', 'id': 'rs_nope', 'summary': []}, call, answer],
             "Item 'rs_1' of type 'reasoning' was provided without its required following item.":
                 [*ASK['input'], {'type': 'reasoning', 'id': 'rs_1', 'summary': [], 'encrypted_content': 'gAAAAAx'}]}
    standin.queue('Not for these.')
    for message, items in cases.items():
        r = post(standin, {'input': items})
        assert r.status_code == 400 and r.json()['error']['message'] == message
    stateless = post(standin, {'input': cases["Item with id 'rs_nope' not found."], 'store': False}).json()
    assert 'Items are not persisted when `store` is set to false.' in stateless['error']['message']
    assert len(standin.violations) == 5 and len(standin.pending) == 1
    standin.violations.clear()


class Point(BaseModel):
    x: int
    y: int


@pytest.mark.parametrize('stream', [False, True])
def test_structured_output_on_the_responses_route(standin, stream):
    # lexi asks with its final_answer tool here: LiteLLM's map has no entry for the route's name to say the
    # model takes a response schema
    standin.queue(Reply(thinking='A point.', tool_calls=[ToolCall('final_answer', {'x': 1, 'y': 2})]))
    chat = Chat(O4, **standin.kwargs('openai'))
    out = chat.struct('A point, please.', Point, stream=stream)
    if stream:
        for _ in out: pass
        out = out.value
    assert out == Point(x=1, y=2)
    assert standin.requests[-1].body['tool_choice'] == {'type': 'function', 'name': 'final_answer'}


def test_citations_on_the_responses_route():
    reply = Reply(text=['Otters ', Cited('play', [Citation('https://a.org/o', 'Otters')]), '.'], search=['otters'])
    (plain, _), (streamed, _) = both_ways(O4, [reply], tools=(), call_kw={'web_search_options': {'search_context_size': 'low'}})
    assert [(c['url'], c['start_index'], c['end_index']) for c in citations(plain.last_response)] == [('https://a.org/o', 7, 11)]
    assert citations(streamed.last_response) == []      # LiteLLM's stream bridge passes no annotation on


@needs_reasoning_bridge
@pytest.mark.parametrize('to', ['openai', 'anthropic', 'gemini3'])
def test_from_the_responses_route_to_another_provider_and_back(to):
    chat, home = converse(O4, loop_replies(), stream=True, **THINK)
    away = switch(chat, MODELS[to], [Reply(tool_calls=[ToolCall('simple_add', {'a': 4}, id='call_4')]), 'Four.'])
    assert clean(away) == []
    assert 'reasoning_items' not in json.dumps(away.requests[-1].body)    # only the Responses route takes them
    back = switch(chat, O4, [Reply(text='Back.', thinking='Again.')], srv=home)
    assert clean(back) == []
    kinds = [i['type'] for i in back.requests[-1].body['input']]
    assert kinds.count('reasoning') == 2 and kinds.count('function_call_output') == 3   # its own reasoning, every call answered
