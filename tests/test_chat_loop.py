"""Tier 2: the turn engine through Chat/AsyncChat with a scripted completion function (no HTTP)."""
import asyncio, threading

import pytest

from lexi import UsageError
from lexi.chat import FINAL_PROMPT
from litellm import ModelResponse, ModelResponseStream

from fakes import FakeAsyncChat, FakeChat, resp, stream, tc, valid_hist

MODEL = 'anthropic/claude-sonnet-4-5'


def simple_add(a: int, b: int = 0) -> int:
    "Add two numbers together"
    return a + b


def roles(msgs): return [m['role'] if isinstance(m, dict) else m.role for m in msgs]


def test_one_turn_records_user_and_reply_and_sends_system_prompt():
    chat = FakeChat(MODEL, sp='Be brief.', script=[resp('Hi Rens')])
    r = chat('Hey my name is Rens')
    assert r.choices[0].message.content == 'Hi Rens'
    assert roles(chat.hist) == ['user', 'assistant'] and chat.hist[0]['content'] == 'Hey my name is Rens'
    assert chat.sent[0]['messages'] == [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hey my name is Rens'}]
    assert 'temperature' not in chat.sent[0] and 'tools' not in chat.sent[0]


def test_second_turn_sends_the_first_exchange():
    chat = FakeChat(MODEL, script=[resp('Hi Rens'), resp('Rens')])
    chat('Hey my name is Rens'); chat('Whats my name')
    sent = chat.sent[1]['messages']
    assert [m['content'] for m in sent] == ['Hey my name is Rens', 'Hi Rens', 'Whats my name']


def test_temp_is_sent_when_given_on_chat_or_call():
    chat = FakeChat(MODEL, temp=0.3, script=[resp('a'), resp('b')])
    chat('x'); chat('y', temp=0.9)
    assert [s['temperature'] for s in chat.sent] == [0.3, 0.9]


def test_tool_loop_runs_tool_and_sends_result():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp(None, [tc('simple_add', {'a': 5, 'b': 7}, 'toolu_1')]), resp('12')])
    r = chat('What is 5+7?', max_steps=5)
    assert r.choices[0].message.content == '12'
    assert roles(chat.hist) == ['user', 'assistant', 'tool', 'assistant']
    assert chat.hist[2] == {'tool_call_id': 'toolu_1', 'role': 'tool', 'name': 'simple_add', 'content': '12'}
    assert chat.sent[0]['tools'][0]['function']['name'] == 'simple_add'
    assert chat.sent[1]['messages'][-1]['content'] == '12'
    assert 'tool_choice' not in chat.sent[1]  # step 2 of max_steps=5 is not the last


def test_step_limit_sends_final_prompt_with_tool_choice_none():
    calls = [resp(None, [tc('simple_add', {'a': i, 'b': 1}, f'toolu_{i}')]) for i in range(2)]
    chat = FakeChat(MODEL, tools=[simple_add], script=calls + [resp('wrapped up')])
    r = chat('add things', max_steps=3, final_prompt='Wrap up.')
    assert len(chat.sent) == 3
    assert chat.sent[2]['tool_choice'] == 'none' and chat.sent[2]['messages'][-1] == {'role': 'user', 'content': 'Wrap up.'}
    assert [s.get('tool_choice') for s in chat.sent[:2]] == [None, None]
    # the final prompt was for that request only: hist goes from the tool results to the summary
    assert chat.hist[-2]['role'] == 'tool' and chat.hist[-1].content == 'wrapped up'
    assert 'Wrap up.' not in [m['content'] for m in chat.hist if isinstance(m, dict)]
    assert r.choices[0].message.content == 'wrapped up' and valid_hist(chat.hist)


def test_an_ordinary_tool_question_does_not_reach_the_default_step_limit():
    script = [resp(None, [tc('simple_add', {'a': 5, 'b': 3}, 't1')]), resp(None, [tc('simple_add', {'a': 8, 'b': 1}, 't2')]), resp('9')]
    chat = FakeChat(MODEL, tools=[simple_add], script=script)
    chat("What's 5 + 3 + 1?")
    assert [s.get('tool_choice') for s in chat.sent] == [None, None, None]
    assert FINAL_PROMPT not in str(chat.sent) and chat.max_steps == 10


