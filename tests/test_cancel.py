"""Cancellation: stream.cancel() from any thread, cancelling an AsyncChat task mid-stream, mid-tool, mid-wait, and
Ctrl-C while tools run."""
import asyncio, signal, threading, time

import pytest
from litellm import ModelResponse

from lexi import AsyncChat, Chat
from lexi.testing import Fault, Reply, ToolCall

from fakes import FakeChat, resp, tc, valid_hist
from test_chat_wire import LONG, _wait_until

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
# The stand-in's events up to the first word of a reply (OpenAI: role, word; Anthropic: message_start,
# content_block_start, ping, word; Gemini: word): from there on, `Reply(event_delay=...)` holds each event back.
FIRST_WORD = {'openai': 2, 'anthropic': 4, 'gemini': 1}
NEVER = 3600   # seconds the stand-in waits before the next event: within a test, it does not come


async def _await_until(cond, timeout=5.0) -> bool:
    "Poll without blocking the event loop (closing a stream may need it)."
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end: await asyncio.sleep(0.01)
    return cond()


def _text(o) -> str:
    return (o.choices[0].delta.content or '') if getattr(o, 'object', '') == 'chat.completion.chunk' and o.choices else ''


@pytest.mark.parametrize('provider', list(MODELS))
def test_cancel_from_another_thread_ends_the_stream_keeps_the_text_and_closes_http(standin, provider):
    standin.queue(Reply(text=LONG, event_delay=0.02), Reply(text='next'))
    chat = Chat(MODELS[provider], **standin.kwargs(provider))
    s, seen, when, flowing = chat('count', stream=True), [], {}, threading.Event()
    def cancel_soon():
        flowing.wait(10); time.sleep(0.1); when['t'] = time.monotonic(); s.cancel()
    threading.Thread(target=cancel_soon).start()
    for o in s:
        seen.append(_text(o))
        if len(seen) > 3: flowing.set()
    assert s.cancelled and 'w0' in ''.join(seen) and 'w399' not in ''.join(seen)
    assert _wait_until(lambda: standin.requests[0].client_closed)
    assert [m['role'] for m in chat.hist] == ['user', 'assistant'] and chat.hist[1]['content'] == ''.join(seen)
    assert chat('go on').choices[0].message.content == 'next'      # the next call works
    with pytest.raises(StopIteration): next(s)                      # a cancelled stream stays ended


@pytest.mark.parametrize('how', ['cancel', 'close'])
@pytest.mark.parametrize('provider', list(MODELS))
def test_cancel_from_another_thread_ends_a_read_waiting_for_the_next_chunk(standin, provider, how):
    standin.queue(Reply(text='w0 w1 w2', event_delay=NEVER, event_delay_from=FIRST_WORD[provider]), Reply(text='next'))
    chat = Chat(MODELS[provider], **standin.kwargs(provider))
    s, seen = chat('count', stream=True), []
    def read():
        for o in s: seen.append(_text(o))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert _wait_until(lambda: 'w0' in ''.join(seen)) and _wait_until(lambda: s.busy)  # now waiting for ' w1'
    getattr(s, how)()
    reader.join(30)
    assert not reader.is_alive()                      # ended without the next chunk, which never comes
    assert ''.join(seen) == 'w0' and [(m['role'], m['content']) for m in chat.hist] == [('user', 'count'), ('assistant', 'w0')]
    assert chat('go on').choices[0].message.content == 'next'


@pytest.mark.parametrize('provider', list(MODELS))
async def test_async_cancel_from_another_thread_ends_a_read_waiting_for_the_next_chunk(standin, provider):
    standin.queue(Reply(text='w0 w1 w2', event_delay=NEVER, event_delay_from=FIRST_WORD[provider]), Reply(text='next'))
    chat = AsyncChat(MODELS[provider], **standin.kwargs(provider))
    s, seen = chat('count', stream=True), []
    async def read():
        async for o in s: seen.append(_text(o))
    reader = asyncio.create_task(read())
    assert await _await_until(lambda: 'w0' in ''.join(seen)) and await _await_until(lambda: s.busy)
    threading.Thread(target=s.cancel).start()
    await asyncio.wait_for(reader, 30)
    assert ''.join(seen) == 'w0' and [(m['role'], m['content']) for m in chat.hist] == [('user', 'count'), ('assistant', 'w0')]
    assert (await chat('go on')).choices[0].message.content == 'next'


def test_cancel_in_the_reading_thread_between_chunks(standin):
    standin.queue(Reply(text='one two three four five six'))
    chat = Chat(MODELS['openai'], **standin.kwargs('openai'))
    s, seen = chat('count', stream=True), ''
    for o in s:
        seen += _text(o)
        if 'two' in seen: s.cancel()
    assert seen.strip() == 'one two' and chat.hist[-1]['content'] == seen and valid_hist(chat.hist)
    standin.reset()


def test_cancel_before_reading_sends_nothing(standin):
    chat = Chat(MODELS['openai'], **standin.kwargs('openai'))
    s = chat('hi', stream=True)
    s.cancel()
    assert list(s) == [] and standin.requests == [] and chat.hist == [] and s.cancelled


