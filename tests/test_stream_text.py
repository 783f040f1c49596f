"""stream.text(): printing a streamed answer is one loop; the complete response is there afterwards."""
import pytest
from pydantic import BaseModel

from lexi import AsyncChat, Chat, UsageError
from lexi.demo import simple_add
from lexi.testing import Reply, ToolCall

MODEL = 'anthropic/claude-sonnet-4-5'


@pytest.mark.parametrize('provider, model', [('anthropic', MODEL), ('openai', 'openai/gpt-4.1'), ('gemini', 'gemini/gemini-2.5-flash')])
def test_text_yields_only_the_answer_text_then_value_is_the_complete_response(standin, provider, model):
    standin.queue(Reply(text='One, two, three.', chunk_size=4))
    s = Chat(model, **standin.kwargs(provider))('Count to 3', stream=True)
    pieces = list(s.text())
    assert all(isinstance(p, str) for p in pieces) and len(pieces) > 1 and ''.join(pieces) == 'One, two, three.'
    assert s.value.choices[0].message.content == 'One, two, three.'


def test_a_tool_loop_streams_each_steps_text_with_a_blank_line_between(standin):
    standin.queue(Reply(text='Let me add.', tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3})]), Reply(text='It is 8.'))
    chat = Chat(MODEL, tools=[simple_add], **standin.kwargs('anthropic'))
    s = chat('5 + 3?', stream=True)
    assert ''.join(s.text()) == 'Let me add.\n\nIt is 8.'
    assert chat.hist[2]['content'] == '8' and s.value.choices[0].message.content == 'It is 8.'


def test_the_prefill_comes_first(standin):
    standin.queue(Reply(text=' D A C T E D'))
    s = Chat(MODEL, **standin.kwargs('anthropic'))('Spell my name', prefill='R E', stream=True)
    assert ''.join(s.text()) == 'R E D A C T E D'


async def test_async_text_without_a_separate_await(standin):
    standin.queue(Reply(text='Hello there.', chunk_size=3))
    achat = AsyncChat(MODEL, **standin.kwargs('anthropic'))
    s = achat('Hi', stream=True)
    assert ''.join([t async for t in s.text()]) == 'Hello there.'
    assert s.value.choices[0].message.content == 'Hello there.' and achat.hist[-1]['content'] == 'Hello there.'


def test_a_struct_stream_has_no_text_view():
    class A(BaseModel):
        x: int
    from lexi.testing import Scripted
    s = Chat('openai/gpt-4.1', backend=Scripted('{"x": 1}')).struct('x?', A, stream=True)
    with pytest.raises(UsageError, match='partial instances'): next(s.text())
