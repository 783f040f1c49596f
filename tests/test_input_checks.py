"""Bad input is a UsageError before anything is sent: messages LiteLLM cannot send, tool schemas and tool specs.

Each case used to fail inside LiteLLM (an APIConnectionError or InternalServerError that was retried, or a
KeyError from lexi itself); now nothing reaches the stand-in and hist is as it was.
"""
import litellm
import pytest

from lexi import AsyncChat, Chat, UsageError, is_retryable
from lexi.testing import Reply, ToolCall
from lexi.tools import call_tool, mk_ns

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
PNG_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

BAD_MESSAGES = {
    'content is an int': ({'role': 'user', 'content': 123}, 'content of type int'),
    'lone surrogate': ('hi \ud800 there', 'msg.content: character 3 is a lone surrogate'),
    'lone surrogate in a part': ({'role': 'user', 'content': [{'type': 'text', 'text': 'ok'}, {'type': 'text', 'text': 'x\udcff'}]},
                                 'msg.content[1].text: character 1'),
    'image_url part without url': ({'role': 'user', 'content': [{'type': 'image_url', 'image_url': {}}]}, 'content part 0'),
    'image_url part without image_url': ({'role': 'user', 'content': [{'type': 'image_url'}]}, "type 'image_url'"),
    'text part without text': ({'role': 'user', 'content': [{'type': 'text', 'text': 5}]}, '"text" (a str)'),
    'part that is not a dict': ({'role': 'user', 'content': ['hi', 5]}, 'content part 0 is of type str'),
    'part without a type': ({'role': 'user', 'content': [{'text': 'hi'}]}, 'has no "type"'),
    'unknown role': ({'role': 'robot', 'content': 'hi'}, "role 'robot'"),
    'user message without content': ({'role': 'user', 'content': None}, 'has no content'),
    'tool result without its call id': ({'role': 'tool', 'content': '3'}, 'tool_call_id'),
    'tool call without a function': ({'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'a', 'type': 'function'}]},
                                     'tool call 0 needs'),
}


@pytest.mark.parametrize('provider', list(MODELS))
@pytest.mark.parametrize('case', list(BAD_MESSAGES))
def test_a_message_litellm_cannot_send_is_a_usage_error_before_sending(standin, provider, case):
    msg, says = BAD_MESSAGES[case]
    chat = Chat(MODELS[provider], **standin.kwargs(provider))
    with pytest.raises(UsageError) as ei:
        chat(msg)
    assert says in str(ei.value) and standin.requests == [] and chat.hist == []


@pytest.mark.parametrize('case', ['content is an int', 'lone surrogate', 'image_url part without url'])
async def test_async_calls_check_messages_the_same_way(standin, case):
    msg, says = BAD_MESSAGES[case]
    chat = AsyncChat(MODELS['gemini'], **standin.kwargs('gemini'))
    with pytest.raises(UsageError) as ei:
        await chat(msg)
    with pytest.raises(UsageError):
        chat(msg, stream=True)      # a stream is checked when it is made, not when read
    assert says in str(ei.value) and standin.requests == []


def test_a_bad_history_is_refused_when_it_is_set():
    bad = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yes \ud83d'}]
    with pytest.raises(UsageError, match=r'hist\[1\]\.content: character 4 is a lone surrogate'):
        Chat(MODELS['openai'], hist=bad)
    chat = Chat(MODELS['openai'])
    with pytest.raises(UsageError, match=r'hist\[0\] \(user\) content part 0 \(type .image_url.\)'):
        chat.hist = [{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'detail': 'low'}}]}]
    assert chat.hist == []


def test_messages_appended_to_hist_are_checked_at_the_next_call(standin):
    standin.queue('Hello.', 'Fine.')
    chat = Chat(MODELS['anthropic'], **standin.kwargs('anthropic'))
    chat('Hi')
    chat.hist.append({'role': 'user', 'content': 123})
    with pytest.raises(UsageError, match=r'hist\[2\] \(user\) has content of type int'):
        chat('And?')
    assert len(standin.requests) == 1
    chat.hist[-1] = {'role': 'user', 'content': 'Well?'}   # the tail replaced: checked again, and fine now
    chat.hist.append({'role': 'assistant', 'content': 'Go on.'})
    assert chat('Go.').choices[0].message.content == 'Fine.'


def test_a_replaced_tail_of_hist_is_checked_again(standin):
    standin.queue('Hello.')
    chat = Chat(MODELS['openai'], **standin.kwargs('openai'))
    chat('Hi')
    chat.hist[-1] = {'role': 'assistant', 'content': [{'type': 'text'}]}   # same length, new last message
    with pytest.raises(UsageError, match=r'hist\[1\]'):
        chat('Again')
    assert len(standin.requests) == 1


@pytest.mark.parametrize('opt', ['sp', 'prefill'])
def test_a_lone_surrogate_in_the_system_prompt_or_prefill_is_a_usage_error(standin, opt):
    chat = Chat(MODELS['openai'], **standin.kwargs('openai'))
    with pytest.raises(UsageError, match=f'{opt}: character 2 is a lone surrogate'):
        chat('Hi', **{opt: 'ab\udc80'})
    assert standin.requests == []