def test_tool_calls_on_the_last_step_are_answered_not_run():
    ran = []
    def note(x: int) -> int:
        "Record x"
        ran.append(x); return x
    script = [resp(None, [tc('note', {'x': 1}, 'a')]), resp(None, [tc('note', {'x': 2}, 'b')])]
    chat = FakeChat(MODEL, tools=[note], script=script)
    chat('go', max_steps=2)
    assert ran == [1] and valid_hist(chat.hist)
    assert 'max_steps' in chat.hist[-1]['content'] and chat.hist[-1]['tool_call_id'] == 'b'


def test_return_all_gives_responses_and_tool_results_in_order():
    r1, r2 = resp('Let me add', [tc('simple_add', {'a': 1, 'b': 2}, 'x')]), resp('3')
    out = FakeChat(MODEL, tools=[simple_add], script=[r1, r2])('1+2', return_all=True, max_steps=5)
    assert out[0] is r1 and out[2] is r2 and out[1]['content'] == '3' and len(out) == 3


def test_parallel_tool_calls_run_concurrently_in_chat():
    barrier = threading.Barrier(3, timeout=10)
    def meet(i: int) -> int:
        "Wait until all three calls are running"
        barrier.wait(); return i
    calls = [tc('meet', {'i': i}, f'id{i}') for i in range(3)]
    chat = FakeChat(MODEL, tools=[meet], script=[resp(None, calls), resp('done')])
    chat('go', max_steps=5)
    assert [m['content'] for m in chat.hist[2:5]] == ['0', '1', '2']  # results keep call order


def test_parallel_tools_off_runs_one_at_a_time():
    active, peak = [0], [0]
    lock = threading.Lock()
    def work(i: int) -> int:
        "Track concurrency"
        with lock: active[0] += 1; peak[0] = max(peak[0], active[0])
        threading.Event().wait(0.01)
        with lock: active[0] -= 1
        return i
    calls = [tc('work', {'i': i}, f'id{i}') for i in range(3)]
    FakeChat(MODEL, tools=[work], parallel_tools=False, script=[resp(None, calls), resp('ok')])('go', max_steps=5)
    assert peak == [1]


async def test_async_tools_are_gathered_and_sync_tools_run_off_the_loop():
    started = asyncio.Event()
    async def first(x: int) -> int:
        "Waits for second"
        await asyncio.wait_for(started.wait(), 10); return x
    async def second(x: int) -> int:
        "Releases first"
        started.set(); return x
    loop_thread = threading.get_ident()
    seen = []
    def sync_tool(x: int) -> int:
        "Reports its thread"
        seen.append(threading.get_ident()); return x
    calls = [tc('first', {'x': 1}, 'a'), tc('second', {'x': 2}, 'b'), tc('sync_tool', {'x': 3}, 'c')]
    chat = FakeAsyncChat(MODEL, tools=[first, second, sync_tool], script=[resp(None, calls), resp('ok')])
    await chat('go', max_steps=5)
    assert [m['content'] for m in chat.hist[2:5]] == ['1', '2', '3']
    assert seen and seen[0] != loop_thread


def test_tool_error_goes_back_to_the_model():
    def boom(x: int) -> int:
        "Fails"
        raise RuntimeError('kaput')
    chat = FakeChat(MODEL, tools=[boom], script=[resp(None, [tc('boom', {'x': 1}, 'e1')]), resp('sorry')])
    chat('go', max_steps=5)
    assert 'kaput' in chat.hist[2]['content'] and chat.hist[2]['tool_call_id'] == 'e1' and valid_hist(chat.hist)


def test_unknown_tool_is_never_looked_up_in_globals():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp(None, [tc('roles', {'msgs': []}, 'g1')]), resp('ok')])
    chat('go', max_steps=5)
    assert 'roles' in chat.hist[2]['content'] and 'simple_add' in chat.hist[2]['content']


