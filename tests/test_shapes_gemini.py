"""Gemini shapes through lexi: Gemini 3 server-side search (toolCall / toolResponse parts, each signed), thought
signatures wherever Gemini puts them, function calls with their own ids, parallel calls one per stream event,
and usage that grows along a stream."""
import json

import httpx
import litellm
import pytest

from lexi.testing import Reply, Search, StandIn, ToolCall

from test_shapes_kit import MODELS, both_ways, clean, comparable, converse, renamed_ids, same_requests, switch

G3 = MODELS['gemini3']
CIRCULATE = {'include_server_side_tool_invocations': True}   # Gemini 3: search and function tools in one request
SEARCH = {'call_kw': {'search': 'l', **CIRCULATE}}   # per call: other providers refuse the Gemini keyword
ADD = ToolCall('simple_add', {'a': 1, 'b': 2})


def model_parts(req, n=1) -> list:
    "The parts of the n-th model content of a recorded Gemini request."
    return [c for c in req.body['contents'] if c['role'] == 'model'][n - 1]['parts']


def kinds(parts) -> list:
    return [next(k for k in p if k != 'thoughtSignature') for p in parts]


def events(srv, reply, model='gemini-2.5-flash', body=None) -> list:
    "The stream events (parsed) the stand-in sends for `reply`."
    srv.queue(reply)
    body = body or {'contents': [{'role': 'user', 'parts': [{'text': 'Go.'}]}]}
    raw = httpx.post(f'{srv.url}/v1beta/models/{model}:streamGenerateContent?alt=sse', json=body).text
    return [json.loads(e[len('data: '):]) for e in raw.split('\r\n\r\n') if e.startswith('data: ')]


def event_parts(evs) -> list:
    return [ev['candidates'][0]['content']['parts'] for ev in evs]


def search_replies():
    return [Reply(text='Searching and adding.', search=['otters', 'weasels'], tool_calls=[ADD],
                  usage=dict(input=120, output=30)),
            Reply(text='3; otters are weasels.', usage=dict(input=200, output=10))]


# -- 1. server-side search on Gemini 3

def test_the_stand_in_sends_gemini3_search_as_signed_tool_call_and_response_parts(standin):
    standin.queue(search_replies()[0])
    r = litellm.completion(G3, [{'role': 'user', 'content': 'Go.'}], web_search_options={}, **CIRCULATE,
                           **standin.kwargs('gemini'))
    inv, = r.choices[0].message.provider_specific_fields['server_side_tool_invocations']
    assert inv['tool_type'] == 'GOOGLE_SEARCH_WEB' and inv['args'] == {'queries': ['otters', 'weasels']}
    assert inv['thought_signature'] != inv['response_thought_signature']      # each part its own signature
    assert r.choices[0].message.tool_calls[0].id.split('__thought__')[0].isalnum()   # the call's own id
    standin.queue(Reply(text='No circulation asked.', search=['otters']))
    plain = litellm.completion(G3, [{'role': 'user', 'content': 'Go.'}], web_search_options={}, **standin.kwargs('gemini'))
    assert 'server_side_tool_invocations' not in (plain.choices[0].message.provider_specific_fields or {})


def test_streamed_gemini3_search_leaves_the_same_hist_as_unstreamed():
    (plain, p_srv), (streamed, s_srv) = both_ways(G3, search_replies(), **SEARCH)
    assert clean(p_srv) == clean(s_srv) == []
    assert comparable(streamed.hist) == comparable(plain.hist)
    inv, = streamed.hist[1].provider_specific_fields['server_side_tool_invocations']
    assert inv['args'] == {'queries': ['otters', 'weasels']}                   # the call's args are kept
    assert {'thought_signature', 'response', 'response_thought_signature'} <= set(inv)
    assert same_requests(p_srv, s_srv)


def test_after_a_streamed_search_each_part_goes_back_with_its_own_signature():
    chat, srv = converse(G3, search_replies(), stream=True, **SEARCH)
    assert clean(srv) == []
    sent = {kind: p for kind, p in zip(kinds(model_parts(srv.requests[1])), model_parts(srv.requests[1]))}
    assert sent['toolCall']['toolCall']['args'] == {'queries': ['otters', 'weasels']}
    inv, = chat.hist[1].provider_specific_fields['server_side_tool_invocations']
    assert sent['toolCall']['thoughtSignature'] == inv['thought_signature']
    assert sent['toolResponse']['thoughtSignature'] == inv['response_thought_signature']


