"""lexi.tools: schemas from functions, calling tools (sync and async), and synthetic tool-call history."""
import asyncio
import base64
import dataclasses
import enum
import functools
import json
import random
import threading
from pathlib import Path
from typing import Literal, Optional

import pytest
from litellm.types.utils import ChatCompletionMessageToolCall, Function, Message
from pydantic import BaseModel, Field

from lexi.errors import UsageError
from lexi.tools import (ToolResponse, acall_tool, call_tool, lite_mk_func, mk_ns, mk_tc, mk_tc_req, mk_tc_result,
                        mk_tc_results, random_tool_id)

SAMPLES = Path(__file__).parent.parent / 'samples'


# the demo's tools: simple_add has docments comments, as lisette's document shows
from lexi.demo import multiply, simple_add  # noqa: E402


def tc(name, args, tcid='toolu_1'):
    return {'id': tcid, 'type': 'function', 'function': {'name': name, 'arguments': args if isinstance(args, str) else json.dumps(args)}}


def walk(o):
    "Every dict in a nested structure."
    if isinstance(o, dict):
        yield o
        for v in o.values(): yield from walk(v)
    elif isinstance(o, list):
        for v in o: yield from walk(v)


# ---------------------------------------------------------------- schemas

def test_simple_add_schema_is_exactly_as_documented():
    assert lite_mk_func(simple_add) == {
        'type': 'function',
        'function': {'name': 'simple_add',
                     'description': 'Add two numbers together\n\nReturns:\n- type: integer',
                     'parameters': {'type': 'object',
                                    'properties': {'a': {'type': 'integer', 'description': 'first operand'},
                                                   'b': {'type': 'integer', 'description': 'second operand', 'default': 0}},
                                    'required': ['a']}}}
    assert list(lite_mk_func(simple_add)['function']['parameters']['properties']['b']) == ['type', 'description', 'default']


def test_a_schema_dict_is_returned_unchanged():
    schema = {'type': 'function', 'function': {'name': 'x', 'parameters': {'type': 'object', 'properties': {}}}}
    assert lite_mk_func(schema) is schema


class Color(enum.Enum):
    RED = 'red'
    GREEN = 'green'


@dataclasses.dataclass
class Point:
    x: int  # horizontal position
    y: int = 0  # vertical position


class Person(BaseModel):
    name: str  # full name
    age: int = Field(description='age in years')
    home: Optional[Point] = None


def everything(p: Point,  # where
               who: Person,  # whom
               color: Color = Color.RED,  # which colour
               mode: Literal['fast', 'slow'] = 'fast',  # how
               tags: list[str] | None = None,  # labels
               weights: dict[str, float] | None = None,  # named weights
               limit: Optional[int] = None,  # most results
               pts: list[Point] = (),  # more points
               ) -> str:  # a summary
    "Describe everything"
    return f'{p!r}|{who!r}|{color!r}|{mode}|{tags}|{weights}|{limit}|{pts!r}'


def props(f): return lite_mk_func(f)['function']['parameters']['properties']


def test_optional_parameters_are_nullable_and_not_required():
    ps, params = props(everything), lite_mk_func(everything)['function']['parameters']
    assert ps['limit'] == {'anyOf': [{'type': 'integer'}, {'type': 'null'}], 'description': 'most results', 'default': None}
    assert params['required'] == ['p', 'who']


def test_optional_without_default_is_not_required_and_gets_none():
    def f(x: Optional[int], y: int) -> str:
        "f"
        return repr(x)
    assert lite_mk_func(f)['function']['parameters']['required'] == ['y']
    assert call_tool(tc('f', {'y': 1}), [f])['content'] == 'None'


def test_literal_and_enum_become_enums():
    ps = props(everything)
    assert ps['mode'] == {'enum': ['fast', 'slow'], 'type': 'string', 'description': 'how', 'default': 'fast'}
    assert ps['color'] == {'enum': ['red', 'green'], 'type': 'string', 'description': 'which colour', 'default': 'red'}