def test_cancel_while_a_tool_runs_records_it_and_drops_nothing_else(standin):
    started = threading.Event()
    def slow(x: int) -> int:
        "Slow tool"
        started.set(); time.sleep(0.3); return x
    standin.queue(Reply(text='Working.', tool_calls=[ToolCall('slow', {'x': 1})]), Reply(text='never'))
    chat = Chat(MODELS['anthropic'], tools=[slow], **standin.kwargs('anthropic'))
    s = chat('go', stream=True, max_steps=3)
    threading.Thread(target=lambda: (started.wait(5), s.cancel())).start()
    items = list(s)
    assert s.cancelled and len(standin.requests) == 1 and valid_hist(chat.hist)
    assert any(isinstance(o, ModelResponse) for o in items)
    standin.reset()


@pytest.mark.parametrize('provider', list(MODELS))
async def test_async_cancel_from_another_thread(standin, provider):
    standin.queue(Reply(text=LONG, event_delay=0.02), Reply(text='next'))
    chat = AsyncChat(MODELS[provider], **standin.kwargs(provider))
    s, seen, when, flowing = chat('count', stream=True), [], {}, threading.Event()
    def cancel_soon():
        flowing.wait(10); time.sleep(0.1); when['t'] = time.monotonic(); s.cancel()
    threading.Thread(target=cancel_soon).start()
    async for o in s:
        seen.append(_text(o))
        if len(seen) > 3: flowing.set()
    assert s.cancelled
    assert await _await_until(lambda: standin.requests[0].client_closed)
    assert chat.hist[1]['content'] == ''.join(seen) and 'w0' in ''.join(seen)
    assert (await chat('go on')).choices[0].message.content == 'next'
    await asyncio.sleep(0.05)                                       # the task is not left cancelled


@pytest.mark.parametrize('provider', list(MODELS))
async def test_cancelling_the_task_mid_stream_closes_http_and_keeps_hist_valid(standin, provider):
    standin.queue(Reply(text=LONG, event_delay=0.02), Reply(text='next'))
    chat = AsyncChat(MODELS[provider], **standin.kwargs(provider))
    got = []
    async def read():
        async for o in chat('count', stream=True): got.append(o)
    task = asyncio.create_task(read())
    while len(got) < 4: await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError): await task
    assert await _await_until(lambda: standin.requests[0].client_closed)
    assert valid_hist(chat.hist) and chat.hist[-1]['content']       # what arrived is the assistant's reply
    assert (await chat('go on')).choices[0].message.content == 'next'


async def test_cancelling_the_task_mid_tool_records_the_call_not_run(standin):
    gate = asyncio.Event()
    async def wait_forever(x: int) -> int:
        "Waits"
        gate.set(); await asyncio.sleep(60); return x
    standin.queue(Reply(tool_calls=[ToolCall('wait_forever', {'x': 1})]), Reply(text='next'))
    chat = AsyncChat(MODELS['openai'], tools=[wait_forever], **standin.kwargs('openai'))
    task = asyncio.create_task(chat('go', max_steps=3))
    await gate.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError): await task
    assert valid_hist(chat.hist) and 'Not run' in chat.hist[-1]['content']
    assert (await chat('again')).choices[0].message.content == 'next'


async def test_cancelling_the_task_during_a_retry_wait(standin):
    standin.queue(Fault(503, retry_after=30), Reply(text='next'))
    chat = AsyncChat(MODELS['gemini'], **standin.kwargs('gemini'))
    task = asyncio.create_task(chat('hi'))
    while not standin.requests: await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError): await task   # not after the 30 s wait: then the call would succeed
    assert chat.hist == []
    assert (await chat('again')).choices[0].message.content == 'next'


def _interrupt_main_when(event: threading.Event):
    "Ctrl-C, as the terminal sends it (SIGINT to the main thread), once `event` is set."
    def send():
        if event.wait(10): signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    threading.Thread(target=send, daemon=True).start()


@pytest.mark.parametrize('parallel', [True, False])
def test_ctrl_c_while_tools_run_reaches_the_caller_before_a_running_tool_ends(parallel):
    assert threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    def quick(x: int) -> int:
        "Returns at once"
        return x
    def slow(x: int) -> int:
        "Runs until released"
        started.set()
        end = time.monotonic() + 10
        while not release.wait(0.01) and time.monotonic() < end: pass   # short waits: Ctrl-C gets in between
        finished.set()                                # (not when Ctrl-C ends the wait)
        return x
    calls = [tc('quick', {'x': 1}, 'q1'), tc('slow', {'x': 2}, 's1'), tc('quick', {'x': 3}, 'q2')]
    chat = FakeChat(MODELS['openai'], tools=[quick, slow], script=[resp(None, calls), resp('next')])
    _interrupt_main_when(started)
    try:
        with pytest.raises(KeyboardInterrupt): chat('go', max_steps=3, parallel_tools=parallel)
        assert not finished.is_set()                  # the caller got Ctrl-C while the slow tool still ran
    finally: release.set()
    results = chat.hist[2:]
    assert valid_hist(chat.hist) and [r['tool_call_id'] for r in results] == ['q1', 's1', 'q2']
    assert 'Not run' in results[1]['content'] and 'KeyboardInterrupt' in results[1]['content']
    if parallel:   # the quick tools ran beside the slow one: each finished (and keeps its result) or had not yet
        assert all(r['content'] == want or 'Not run' in r['content'] for r, want in zip(results[::2], ('1', '3')))
    else:          # one by one: the first had finished, and keeps its result (it ran); the third never started
        assert results[0]['content'] == '1' and 'Not run' in results[2]['content']
    assert chat('again').choices[0].message.content == 'next' and valid_hist(chat.hist)