def test_the_stand_in_refuses_a_search_call_sent_back_with_another_parts_signature(standin):
    standin.queue(search_replies()[0])
    r = litellm.completion(G3, [{'role': 'user', 'content': 'Go.'}], web_search_options={}, **CIRCULATE,
                           **standin.kwargs('gemini'))
    inv, = r.choices[0].message.provider_specific_fields['server_side_tool_invocations']
    body = {'contents': [{'role': 'user', 'parts': [{'text': 'Go.'}]},
                         {'role': 'model', 'parts': [{'toolCall': {'toolType': 'GOOGLE_SEARCH_WEB', 'id': inv['id']},
                                                      'thoughtSignature': inv['response_thought_signature']}]},
                         {'role': 'user', 'parts': [{'text': 'And?'}]}]}
    answer = httpx.post(f'{standin.url}/v1beta/models/gemini-3-flash-preview:generateContent', json=body)
    assert answer.status_code == 400 and answer.json()['error']['status'] == 'INVALID_ARGUMENT'
    assert answer.json()['error']['message'].startswith('Corrupted thought signature.')
    assert 'a toolCall part' in standin.violations[0].error
    standin.violations.clear()


@pytest.mark.parametrize('to', ['anthropic', 'openai', 'gemini'])
def test_after_gemini3_search_the_chat_continues_on_another_provider(to):
    chat, srv = converse(G3, search_replies(), stream=True, **SEARCH)
    after = switch(chat, MODELS[to])
    assert clean(after) == []
    sent = json.dumps(after.requests[-1].body)
    assert 'Searching and adding.' in sent
    if to != 'gemini': assert 'toolCall' not in sent and 'server_side_tool_invocations' not in sent


def test_gemini3_search_usage_and_cost_are_the_same_streamed_or_not():
    (plain, _), (streamed, _) = both_ways(G3, search_replies(), **SEARCH)
    for chat in (plain, streamed):
        assert (chat.use.input, chat.use.output, chat.use.calls) == (320, 40, 2)
    assert streamed.use.search == plain.use.search == 2
    assert streamed.use.cost == plain.use.cost > 0


def test_invocations_from_separate_chunks_are_joined_call_with_response():
    from lexi._assemble import joined_invocations
    call = {'tool_type': 'GOOGLE_SEARCH_WEB', 'id': 'a1', 'args': {'queries': ['q']}, 'thought_signature': 'S1'}
    answer = {'id': 'a1', 'tool_type': 'GOOGLE_SEARCH_WEB', 'response': {'r': 1}, 'thought_signature': 'S2',
              'response_thought_signature': 'S2'}   # a response alone in its chunk, as LiteLLM reads it
    stray = {'id': 'b2', 'tool_type': 'URL_CONTEXT', 'response': {}}
    assert joined_invocations([call, answer, stray]) == [
        {**call, 'response': {'r': 1}, 'response_thought_signature': 'S2'}, stray]
    assert joined_invocations([{**call, 'response': {'r': 1}}]) == [{**call, 'response': {'r': 1}}]   # one chunk, both parts


# -- 3. parallel calls arrive one call per stream event

CALLS = [ToolCall('simple_add', {'a': i, 'b': 10 * i}) for i in (1, 2, 3)]


def test_the_stand_in_streams_each_parallel_call_in_its_own_event(standin):
    evs = event_parts(events(standin, Reply(text='Adding three.', tool_calls=CALLS)))
    calls = [p for p in evs if any('functionCall' in x for x in p)]
    assert [len(p) for p in calls] == [1, 1, 1]
    assert [p[0]['functionCall']['args'] for p in calls] == [{'a': 1, 'b': 10}, {'a': 2, 'b': 20}, {'a': 3, 'b': 30}]
    assert evs[-1] == [{'text': ''}]                          # the closing event carries the finish reason only


