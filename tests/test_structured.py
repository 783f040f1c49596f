"""Structured output: chat.struct into the caller's own types, re-asking with validation errors."""
import json
import warnings
from dataclasses import dataclass

import pytest
from pydantic import BaseModel, field_validator
from typing_extensions import TypedDict

from lexi import AsyncChat, Chat, StructuredOutputError, UsageError
from lexi.demo import simple_add
from lexi.structured import OUTPUT_TOOL, Output, parse_json_text, partial_instance, strict_schema
from lexi.testing import Reply, Scripted, ToolCall

from fakes import valid_hist

MODEL = 'openai/gpt-4.1'


class Analysis(BaseModel):
    sentiment: str
    confidence: float
    note: str | None = None

    @field_validator('confidence')
    @classmethod
    def _in_range(cls, v):
        if not 0 <= v <= 1: raise ValueError('confidence must be between 0 and 1')
        return v


@dataclass
class City:
    name: str
    population: int = 0


class Pet(TypedDict):
    name: str
    kind: str


GOOD = '{"sentiment": "positive", "confidence": 0.9}'


# ---------------------------------------------------------------- pure parts

def test_strict_schema_closes_objects_requires_all_and_makes_optionals_nullable():
    s = strict_schema(Output(Analysis, False, False).schema)
    assert s['additionalProperties'] is False and s['required'] == ['sentiment', 'confidence', 'note']
    assert s['properties']['note'] == {'anyOf': [{'type': 'string'}, {'type': 'null'}]}   # already nullable: kept
    assert 'default' not in json.dumps(s)
    assert strict_schema({'type': 'object', 'additionalProperties': {'type': 'integer'}}) is None   # dict[str, int]


def test_non_object_types_are_wrapped_and_unwrapped():
    out = Output(list[City], False, False)
    assert out.wrapped and out.schema['required'] == ['result']
    assert out.validate({'result': [{'name': 'Oslo'}]}) == [City('Oslo', 0)]


def test_nulls_a_strict_schema_forced_for_optional_fields_give_back_the_defaults():
    out = Output(City, False, False)
    assert out.validate({'name': 'Oslo', 'population': None}) == City('Oslo', 0)


@pytest.mark.parametrize('text', [GOOD, f'```json\n{GOOD}\n```', f'Here you go: {GOOD} Hope it helps.'])
def test_json_is_found_in_plain_fenced_or_chatty_replies(text):
    assert parse_json_text(text) == json.loads(GOOD)


def test_partial_instances_are_of_the_callers_own_types():
    a = partial_instance(Analysis, {'sentiment': 'pos'})
    assert isinstance(a, Analysis) and a.sentiment == 'pos' and a.confidence is None and a.model_fields_set == {'sentiment'}
    c = partial_instance(list[City], [{'name': 'Oslo', 'population': 5}, {'name': 'Rome'}])
    assert isinstance(c[1], City) and (c[1].name, c[1].population) == ('Rome', None)
    assert partial_instance(Pet, {'name': 'Rex'}) == {'name': 'Rex'}


def test_check_in_tool_mode_answers_every_call_so_hist_stays_valid():
    out = Output(City, tool_mode=True, user_tools=True)
    reply = {'role': 'assistant', 'content': None, 'tool_calls': [
        {'id': 'a', 'type': 'function', 'function': {'name': 'simple_add', 'arguments': '{}'}},
        {'id': 'b', 'type': 'function', 'function': {'name': OUTPUT_TOOL, 'arguments': '{"name": "Oslo"}'}}]}
    c = out.check(reply)
    assert c.ok and c.value == City('Oslo') and [m['tool_call_id'] for m in c.answers] == ['a', 'b']
    assert valid_hist([reply, *c.answers])


# ---------------------------------------------------------------- through Chat, no HTTP

