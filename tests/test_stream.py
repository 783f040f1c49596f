"""stream_with_complete / astream_with_complete, build_response and delta_text.

Pure tests build chunk sequences by hand in the shapes LiteLLM 1.106 yields for each provider
(observed by streaming real provider bodies through LiteLLM). Wire tests stream and don't stream
the same scripted reply through LiteLLM against lexi.testing's stand-in and compare.
"""
import json

import litellm
import pytest
from fastcore.xtras import SaveReturn
from litellm.types.utils import (ChatCompletionDeltaToolCall, Delta, Function, ModelResponseStream,
                                 StreamingChoices, Usage)

from lexi.cite import citations
from lexi.errors import UsageError
from lexi.testing import Cited, Citation, Reply, ToolCall
from lexi.stream import astream_with_complete, build_response, delta_text, stream_with_complete


def chunk(content=None, *, reasoning=None, thinking=None, calls=None, fields=None, finish=None, usage=None,
          served=None, role=None, model='claude-sonnet-4-5', choices=True):
    "One stream chunk as LiteLLM yields it; `served` is the model name LiteLLM keeps in hidden_params."
    delta = Delta(content=content, role=role, reasoning_content=reasoning, thinking_blocks=thinking,
                  tool_calls=calls, provider_specific_fields=fields)
    ch = ModelResponseStream(id='chatcmpl-1', model=model, usage=usage,
                             choices=[StreamingChoices(delta=delta, finish_reason=finish)] if choices else [])
    if not choices: ch.choices = []
    if served: ch._hidden_params = {'provider_response_model': served}
    return ch


def call_start(i, id, name): return [ChatCompletionDeltaToolCall(id=id, function=Function(name=name, arguments=''), type='function', index=i)]
def call_args(i, args): return [ChatCompletionDeltaToolCall(function=Function(arguments=args), type='function', index=i)]


def text_stream(*pieces, finish='stop', served=None, usage=None):
    return [chunk(p, role='assistant' if i == 0 else None) for i, p in enumerate(pieces)] + \
           [chunk(finish=finish, served=served, usage=usage)]


# ---------------------------------------------------------------- capture behaviour

def test_capture_yields_the_same_chunk_objects_and_holds_the_complete_reply_at_the_end():
    chunks = text_stream('Hello', ' world', '!')
    cap = stream_with_complete(iter(chunks))
    seen = []
    for c in cap:
        seen.append(c)
        assert cap.value is None and not cap.done   # nothing complete while streaming
    assert [id(c) for c in seen] == [id(c) for c in chunks]
    assert cap.done and cap.value.choices[0].message.content == 'Hello world!'
    assert cap.value.choices[0].finish_reason == 'stop'


def test_save_return_gets_the_complete_reply_from_the_generator_return_value():
    r2 = SaveReturn(stream_with_complete(iter(text_stream('Hey', ' there'))))
    texts = [c.choices[0].delta.content for c in r2]
    assert texts == ['Hey', ' there', None]
    assert r2.value.choices[0].message.content == 'Hey there'


def test_postproc_sees_each_chunk_before_it_is_yielded():
    calls = []
    def mark(c):
        calls.append(c.choices[0].delta.content)
        if c.choices[0].delta.content: c.choices[0].delta.content += '*'
    out = [c.choices[0].delta.content for c in stream_with_complete(iter(text_stream('a', 'b')), postproc=mark)]
    assert calls == ['a', 'b', None]
    assert out == ['a*', 'b*', None]


def _failing(chunks, exc):
    yield from chunks
    raise exc


def test_error_mid_stream_propagates_unchanged_and_leaves_no_complete_reply():
    err = ConnectionResetError('connection dropped')
    cap = stream_with_complete(_failing(text_stream('par', 'tial')[:2], err))
    got = []
    with pytest.raises(ConnectionResetError) as ei:
        for c in cap: got.append(c.choices[0].delta.content)
    assert ei.value is err
    assert got == ['par', 'tial'] and cap.value is None and not cap.done
    assert build_response(cap.chunks).choices[0].message.content == 'partial'   # the partial reply, on request


def test_abandoned_stream_leaves_value_none():
    cap = stream_with_complete(iter(text_stream('a', 'b', 'c')))
    for c in cap: break
    assert cap.value is None and not cap.done and len(cap.chunks) == 1


