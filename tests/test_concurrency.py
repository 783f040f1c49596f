"""Calls on one chat from several threads or tasks: each call runs whole or is refused with UsageError, never
comes back empty; a stream is read from one place at a time."""
import asyncio, random, threading

import pytest
from litellm import ModelResponse

from lexi import AsyncChat, Chat, UsageError

from fakes import resp, stream, valid_hist

MODEL = 'openai/gpt-4.1'


def _role(m): return m['role'] if isinstance(m, dict) else m.role


def _content(m): return m['content'] if isinstance(m, dict) else m.content


class _Held:
    """A streamed reply (sync and async) whose close holds the closing thread or task until `release` is set:
    the moment when a later call on the chat is closing this abandoned stream, before its own request."""
    def __init__(self, text: str, closing, release):
        self.chunks, self.closing, self.release, self.closed = iter(stream(text)), closing, release, False

    def __iter__(self): return self
    def __next__(self): return next(self.chunks)
    def __aiter__(self): return self

    async def __anext__(self):
        try: return next(self.chunks)
        except StopIteration: raise StopAsyncIteration from None

    def close(self):
        if self.closed: return
        self.closed = True
        self.closing.set()
        self.release.wait(10)

    async def aclose(self):
        if self.closed: return
        self.closed = True
        self.closing.set()
        await self.release.wait()


def _backend(held, sent: list):
    "Streams are `held`; other requests answer 're: <message>' at once. Each request's last message goes to `sent`."
    def backend(**kw):
        sent.append(kw['messages'][-1]['content'])
        return held if kw.get('stream') else resp(f"re: {sent[-1]}", model='gpt-4.1')
    return backend


def _outcome(fn):
    try: return fn()
    except UsageError as e: return e


def test_a_call_made_while_another_thread_s_call_is_starting_is_refused_and_the_first_runs():
    closing, release, sent = threading.Event(), threading.Event(), []
    chat = Chat(MODEL, backend=_backend(_Held('one two three', closing, release), sent))
    s = chat('first', stream=True)
    next(s)                                                  # then abandoned: the next call closes it
    out = {}
    a = threading.Thread(target=lambda: out.update(a=_outcome(lambda: chat('A'))))
    a.start()
    assert closing.wait(10)                                  # A has begun: it is closing the abandoned stream
    try: out['b'] = _outcome(lambda: chat('B'))
    finally: release.set()
    a.join(10)
    assert isinstance(out['a'], ModelResponse) and out['a'].choices[0].message.content == 're: A'
    assert isinstance(out['b'], UsageError) and 'still running' in str(out['b'])
    assert sent == ['first', 'A']                            # B sent nothing
    assert [_content(m) for m in chat.hist] == ['first', 'one', 'A', 're: A'] and valid_hist(chat.hist)


async def test_a_call_made_while_another_task_s_call_is_starting_is_refused_and_the_first_runs():
    closing, release, sent = asyncio.Event(), asyncio.Event(), []
    chat = AsyncChat(MODEL, backend=_backend(_Held('one two three', closing, release), sent))
    s = chat('first', stream=True)
    await s.__anext__()
    first = asyncio.create_task(chat('A'))
    await closing.wait()
    try: b = await chat('B')
    except UsageError as e: b = e
    finally: release.set()
    a = await first
    assert isinstance(a, ModelResponse) and a.choices[0].message.content == 're: A'
    assert isinstance(b, UsageError) and 'still running' in str(b)
    assert sent == ['first', 'A']
    assert [_content(m) for m in chat.hist] == ['first', 'one', 'A', 're: A'] and valid_hist(chat.hist)


def test_a_stream_read_from_two_threads_at_once_refuses_the_second_reader():
    gate, waiting = threading.Event(), threading.Event()
    def slow_chunks():
        waiting.set(); gate.wait(10)
        yield from stream('late words')
    chat = Chat(MODEL, backend=lambda **kw: slow_chunks())
    s = chat('hi', stream=True)
    got = []
    reader = threading.Thread(target=lambda: got.extend(s))
    reader.start()
    assert waiting.wait(10)                                  # the first reader waits for the reply
    try:
        with pytest.raises(UsageError, match='being read'): next(s)
        with pytest.raises(UsageError, match='still running|being read'): chat('meanwhile')
    finally: gate.set()
    reader.join(10)
    assert s.value.choices[0].message.content == 'late words' and chat.hist[-1].content == 'late words'


@pytest.mark.parametrize('streamed', [False, True])
def test_calls_from_several_threads_each_run_whole_or_are_refused(streamed):
    sent, lock = [], threading.Lock()
    def backend(**kw):
        with lock: sent.append(kw['messages'][-1]['content'])
        return iter(stream('ok')) if kw.get('stream') else resp('ok', model='gpt-4.1')
    chat, outcomes = Chat(MODEL, backend=backend), []
    def one(msg):
        if not streamed: return chat(msg)
        s = chat(msg, stream=True)
        for _ in s: pass
        return s.value
    def worker(t):
        for i in range(150):
            if random.random() < 0.5: threading.Event().wait(random.random() / 1000)
            outcomes.append(_outcome(lambda: one(f't{t}-{i}')))
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(3)]
    for t in threads: t.start()
    for t in threads: t.join(60)
    ran = [o for o in outcomes if isinstance(o, ModelResponse)]
    assert len(outcomes) == 450 and all(isinstance(o, (ModelResponse, UsageError)) for o in outcomes)  # no None
    assert valid_hist(chat.hist)
    users = [_content(m) for m in chat.hist if _role(m) == 'user']
    assert users == sent                                     # every request sent is in hist, in order
    if not streamed: assert len(ran) == len(sent)            # (a stream superseded mid-way was sent, then refused)