def test_struct_returns_the_instance_and_hist_continues_after_it():
    backend = Scripted(GOOD, 'Noted.')
    chat = Chat(MODEL, backend=backend)
    a = chat.struct('Analyze: great!', Analysis)
    assert a == Analysis(sentiment='positive', confidence=0.9)
    fmt = backend.requests[0]['response_format']
    assert fmt['type'] == 'json_schema' and fmt['json_schema']['strict'] is True and fmt['json_schema']['name'] == 'Analysis'
    chat('Thanks')
    assert [m['role'] for m in backend.requests[1]['messages']] == ['user', 'assistant', 'user']
    assert 'response_format' not in backend.requests[1]


def test_an_invalid_answer_is_sent_back_with_the_validators_message_then_accepted():
    backend = Scripted('{"sentiment": "positive", "confidence": 7}', GOOD)
    chat = Chat(MODEL, backend=backend)
    assert chat.struct('Analyze', Analysis).confidence == 0.9
    reask = backend.requests[1]['messages'][-1]
    assert reask['role'] == 'user' and 'confidence must be between 0 and 1' in reask['content']
    assert [m['role'] for m in chat.hist] == ['user', 'assistant', 'user', 'assistant'] and chat.use.calls == 2


def test_keep_attempts_false_keeps_only_the_good_answer():
    chat = Chat(MODEL, backend=Scripted('not json', GOOD))
    chat.struct('Analyze', Analysis, keep_attempts=False)
    assert [m['role'] for m in chat.hist] == ['user', 'assistant'] and json.loads(chat.hist[1].content)['confidence'] == 0.9
    assert chat.use.calls == 2   # the failed attempt still cost tokens


def test_always_invalid_raises_after_struct_retries_plus_one_with_what_went_wrong():
    backend = Scripted(*['{"sentiment": 3}'] * 3)
    chat = Chat(MODEL, backend=backend)
    with pytest.raises(StructuredOutputError) as ei:
        chat.struct('Analyze', Analysis, struct_retries=2)
    e = ei.value
    assert e.attempts == 3 and e.raw == '{"sentiment": 3}' and any('confidence' in x for x in e.errors)
    assert len(backend.requests) == 3 and valid_hist(chat.hist) and chat.use.calls == 3


def test_a_model_litellm_does_not_know_gets_the_answer_through_a_forced_tool():
    backend = Scripted(Reply(tool_calls=[ToolCall(OUTPUT_TOOL, {'name': 'Oslo', 'population': 700000}, id='t1')]))
    chat = Chat('openai/some-new-model', backend=backend)
    assert chat.struct('Biggest Norwegian city?', City) == City('Oslo', 700000)
    req = backend.requests[0]
    assert req['tool_choice'] == {'type': 'function', 'function': {'name': OUTPUT_TOOL}} and 'response_format' not in req
    assert valid_hist(chat.hist) and chat.hist[-1]['content'] == 'Accepted.'


def test_tools_run_first_then_the_structured_answer():
    backend = Scripted(Reply(tool_calls=[ToolCall('simple_add', {'a': 2, 'b': 3}, id='c1')]),
                       Reply(tool_calls=[ToolCall(OUTPUT_TOOL, {'result': 5}, id='c2')]))
    chat = Chat(MODEL, tools=[simple_add], backend=backend)
    assert chat.struct('2+3 as a number', int, max_steps=4) == 5
    assert backend.requests[0]['tool_choice'] == 'required'
    assert {t['function']['name'] for t in backend.requests[0]['tools']} == {'simple_add', OUTPUT_TOOL}
    assert backend.requests[1]['messages'][-1]['content'] == '5' and valid_hist(chat.hist)


def test_a_bad_tool_answer_is_answered_with_its_errors_and_the_tool_forced_again():
    backend = Scripted(Reply(tool_calls=[ToolCall(OUTPUT_TOOL, {'population': 'lots'}, id='x')]),
                       Reply(tool_calls=[ToolCall(OUTPUT_TOOL, {'name': 'Oslo'}, id='y')]))
    chat = Chat('openai/some-new-model', backend=backend)
    assert chat.struct('City?', City).name == 'Oslo'
    back = backend.requests[1]['messages'][-1]
    assert back['role'] == 'tool' and back['tool_call_id'] == 'x' and 'name' in back['content']
    assert valid_hist(chat.hist)