def test_provider_error_on_first_request_leaves_hist_unchanged():
    chat = FakeChat(MODEL, script=[resp('a')], retries=0)
    chat('first')
    before = list(chat.hist)
    chat.scripted.queue(ConnectionError('down'))
    with pytest.raises(ConnectionError) as ei:
        chat('second')
    assert chat.hist == before
    assert any('unchanged' in n for n in getattr(ei.value, '__notes__', []))


def test_provider_error_mid_loop_keeps_completed_steps():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp(None, [tc('simple_add', {'a': 1, 'b': 1}, 'k')])],
                    fail_at={2: ConnectionError('down')}, retries=0)
    with pytest.raises(ConnectionError):
        chat('go', max_steps=5)
    assert roles(chat.hist) == ['user', 'assistant', 'tool'] and valid_hist(chat.hist)


def test_interrupt_during_tools_records_calls_as_not_run():
    def stop(x: int) -> int:
        "Simulates Ctrl-C"
        raise KeyboardInterrupt
    chat = FakeChat(MODEL, tools=[stop], script=[resp(None, [tc('stop', {'x': 1}, 's1'), tc('stop', {'x': 2}, 's2')])])
    with pytest.raises(KeyboardInterrupt):
        chat('go', max_steps=5)
    assert valid_hist(chat.hist) and [m['tool_call_id'] for m in chat.hist[2:]] == ['s1', 's2']
    assert all('Not run' in m['content'] for m in chat.hist[2:])


def test_stream_left_unfinished_after_a_tool_call_is_closed_by_the_next_call():
    chat = FakeChat(MODEL, tools=[simple_add], script=[stream('Adding', [tc('simple_add', {'a': 1, 'b': 1}, 'k')]), resp('fine')])
    for o in chat('go', stream=True, max_steps=5):
        if isinstance(o, ModelResponse): break  # the reply with the tool call is recorded; its result never came
    chat('something else')
    sent = chat.sent[1]['messages']
    assert roles(sent) == ['user', 'assistant', 'tool', 'user'] and 'Not run' in sent[2]['content']
    assert valid_hist(chat.hist)


def test_streamed_tool_loop_yields_chunks_responses_and_results_in_order():
    chat = FakeChat(MODEL, tools=[simple_add], script=[stream('Let me add', [tc('simple_add', {'a': 2, 'b': 3}, 's1')]), stream('It is 5')])
    items = list(chat('2+3?', stream=True, max_steps=5))
    kinds = ['chunk' if isinstance(o, ModelResponseStream) else 'resp' if isinstance(o, ModelResponse) else 'tool' for o in items]
    assert kinds == ['chunk'] * 6 + ['resp', 'tool'] + ['chunk'] * 5 + ['resp']  # words, tool call, finish, usage
    assert items[kinds.index('tool')]['content'] == '5'
    assert chat.hist[-1].content == 'It is 5' and chat.hist[1].tool_calls[0].function.name == 'simple_add'


async def test_a_second_concurrent_call_on_one_asyncchat_is_refused():
    gate = asyncio.Event()
    async def slow(x: int) -> int:
        "Waits for the gate"
        await gate.wait(); return x
    chat = FakeAsyncChat(MODEL, tools=[slow], script=[resp(None, [tc('slow', {'x': 1}, 'w')]), resp('done')])
    first = asyncio.ensure_future(chat('go', max_steps=5))
    await asyncio.sleep(0)
    while not chat.sent: await asyncio.sleep(0)
    with pytest.raises(UsageError, match='still running'):
        await chat('meanwhile')
    gate.set()
    assert (await first).choices[0].message.content == 'done'
    assert valid_hist(chat.hist) and len(chat.sent) == 2


def test_max_steps_one_is_a_single_request_without_tools():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp('no tools needed')])
    chat('hi', max_steps=1)
    assert len(chat.sent) == 1 and chat.sent[0]['tool_choice'] == 'none'
    assert chat.sent[0]['messages'][-1] == {'role': 'user', 'content': 'hi'}


