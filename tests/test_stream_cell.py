"""A chat stream as a notebook cell's value: IPython displays a ChatStream by running it live (as display_stream
does, recorded in hist), an AsyncChatStream by saying how to run it (a cell's value is shown without awaiting),
and any stream already started, ended or superseded by its state. `repr` never starts a stream."""
import sys

import pytest
from pydantic import BaseModel

from lexi import AsyncChat, Chat
from lexi.testing import Reply, Scripted

from test_display import FakeClock

MODEL = 'anthropic/claude-sonnet-4-5'
STORY = 'Once upon a time, a fox found a *very* old map.'





def published(shell) -> list:
    "What the shell's display publishes, in order: (markdown, plain text, display id, whether it updates a display)."
    rec = []
    def publish(data, metadata=None, source=None, *, transient=None, update=False, **kw):
        rec.append((data.get('text/markdown'), data.get('text/plain'), (transient or {}).get('display_id'), update))
    shell.display_pub.publish = publish
    return rec


def roles_and_text(hist) -> list:
    return [(m['role'], m['content']) for m in hist]


def test_a_stream_left_as_a_cell_value_runs_shown_live_and_recorded_in_hist(shell, standin):
    standin.queue(Reply(text=STORY, chunk_size=6))
    shell.user_ns['chat'] = chat = Chat(MODEL, **standin.kwargs('anthropic'))
    rec = published(shell)
    shell.run_cell("chat('Tell me a story', stream=True)")
    assert [r.body['messages'][-1]['content'][0]['text'] for r in standin.requests] == ['Tell me a story']
    assert rec[0][:2] == ('', '<IPython.core.display.Markdown object>') and rec[-1][0] == STORY   # one live display ...
    assert len({did for *_, did, _ in rec}) == 1 and all(upd for *_, upd in rec[1:])             # ... updated in place
    assert roles_and_text(chat.hist) == [('user', 'Tell me a story'), ('assistant', STORY)]


def test_display_of_a_fresh_stream_runs_it_and_a_tool_loop_shows_its_block(shell):
    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b
    from lexi.testing import ToolCall
    backend = Scripted(Reply(text='Adding.', tool_calls=[ToolCall('add', {'a': 2, 'b': 3})]), Reply(text='2 + 3 = 5.'))
    shell.user_ns['chat'] = chat = Chat(MODEL, tools=[add], backend=backend)
    rec = published(shell)
    shell.run_cell("display(chat('What is 2 + 3?', stream=True))")
    md = rec[-1][0]
    assert md.startswith('Adding.') and md.endswith('2 + 3 = 5.') and '"result": "5"' in md
    assert len(backend.requests) == 2 and chat.hist[-1]['content'] == '2 + 3 = 5.'


class Mood(BaseModel):
    sentiment: str
    confidence: float


def test_a_struct_stream_as_a_cell_value_shows_its_instances_live_ending_with_the_validated_one(shell, monkeypatch):
    import lexi.display
    monkeypatch.setattr(lexi.display, '_now', FakeClock(1.0))   # every instance is due for an update
    backend = Scripted(Reply(text='{"sentiment": "positive", "confidence": 0.93}', chunk_size=8))
    shell.user_ns['chat'] = chat = Chat(MODEL, backend=backend)
    rec = published(shell)
    shell.user_ns['Mood'] = Mood
    shell.run_cell("chat.struct('Great!', Mood, stream=True)")
    plain = [p for _, p, *_ in rec]
    assert plain[0] == "Mood(sentiment=None, confidence=None)" and plain[-1] == "Mood(sentiment='positive', confidence=0.93)"
    assert len({did for *_, did, _ in rec}) == 1 and [u for *_, u in rec] == [False] + [True] * (len(rec) - 1)
    assert chat.hist[-1]['content'] == '{"sentiment": "positive", "confidence": 0.93}' and len(backend.requests) == 1


