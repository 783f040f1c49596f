"""batch / abatch: many prompts, each in its own chat, bounded concurrency, results in order, interruption keeps what finished."""
import asyncio, threading, time

import pytest
from pydantic import BaseModel

from lexi import AsyncChat, Chat, UsageError, abatch, batch
from lexi.testing import Fault, Reply, Scripted

MODEL = 'openai/gpt-4.1'


def echo_backend(delay=0.0, fail_on=None, active=None):
    "A backend answering each prompt with its own text (so order can be checked), tracking concurrency."
    lock = threading.Lock()
    def backend(**kw):
        text = kw['messages'][-1]['content']
        if active is not None:
            with lock: active['now'] += 1; active['peak'] = max(active['peak'], active['now'])
        try:
            time.sleep(delay)
            if fail_on and fail_on in text: raise ConnectionError(f'down for {text}')
            return Scripted(f'answer to {text}')(**kw)
        finally:
            if active is not None:
                with lock: active['now'] -= 1
    return backend


def texts(rs): return [r.choices[0].message.content if not isinstance(r, Exception) else r for r in rs]


def test_results_come_back_in_input_order_with_failures_in_place():
    chat = Chat(MODEL, backend=echo_backend(fail_on='p3'), retries=0, sp='Be brief.')
    rs = batch([f'p{i}' for i in range(6)], chat, concurrency=3, progress=False)
    assert texts(rs)[:3] == ['answer to p0', 'answer to p1', 'answer to p2'] and isinstance(rs[3], ConnectionError)
    assert texts(rs)[4:] == ['answer to p4', 'answer to p5'] and chat.hist == []   # the given chat is unchanged


def test_at_most_concurrency_prompts_are_in_flight():
    active = {'now': 0, 'peak': 0}
    batch([f'p{i}' for i in range(12)], Chat(MODEL, backend=echo_backend(0.05, active=active)), concurrency=4, progress=False)
    assert active['peak'] == 4


def test_each_prompt_gets_its_own_copy_of_the_chats_settings_and_history():
    backend = Scripted(*['ok'] * 2)
    chat = Chat(MODEL, backend=backend, sp='sys', hist=['Earlier question', 'Earlier answer'])
    batch(['a', 'b'], chat, concurrency=1, progress=False, temp=0.2)
    for req, p in zip(backend.requests, 'ab'):
        assert [m['content'] for m in req['messages']] == ['sys', 'Earlier question', 'Earlier answer', p]
        assert req['temperature'] == 0.2
    assert len(chat.hist) == 2


def test_templates_conversations_and_structured_output():
    class Sentiment(BaseModel):
        label: str
    backend = Scripted('{"label": "good"}', '{"label": "bad"}', 'fine')
    chat = Chat(MODEL, backend=backend)
    rs = batch([{'t': 'great'}, {'t': 'awful'}], chat, template='Sentiment of: {{ t }}', output_type=Sentiment,
               concurrency=1, progress=False)
    assert rs == [Sentiment(label='good'), Sentiment(label='bad')]
    assert backend.requests[0]['messages'][-1]['content'] == 'Sentiment of: great'
    conv = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}, {'role': 'user', 'content': 'bye'}]
    batch([conv], chat, progress=False)
    assert [m['content'] for m in backend.requests[-1]['messages']] == ['hi', 'hello', 'bye']


def test_return_exceptions_false_raises_the_first_failure():
    with pytest.raises(ConnectionError):
        batch(['ok1', 'p-bad', 'ok2'], Chat(MODEL, backend=echo_backend(fail_on='bad'), retries=0), concurrency=1,
              progress=False, return_exceptions=False)


def test_the_progress_bar_counts_done_and_failed(capsys):
    batch(['a', 'p-bad', 'c'], Chat(MODEL, backend=echo_backend(fail_on='bad'), retries=0), concurrency=1)
    err = capsys.readouterr().err
    assert 'lexi.batch' in err and '3/3' in err and 'failed=1' in err and 'done=2' in err


async def test_abatch_and_cancelling_it_keeps_what_finished():
    chat = AsyncChat(MODEL, backend=echo_backend(0.2))
    assert texts(await abatch(['x', 'y'], chat, progress=False)) == ['answer to x', 'answer to y']
    task = asyncio.create_task(abatch([f'p{i}' for i in range(6)], chat, concurrency=2, progress=False))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as ei: await task
    done = [r for r in ei.value.results if r is not None]
    assert 1 <= len(done) < 6 and texts(done)[0] == 'answer to p0'


def test_interrupting_a_sync_batch_cancels_the_rest_and_keeps_what_finished():
    import signal
    started = []
    two_done = threading.Event()
    inner = echo_backend(0.2)
    def backend(**kw):
        started.append(kw['messages'][-1]['content'])
        out = inner(**kw)
        if len(started) >= 3: two_done.set()   # the third started once two had finished (concurrency 2)
        return out
    def ctrl_c():   # Ctrl-C as a terminal sends it: SIGINT to the main thread, once two prompts are done
        if two_done.wait(30): signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt) as ei:
            batch([f'p{i}' for i in range(20)], Chat(MODEL, backend=backend), concurrency=2, progress=False)
    finally: signal.signal(signal.SIGINT, previous)
    done = [r for r in ei.value.results if r is not None]
    assert 1 <= len(done) < 20 and len(started) < 20   # what finished is kept (a reply just back may not be in yet); the rest never started


async def test_sync_batch_works_while_an_event_loop_runs():
    "As in Jupyter: a loop is running in this thread."
    rs = batch(['a'], Chat(MODEL, backend=Scripted('x')), progress=False)
    assert texts(rs) == ['x']


def test_batch_over_the_wire_with_a_model_name(standin):
    standin.queue(*['one', 'two', 'three'])
    rs = batch(['a', 'b', 'c'], Chat(MODEL, **standin.kwargs('openai')), concurrency=3, progress=False)
    assert sorted(texts(rs)) == ['one', 'three', 'two'] and len(standin.requests) == 3


@pytest.mark.parametrize('bad, match', [(dict(concurrency=0), 'concurrency'), (dict(model_or_chat=3), 'Chat, an AsyncChat')])
def test_bad_arguments(bad, match):
    args = dict(prompts=['a'], model_or_chat=MODEL, progress=False) | bad
    with pytest.raises(UsageError, match=match): batch(**args)