@pytest.mark.parametrize('model', [MODELS['gemini'], G3])
def test_parallel_calls_streamed_one_per_event_run_and_leave_the_same_hist(model):
    replies = [Reply(text='Adding three.', tool_calls=CALLS, thinking='Three sums.'), Reply(text='11, 22 and 33.')]
    (plain, p_srv), (streamed, s_srv) = both_ways(model, replies, call_kw={'think': 'l'})
    assert clean(p_srv) == clean(s_srv) == []
    assert renamed_ids(streamed.hist) == renamed_ids(plain.hist)
    assert [m['content'] for m in streamed.hist if isinstance(m, dict) and m.get('role') == 'tool'] == ['11', '22', '33']
    responses = [p for c in s_srv.requests[1].body['contents'] for p in c['parts'] if 'function_response' in p]
    assert [p['function_response']['response'] for p in responses] == [{'content': v} for v in ('11', '22', '33')]
    if model == G3: assert same_requests(p_srv, s_srv)      # Gemini 3's ids are its own: the requests match exactly


# -- 2. thought signatures wherever Gemini puts them

def signed_parts(parts) -> list:
    "(kind, signed?) of each part, thought parts left out."
    return [(next(k for k in p if k != 'thoughtSignature'), 'thoughtSignature' in p) for p in parts if not p.get('thought')]


def test_the_stand_in_signs_as_gemini_does(standin):
    ask = {'contents': [{'role': 'user', 'parts': [{'text': 'Go.'}]}]}
    def parts(reply, model, stream=False, body=ask):
        if stream: return [p for ps in event_parts(events(standin, reply, model, body)) for p in ps]
        standin.queue(reply)
        return httpx.post(f'{standin.url}/v1beta/models/{model}:generateContent', json=body).json()['candidates'][0]['content']['parts']
    g3, g25 = 'gemini-3-flash-preview', 'gemini-2.5-flash'
    assert signed_parts(parts(Reply(text='Hi.'), g3)) == [('text', True)]             # Gemini 3 always signs
    assert signed_parts(parts(Reply(text='Hi.'), g25)) == [('text', False)]            # 2.5 only when it thought
    assert signed_parts(parts(Reply(text='Hi there.'), g3, stream=True)) == [('text', False), ('text', False), ('text', True)]
    two = parts(Reply(text='Adding.', tool_calls=CALLS[:2]), g3)
    assert signed_parts(two) == [('text', False), ('functionCall', True), ('functionCall', False)]
    assert all(len(p['functionCall']['id']) == 8 for p in two[1:])                      # Gemini 3's own call ids
    assert all('id' not in p['functionCall'] for p in parts(Reply(tool_calls=CALLS[:2]), g25))
    circulating = {**ask, 'toolConfig': {'includeServerSideToolInvocations': True}}
    full = parts(Reply(text='Adding.', search=['q'], tool_calls=CALLS[:2]), g3, body=circulating)
    assert signed_parts(full) == [('toolCall', True), ('toolResponse', True), ('text', False),
                                  ('functionCall', True), ('functionCall', False)]   # three signatures, all different
    assert len({p['thoughtSignature'] for p in full if 'thoughtSignature' in p}) == 3
    moved = parts(Reply(text='Adding.', search=['q'], tool_calls=CALLS[:2], signed='search'), g3, body=circulating)
    assert signed_parts(moved)[3] == ('functionCall', False)                            # the first call unsigned


PLACEMENTS = {'call': None, 'text': 'text', 'text-and-call': ('text', 'call'), 'search-and-call': ('search', 'call'),
              'search-only': 'search'}


def placed(signed):
    return [Reply(text='Adding.', search=['q'], tool_calls=CALLS[:2], signed=signed, usage=dict(input=90, output=20)),
            Reply(text='3 and 7... and 33.', usage=dict(input=150, output=8))]


@pytest.mark.parametrize('placement', list(PLACEMENTS))
def test_a_tool_loop_sends_every_signature_back_where_gemini_put_it(placement):
    (plain, p_srv), (streamed, s_srv) = both_ways(G3, placed(PLACEMENTS[placement]), **SEARCH)
    assert clean(p_srv) == clean(s_srv) == []            # every signature back on its own part, none refused
    assert comparable(streamed.hist) == comparable(plain.hist) and same_requests(p_srv, s_srv)
    received = streamed.hist[1].provider_specific_fields['thought_signatures']
    assert len(received) == {'call': 3, 'text': 1, 'text-and-call': 2, 'search-and-call': 3, 'search-only': 2}[placement]
    sent = [p['thoughtSignature'] for p in model_parts(s_srv.requests[1]) if 'thoughtSignature' in p]
    assert set(received) <= set(sent)                     # every signature Gemini sent goes back
    first_call = next(p for p in model_parts(s_srv.requests[1]) if 'function_call' in p)
    # an unsigned first call goes back with the placeholder Google documents (LiteLLM puts it there)
    assert (first_call['thoughtSignature'] == PLACEHOLDER) == (placement in ('text', 'search-only'))
    assert (plain.use.input, plain.use.output) == (streamed.use.input, streamed.use.output) == (240, 28)


