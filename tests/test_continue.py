"""Prefill only where the model takes it, and auto-continue of answers cut by the token limit."""
import json

import pytest

from lexi import AsyncChat, Chat, IncompleteResponseError, UsageError
from lexi._continue import CONTINUE_PROMPT, Joiner, join
from lexi.demo import simple_add
from lexi.testing import Reply, Scripted, ToolCall

PREFILL_OK = 'anthropic/claude-sonnet-4-5'    # LiteLLM's map: supports_assistant_prefill True
NO_PREFILL = 'anthropic/claude-opus-4-6'      # LiteLLM's map: False (and the stand-in refuses it, as Anthropic does)


def cut(text): return Reply(text=text, finish='length')


def last_two(req):
    "The roles and texts of the last two wire messages of a request (Anthropic or OpenAI format)."
    out = []
    for m in req.body['messages'][-2:]:
        c = m['content']
        out.append((m['role'], c if isinstance(c, str) else ''.join(b.get('text', '') for b in c)))
    return out


# ---------------------------------------------------------------- prefill

def test_prefill_on_a_model_that_refuses_it_is_a_usage_error_naming_it_before_sending():
    backend = Scripted('never')
    chat = Chat(NO_PREFILL, backend=backend, hist=['Hi', 'Hello'])
    with pytest.raises(UsageError, match=f'{NO_PREFILL} does not take an assistant prefill'): chat('Go', prefill='Sure,')
    assert backend.requests == [] and len(chat.hist) == 2


def test_the_stand_in_refuses_a_prefill_as_claude_4_6_does(standin):
    import litellm
    with pytest.raises(litellm.BadRequestError, match='does not support assistant message prefill'):
        litellm.completion(NO_PREFILL, [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'Sure,'}],
                           max_retries=0, **standin.kwargs('anthropic'))
    standin.violations.clear()


def test_prefill_still_works_where_the_model_takes_it(standin):
    standin.queue(Reply(text=' a fine day.'))
    chat = Chat(PREFILL_OK, **standin.kwargs('anthropic'))
    assert chat('Describe today', prefill='It is').choices[0].message.content == 'It is a fine day.'


# ---------------------------------------------------------------- joining

@pytest.mark.parametrize('base, piece, whole', [
    ('The quick brown', ' fox jumps.', 'The quick brown fox jumps.'),        # seamless
    ('The quick brown', 'brown fox jumps.', 'The quick brown fox jumps.'),   # the last word repeated
    ('The quick bro', 'brown fox.', 'The quick brown fox.'),                 # the cut word restarted
    ('The quick bro', 'wn fox.', 'The quick brown fox.'),                    # the cut word finished
    ('The quick brown ', ' fox.', 'The quick brown fox.'),                   # whitespace not doubled
    ('A banana', 'ana split', 'A bananaana split'),                          # a coincidence mid-word is not a repeat
    ('Step 1: mix the flour and the sugar.', 'Step 1: mix the flour and the sugar. Step 2: bake.',
     'Step 1: mix the flour and the sugar. Step 2: bake.'),                  # a long repeat
])
@pytest.mark.parametrize('size', [1, 3, 100])
def test_pieces_join_without_doubling_or_losing_text_streamed_or_whole(base, piece, whole, size):
    assert join(base, piece) == whole
    j, shown = Joiner(base), ''
    for i in range(0, len(piece), size): shown += j.feed(piece[i:i + size])
    assert base + shown + j.flush() == whole


# ---------------------------------------------------------------- auto-continue

def test_a_prefill_model_continues_from_the_answer_so_far(standin):
    standin.queue(cut('The quick brown'), Reply(text=' fox jumps over the lazy dog.'))
    chat = Chat(PREFILL_OK, **standin.kwargs('anthropic'))
    r = chat('A pangram, please', max_continues=2)
    assert r.choices[0].message.content == 'The quick brown fox jumps over the lazy dog.'
    assert r.choices[0].finish_reason == 'stop' and len(standin.requests) == 2
    assert last_two(standin.requests[1]) == [('user', 'A pangram, please'), ('assistant', 'The quick brown')]
    assert [(m['role'], m['content']) for m in chat.hist] == [('user', 'A pangram, please'),
                                                             ('assistant', 'The quick brown fox jumps over the lazy dog.')]
    assert chat.use.calls == 2 and chat.last_use.calls == 2