def test_a_capture_can_be_iterated_only_once():
    cap = stream_with_complete(iter(text_stream('a')))
    list(cap)
    with pytest.raises(UsageError, match='only once'): list(cap)


def test_none_or_a_complete_response_instead_of_a_stream_is_a_usage_error():
    with pytest.raises(UsageError, match='stream=True'): stream_with_complete(None)
    with pytest.raises(UsageError, match='ModelResponse'): stream_with_complete(build_response(text_stream('done')))


async def _agen(chunks, exc=None):
    for c in chunks: yield c
    if exc: raise exc


async def test_async_capture_yields_every_chunk_then_holds_the_complete_reply():
    chunks = text_stream('Hi', ' you')
    cap = astream_with_complete(_agen(chunks))
    seen = [c async for c in cap]
    assert seen == chunks and cap.done
    assert cap.value.choices[0].message.content == 'Hi you'


async def test_async_capture_error_propagates_and_value_stays_none():
    cap = astream_with_complete(_agen(text_stream('x')[:1], ValueError('boom')))
    with pytest.raises(ValueError, match='boom'):
        async for _ in cap: pass
    assert cap.value is None and not cap.done


# ---------------------------------------------------------------- build_response

def test_build_response_of_no_chunks_is_none():
    assert build_response([]) is None


def test_build_response_uses_the_model_that_answered_not_the_alias_requested():
    resp = build_response(text_stream('ok', served='claude-sonnet-4-5-20250929'))
    assert resp.model == 'claude-sonnet-4-5-20250929' and resp.id == 'chatcmpl-1'


def test_build_response_keeps_usage_with_cache_and_reasoning_tokens():
    usage = Usage(prompt_tokens=120, completion_tokens=40, total_tokens=160, cache_creation_input_tokens=7,
                  cache_read_input_tokens=20, completion_tokens_details={'reasoning_tokens': 9},
                  server_tool_use={'web_search_requests': 2})
    resp = build_response(text_stream('ok', usage=usage))
    u = resp.usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (120, 40, 160)
    assert (u.cache_creation_input_tokens, u.cache_read_input_tokens) == (7, 20)
    assert u.completion_tokens_details.reasoning_tokens == 9
    assert u.server_tool_use.web_search_requests == 2


def test_build_response_of_a_reply_without_text_has_content_none():
    tool_only = [chunk('', role='assistant'), chunk('', calls=call_start(0, 'toolu_1', 'add')),
                 chunk('', calls=call_args(0, '{}')), chunk(finish='tool_calls')]
    assert build_response(tool_only).choices[0].message.content is None
    assert build_response([chunk(finish='length')]).choices[0].message.content is None


def test_build_response_joins_parallel_tool_call_arguments_per_index():
    chunks = [chunk('Adding.', role='assistant'),
              chunk(calls=call_start(0, 'call_A', 'add')), chunk(calls=call_start(1, 'call_B', 'mul')),
              chunk(calls=call_args(0, '{"a": 1')), chunk(calls=call_args(1, '{"x": [1,')),
              chunk(calls=call_args(0, ', "b": 2}')), chunk(calls=call_args(1, ' 2.5]}')),
              chunk(finish='tool_calls')]
    msg = build_response(chunks).choices[0].message
    assert msg.content == 'Adding.'
    assert [(t.id, t.function.name, t.function.arguments) for t in msg.tool_calls] == \
           [('call_A', 'add', '{"a": 1, "b": 2}'), ('call_B', 'mul', '{"x": [1, 2.5]}')]
    assert build_response(chunks).choices[0].finish_reason == 'tool_calls'


def anthropic_thinking(text, sig, first=False):
    "The chunks Anthropic's thinking_delta/signature_delta events become: text fragments, then the signature."
    out = []
    for i, piece in enumerate([text[:4], text[4:]]):
        tb = [{'type': 'thinking', 'thinking': piece}]
        out.append(chunk('', reasoning=piece, thinking=tb, fields={'thinking_blocks': tb}, role='assistant' if first and not i else None))
    sb = [{'type': 'thinking', 'thinking': '', 'signature': sig}]
    out.append(chunk('', reasoning='', thinking=sb, fields={'thinking_blocks': sb}))
    return out