def test_every_kind_of_message_lexi_makes_still_passes(standin):
    standin.queue(Reply(tool_calls=[ToolCall('add', {'a': 1, 'b': 2})]), 'Three.', 'Seen.')
    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b
    chat = Chat(MODELS['openai'], tools=[add], **standin.kwargs('openai'))
    chat('Add 1 and 2', max_steps=3)
    chat(['Look:', {'type': 'image_url', 'image_url': {'url': PNG_URL}},
          {'type': 'file', 'file': {'file_data': 'data:application/pdf;base64,JVBERi0=', 'filename': 'a.pdf'}}])
    assert [m['role'] if isinstance(m, dict) else m.role for m in chat.hist] == ['user', 'assistant', 'tool', 'assistant', 'user', 'assistant']
    Chat(MODELS['openai'], hist=chat.hist)    # a history lexi recorded is accepted as it is


def test_a_tool_result_with_a_lone_surrogate_is_mended_not_refused(standin):
    def listing() -> str:
        "List the files."
        return b'caf\xe9.txt'.decode('utf-8', 'surrogateescape')
    standin.queue(Reply(tool_calls=[ToolCall('listing', {})]), 'One file.')
    chat = Chat(MODELS['anthropic'], tools=[listing], **standin.kwargs('anthropic'))
    assert chat('Files?').choices[0].message.content == 'One file.'
    assert chat.hist[2]['content'] == 'caf\ufffd.txt' and len(standin.requests) == 2
    assert call_tool({'id': 'x', 'function': {'name': 'listing', 'arguments': '{}'}}, [listing])['content'] == 'caf\ufffd.txt'


# ---------------------------------------------------------------- tools

def add(a: int, b: int = 0) -> int:
    "Add two numbers."
    return a + b


BAD_TOOLS = {
    'schema without function': ({'type': 'function'}, "has no 'function'"),
    'function that is a str': ({'type': 'function', 'function': 'add'}, "'function' of type str"),
    'function without a name': ({'type': 'function', 'function': {'description': 'Adds.'}}, "no 'name'"),
    'name that is not a str': ({'type': 'function', 'function': {'name': 5}}, "no 'name'"),
    'parameters that are a list': ({'type': 'function', 'function': {'name': 'f', 'parameters': []}}, "'parameters'"),
    'wrong tool type': ({'type': 'retrieval', 'function': {'name': 'f'}}, "type 'retrieval'"),
    "Anthropic's format": ({'name': 'add', 'description': 'Add.', 'input_schema': {'type': 'object'}}, "Anthropic's format"),
    'a mapping of functions': ({'add': add}, 'ns='),
    'a class': (int, 'int is a class'),
}


@pytest.mark.parametrize('case', list(BAD_TOOLS))
def test_a_bad_tool_is_a_usage_error_on_the_chat_and_on_a_call(standin, case):
    tool, says = BAD_TOOLS[case]
    with pytest.raises(UsageError) as ei:
        Chat(MODELS['openai'], tools=[tool])
    assert says in str(ei.value)
    chat = Chat(MODELS['openai'], tools=[add], **standin.kwargs('openai'))
    with pytest.raises(UsageError) as ei:
        chat('hi', tools=[tool])
    assert says in str(ei.value) and standin.requests == [] and chat.settings.tool_names == ['add']


def test_a_good_schema_dict_is_taken_as_it_is(standin):
    schema = {'type': 'function', 'function': {'name': 'lookup', 'description': 'Look a word up.',
                                               'parameters': {'type': 'object', 'properties': {'w': {'type': 'string'}}}}}
    standin.queue('ok')
    chat = Chat(MODELS['openai'], tools=[schema], **standin.kwargs('openai'))
    chat('hi')
    assert standin.requests[0].body['tools'] == [schema]


@pytest.mark.parametrize('ns', [5, 'add', b'add'])
def test_ns_that_is_neither_a_list_nor_a_mapping_is_a_usage_error(ns):
    with pytest.raises(UsageError, match='list of functions or a name -> function dict'):
        Chat(MODELS['openai'], ns=ns)
    with pytest.raises(UsageError): mk_ns(ns)


BAD_KWARGS = {'extra_headers': ['x-a'], 'headers': 'x-a: 1', 'metadata': 5, 'stream_options': 'usage', 'api_key': 5,
              'max_tokens': 'many'}


@pytest.mark.parametrize('provider', ['openai', 'anthropic'])
@pytest.mark.parametrize('name', list(BAD_KWARGS))
def test_a_litellm_keyword_of_a_type_litellm_cannot_use_is_a_usage_error(standin, provider, name):
    chat = Chat(MODELS[provider], **{**standin.kwargs(provider), name: BAD_KWARGS[name]})
    with pytest.raises(UsageError, match=f'{name}= must be'):
        chat('hi')
    with pytest.raises(UsageError, match=r"extra_headers\['x-n'\] must be a str"):
        Chat(MODELS[provider], **standin.kwargs(provider))('hi', extra_headers={'x-n': 5})
    assert standin.requests == [] and chat.hist == []


def test_a_function_backend_gets_its_keywords_unchecked():
    from lexi.testing import Scripted
    backend = Scripted('ok')
    Chat(MODELS['openai'], backend=backend, metadata='mine', max_tokens='lots')('hi')
    assert backend.requests[0]['metadata'] == 'mine' and backend.requests[0]['max_tokens'] == 'lots'