@pytest.mark.parametrize('tp, reply, want', [(list[City], '{"result": [{"name": "A"}, {"name": "B", "population": 2}]}',
                                              [City('A'), City('B', 2)]),
                                             (Pet, '{"name": "Rex", "kind": "dog"}', {'name': 'Rex', 'kind': 'dog'})])
def test_containers_and_typeddicts(tp, reply, want):
    assert Chat(MODEL, backend=Scripted(reply)).struct('x', tp) == want


async def test_asyncchat_struct():
    chat = AsyncChat(MODEL, backend=Scripted('oops', GOOD))
    assert (await chat.struct('Analyze', Analysis)).sentiment == 'positive'


def test_struct_needs_a_type_and_refuses_prefill():
    chat = Chat(MODEL, backend=Scripted())
    with pytest.raises(UsageError, match='output_type'): chat.struct('x')
    with pytest.raises(UsageError, match='prefill'): chat.struct('x', City, prefill='{')


def test_struct_renders_in_a_notebook_and_keeps_the_raw_completion():
    chat = Chat(MODEL, backend=Scripted(GOOD))
    a = chat.struct('Analyze', Analysis)
    assert chat.last_response.choices[0].message.content == GOOD and repr(a).startswith('Analysis(')


# ---------------------------------------------------------------- streaming partial instances

class Report(BaseModel):
    title: str
    cities: list[City]
    done: bool = False


REPORT = {'title': 'Big cities', 'cities': [{'name': 'Oslo', 'population': 700000}, {'name': 'Rome', 'population': 2800000}],
          'done': True}


def _check_partials(items):
    *partials, final = items
    assert final == Report(**REPORT) and all(isinstance(p, Report) for p in partials) and len(partials) >= 4
    assert partials[0].title is None or partials[0].title == 'Big cities'      # a field is absent, never cut short
    seen = [len(p.cities or []) for p in partials]
    assert seen == sorted(seen) and seen[-1] == 2                               # items arrive in order
    assert all(p.title in (None, 'Big cities') for p in partials)
    assert [p.model_fields_set for p in partials][-1] >= {'title', 'cities'}


def test_a_streamed_struct_yields_partial_instances_in_order_then_the_validated_one():
    chat = Chat(MODEL, backend=Scripted(Reply(text=json.dumps(REPORT), chunk_size=3)))
    s = chat.struct('Report', Report, stream=True)
    items = list(s)
    _check_partials(items)
    assert s.value == items[-1] and json.loads(chat.hist[-1].content) == REPORT


def test_a_streamed_struct_through_the_output_tool():
    chat = Chat('openai/some-new-model', backend=Scripted(Reply(tool_calls=[ToolCall(OUTPUT_TOOL, REPORT, id='r')], chunk_size=5)))
    _check_partials(list(chat.struct('Report', Report, stream=True)))


async def test_an_async_streamed_struct_re_asks_and_starts_its_partials_again():
    bad = {**REPORT, 'cities': [{'name': 'Oslo', 'population': 'many'}]}
    chat = AsyncChat(MODEL, backend=Scripted(Reply(text=json.dumps(bad), chunk_size=4), Reply(text=json.dumps(REPORT), chunk_size=4)))
    items = [o async for o in chat.struct('Report', Report, stream=True)]
    assert items[-1] == Report(**REPORT) and chat.use.calls == 2
    assert sum(isinstance(o, Report) and o.done is None for o in items) >= 2   # each attempt's partials start afresh


# ---------------------------------------------------------------- over the wire (LiteLLM -> stand-in)

WIRE = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}