def test_build_response_keeps_anthropic_thinking_text_and_signature_everywhere():
    chunks = anthropic_thinking('Let me add 5 and 3.', 'SIG-1', first=True) + [chunk('It is 8.'), chunk(finish='stop')]
    msg = build_response(chunks).choices[0].message
    block = {'type': 'thinking', 'thinking': 'Let me add 5 and 3.', 'signature': 'SIG-1'}
    assert msg.reasoning_content == 'Let me add 5 and 3.'
    assert msg.thinking_blocks == [block]
    assert msg.provider_specific_fields['thinking_blocks'] == [block]   # LiteLLM's builder keeps only the signature fragment here
    assert msg.content == 'It is 8.'


def test_build_response_keeps_several_thinking_blocks_in_order_with_redacted_ones():
    red = [{'type': 'redacted_thinking', 'data': 'ENCRYPTED'}]
    chunks = anthropic_thinking('first idea', 'S1', first=True) + \
             [chunk('', thinking=red, fields={'thinking_blocks': red})] + \
             anthropic_thinking('second idea', 'S2') + [chunk('Done.'), chunk(finish='stop')]
    msg = build_response(chunks).choices[0].message
    expected = [{'type': 'thinking', 'thinking': 'first idea', 'signature': 'S1'}, red[0],
                {'type': 'thinking', 'thinking': 'second idea', 'signature': 'S2'}]
    assert msg.thinking_blocks == expected
    assert msg.provider_specific_fields['thinking_blocks'] == expected


def cite(url, title, quote): return {'type': 'web_search_result_location', 'cited_text': quote, 'url': url, 'title': title, 'encrypted_index': 'EI'}


def test_build_response_groups_anthropic_citations_per_cited_block():
    c1, c2, c3 = cite('https://a.org', 'A', 'q1'), cite('https://b.org', 'B', 'q2'), cite('https://a.org', 'A', 'q3')
    chunks = [chunk('Intro. ', role='assistant'),
              chunk('', fields={'citation': c1}), chunk('Otters swim.'),
              chunk(' Also, '),
              chunk('', fields={'citation': c2}), chunk('', fields={'citation': c3}), chunk('they use rocks.'),
              chunk(finish='stop')]
    msg = build_response(chunks).choices[0].message
    assert msg.content == 'Intro. Otters swim. Also, they use rocks.'
    assert msg.provider_specific_fields['citations'] == [[c1], [c2, c3]]


def test_build_response_turns_streamed_web_search_calls_into_a_list_and_keeps_results():
    def call(i, status): return {'id': f'ws_{i}', 'status': status, 'type': 'web_search_call', 'action': {'type': 'search', 'query': f'q{i}'}}
    res1 = {'type': 'web_search_tool_result', 'tool_use_id': 's1', 'content': []}
    res2 = {'type': 'web_search_tool_result', 'tool_use_id': 's2', 'content': []}
    chunks = [chunk('', fields={'web_search_calls': {'s1': call(1, 'in_progress')}}, role='assistant'),
              chunk('', fields={'web_search_results': [res1], 'web_search_calls': {'s1': call(1, 'completed')}}),
              chunk('', fields={'web_search_calls': {'s1': call(1, 'completed'), 's2': call(2, 'in_progress')}}),
              chunk('', fields={'web_search_results': [res1, res2],
                                'web_search_calls': {'s1': call(1, 'completed'), 's2': call(2, 'completed')}}),
              chunk('Found it.'), chunk(finish='stop')]
    fields = build_response(chunks).choices[0].message.provider_specific_fields
    assert fields['web_search_calls'] == [call(1, 'completed'), call(2, 'completed')]
    assert fields['web_search_results'] == [res1, res2]


def test_build_response_keeps_every_gemini_thought_signature():
    fc = [ChatCompletionDeltaToolCall(id='call_x__thought__SIG_FC', function=Function(name='add', arguments='{"a": 1}'),
                                      type='function', index=0, provider_specific_fields={'thought_signature': 'SIG_FC'})]
    chunks = [chunk(reasoning='Thinking...', role='assistant', model='gemini-2.5-flash'),
              chunk('I will add.', fields={'thought_signatures': ['SIG_TEXT']}, model='gemini-2.5-flash'),
              chunk(calls=fc, fields={'thought_signatures': ['SIG_FC']}, model='gemini-2.5-flash'),
              chunk(finish='tool_calls', model='gemini-2.5-flash')]
    msg = build_response(chunks).choices[0].message
    assert msg.provider_specific_fields['thought_signatures'] == ['SIG_TEXT', 'SIG_FC']
    assert msg.tool_calls[0].provider_specific_fields == {'thought_signature': 'SIG_FC'}
    assert msg.reasoning_content == 'Thinking...' and msg.content == 'I will add.'