PLACEHOLDER = 'c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I='   # base64 of skip_thought_signature_validator


@pytest.mark.parametrize('placement', list(PLACEMENTS))
def test_a_chat_goes_from_gemini3_to_claude_and_openai_and_back_with_each_placement(placement):
    chat, g3 = converse(G3, placed(PLACEMENTS[placement]), stream=True, **SEARCH)
    claude = switch(chat, MODELS['anthropic'], [Reply(thinking='Add 5.', text='Claude adds.', tool_calls=[ToolCall('simple_add', {'a': 5})]),
                                                'Claude: 5.'], think='l')
    gpt = switch(chat, MODELS['openai'], [Reply(tool_calls=[ToolCall('simple_add', {'a': 6}, id='call_6')]), 'GPT: 6.'])
    back = switch(chat, G3, [Reply(tool_calls=[ToolCall('simple_add', {'a': 7})]), 'Gemini: 7.'], srv=g3)
    assert clean(claude) == clean(gpt) == clean(back) == []
    assert [m.content for m in chat.hist if getattr(m, 'role', None) == 'assistant'][-1] == 'Gemini: 7.'
    sent = json.dumps(back.requests[-2].body)
    assert 'Claude adds.' in sent and 'GPT: 6.' in sent


GEMINI3_PATH = '/v1beta/models/gemini-3-flash-preview:generateContent'


def call_turn(sig=None):
    part = {'functionCall': {'name': 'add', 'args': {'a': 1}, 'id': 'c1'}}
    return [{'role': 'model', 'parts': [{**part, 'thoughtSignature': sig} if sig else part]},
            {'role': 'user', 'parts': [{'functionResponse': {'name': 'add', 'response': {'content': '1'}, 'id': 'c1'}}]}]


ASK = {'role': 'user', 'parts': [{'text': 'Add.'}]}
SIGNATURE_RULES = {
    'unsigned call in the current turn': ([ASK] + call_turn(), GEMINI3_PATH,
                                          'Function call is missing a thought_signature in functionCall parts.'),
    'a signature Gemini never sent': ([ASK] + call_turn('EgAbCdEf'), GEMINI3_PATH, 'Corrupted thought signature.'),
    'unsigned call in an earlier turn': ([ASK] + call_turn() + [{'role': 'model', 'parts': [{'text': 'Done.'}]}, ASK],
                                         GEMINI3_PATH, None),
    'the placeholder': ([ASK] + call_turn(PLACEHOLDER), GEMINI3_PATH, None),
    'Gemini 2.5 checks no signature': ([ASK] + call_turn('EgAbCdEf'), '/v1beta/models/gemini-2.5-flash:generateContent', None),
}


@pytest.mark.parametrize('case', list(SIGNATURE_RULES))
def test_the_stand_in_checks_gemini3_signatures_as_gemini_does(standin, case):
    contents, path, refused = SIGNATURE_RULES[case]
    standin.queue('Fine.')
    answer = httpx.post(standin.url + path, json={'contents': contents})
    if refused is None:
        assert answer.status_code == 200 and not standin.violations
        return
    assert answer.status_code == 400 and answer.json()['error']['message'].startswith(refused)
    assert len(standin.violations) == 1 and standin.pending
    standin.violations.clear()


def test_gemini_3_gets_search_and_function_tools_in_one_request(standin):
    from lexi import Chat
    standin.queue(Reply(text='Found it.'))
    from test_shapes_kit import simple_add
    chat = Chat(G3, tools=[simple_add], **standin.kwargs("gemini"))
    chat('Look it up, then add.', search='l')
    tools = standin.requests[-1].body['tools']
    assert any('googleSearch' in t or 'google_search' in t for t in tools)             # not dropped beside the functions
    assert any('functionDeclarations' in t or 'function_declarations' in t for t in tools)
