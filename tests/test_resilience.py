"""Retries, timeouts and rate limits, through the stand-in (and a scripted backend where timing is the point)."""
import asyncio, email.utils, threading, time

import litellm
import pytest
from litellm import ModelResponse

from lexi import AsyncChat, Chat, RateLimit, UsageError
from lexi.resilience import retry_after, retry_wait
from lexi.testing import Fault, Reply, Scripted

from fakes import valid_hist

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}
FAST = dict(max_wait=0.05)   # backoff waits capped short, so retry tests stay quick


@pytest.mark.parametrize('provider', list(MODELS))
def test_attempts_are_exactly_retries_plus_one(standin, provider):
    # should_retry=None: no x-should-retry header, so the OpenAI SDK would retry on its own if lexi let it
    standin.queue(*[Fault(503, should_retry=None)] * 3)
    chat = Chat(MODELS[provider], retries=2, **FAST, **standin.kwargs(provider))
    with pytest.raises(Exception) as ei:
        chat('hi')
    assert len(standin.requests) == 3 and chat.hist == []
    assert any('gave up after 3 attempts (retries=2)' in n for n in ei.value.__notes__)


@pytest.mark.parametrize('provider', list(MODELS))
@pytest.mark.parametrize('stream', [False, True])
def test_a_retry_that_succeeds_leaves_no_trace(standin, provider, stream):
    standin.queue(Fault(429), Fault(500), Reply(text='third time'))
    chat = Chat(MODELS[provider], **FAST, **standin.kwargs(provider))
    out = chat('hi', stream=stream)
    r = [o for o in out if isinstance(o, ModelResponse)][-1] if stream else out
    assert r.choices[0].message.content == 'third time' and len(standin.requests) == 3
    assert [m['role'] if isinstance(m, dict) else m.role for m in chat.hist] == ['user', 'assistant']
    assert chat.use.calls == 1


def test_request_errors_are_not_retried(standin):
    standin.queue(Fault(400), Reply(text='never'))
    with pytest.raises(litellm.BadRequestError):
        Chat(MODELS['anthropic'], **FAST, **standin.kwargs('anthropic'))('hi')
    assert len(standin.requests) == 1
    standin.reset()


def waits_of(monkeypatch) -> list:
    "The waits Chat's driver is asked for (recorded, not slept), so a test checks them without timing anything."
    import lexi.chat
    asked = []
    monkeypatch.setattr(lexi.chat.time, 'sleep', asked.append)
    return asked


def test_retry_after_is_honoured(standin, monkeypatch):
    standin.queue(Fault(429, retry_after=1), Reply(text='ok'))
    asked = waits_of(monkeypatch)
    assert Chat(MODELS['anthropic'], **standin.kwargs('anthropic'))('hi').choices[0].message.content == 'ok'
    assert asked == [1.0] and len(standin.requests) == 2


def test_retry_after_is_capped_by_max_wait(standin, monkeypatch):
    standin.queue(Fault(429, retry_after=30), Reply(text='ok'))
    asked = waits_of(monkeypatch)
    Chat(MODELS['openai'], max_wait=0.2, **standin.kwargs('openai'))('hi')
    assert asked == [0.2]   # far below the 30 s asked for


def test_retry_after_reads_seconds_and_http_dates():
    class E(Exception): pass
    e = E(); e.litellm_response_headers = {'Retry-After': '7'}
    assert retry_after(e) == 7
    e.litellm_response_headers = {'retry-after': email.utils.formatdate(time.time() + 20, usegmt=True)}
    assert 18 <= retry_after(e) <= 21
    e.litellm_response_headers = {}
    assert retry_after(e) is None and 0.5 <= retry_wait(e, 1, 60) <= 2.01 and retry_wait(e, 9, 3) == 3