def test_lists_and_dicts_describe_their_items():
    ps = props(everything)
    assert ps['tags']['anyOf'][0] == {'type': 'array', 'items': {'type': 'string'}}
    assert ps['weights']['anyOf'][0] == {'type': 'object', 'additionalProperties': {'type': 'number'}}
    assert ps['pts']['items']['properties']['x'] == {'type': 'integer', 'description': 'horizontal position'}
    assert ps['pts']['default'] == []


def test_dataclass_and_model_parameters_are_inline_object_schemas():
    ps = props(everything)
    assert ps['p']['type'] == 'object' and ps['p']['required'] == ['x']
    assert ps['p']['properties']['y'] == {'default': 0, 'type': 'integer', 'description': 'vertical position'}
    assert ps['who']['properties']['name'] == {'type': 'string', 'description': 'full name'}
    assert ps['who']['properties']['age'] == {'description': 'age in years', 'type': 'integer'}
    assert ps['who']['properties']['home']['anyOf'][0]['properties']['x']['type'] == 'integer'
    schema = lite_mk_func(everything)
    assert not any('$ref' in d or '$defs' in d or isinstance(d.get('title'), str) for d in walk(schema))


def test_return_docment_is_in_the_description():
    assert lite_mk_func(everything)['function']['description'] == \
        'Describe everything\n\nReturns:\n- type: string\n- description: a summary'


def test_no_docstring_and_no_return_hint_gives_no_description():
    def bare(x: int): return x
    assert lite_mk_func(bare)['function'] == {'name': 'bare', 'parameters': {'type': 'object', 'properties': {'x': {'type': 'integer'}},
                                                                              'required': ['x']}}


def test_unannotated_parameter_with_default_takes_the_default_type():
    def f(n=3):
        "f"
    assert props(f)['n'] == {'type': 'integer', 'default': 3}


def test_args_and_kwargs_are_not_parameters():
    def f(a: int, *rest, **more):
        "f"
    assert list(props(f)) == ['a']


def test_a_nameless_tool_raises():
    with pytest.raises(UsageError, match='name'): lite_mk_func(lambda x: x)
    with pytest.raises(UsageError, match='name'): lite_mk_func(functools.partial(simple_add, 1))


def test_a_parameter_type_that_json_cannot_carry_raises():
    class Opaque: pass
    def f(o: Opaque):
        "f"
    with pytest.raises(UsageError, match='Opaque'): lite_mk_func(f)


def test_a_method_schema_skips_self():
    class Calc:
        def add(self, a: int) -> int:
            "Add"
            return a
    assert list(props(Calc().add)) == ['a']


# ---------------------------------------------------------------- mk_ns

def test_mk_ns_maps_names_to_callables_and_skips_schemas():
    assert mk_ns([simple_add, multiply, lite_mk_func(simple_add)]) == {'simple_add': simple_add, 'multiply': multiply}
    assert mk_ns(None) == {} and mk_ns(simple_add) == {'simple_add': simple_add}
    assert mk_ns({'x': simple_add}) == {'x': simple_add}


def test_mk_ns_rejects_two_tools_with_one_name():
    def simple_add(a: int) -> int:
        "another"
        return a
    g = globals()['simple_add']
    with pytest.raises(UsageError, match="'simple_add'"): mk_ns([g, simple_add])
    assert mk_ns([g, g]) == {'simple_add': g}


# ---------------------------------------------------------------- call_tool

def test_call_tool_returns_the_tool_message():
    assert call_tool(tc('simple_add', {'a': 5, 'b': 7}, 'toolu_x'), mk_ns([simple_add])) == \
        {'tool_call_id': 'toolu_x', 'role': 'tool', 'name': 'simple_add', 'content': '12'}


def test_call_tool_takes_litellm_tool_call_objects_and_a_list_of_tools():
    obj = ChatCompletionMessageToolCall(id='call_1', type='function', function=Function(name='multiply', arguments='{"a": 6, "b": 7}'))
    assert call_tool(obj, [simple_add, multiply])['content'] == '42'