def test_build_response_merges_openai_annotations():
    ann = [{'type': 'url_citation', 'url_citation': {'start_index': 0, 'end_index': 6, 'url': 'https://o.org', 'title': 'O'}}]
    delta_ann = Delta(annotations=ann)
    chunks = text_stream('Otters!', finish=None)[:-1] + [ModelResponseStream(id='chatcmpl-1', model='gpt-4.1', choices=[StreamingChoices(delta=delta_ann)]),
                                                         chunk(finish='stop')]
    msg = build_response(chunks).choices[0].message
    assert msg.annotations == ann and msg.content == 'Otters!'


# ---------------------------------------------------------------- delta_text

def test_delta_text_gives_text_as_is():
    assert delta_text(chunk('Hello')) == 'Hello'


def test_delta_text_names_each_tool_call_when_it_starts_and_skips_argument_fragments():
    assert delta_text(chunk(calls=call_start(0, 'toolu_1', 'simple_add'))) == '\n🔧 simple_add\n'
    assert delta_text(chunk(calls=call_args(0, '{"a": 1}'))) is None
    two = call_start(0, 'a', 'add') + call_start(1, 'b', 'mul')
    assert delta_text(chunk(calls=two)) == '\n🔧 add\n\n🔧 mul\n'


def test_delta_text_marks_reasoning_and_the_end_of_a_thinking_block():
    assert delta_text(chunk(reasoning='hmm')) == '🧠'
    assert delta_text(chunk('', reasoning='')) == '\n\n'   # Anthropic's signature delta closes the block


def test_delta_text_is_none_when_nothing_is_printable():
    assert delta_text(chunk(finish='stop')) is None
    assert delta_text(chunk(choices=False, usage=Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2))) is None
    assert delta_text({'choices': []}) is None
    assert delta_text({'choices': [{'delta': {'content': 'dict chunk'}}]}) == 'dict chunk'
    assert delta_text(object()) is None


# ---------------------------------------------------------------- wire: streamed == not streamed
# The same scripted reply, once as JSON and once as a stream, through LiteLLM's real parsing.

MODELS = {'anthropic': 'anthropic/claude-sonnet-4-5', 'openai': 'openai/o4-mini', 'gemini': 'gemini/gemini-2.5-flash'}
MSGS = [{'role': 'user', 'content': 'What is 1+2 and 3+4.5?'}]


def plain_and_streamed(standin, provider, reply, model=None, **kw):
    "The reply as a non-streamed response, and as the complete response captured from its stream."
    standin.queue(reply, reply)
    args = dict(model=model or MODELS[provider], messages=MSGS, **standin.kwargs(provider), **kw)
    plain = litellm.completion(**args)
    cap = stream_with_complete(litellm.completion(**args, stream=True, stream_options={'include_usage': True}))
    chunks = list(cap)
    assert chunks and cap.done
    return plain, cap.value


def usage_numbers(u):
    return (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.prompt_tokens_details.cached_tokens,
            getattr(u, 'cache_creation_input_tokens', None), getattr(u, 'cache_read_input_tokens', None),
            u.completion_tokens_details.reasoning_tokens)