@pytest.mark.parametrize('provider, model', [('anthropic', NO_PREFILL), ('openai', 'openai/gpt-4.1'), ('gemini', 'gemini/gemini-2.5-flash')])
def test_elsewhere_a_user_turn_asks_for_the_rest_and_a_repeat_is_trimmed(standin, provider, model):
    standin.queue(cut('The quick brown'), Reply(text='brown fox jumps.'), Reply(text='Yes.'))
    chat = Chat(model, **standin.kwargs(provider))
    r = chat('A pangram, please', max_continues=1)
    assert r.choices[0].message.content == 'The quick brown fox jumps.' and not standin.violations
    body = json.dumps(standin.requests[1].body)
    assert CONTINUE_PROMPT in body and 'The quick brown' in body
    assert [m['role'] for m in chat.hist] == ['user', 'assistant'] and chat.hist[1]['content'] == 'The quick brown fox jumps.'
    chat('Is it a pangram?')   # the next request carries one whole answer, no continue prompt
    later = json.dumps(standin.requests[2].body)
    assert CONTINUE_PROMPT not in later and 'The quick brown fox jumps.' in later


@pytest.mark.parametrize('model', [PREFILL_OK, NO_PREFILL])
def test_streaming_shows_each_character_once_and_ends_with_the_whole_answer(standin, model):
    standin.queue(Reply(text='One, two, thr', finish='length', chunk_size=3), Reply(text='three, four.', chunk_size=2))
    chat = Chat(model, **standin.kwargs('anthropic'))
    s = chat('Count to four', stream=True, max_continues=1)
    assert ''.join(s.text()) == 'One, two, three, four.'
    assert s.value.choices[0].message.content == 'One, two, three, four.' and chat.hist[-1]['content'] == 'One, two, three, four.'


def test_still_cut_after_the_last_continuation_returns_the_partial_answer_or_raises():
    chat = Chat('openai/gpt-4.1', backend=Scripted(cut('a b'), cut(' c d'), cut(' e f')))
    r = chat('letters', max_continues=2)
    assert r.choices[0].message.content == 'a b c d e f' and r.choices[0].finish_reason == 'length'
    chat = Chat('openai/gpt-4.1', backend=Scripted(cut('a b'), cut(' c d')))
    with pytest.raises(IncompleteResponseError) as ei: chat('letters', max_continues=1, ensure_complete=True)
    assert ei.value.text == 'a b c d' and chat.hist[-1]['content'] == 'a b c d' and chat.use.calls == 2


def test_ensure_complete_without_continues_raises_on_the_first_cut():
    chat = Chat('openai/gpt-4.1', backend=Scripted(cut('half')))
    with pytest.raises(IncompleteResponseError, match='after 0 continuation'): chat('x', ensure_complete=True)


def test_on_progress_and_a_continue_prompt_function_see_count_max_and_text_so_far():
    seen, asked = [], []
    def prompt(count, max_count, text):
        asked.append((count, max_count, text))
        return f'Go on ({count}/{max_count}).'
    backend = Scripted(cut('a b'), cut(' c'), 'd.')
    chat = Chat('openai/gpt-4.1', backend=backend)
    r = chat('x', max_continues=3, continue_prompt=prompt, on_progress=lambda *a: seen.append(a))
    assert r.choices[0].message.content == 'a b cd.'   # joined as given: no space was sent before 'd.'
    assert seen == asked == [(1, 3, 'a b'), (2, 3, 'a b c')]
    assert backend.requests[2]['messages'][-1]['content'] == 'Go on (2/3).'