def _schema_sent(req):
    "Where each provider's request carries the output schema, as LiteLLM translates response_format."
    b = req.body
    if req.provider == 'openai': return b['response_format']['json_schema']['schema']
    if req.provider == 'anthropic': return b['output_format']['schema']
    return b['generationConfig']['response_json_schema']


@pytest.mark.parametrize('provider', list(WIRE))
def test_wire_the_request_carries_the_schema_and_the_reply_becomes_the_instance(standin, provider):
    standin.queue(Reply(text=GOOD))
    a = Chat(WIRE[provider], **standin.kwargs(provider)).struct('Analyze: great!', Analysis)
    assert a == Analysis(sentiment='positive', confidence=0.9)
    assert set(_schema_sent(standin.requests[0])['properties']) == {'sentiment', 'confidence', 'note'}


@pytest.mark.parametrize('provider', list(WIRE))
def test_wire_an_invalid_reply_then_a_valid_one_sends_the_error_back(standin, provider):
    standin.queue(Reply(text='{"sentiment": "positive", "confidence": 3}'), Reply(text=GOOD))
    chat = Chat(WIRE[provider], **standin.kwargs(provider))
    assert chat.struct('Analyze', Analysis).confidence == 0.9
    assert len(standin.requests) == 2
    assert 'confidence must be between 0 and 1' in json.dumps(standin.requests[1].body)


@pytest.mark.parametrize('provider', list(WIRE))
def test_wire_always_invalid_raises_after_max_retries_plus_one_and_hist_stays_sendable(standin, provider):
    standin.queue(*[Reply(text='{"sentiment": 1}')] * 2, Reply(text='Fine.'))
    chat = Chat(WIRE[provider], **standin.kwargs(provider))
    with pytest.raises(StructuredOutputError):
        chat.struct('Analyze', Analysis, max_retries=1)
    assert len(standin.requests) == 2
    chat('OK, never mind.')                 # the stand-in refuses an invalid history with a 400
    assert not standin.violations


@pytest.mark.parametrize('provider', list(WIRE))
def test_wire_tools_then_the_answer_through_the_forced_output_tool(standin, provider):
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 2, 'b': 3})]),
                  Reply(tool_calls=[ToolCall(OUTPUT_TOOL, {'name': 'Five', 'population': 5})]), Reply(text='Bye.'))
    chat = Chat(WIRE[provider], tools=[simple_add], **standin.kwargs(provider))
    assert chat.struct('Add, then name a city of that size', City, max_steps=4) == City('Five', 5)
    tools = standin.requests[0].body.get('tools')
    assert OUTPUT_TOOL in json.dumps(tools) and 'simple_add' in json.dumps(tools)
    chat('Thanks')
    assert not standin.violations and valid_hist(chat.hist)


@pytest.mark.parametrize('provider', list(WIRE))
def test_wire_streamed_partials_arrive_in_order(standin, provider):
    standin.queue(Reply(text=json.dumps(REPORT), chunk_size=6))
    _check_partials(list(Chat(WIRE[provider], **standin.kwargs(provider)).struct('Report', Report, stream=True)))


def test_partials_built_incrementally_equal_fresh_ones_at_every_step():
    from lexi._partial import PartialJSON
    text, parser, memo = json.dumps(REPORT), PartialJSON(), {}
    for i in range(0, len(text), 3):
        if parser.feed(text[i:i + 3]) and parser.value is not None:
            fast = partial_instance(Report, parser.value, memo)
            assert fast.model_dump() == partial_instance(Report, json.loads(json.dumps(parser.value))).model_dump()


def test_struct_takes_the_one_name_struct_retries_and_reads_the_old_max_retries_with_a_warning():
    for kw in ({'struct_retries': 0}, {'max_retries': 0}):
        chat = Chat(MODEL, backend=Scripted('{"sentiment": 3}'))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            with pytest.raises(StructuredOutputError) as ei: chat.struct('Analyze', Analysis, **kw)
        assert ei.value.attempts == 1
        assert any('struct_retries' in str(w.message) for w in caught) == ('max_retries' in kw)