def test_unknown_tool_names_the_available_ones():
    msg = call_tool(tc('divide', {'a': 1}), mk_ns([simple_add, multiply]))
    assert msg == {'tool_call_id': 'toolu_1', 'role': 'tool', 'name': 'divide',
                   'content': "Unknown tool 'divide'; available: simple_add, multiply"}


def test_tools_are_never_looked_up_in_globals():
    assert call_tool(tc('multiply', {'a': 1, 'b': 2}), [simple_add])['content'].startswith("Unknown tool 'multiply'")


def test_arguments_that_are_not_json_become_a_message():
    content = call_tool(tc('simple_add', '{"a": 1,'), [simple_add])['content']
    assert content.startswith("Arguments for tool 'simple_add' are not valid JSON") and '{"a": 1,' in content


def test_arguments_that_are_not_an_object_become_a_message():
    assert 'must be a JSON object' in call_tool(tc('simple_add', '[1, 2]'), [simple_add])['content']


@pytest.mark.parametrize('args,expect', [({'b': 1}, "missing a required argument: 'a'"),
                                         ({'a': 1, 'c': 2}, "unexpected keyword argument 'c'")])
def test_arguments_that_do_not_fit_the_signature_become_a_message(args, expect):
    content = call_tool(tc('simple_add', args), [simple_add])['content']
    assert content.startswith("Arguments for tool 'simple_add' do not fit its signature simple_add(a: int, b: int = 0)")
    assert expect in content


def test_argument_values_of_the_wrong_type_become_a_message():
    content = call_tool(tc('simple_add', {'a': 'five'}), [simple_add])['content']
    assert content.startswith("Arguments for tool 'simple_add' are invalid: a: ") and "'five'" in content


def divide(a: int, b: int) -> float:
    "Divide a by b"
    return a / b


def test_an_exception_in_the_tool_becomes_a_message_with_its_traceback():
    content = call_tool(tc('divide', {'a': 1, 'b': 0}), [divide])['content']
    assert content.startswith("Error: tool 'divide' raised ZeroDivisionError: division by zero")
    assert 'return a / b' in content and 'in divide' in content
    assert content.rstrip().endswith('ZeroDivisionError: division by zero')


def test_json_strings_are_converted_to_the_annotated_types():
    content = call_tool(tc('everything', {'p': {'x': 1}, 'who': {'name': 'Ann', 'age': 30, 'home': {'x': 2, 'y': 3}},
                                          'color': 'green', 'pts': [{'x': 5}], 'weights': {'w': 1}}), [everything])['content']
    p, who, color, mode, tags, weights, limit, pts = content.split('|')
    assert p == repr(Point(1, 0)) and who == repr(Person(name='Ann', age=30, home=Point(2, 3)))
    assert color == repr(Color.GREEN) and mode == 'fast' and weights == "{'w': 1.0}" and pts == repr([Point(5, 0)])


def test_tool_response_content_is_kept_as_parts():
    png = (SAMPLES / 'sample.png').read_bytes()
    def look() -> ToolResponse:
        "Show a picture"
        return ToolResponse(['Here it is', png, {'type': 'text', 'text': 'done'}])
    content = call_tool(tc('look', ''), [look])['content']
    assert content == [{'type': 'text', 'text': 'Here it is'},
                       {'type': 'image_url', 'image_url': 'data:image/png;base64,' + base64.b64encode(png).decode()},
                       {'type': 'text', 'text': 'done'}]


def test_none_result_is_the_string_none():
    def nothing() -> None:
        "Do nothing"
    assert call_tool(tc('nothing', None), [nothing])['content'] == 'None'


def test_sync_call_tool_runs_coroutine_functions():
    async def later(x: int) -> int:
        "later"
        await asyncio.sleep(0)
        return x + 1
    assert call_tool(tc('later', {'x': 1}), [later])['content'] == '2'


async def test_sync_call_tool_runs_coroutine_functions_inside_a_running_loop():
    async def later(x: int) -> int:
        "later"
        return x * 3
    assert call_tool(tc('later', {'x': 2}), [later])['content'] == '6'


# ---------------------------------------------------------------- acall_tool