def calls(msg): return [(t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []]


@pytest.mark.parametrize('provider', list(MODELS))
def test_streamed_reply_equals_unstreamed_text_tools_reasoning_usage(standin, provider):
    tcs = [ToolCall('add', {'a': 1, 'b': 2}, id=None if provider == 'gemini' else f'{provider[:3]}_1'),
           ToolCall('add', {'a': 3, 'b': 4.5, 'opts': {'round': [1, 2]}}, id=None if provider == 'gemini' else f'{provider[:3]}_2')]
    reply = Reply(text='Let me add both.', tool_calls=tcs, thinking='Two sums; call the tool twice.',
                  usage=dict(input=100, output=50, cache_read=30, cache_write=5 if provider == 'anthropic' else 0, reasoning=10))
    plain, streamed = plain_and_streamed(standin, provider, reply, reasoning_effort='low')
    p, s = plain.choices[0].message, streamed.choices[0].message
    assert s.content == p.content == 'Let me add both.'
    assert calls(s) == calls(p) == [('add', {'a': 1, 'b': 2}), ('add', {'a': 3, 'b': 4.5, 'opts': {'round': [1, 2]}})]
    if provider != 'gemini': assert [t.id for t in s.tool_calls] == [t.id for t in p.tool_calls]
    assert s.reasoning_content == p.reasoning_content == 'Two sums; call the tool twice.'
    assert streamed.choices[0].finish_reason == plain.choices[0].finish_reason == 'tool_calls'
    assert streamed.model == plain.model
    assert usage_numbers(streamed.usage) == usage_numbers(plain.usage)


@pytest.mark.parametrize('provider', list(MODELS))
def test_streamed_tool_only_reply_has_no_content_like_unstreamed(standin, provider):
    plain, streamed = plain_and_streamed(standin, provider, Reply(tool_calls=[ToolCall('add', {'a': 1})]))
    assert streamed.choices[0].message.content is plain.choices[0].message.content is None
    assert calls(streamed.choices[0].message) == calls(plain.choices[0].message) == [('add', {'a': 1})]


def test_streamed_anthropic_thinking_blocks_keep_text_and_signature(standin):
    reply = Reply(text='8.', thinking='5 plus 3 is 8.', signature='SIG-abc')
    plain, streamed = plain_and_streamed(standin, 'anthropic', reply, reasoning_effort='low')
    p, s = plain.choices[0].message, streamed.choices[0].message
    assert s.thinking_blocks == p.thinking_blocks == [{'type': 'thinking', 'thinking': '5 plus 3 is 8.', 'signature': 'SIG-abc'}]
    assert s.provider_specific_fields['thinking_blocks'] == p.provider_specific_fields['thinking_blocks']


def test_streamed_gemini_keeps_thought_signatures_on_message_and_tool_call(standin):
    reply = Reply(text='Adding.', tool_calls=[ToolCall('add', {'a': 1})], thinking='Use the tool.', signature='GSIG')
    plain, streamed = plain_and_streamed(standin, 'gemini', reply, reasoning_effort='low')
    p, s = plain.choices[0].message, streamed.choices[0].message
    assert s.provider_specific_fields['thought_signatures'] == p.provider_specific_fields['thought_signatures']
    assert 'GSIG' in s.provider_specific_fields['thought_signatures']
    assert s.tool_calls[0].provider_specific_fields == p.tool_calls[0].provider_specific_fields


def cite_key(c): return (c['type'], c['url'], c['title'], c.get('cited_text'))


@pytest.mark.parametrize('provider,model', [('anthropic', None), ('openai', 'openai/gpt-4o-search-preview'), ('gemini', None)])
def test_streamed_citations_equal_unstreamed(standin, provider, model):
    reply = Reply(text=['Otters are ', Cited('playful', [Citation('https://a.org/o', 'A', 'they play')]), ' and ',
                        Cited('fast', [Citation('https://b.org/f', 'B', 'quick')]), '.'], search=['otters'])
    plain, streamed = plain_and_streamed(standin, provider, reply, model, web_search_options={'search_context_size': 'low'})
    want = [cite_key(c) for c in citations(plain)]
    assert [cite_key(c) for c in citations(streamed)] == want
    assert [c[1] for c in want] == ['https://a.org/o', 'https://b.org/f']
    if provider == 'anthropic':
        groups = lambda r: [[c['url'] for c in g] for g in r.choices[0].message.provider_specific_fields['citations']]
        assert groups(streamed) == groups(plain) == [['https://a.org/o'], ['https://b.org/f']]
        assert streamed.usage.server_tool_use.web_search_requests == plain.usage.server_tool_use.web_search_requests == 1


def test_stream_cut_mid_way_raises_and_leaves_no_complete_reply(standin):
    standin.queue(Reply(text='one two three four five six', cut_after=4))
    cap = stream_with_complete(litellm.completion(MODELS['anthropic'], MSGS, stream=True, **standin.kwargs('anthropic')))
    with pytest.raises(litellm.exceptions.MidStreamFallbackError, match='peer closed connection'):
        for _ in cap: pass
    assert cap.value is None and not cap.done
    assert cap.chunks and build_response(cap.chunks).choices[0].message.content.startswith('one')