def test_a_struct_stream_in_terminal_ipython_prints_only_the_validated_instance(capsys):
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    sh = TerminalInteractiveShell.instance(simple_prompt=True)
    try:
        sh.user_ns.update(Mood=Mood, chat=Chat(MODEL, backend=Scripted(Reply(text='{"sentiment": "calm", "confidence": 0.5}', chunk_size=8))))
        sh.run_cell("chat.struct('Hm.', Mood, stream=True)")
    finally: TerminalInteractiveShell.clear_instance()
    out = capsys.readouterr().out
    assert out.count('Mood(') == 1 and "Mood(sentiment='calm', confidence=0.5)" in out


def test_a_provider_error_while_a_cell_value_streams_is_shown_and_hist_stays_as_it_was(shell):
    import litellm
    backend = Scripted('Fine.', litellm.BadRequestError('prompt is too long', model=MODEL, llm_provider='anthropic'))
    shell.user_ns['chat'] = chat = Chat(MODEL, backend=backend)
    chat('Hi')
    before, shown = list(chat.hist), []
    shell.showtraceback = lambda exc_tuple=None, *a, **kw: shown.append(exc_tuple)
    shell.run_cell("chat('Tell me', stream=True)")
    assert [type(e[1]).__name__ for e in shown] == ['BadRequestError'] and 'prompt is too long' in str(shown[0][1])
    assert chat.hist == before and len(backend.requests) == 2


def test_repr_and_the_plain_python_displayhook_leave_a_stream_unsent(capsys):
    backend = Scripted('Hi there.')
    chat = Chat(MODEL, backend=backend)
    s = chat('Tell me', stream=True)
    assert repr(s) == f"<ChatStream not started, model='{MODEL}'>"
    sys.__displayhook__(s)                       # what the plain Python prompt does with a value
    assert capsys.readouterr().out == repr(s) + '\n'
    assert backend.requests == [] and chat.hist == [] and not s.started
    assert ''.join(s.text()) == 'Hi there.'       # still there to read


def test_a_stream_shows_no_key_held_in_its_model_url(shell):
    chat = Chat('openai/https://user:sk-secret-1@proxy.example/v1', backend=Scripted('Hi'))
    a = AsyncChat('openai/https://proxy.example/v1?api_key=sk-secret-2', backend=Scripted('Hi'))
    rec = published(shell)
    s, t = chat('Hi', stream=True), a('Hi', stream=True)
    list(s)
    shell.display_formatter.format(s); shell.display_formatter.format(t)
    shown = repr(s) + repr(t) + ''.join(md + plain for md, plain, *_ in rec)
    assert 'sk-secret' not in shown and 'proxy.example' in repr(s) and '***' in repr(t)


def test_in_ipython_only_a_cell_value_starts_a_stream_not_an_assignment_or_print(shell, capsys):
    backend = Scripted(STORY)
    shell.user_ns['chat'] = chat = Chat(MODEL, backend=backend)
    shell.run_cell("s = chat('Tell me', stream=True)\nprint(s)\nprint(repr(s))")
    assert backend.requests == [] and chat.hist == []
    assert capsys.readouterr().out == f"<ChatStream not started, model='{MODEL}'>\n" * 2
    rec = published(shell)
    shell.run_cell('s')
    assert len(backend.requests) == 1 and rec[-1][0] == STORY and chat.hist[-1]['content'] == STORY


def test_a_stream_partly_read_ended_or_superseded_shows_its_state_and_sends_nothing(shell):
    backend = Scripted(Reply(text='One two three four.', chunk_size=4))
    shell.user_ns['chat'] = chat = Chat(MODEL, backend=backend)
    shell.run_cell("s = chat('Count', stream=True)\nfirst = next(s)")
    rec = published(shell)
    shell.run_cell('s')
    assert 'ChatStream open' in rec[-1][1] and 'Partly read' in rec[-1][0] and len(backend.requests) == 1
    shell.run_cell('rest = list(s)\ns')
    assert 'ChatStream done' in rec[-1][1] and 'Read to its end' in rec[-1][0]
    shell.run_cell("t = chat('A', stream=True)\nu = chat('B', stream=True)\nt")
    assert 'ChatStream superseded' in rec[-1][1] and 'later call' in rec[-1][0]
    assert '<ChatStream' not in rec[-1][0]                     # the repr is shown as code, not as an HTML tag
    assert len(backend.requests) == 1 and roles_and_text(chat.hist) == [('user', 'Count'), ('assistant', 'One two three four.')]