def test_a_tool_call_cut_by_the_limit_is_never_run_and_the_step_is_asked_again():
    ran = []
    def add(a: int, b: int) -> int:
        "Add."
        ran.append((a, b)); return a + b
    backend = Scripted(Reply(tool_calls=[ToolCall('add', {'a': 1, 'b': 1})], finish='length'),   # well-formed, but cut
                       Reply(tool_calls=[ToolCall('add', {'a': 5, 'b': 3})]), '8.')
    chat = Chat('openai/gpt-4.1', tools=[add], backend=backend)
    assert chat('5 + 3?').choices[0].message.content == '8.' and ran == [(5, 3)]
    assert len([m for m in chat.hist if m.get('role') == 'tool']) == 1 and chat.use.calls == 3


def test_a_tool_call_cut_twice_in_one_step_raises_and_leaves_hist_unchanged():
    backend = Scripted(*[Reply(tool_calls=[ToolCall('simple_add', {'a': 5})], finish='length')] * 2)
    chat = Chat('openai/gpt-4.1', tools=[simple_add], backend=backend, hist=['Hi', 'Hello'])
    with pytest.raises(IncompleteResponseError, match='cut by the token limit twice'): chat('5 + 3?')
    assert len(chat.hist) == 2 and len(backend.requests) == 2


async def test_async_continuation_streamed(standin):
    standin.queue(cut('Hello wor'), Reply(text='world!'))
    chat = AsyncChat('openai/gpt-4.1', **standin.kwargs('openai'))
    s = chat('Greet', stream=True, max_continues=1)
    assert ''.join([t async for t in s.text()]) == 'Hello world!'
    assert chat.hist[-1]['content'] == 'Hello world!'


@pytest.mark.parametrize('bad, match', [(dict(max_continues=-1), 'max_continues'), (dict(continue_prompt=''), 'continue_prompt'),
                                        (dict(on_progress='x'), 'on_progress')])
def test_bad_continue_options(bad, match):
    with pytest.raises(UsageError, match=match): Chat('openai/gpt-4.1', backend=Scripted(), **bad)


@pytest.mark.parametrize('provider, model, seamless', [('anthropic', PREFILL_OK, True), ('anthropic', NO_PREFILL, False),
                                                       ('openai', 'openai/gpt-4.1', False), ('gemini', 'gemini/gemini-2.5-flash', False)])
@pytest.mark.parametrize('stream', [False, True])
def test_cut_twice_then_finished_is_three_requests_and_one_answer(standin, provider, model, seamless, stream):
    standin.queue(Reply(text='Alpha beta', finish='length', chunk_size=4), Reply(text=' gamma delta', finish='length', chunk_size=4),
                  Reply(text=' epsilon.', chunk_size=4))
    chat = Chat(model, **standin.kwargs(provider))
    out = chat('Greek letters', max_continues=2, stream=stream)
    shown = ''.join(out.text()) if stream else None
    r = out.value if stream else out
    assert r.choices[0].message.content == 'Alpha beta gamma delta epsilon.' and len(standin.requests) == 3
    if stream: assert shown == 'Alpha beta gamma delta epsilon.'
    assert [m['role'] for m in chat.hist] == ['user', 'assistant'] and chat.hist[1]['content'] == r.choices[0].message.content
    assert (CONTINUE_PROMPT in json.dumps(standin.requests[2].body)) == (not seamless) and not standin.violations


def test_claude_takes_no_prefill_while_thinking_so_continuation_asks_in_a_user_turn():
    backend = Scripted(cut('The quick brown'), ' fox.')
    chat = Chat(PREFILL_OK, backend=backend)
    with pytest.raises(UsageError, match='no prefill with extended thinking'): chat('x', prefill='Sure', think='l')
    assert chat('A pangram', think='l', max_continues=1).choices[0].message.content == 'The quick brown fox.'
    assert backend.requests[1]['messages'][-1] == {'role': 'user', 'content': CONTINUE_PROMPT}