async def test_acall_tool_awaits_coroutine_functions():
    async def fetch(n: int) -> str:
        "fetch"
        await asyncio.sleep(0)
        return 'x' * n
    assert await acall_tool(tc('fetch', {'n': 3}, 'c1'), [fetch]) == {'tool_call_id': 'c1', 'role': 'tool', 'name': 'fetch',
                                                                     'content': 'xxx'}


async def test_acall_tool_runs_sync_tools_off_the_event_loop():
    loop_thread, seen, released = threading.get_ident(), {}, threading.Event()
    def blocking() -> str:
        "Wait until the loop has run something else"
        seen['thread'] = threading.get_ident()
        return 'released' if released.wait(10) else 'loop was blocked'
    async def release(): released.set()
    msg, _ = await asyncio.gather(acall_tool(tc('blocking', {}), [blocking]), release())
    assert msg['content'] == 'released' and seen['thread'] != loop_thread


async def test_acall_tool_turns_failures_into_messages():
    async def boom() -> None:
        "boom"
        raise ValueError('bad input')
    content = (await acall_tool(tc('boom', {}), [boom]))['content']
    assert content.startswith("Error: tool 'boom' raised ValueError: bad input") and "raise ValueError('bad input')" in content
    assert (await acall_tool(tc('nope', {}), [boom]))['content'] == "Unknown tool 'nope'; available: boom"
    assert 'are invalid' in (await acall_tool(tc('simple_add', {'a': [1]}), [simple_add]))['content']


async def test_acall_tool_traceback_shows_the_tool_not_the_thread_machinery():
    content = (await acall_tool(tc('divide', {'a': 1, 'b': 0}), [divide]))['content']
    assert 'in divide' in content and 'concurrent' not in content and 'asyncio' not in content


# ---------------------------------------------------------------- synthetic history

def test_random_tool_id_looks_like_anthropic_ids():
    ids = {random_tool_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(i.startswith('toolu_') and len(i) == 31 and i[6:].isalnum() and i.isascii() for i in ids)


def test_random_tool_id_follows_the_random_seed():
    random.seed(7); a = random_tool_id()
    random.seed(7); assert random_tool_id() == a


def test_mk_tc_makes_the_documented_dict():
    assert mk_tc(simple_add.__name__, json.dumps(dict(a=5, b=7)), tcid='toolu_gAL47D1qXIaSyZPaE1pu1lJo7') == \
        {'index': 1, 'function': {'arguments': '{"a": 5, "b": 7}', 'name': 'simple_add'},
         'id': 'toolu_gAL47D1qXIaSyZPaE1pu1lJo7', 'type': 'function'}
    made = mk_tc(simple_add, {'a': 1}, idx=0)
    assert made['function'] == {'arguments': '{"a": 1}', 'name': 'simple_add'} and made['index'] == 0
    assert made['id'].startswith('toolu_')


def test_mk_tc_req_keeps_tool_calls_as_dicts():
    tc1 = mk_tc('simple_add', json.dumps(dict(a=5, b=7)), tcid='toolu_gAL47D1qXIaSyZPaE1pu1lJo7')
    tcq = mk_tc_req("I'll use the simple_add tool to calculate 5 + 7 for you.", [tc1])
    assert isinstance(tcq, Message) and tcq.tool_calls == [tc1] and tcq.tool_calls[0] is not tc1
    assert repr(tcq) == ("Message(content=\"I'll use the simple_add tool to calculate 5 + 7 for you.\", role='assistant', "
                         "tool_calls=[{'index': 1, 'function': {'arguments': '{\"a\": 5, \"b\": 7}', 'name': 'simple_add'}, "
                         "'id': 'toolu_gAL47D1qXIaSyZPaE1pu1lJo7', 'type': 'function'}], function_call=None, "
                         "provider_specific_fields=None)")


def test_mk_tc_req_accepts_tool_call_objects():
    obj = ChatCompletionMessageToolCall(id='call_1', type='function', function=Function(name='f', arguments='{}'))
    assert mk_tc_req('', [obj]).tool_calls[0] == {'function': {'arguments': '{}', 'name': 'f'}, 'id': 'call_1', 'type': 'function'}


def test_mk_tc_result_and_results():
    tcs = [mk_tc('simple_add', '{"a": 5, "b": 7}', tcid='t1'), mk_tc('simple_add', '{"a": 6, "b": 7}', tcid='t2')]
    tcq = mk_tc_req('I will calculate these for you!', tcs)
    assert mk_tc_result(tcq.tool_calls[0], '12') == {'tool_call_id': 't1', 'role': 'tool', 'name': 'simple_add', 'content': '12'}
    assert mk_tc_results(tcq, ['12', '13']) == [
        {'tool_call_id': 't1', 'role': 'tool', 'name': 'simple_add', 'content': '12'},
        {'tool_call_id': 't2', 'role': 'tool', 'name': 'simple_add', 'content': '13'}]


def test_mk_tc_results_needs_one_result_per_call():
    tcq = mk_tc_req('', [mk_tc('f', '{}', tcid='t1')])
    with pytest.raises(UsageError, match='1 tool call'): mk_tc_results(tcq, ['1', '2'])


# ---------------------------------------------------------------- wire: schemas and calls through LiteLLM

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}


