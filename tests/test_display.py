"""Notebook rendering without a notebook: render_response, register_notebook_display, display_stream,
and patch_litellm (reproducible ids for notebooks)."""
import json
import random

import litellm
import pytest
from litellm import ModelResponse
from litellm.types.utils import Delta, Message, ModelResponseBase, ModelResponseStream, StreamingChoices, Usage

from lexi._litellm import FIXED_CREATED, FIXED_ID, patch_litellm, unpatch_litellm
from lexi.display import adisplay_stream, display_stream, register_notebook_display, render_message, render_response
from lexi.testing import Reply, ToolCall

SPEC_RESP = dict(id='chatcmpl-xxx', created=1000000000, model='claude-sonnet-4-5', choices=[{
    'finish_reason': 'tool_calls', 'index': 0, 'message': {
        'content': "I'll calculate ((10 + 5) * 3) / (2 + 1) step by step:", 'role': 'assistant',
        'tool_calls': [{'function': {'arguments': '{"a": 10, "b": 5}', 'name': 'simple_add'}, 'id': 'toolu_1', 'type': 'function'},
                       {'function': {'arguments': '{"a": 2, "b": 1}', 'name': 'simple_add'}, 'id': 'toolu_2', 'type': 'function'}]}}],
    usage=Usage(completion_tokens=228, prompt_tokens=794, total_tokens=1022))


def test_render_response_shows_text_tool_lines_and_the_details_list():
    resp = ModelResponse(**SPEC_RESP)
    md = render_response(resp)
    assert md == ("I'll calculate ((10 + 5) * 3) / (2 + 1) step by step:\n\n"
                  '🔧 simple_add({"a": 10, "b": 5})\n\n🔧 simple_add({"a": 2, "b": 1})\n\n'
                  '<details>\n\n- id: `chatcmpl-xxx`\n- model: `claude-sonnet-4-5`\n- finish_reason: `tool_calls`\n'
                  '- usage: `In: 794; Out: 228; Total: 1022; Cost: $0.005802`\n\n</details>')   # lexi's Use line, priced


def test_render_response_collapses_thinking_above_the_answer():
    msg = Message(content='8', role='assistant', reasoning_content='5 plus 3.',
                  thinking_blocks=[{'type': 'thinking', 'thinking': '5 plus 3.', 'signature': 's'}])
    md = render_message(msg)
    assert md == '<details><summary>🧠 Thinking</summary>\n\n5 plus 3.\n\n</details>\n\n8'


def test_render_message_handles_dicts_part_lists_and_empty_replies():
    assert render_message({'role': 'assistant', 'content': [{'type': 'text', 'text': 'A'}, {'type': 'text', 'text': 'B'}]}) == 'A\n\nB'
    assert render_message({'role': 'assistant', 'content': None}) == '*(empty reply)*'
    assert render_response(Message(content='hi', role='assistant')) == 'hi'   # no details list for a bare message



def test_register_notebook_display_is_a_no_op_without_ipython():
    assert register_notebook_display() is False


def test_register_notebook_display_makes_responses_render_as_markdown(shell):
    resp = ModelResponse(**SPEC_RESP)
    assert register_notebook_display() is True and register_notebook_display() is True   # idempotent
    data, _ = shell.display_formatter.format(resp)
    assert data['text/markdown'] == render_response(resp)
    assert not [k for k in vars(ModelResponse) if k.startswith('_repr_')]   # the formatter is registered; no class is patched


def items(*texts):
    return [ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=t))]) for t in texts]


def test_display_stream_without_ipython_prints_the_text_as_it_comes(capsys):
    fmt = display_stream(items('Hello', ' ', 'world'))
    assert capsys.readouterr().out == 'Hello world' and fmt.outp == 'Hello world'


def published(shell):
    rec = []
    shell.display_pub.publish = lambda data, metadata=None, source=None, *, transient=None, update=False, **kw: \
        rec.append((data.get('text/markdown'), (transient or {}).get('display_id'), update))
    return rec


def test_display_stream_in_ipython_updates_one_display_with_the_whole_output(shell):
    rec = published(shell)
    fmt = display_stream(items('Hello', ' world'))
    assert [(md, upd) for md, _, upd in rec] == [('', False), ('Hello', True), ('Hello world', True)]
    assert len({did for _, did, _ in rec}) == 1 and fmt.outp == 'Hello world'


async def test_adisplay_stream_shows_an_async_stream_live(shell):
    rec = published(shell)
    async def agen():
        for o in items('a', 'b'): yield o
    fmt = await adisplay_stream(agen())
    assert [md for md, _, _ in rec] == ['', 'a', 'ab'] and fmt.outp == 'ab'


