"""ask / aask: one-shot text answers, model from the argument or LEXI_MODEL."""
import pytest

from lexi import UsageError, aask, ask
from lexi.testing import Reply, Scripted, ToolCall


def test_ask_returns_the_text_and_passes_options_on():
    backend = Scripted('Paris.')
    assert ask('Capital of France?', 'openai/gpt-4.1', backend=backend, sp='Be brief.', temp=0) == 'Paris.'
    req = backend.requests[0]
    assert [m['content'] for m in req['messages']] == ['Be brief.', 'Capital of France?'] and req['temperature'] == 0


def test_the_model_comes_from_lexi_model_when_not_given(monkeypatch):
    backend = Scripted('hi')
    monkeypatch.setenv('LEXI_MODEL', 'anthropic/claude-sonnet-4-5')
    assert ask('hello', backend=backend) == 'hi' and backend.requests[0]['model'] == 'anthropic/claude-sonnet-4-5'


def test_no_model_anywhere_is_a_usage_error_before_anything_is_sent(monkeypatch):
    monkeypatch.delenv('LEXI_MODEL', raising=False)
    backend = Scripted('never')
    with pytest.raises(UsageError, match='LEXI_MODEL'): ask('hello', backend=backend)
    assert backend.requests == []


@pytest.mark.parametrize('args, kw, match', [((), {}, 'needs a prompt'), (('q',), {'stream': True}, 'stream')])
def test_bad_calls(args, kw, match):
    with pytest.raises(UsageError, match=match): ask(*args, model='openai/gpt-4.1', backend=Scripted('x'), **kw)


def test_templates_and_tools():
    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b
    backend = Scripted(Reply(tool_calls=[ToolCall('add', {'a': 2, 'b': 3})]), 'It is 5.')
    assert ask(template='Add {{ x }} and {{ y }}', tvars={'x': 2, 'y': 3}, model='openai/gpt-4.1',
               backend=backend, tools=[add]) == 'It is 5.'
    assert backend.requests[0]['messages'][-1]['content'] == 'Add 2 and 3'
    assert {'role': 'tool', 'content': '5'}.items() <= next(m for m in backend.requests[1]['messages'] if m['role'] == 'tool').items()


async def test_aask(standin):
    standin.queue('async answer')
    assert await aask('q', 'openai/gpt-4.1', **standin.kwargs('openai')) == 'async answer'
    assert standin.requests[0].body['messages'][-1]['content'] == 'q'