@pytest.mark.parametrize('provider', list(MODELS))
def test_wire_tool_round_trip(standin, provider):
    import litellm
    from lexi.testing import Reply, ToolCall
    standin.queue(Reply(tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 7}), ToolCall('everything', {'p': {'x': 1},
                                                                                                     'who': {'name': 'A', 'age': 1}})]))
    tools = [lite_mk_func(simple_add), lite_mk_func(everything)]
    r = litellm.completion(MODELS[provider], [{'role': 'user', 'content': 'Add 5 and 7'}], tools=tools, **standin.kwargs(provider))
    body = standin.requests[-1].body
    sent = json.dumps(body)
    assert 'simple_add' in sent and 'first operand' in sent and 'horizontal position' in sent
    results = [call_tool(c, mk_ns([simple_add, everything])) for c in r.choices[0].message.tool_calls]
    assert results[0]['content'] == '12' and results[1]['content'].startswith(repr(Point(1, 0)))
    assert [m['tool_call_id'] for m in results] == [c.id for c in r.choices[0].message.tool_calls]


# -- a tool the model could not call well is refused at Chat(tools=...), saying what to add

def test_a_tool_parameter_without_a_type_hint_is_a_usage_error_naming_it():
    from lexi import Chat
    def add(a: int, b):
        "Add two numbers."
        return a + b
    with pytest.raises(UsageError, match=r"tool 'add': parameter 'b' has no type hint.*def add\(b: str"):
        Chat('openai/gpt-4.1', tools=[add])


def test_a_tool_without_a_docstring_is_a_usage_error():
    from lexi import Chat
    def add(a: int, b: int) -> int: return a + b
    with pytest.raises(UsageError, match="tool 'add' has no docstring"): Chat('openai/gpt-4.1', tools=[add])


def test_a_default_gives_the_type_and_schemas_are_taken_as_they_are():
    from lexi import Chat
    from lexi.testing import Scripted
    def greet(name: str, times=2):
        "Greet someone."
        return name * times
    schema = {'type': 'function', 'function': {'name': 'lookup', 'parameters': {'type': 'object', 'properties': {}}}}
    chat = Chat('openai/gpt-4.1', tools=[greet, schema], backend=Scripted('x'))
    assert chat.settings.tool_names == ['greet', 'lookup']
    assert chat.tools[0]['function']['parameters']['properties']['times']['type'] == 'integer'


def test_a_tool_given_to_one_call_is_checked_before_anything_is_sent():
    from lexi import Chat
    from lexi.testing import Scripted
    backend = Scripted('x')
    chat = Chat('openai/gpt-4.1', backend=backend)
    def find(q):
        "Find q."
    with pytest.raises(UsageError, match="parameter 'q'"): chat('hi', tools=[find])
    assert backend.requests == [] and chat.hist == []