class FakeClock:
    "A monotonic clock that moves only by `step` per reading (0: time stands still)."
    def __init__(self, step): self.t, self.step = 100.0, step
    def __call__(self):
        self.t += self.step
        return self.t


def test_display_stream_of_instant_chunks_updates_rarely_and_ends_with_the_whole_output(shell, monkeypatch):
    import lexi.display
    monkeypatch.setattr(lexi.display, '_now', FakeClock(0.0))
    rec = published(shell)
    texts = [f'{i} ' for i in range(5000)]
    fmt = display_stream(items(*texts))
    updates = [md for md, _, upd in rec if upd]
    assert updates[-1] == ''.join(texts) == fmt.outp
    assert updates == [texts[0], ''.join(texts)]   # the first piece at once, then the whole output at the end


def test_display_stream_updates_once_per_interval_as_time_passes(shell, monkeypatch):
    import lexi.display
    per_chunk = lexi.display.UPDATE_INTERVAL * 0.26   # the 4th chunk after an update is the first one due
    monkeypatch.setattr(lexi.display, '_now', FakeClock(per_chunk))
    rec = published(shell)
    texts = [f'{i} ' for i in range(400)]
    fmt = display_stream(items(*texts))
    updates = [md for md, _, upd in rec if upd]
    assert updates[-1] == ''.join(texts) == fmt.outp
    assert len(updates) == len(texts) // 4 + 1   # chunks 0, 4, 8, ... and the final update: far fewer than chunks
    assert all(''.join(texts).startswith(u) for u in updates)    # each update shows the output so far


async def test_adisplay_stream_of_instant_chunks_ends_with_the_whole_output(shell, monkeypatch):
    import lexi.display
    monkeypatch.setattr(lexi.display, '_now', FakeClock(0.0))
    rec = published(shell)
    texts = [f'{i} ' for i in range(1000)]
    async def agen():
        for o in items(*texts): yield o
    fmt = await adisplay_stream(agen())
    assert [md for md, _, upd in rec if upd] == [texts[0], ''.join(texts)] and fmt.outp == ''.join(texts)


def test_display_stream_shows_what_arrived_when_the_stream_fails(shell, monkeypatch):
    import lexi.display
    monkeypatch.setattr(lexi.display, '_now', FakeClock(0.0))
    rec = published(shell)
    def broken():
        yield from items('a', 'b', 'c')
        raise ConnectionError('dropped')
    with pytest.raises(ConnectionError): display_stream(broken())
    assert [md for md, _, upd in rec if upd][-1] == 'abc'


# ---------------------------------------------------------------- patch_litellm

@pytest.fixture
def unpatched():
    yield
    unpatch_litellm()


def test_patch_litellm_fixes_id_and_created_until_undone(unpatched):
    patch_litellm()
    r = ModelResponse()
    r.id, r.created = 'chatcmpl-other', 5
    s = ModelResponseStream()
    assert (r.id, r.created, s.id, s.created) == (FIXED_ID, FIXED_CREATED, FIXED_ID, FIXED_CREATED)
    assert unpatch_litellm() is True and unpatch_litellm() is False
    assert ModelResponse().id != FIXED_ID
    assert '__init__' not in vars(ModelResponseBase) and '__setattr__' not in vars(ModelResponseBase)


def test_patch_litellm_as_a_context_manager_and_repatching_does_not_stack(unpatched):
    with patch_litellm(1):
        patch_litellm(2)
        assert ModelResponse().id == FIXED_ID
    assert ModelResponse().id != FIXED_ID and '__init__' not in vars(ModelResponseBase)


def test_patch_litellm_seeds_random_and_restores_its_state(unpatched):
    random.seed(123); expected_after = random.random(); random.seed(123)
    with patch_litellm(7): a = random.random()
    with patch_litellm(7): b = random.random()
    assert a == b
    assert random.random() == expected_after   # the caller's random sequence continues as if never patched


def gemini_ids(standin):
    standin.queue(Reply(text='x', tool_calls=[ToolCall('add', {'a': 1}), ToolCall('add', {'a': 2})]))
    r = litellm.completion('gemini/gemini-2.5-flash', [{'role': 'user', 'content': 'add'}], **standin.kwargs('gemini'))
    return r.id, r.created, [t.id for t in r.choices[0].message.tool_calls]


def test_patched_litellm_gives_the_same_ids_for_the_same_seed_over_the_wire(standin, unpatched):
    with patch_litellm(0): first = gemini_ids(standin)
    with patch_litellm(0): again = gemini_ids(standin)
    unpatched_run = gemini_ids(standin)
    assert first == again and first[:2] == (FIXED_ID, FIXED_CREATED)
    assert unpatched_run[2] != first[2] and unpatched_run[0] != FIXED_ID
    assert json.dumps(first)   # plain, printable values
