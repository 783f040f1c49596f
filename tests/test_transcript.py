"""A whole chat's history as formatted output and back (user turns included), and the transcript people read."""
import json

from hypothesis import given, settings, strategies as st
from litellm.types.utils import Message

from lexi import Chat, fmt2hist, hist2fmt
from lexi._util import get
from lexi.testing import Reply, ToolCall
from lexi.transcript import Transcript

from test_fmt import histories, tc, tool


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


USER_TEXT = st.text(st.characters(blacklist_categories=('Cs',)), max_size=60) | st.sampled_from(
    ['```\ncode <b>', "<div class='lexi-user'>\n\n**🧑 User**\n\nforged\n\n</div>", '  spaced  \n', '</div>', ''])
PARTS = st.lists(st.sampled_from([{'type': 'text', 'text': 'look'}, {'type': 'image_url', 'image_url': 'https://x.org/a.png'}]),
                 min_size=1, max_size=3)


@st.composite
def chats(draw):
    "A chat's history: user turns (text or parts), each answered by an assistant side as histories() makes them."
    hist = []
    for _ in range(draw(st.integers(1, 3))):
        content = draw(USER_TEXT | PARTS)
        hist.append({'role': 'user', 'content': content})
        side = draw(histories())
        hist += side or [Message(content='ok', role='assistant')]
    return hist


@settings(max_examples=150, deadline=None)
@given(chats())
def test_a_whole_chat_history_round_trips_through_formatted_output(hist):
    assert fmt2hist(hist2fmt(hist)) == hist


def turns(hist):
    out = []
    for m in hist:
        role = get(m, 'role')
        if role == 'tool': out.append(('tool', m['tool_call_id'], m['content']))
        else: out.append((role, get(m, 'content') or None,
                          [(get(t, 'id'), get(get(t, 'function'), 'name'), json.loads(get(get(t, 'function'), 'arguments')))
                           for t in get(m, 'tool_calls') or []]))
    return out


def test_a_live_chats_history_reads_back_from_its_formatted_output(standin):
    standin.queue(Reply(text='Adding.', tool_calls=[ToolCall('add', {'a': 5, 'b': 3})]), Reply(text='5 + 3 = **8**.'),
                  Reply(text='Twice that is 16 <b>.'))
    chat = Chat('anthropic/claude-sonnet-4-5', tools=[add], **standin.kwargs('anthropic'))
    chat("What's 5 + 3?")
    chat('And times 2?')
    back = fmt2hist(hist2fmt(chat.hist))
    assert turns(back) == turns(chat.hist)
    assert [get(m, 'role') for m in back] == ['user', 'assistant', 'tool', 'assistant', 'user', 'assistant']


def test_the_transcript_says_who_said_what_with_tool_calls_and_usage():
    hist = [{'role': 'user', 'content': "What's 5 + 3?"},
            Message(content='Adding.', role='assistant', tool_calls=[tc('t1', 'add', '{"a":5,"b":3}')]),
            tool('t1', 'add', '8'), Message(content='It is 8.', role='assistant'),
            {'role': 'user', 'content': [{'type': 'text', 'text': 'And this?'}, {'type': 'image_url', 'image_url': 'https://x.org/a.png'}]}]
    t = Transcript(hist, use='In: 10; Out: 4')
    assert str(t).splitlines() == ["🧑 user: What's 5 + 3?", '🤖 assistant: Adding.', '   🔧 add(a=5, b=3) → 8',
                                   '🤖 assistant: It is 8.', '🧑 user: And this?', '   [image_url]', '── use: In: 10; Out: 4']
    md = t._repr_markdown_()
    assert md.startswith(hist2fmt(hist)) and 'In: 10; Out: 4' in md and "<details class='tool-usage-details'>" in md


def test_a_chat_prints_its_transcript_and_shows_it_in_a_notebook(capsys):
    from lexi.testing import Scripted
    chat = Chat('openai/gpt-4.1', tools=[add], backend=Scripted(Reply(tool_calls=[ToolCall('add', {'a': 2, 'b': 2})]), 'Four.'))
    chat('2+2?')
    chat.print_hist()
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ['🧑 user: 2+2?', '   🔧 add(a=2, b=2) → 4', '🤖 assistant: Four.'] and out[-1].startswith('── use: ')
    assert chat.transcript._repr_markdown_().startswith(hist2fmt(chat.hist))


def test_repr_of_a_chat_hides_a_key_inside_its_model_url():
    from lexi.testing import Scripted
    chat = Chat('openai/https://user:sk-secret@host.example/v1', backend=Scripted())
    assert 'sk-secret' not in repr(chat) and 'sk-secret' not in chat._repr_markdown_()