def test_caller_checkpoints_never_exceed_four_per_request():
    from lexi import mk_msg
    chat = FakeChat(MODEL, script=[resp(str(i)) for i in range(6)])
    for i in range(6): chat(mk_msg(f'q{i}', cache=True))
    assert [_ckpt_positions(s['messages']) for s in chat.sent][-1] == [4, 6, 8, 10]  # the newest four kept
    assert all(len(_ckpt_positions(s['messages'])) <= 4 for s in chat.sent)


def test_a_tool_passed_again_on_a_call_is_sent_once():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp('ok')])
    chat('x', tools=[simple_add])
    assert [t['function']['name'] for t in chat.sent[0]['tools']] == ['simple_add']


def test_prefill_is_sent_and_kept_whole_in_hist():
    chat = FakeChat(MODEL, script=[resp(' D A C T E D')])
    r = chat('Spell my name', prefill='Your name is R E')
    assert chat.sent[0]['messages'][-1] == {'role': 'assistant', 'content': 'Your name is R E'}
    assert chat.hist[-1].content == 'Your name is R E D A C T E D' == r.choices[0].message.content
    assert roles(chat.hist) == ['user', 'assistant']


def test_tools_on_a_call_are_added_for_that_call_only():
    def mul(a: int, b: int) -> int:
        "Multiply"
        return a * b
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp(None, [tc('mul', {'a': 2, 'b': 3}, 'm')]), resp('6'), resp('x')])
    chat('2*3', tools=[mul], max_steps=5)
    chat('again')
    assert [t['function']['name'] for t in chat.sent[0]['tools']] == ['simple_add', 'mul']
    assert chat.hist[2]['content'] == '6'
    assert [t['function']['name'] for t in chat.sent[2]['tools']] == ['simple_add']


def test_think_and_search_map_to_litellm_parameters():
    chat = FakeChat(MODEL, script=[resp('a')])
    chat('q', think='l', search='h')
    assert chat.sent[0]['reasoning_effort'] == 'low'
    assert chat.sent[0]['web_search_options'] == {'search_context_size': 'high'}


def test_bad_levels_and_unsupported_features_raise_usage_error_before_sending():
    chat = FakeChat('openai/gpt-4.1', script=[])
    with pytest.raises(UsageError, match="'l', 'm' or 'h'"): chat('q', think='max')
    with pytest.raises(UsageError, match='reasoning'): chat('q', think='l')
    with pytest.raises(UsageError, match='max_steps'): chat('q', max_steps=0)
    assert chat.hist == [] and chat.sent == []


def test_hist_accepts_strings_messages_and_synthetic_tool_calls():
    from lexi.tools import mk_tc, mk_tc_req, mk_tc_results
    tcq = mk_tc_req('I will add', [mk_tc('simple_add', '{"a": 5, "b": 7}', tcid='toolu_x')])
    chat = FakeChat(MODEL, tools=[simple_add], hist=['What is 5+7?', tcq], script=[resp('12')])
    chat(mk_tc_results(tcq, ['12'])[0])
    sent = chat.sent[0]['messages']
    assert roles(sent) == ['user', 'assistant', 'tool'] and sent[2]['tool_call_id'] == 'toolu_x'
    assert valid_hist(chat.hist)


def test_server_side_tool_calls_are_not_run_locally():
    ran = []
    def web_search(query: str) -> str:
        "Must not run"
        ran.append(query); return 'x'
    chat = FakeChat(MODEL, tools=[web_search], script=[resp('Otters...', [tc('web_search', {'query': 'otters'}, 'srvtoolu_1')])])
    r = chat('otters?')
    assert ran == [] and r.choices[0].message.content == 'Otters...' and len(chat.sent) == 1


def test_usage_adds_up_over_calls():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp(None, [tc('simple_add', {'a': 1}, 'u')], inp=100, out=7), resp('1', inp=120, out=3)])
    chat('go', max_steps=5)
    assert (chat.use.input, chat.use.output, chat.use.calls) == (220, 10, 2)
    assert chat.cost > 0  # claude-sonnet-4-5 is priced in LiteLLM's table