@pytest.mark.parametrize('cell', ["s = achat('Hi', stream=True)\ns",
                                  "import asyncio\nawait asyncio.sleep(0)\ns = achat('Hi', stream=True)\ns"],
                         ids=['sync cell', 'cell with a running event loop'])
def test_an_async_stream_as_a_cell_value_says_how_to_run_it_and_sends_nothing(shell, cell):
    backend = Scripted(Reply(text='Hello there.', chunk_size=4))
    shell.user_ns['achat'] = achat = AsyncChat(MODEL, backend=backend)
    rec = published(shell)
    shell.run_cell(cell)
    md, plain = rec[-1][:2]
    assert 'Not sent yet' in md and '`await adisplay_stream(stream)`' in md and '`async for o in stream`' in md
    assert plain.startswith(f"<AsyncChatStream not started, model='{MODEL}'>: Not sent yet")
    assert backend.requests == [] and achat.hist == []
    shell.run_cell('from lexi import adisplay_stream\nfmt = await adisplay_stream(s)')   # the advice works
    assert rec[-1][0] == 'Hello there.' and roles_and_text(achat.hist) == [('user', 'Hi'), ('assistant', 'Hello there.')]


def test_in_terminal_ipython_a_stream_cell_value_prints_its_text_as_it_comes(capsys):
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    sh = TerminalInteractiveShell.instance(simple_prompt=True)
    try:
        backend = Scripted(Reply(text=STORY, chunk_size=6))
        sh.user_ns['chat'] = chat = Chat(MODEL, backend=backend)
        sh.run_cell("chat('Tell me', stream=True)")
        first = capsys.readouterr().out
        backend.queue('And a second one.')
        sh.run_cell("from lexi import display_stream\nfmt = display_stream(chat('Again', stream=True))")
    finally: TerminalInteractiveShell.clear_instance()
    assert STORY in first and 'Markdown object' not in first and chat.hist[1]['content'] == STORY
    assert capsys.readouterr().out == 'And a second one.' and chat.hist[-1]['content'] == 'And a second one.'


def test_in_a_kernel_a_stream_cell_value_runs_live_and_an_async_one_says_how(tmp_path):
    import nbclient, nbformat   # the docs extra, which make test installs: missing, this fails rather than skip
    cells = ["from lexi import Chat, AsyncChat, adisplay_stream\nfrom lexi.testing import Scripted, Reply\n"
             f"backend = Scripted(Reply(text={STORY!r}, chunk_size=6), 'Hello there.')\n"
             f"chat, achat = Chat({MODEL!r}, backend=backend), AsyncChat({MODEL!r}, backend=backend)",
             "chat('Tell me a story', stream=True)",
             "print('hist:', [(m['role'], m['content']) for m in chat.hist])",
             "s = achat('Hi', stream=True)\ns",
             "print('requests:', len(backend.requests))",
             "fmt = await adisplay_stream(s)\nprint('async hist:', [m['content'] for m in achat.hist])",
             "import litellm\nbackend.queue(litellm.BadRequestError('prompt is too long', model='m', llm_provider='anthropic'))\n"
             "chat('Again', stream=True)",
             "print('after the error:', len(chat.hist))"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', allow_errors=True,
                            resources={'metadata': {'path': str(tmp_path)}}).execute()
    outs = [c.outputs for c in nb.cells]
    errors = [(i, o.ename) for i, os_ in enumerate(outs) for o in os_ if o.output_type == 'error']
    assert errors == [(6, 'BadRequestError')]                 # a provider error fails the cell whose value streamed
    assert outs[7][0].text == 'after the error: 2\n'
    assert [o.data['text/markdown'] for o in outs[1]] == [STORY]     # the live display, ending with the whole reply
    assert outs[2][0].text == f"hist: [('user', 'Tell me a story'), ('assistant', {STORY!r})]\n"
    assert 'Not sent yet' in outs[3][0].data['text/markdown'] and outs[4][0].text == 'requests: 1\n'
    assert outs[5][-1].text == "async hist: ['Hi', 'Hello there.']\n"