def test_a_stream_that_already_yielded_is_not_replayed(standin):
    standin.queue(Reply(text='one two three four five six', cut_after=4), Reply(text='never'))
    chat = Chat(MODELS['openai'], **FAST, **standin.kwargs('openai'))
    seen = []
    with pytest.raises(Exception) as ei:
        for o in chat('count', stream=True):
            if getattr(o, 'object', '') == 'chat.completion.chunk' and o.choices: seen.append(o.choices[0].delta.content or '')
    assert ''.join(seen) and len(standin.requests) == 1 and not isinstance(ei.value, UsageError)
    assert [m['role'] for m in chat.hist] == ['user', 'assistant'] and chat.hist[1]['content'] == ''.join(seen)   # what was shown is kept
    standin.reset()


@pytest.mark.parametrize('provider', list(MODELS))
def test_a_stalled_stream_times_out_and_is_retried_when_nothing_was_shown(standin, provider):
    standin.queue(Reply(text='slow', event_delay=2.0), Reply(text='fast'))
    chat = Chat(MODELS[provider], timeout=0.4, retries=1, **FAST, **standin.kwargs(provider))
    out = list(chat('hi', stream=True))
    assert out[-1].choices[0].message.content == 'fast' and len(standin.requests) == 2


@pytest.mark.parametrize('provider', ['openai', 'anthropic'])
def test_a_stall_after_the_first_chunks_raises_with_hist_valid(standin, provider):
    standin.queue(Reply(text='a b c d e f g h'), Reply(text='one two three four five six', event_delay=1.5, event_delay_from=5))
    chat = Chat(MODELS[provider], timeout=0.4, retries=1, **FAST, **standin.kwargs(provider))
    chat('first')
    with pytest.raises(Exception) as ei:
        list(chat('second', stream=True))
    assert litellm_timeout_like(ei.value) and valid_hist(chat.hist) and len(standin.requests) == 2   # not retried


def litellm_timeout_like(e) -> bool:
    "LiteLLM raises Timeout, or MidStreamFallbackError wrapping one, for a stream that stalls."
    return isinstance(e, (litellm.Timeout, litellm.exceptions.MidStreamFallbackError))


async def test_async_retries_wait_without_blocking_the_loop(standin):
    standin.queue(Fault(429, retry_after=0.5), Reply(text='ok'))
    chat = AsyncChat(MODELS['gemini'], **standin.kwargs('gemini'))
    ticks = 0
    async def ticker():
        nonlocal ticks
        while True: await asyncio.sleep(0.05); ticks += 1
    t = asyncio.create_task(ticker())
    assert (await chat('hi')).choices[0].message.content == 'ok'
    t.cancel()
    assert ticks >= 5


def test_function_backends_get_no_litellm_retry_switch():
    backend = Scripted('a')
    Chat(MODELS['openai'], backend=backend, timeout=3)('hi')
    assert 'max_retries' not in backend.requests[0] and backend.requests[0]['timeout'] == 3


def test_litellm_backends_get_the_sdk_retries_switched_off(standin):
    standin.queue('a', 'b')
    Chat(MODELS['openai'], **standin.kwargs('openai'))('hi')
    Chat(MODELS['openai'], max_retries=1, **standin.kwargs('openai'))('hi')  # asked for explicitly: sent as asked
    assert [r.headers.get('x-stainless-retry-count') for r in standin.requests] == ['0', '0']


@pytest.mark.parametrize('bad', [dict(retries=-1), dict(retries=1.5), dict(max_wait=-1), dict(timeout='x'), dict(rate_limit=5)])
def test_bad_resilience_settings_are_usage_errors(bad):
    with pytest.raises(UsageError): Chat(MODELS['openai'], **bad)


# ---------------------------------------------------------------- rate limits

def test_ratelimit_spaces_requests_and_counts_tokens():
    lim = RateLimit(rpm=60)
    waits = [lim.reserve() for _ in range(4)]
    assert waits[0] == pytest.approx(0, abs=0.01) and all(b - a == pytest.approx(1.0, abs=0.01) for a, b in zip(waits, waits[1:]))
    tok = RateLimit(tpm=6000)
    assert tok.reserve(1000) == pytest.approx(0, abs=0.01) and tok.reserve(10) == pytest.approx(10.0, abs=0.05)
    with pytest.raises(UsageError): RateLimit()
    with pytest.raises(UsageError): RateLimit(rpm=0)