def _ckpt_positions(msgs):
    out = []
    for i, m in enumerate(msgs):
        blob = repr(m)
        if 'cache_control' in blob: out.append(i)
    return out


def test_cache_checkpoints_over_a_20_step_tool_loop():
    n = 22
    script = [resp(None, [tc('simple_add', {'a': i, 'b': 1}, f'toolu_{i}')]) for i in range(n - 1)] + [resp('done')]
    chat = FakeChat(MODEL, sp='sys', tools=[simple_add], cache=True, cache_idxs=(0, -1), script=script)
    chat('start', max_steps=n + 1)
    assert len(chat.sent) == n
    prev_end = None
    for req in chat.sent:
        msgs = req['messages']
        pos = _ckpt_positions(msgs)
        assert 1 <= len(pos) <= 4
        assert 0 in pos                    # system prompt cached
        assert len(msgs) - 1 in pos        # the whole request is written to the cache, tool result or not
        if prev_end is not None:           # and the previous request's end is marked again: an exact read
            assert prev_end in pos
        prev_end = len(msgs) - 1
    assert _ckpt_positions(chat.hist) == []  # hist itself stays clean


def test_a_tool_result_checkpoint_sits_on_the_message_not_in_its_content():
    chat = FakeChat(MODEL, tools=[simple_add], cache=True, ttl='1h',
                    script=[resp(None, [tc('simple_add', {'a': 1, 'b': 1}, 't1')]), resp('2')])
    chat('go', max_steps=3)
    last = chat.sent[1]['messages'][-1]
    assert last['role'] == 'tool' and last['content'] == '2'
    assert last['cache_control'] == {'type': 'ephemeral', 'ttl': '1h'}


def test_no_checkpoints_for_providers_without_explicit_caching():
    chat = FakeChat('openai/gpt-4.1', cache=True, script=[resp('a')])
    chat('hi')
    assert 'cache_control' not in repr(chat.sent[0]['messages'])


def _script():
    return [resp('Let me add', [tc('simple_add', {'a': 1, 'b': 2}, 'p1'), tc('simple_add', {'a': 3, 'b': 4}, 'p2')]),
            resp(None, [tc('simple_add', {'a': 3, 'b': 7}, 'p3')]), resp('10')]


async def test_chat_and_asyncchat_send_and_record_the_same():
    s, a = FakeChat(MODEL, sp='s', tools=[simple_add], cache=True, script=_script()), FakeAsyncChat(MODEL, sp='s', tools=[simple_add], cache=True, script=_script())
    rs = s('compute', max_steps=3, return_all=True)
    ra = await a('compute', max_steps=3, return_all=True)
    assert s.sent == a.sent
    assert [repr(m) for m in s.hist] == [repr(m) for m in a.hist]
    assert [type(o).__name__ for o in rs] == [type(o).__name__ for o in ra]
    assert s.use == a.use


def test_chat_renders_as_markdown_and_has_a_useful_repr():
    chat = FakeChat(MODEL, tools=[simple_add], script=[resp('Hello **Rens**', inp=12, out=3)])
    assert 'no reply yet' in chat._repr_markdown_()
    chat('hi')
    md = chat._repr_markdown_()
    assert 'Hello **Rens**' in md and 'In: 12; Out: 3' in md
    assert repr(chat).startswith("Chat(model='anthropic/claude-sonnet-4-5', messages=2, tools=['simple_add']")


def test_audio_to_a_model_without_audio_input_is_refused_before_sending():
    from pathlib import Path
    wav = (Path(__file__).parent.parent / 'samples' / 'sample.wav').read_bytes()
    chat = FakeChat(MODEL, script=[])
    with pytest.raises(UsageError, match='audio'):
        chat(['What is said here?', wav])
    assert chat.sent == [] and chat.hist == []
    ok = FakeChat('gemini/gemini-2.5-flash', script=[resp('hello')])
    ok(['What is said here?', wav])
    assert ok.sent[0]['messages'][0]['content'][1]['type'] == 'input_audio'
