"""help() everywhere: every public name is documented, and a misspelt option is caught on every call path."""
import inspect
import pydoc

import pytest
from pydantic import BaseModel

import lexi
from lexi import AsyncChat, Chat, UsageError
from lexi.testing import Scripted

MODEL = 'openai/gpt-4.1'


@pytest.mark.parametrize('name', [n for n in lexi.__all__ if not isinstance(getattr(lexi, n), str)])
def test_every_public_name_has_a_docstring_of_its_own(name):
    obj = getattr(lexi, name)
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f'lexi.{name} has no docstring'
    if inspect.isclass(obj): assert obj.__doc__, f'lexi.{name} only inherits its docstring'


@pytest.mark.parametrize('cls', [Chat, AsyncChat])
def test_help_of_a_call_lists_its_parameters(cls):
    text = pydoc.render_doc(cls.__call__, renderer=pydoc.plaintext)
    for p in ('msg', 'prefill', 'template', 'stream', 'tools', 'max_steps', 'retries', 'timeout', 'rate_limit'):
        assert f'- {p}: ' in text, p
    init = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert '- model: ' in init and '- sp: ' in init and 'route' in init


@pytest.mark.parametrize('name', [n for n in dir(Chat) if not n.startswith('_')])
def test_every_public_chat_method_and_property_is_documented(name):
    assert inspect.getdoc(getattr(Chat, name)), f'Chat.{name} has no docstring'


class A(BaseModel):
    x: int


@pytest.mark.parametrize('path', ['Chat()', 'call', 'struct', 'ask', 'batch', 'run_task'])
def test_a_misspelt_option_is_a_usage_error_with_a_suggestion_on_every_path(path):
    backend = Scripted('{"x": 1}')
    run = {'Chat()': lambda: Chat(MODEL, backend=backend, strem=True),
           'call': lambda: Chat(MODEL, backend=backend)('hi', strem=True),
           'struct': lambda: Chat(MODEL, backend=backend).struct('hi', A, strem=True),
           'ask': lambda: lexi.ask('hi', MODEL, backend=backend, strem=True),
           'batch': lambda: lexi.batch(['hi'], Chat(MODEL, backend=backend), progress=False, return_exceptions=False, strem=True),
           'run_task': lambda: lexi.run_task(Chat(MODEL, backend=backend), 'hi', strem=True)}[path]
    with pytest.raises(UsageError, match='did you mean stream='): run()
    assert backend.requests == []


async def test_a_misspelt_option_on_an_async_call():
    backend = Scripted('x')
    with pytest.raises(UsageError, match='did you mean stream='): await AsyncChat(MODEL, backend=backend)('hi', strem=True)
    assert backend.requests == []


@pytest.mark.parametrize('name', ['batch', 'abatch', 'run_task', 'embed', 'ask', 'models', 'model_info', 'hist2fmt',
                                  'StreamFormatter', 'render_response'])
def test_a_public_docstring_says_what_it_means_without_sending_the_reader_elsewhere(name):
    doc = inspect.getdoc(getattr(lexi, name))
    assert 'module docstring' not in doc and 'lexi/' not in doc, f'lexi.{name} sends the reader to a file'