def test_chats_in_several_threads_share_one_limit():
    lim, times, lock = RateLimit(rpm=1200), [], threading.Lock()   # 20 a second: one every 50 ms
    def backend(**kw):
        with lock: times.append(time.monotonic())
        return Scripted('ok')(**kw)
    def worker():
        chat = Chat(MODELS['openai'], backend=backend, rate_limit=lim)
        for _ in range(4): chat('hi')
    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads: t.start()
    for t in threads: t.join()
    times.sort()
    assert len(times) == 12 and all(b - a >= 0.045 for a, b in zip(times, times[1:]))


def test_a_token_budget_counts_the_estimated_prompt_and_max_tokens():
    lim = RateLimit(tpm=60_000)
    Chat(MODELS['openai'], backend=Scripted('ok'), rate_limit=lim, max_tokens=500)('x' * 4000)
    assert 0.9 <= lim.reserve() <= 1.6   # ~1000 prompt tokens + 500 = 1.5 s of a 1000-tokens-a-second budget


async def test_async_rate_limit_waits_without_blocking_the_loop():
    lim, backend = RateLimit(rpm=600), Scripted(*['ok'] * 3)
    chat = AsyncChat(MODELS['openai'], backend=backend, rate_limit=lim)
    ticks = 0
    async def ticker():
        nonlocal ticks
        while True: await asyncio.sleep(0.01); ticks += 1
    t = asyncio.create_task(ticker())
    for _ in range(3): await chat('hi')
    t.cancel()
    assert ticks >= 10   # two 100 ms waits passed while the loop kept running


@pytest.mark.parametrize('provider', list(MODELS))
async def test_async_stalled_stream_times_out_and_is_retried(standin, provider):
    standin.queue(Reply(text='slow', event_delay=2.0), Reply(text='fast'))
    chat = AsyncChat(MODELS[provider], timeout=0.4, retries=1, **FAST, **standin.kwargs(provider))
    items = [o async for o in chat('hi', stream=True)]
    assert items[-1].choices[0].message.content == 'fast' and len(standin.requests) == 2


@pytest.mark.parametrize('provider', list(MODELS))
def test_retry_after_ms_alone_is_honoured(standin, provider):
    # OpenAI and Azure send retry-after-ms (the OpenAI SDK reads it before Retry-After): 250 ms, not a 1 s backoff
    standin.queue_raw({'error': {'message': 'Slow down.', 'type': 'rate_limit_error', 'code': 429}}, status=429,
                      headers={'retry-after-ms': '250'})
    with pytest.raises(litellm.RateLimitError) as ei:
        Chat(MODELS[provider], retries=0, **standin.kwargs(provider))('hi')
    assert retry_after(ei.value) == 0.25 and retry_wait(ei.value, 1, 60) == 0.25


def test_retry_after_ms_wins_over_retry_after():
    class E(Exception): pass
    e = E(); e.litellm_response_headers = {'Retry-After-Ms': '1500', 'Retry-After': '7'}
    assert retry_after(e) == 1.5
    e.litellm_response_headers = {'retry-after-ms': 'soon', 'retry-after': '7'}   # unreadable: the next header counts
    assert retry_after(e) == 7


def test_a_rate_limit_spaces_requests_evenly_unless_a_burst_is_allowed():
    from lexi import RateLimit
    spaced = RateLimit(rpm=60)
    waits = [spaced.reserve() for _ in range(3)]
    assert waits[0] == 0 and 0.9 < waits[1] <= 1.0 and 1.9 < waits[2] <= 2.0
    bursty = RateLimit(rpm=60, burst=4)
    waits = [bursty.reserve() for _ in range(6)]
    assert waits[:4] == [0, 0, 0, 0] and 0.9 < waits[4] <= 1.0 and 1.9 < waits[5] <= 2.0
    assert 'burst' in RateLimit.__doc__ and 'spaced evenly' in RateLimit.__doc__


def test_a_burst_must_be_a_whole_number():
    from lexi import RateLimit
    for bad in (0, 1.5, True):
        with pytest.raises(UsageError, match='burst'): RateLimit(rpm=10, burst=bad)
