"""Templates: jinja2 in its sandbox, every variable required; template= on calls, a Template system prompt."""
from pathlib import Path

import pytest

from lexi import AsyncChat, Chat, Template, UsageError, render
from lexi.testing import Scripted

MODEL = 'anthropic/claude-sonnet-4-5'


def test_render_fills_variables_loops_and_filters():
    t = Template('Write a {{ form | upper }} about {% for t in topics %}{{ t }}{% if not loop.last %}, {% endif %}{% endfor %}.')
    assert t.render(form='haiku', topics=['mountains', 'rivers']) == 'Write a HAIKU about mountains, rivers.'


def test_a_missing_variable_is_a_usage_error_naming_it():
    with pytest.raises(UsageError, match="variable 'topic'.*tvars"): Template('About {{ topic }}').render(other=1)
    with pytest.raises(UsageError, match='topic'): render('{{ topic.name }}', {})


@pytest.mark.parametrize('escape', ["{{ ''.__class__.__mro__ }}", "{{ x.__class__.__base__.__subclasses__() }}",
                                    "{{ cycler.__init__.__globals__.os }}", "{{ lipsum.__globals__ }}",
                                    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}"])
def test_the_sandbox_refuses_reaching_python_internals(escape):
    with pytest.raises(UsageError, match='sandbox|not given'):
        Template(escape).render(x=1)


def test_syntax_errors_say_where():
    with pytest.raises(UsageError, match='line 2'): Template('ok\n{% if %}')


def test_template_files_and_their_includes(tmp_path):
    (tmp_path / 'rules.md').write_text('Be {{ tone }}.')
    (tmp_path / 'sp.md').write_text('{% include "rules.md" %} Answer in {{ lang }}.')
    assert Template(tmp_path / 'sp.md').render(tone='brief', lang='French') == 'Be brief. Answer in French.'
    with pytest.raises(UsageError, match='cannot read'): Template(tmp_path / 'missing.md')


def test_a_call_takes_a_template_with_tvars_instead_of_msg(tmp_path):
    backend = Scripted('one', 'two', 'three')
    chat = Chat(MODEL, backend=backend, tvars={'form': 'haiku'})
    chat(template='Write a {{ form }} about {{ topic }}', tvars={'topic': 'mountains'})
    (tmp_path / 'q.j2').write_text('Now one about {{ topic }}')
    chat(template=tmp_path / 'q.j2', tvars={'topic': 'rivers'})
    chat(template=Template('A {{ form }} again'))
    assert [r['messages'][-1]['content'] for r in backend.requests] == [
        'Write a haiku about mountains', 'Now one about rivers', 'A haiku again']


def test_msg_and_template_together_is_a_usage_error_and_sends_nothing():
    backend = Scripted('x')
    chat = Chat(MODEL, backend=backend)
    with pytest.raises(UsageError, match='not both'): chat('hi', template='{{ a }}', tvars={'a': 1})
    with pytest.raises(UsageError, match="'a'"): chat(template='{{ a }}')
    assert backend.requests == [] and chat.hist == []


def test_a_template_system_prompt_is_rendered_once_at_creation():
    backend = Scripted('a')
    chat = Chat(MODEL, sp=Template('You speak {{ lang }}.'), tvars={'lang': 'Dutch'}, backend=backend)
    assert chat.sp == 'You speak Dutch.'
    chat('hoi')
    assert backend.requests[0]['messages'][0] == {'role': 'system', 'content': 'You speak Dutch.'}
    assert Chat(MODEL, sp='Keep {{ braces }} as typed', backend=backend).sp == 'Keep {{ braces }} as typed'


async def test_struct_and_asyncchat_take_templates_too():
    from pydantic import BaseModel
    class Haiku(BaseModel):
        lines: list[str]
    chat = AsyncChat(MODEL, backend=Scripted('{"lines": ["a", "b", "c"]}'))
    h = await chat.struct(template='A haiku about {{ t }}', output_type=Haiku, tvars={'t': 'snow'})
    assert h.lines == ['a', 'b', 'c'] and chat.hist[0]['content'] == 'A haiku about snow'
