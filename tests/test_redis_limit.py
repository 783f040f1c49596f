"""One rate limit across processes and machines: RateLimit(redis=, key=) against a real Redis server (the session's
`redis_url` fixture, tests/conftest.py), token corrections (settle), and the stand-in's request quota (Window)."""
import copy, multiprocessing, pickle, time, uuid

import litellm
import pytest

from lexi import Chat, RateLimit, UsageError
from lexi.resilience import RateLimitUnavailableError
from lexi.testing import Fault, Reply, Window

MODEL = 'openai/gpt-4.1'


def shared(url, **kw):
    "A limit in the session's Redis under a key no other test uses."
    return RateLimit(redis=url, key=kw.pop('key', None) or f'test-{uuid.uuid4().hex[:8]}', **kw)


def booked(*calls) -> list:
    """When each reservation is booked for, as an interval of perf_counter times: (just before the call, just after)
    plus its wait. Checking the intervals, not the waits, keeps a slow or busy machine from failing the test."""
    out = []
    for call in calls:
        before = time.perf_counter()
        wait = call()
        out.append((before + wait, time.perf_counter() + wait))
    return out


def after_first(slots: list, offsets) -> bool:
    "The bookings lie `offsets` seconds after the first one (the waits are rounded up to microseconds in Redis)."
    (lo0, hi0), eps = slots[0], 1e-5
    return len(slots) == len(offsets) + 1 and all(lo - hi0 - eps <= off <= hi - lo0 + eps
                                                  for (lo, hi), off in zip(slots[1:], offsets))


# ---------------------------------------------------------------- the schedule in Redis

def test_limits_naming_one_redis_and_key_share_one_budget(redis_url):
    a = shared(redis_url, rpm=60)
    b, other = RateLimit(rpm=60, redis=redis_url, key=a.key), shared(redis_url, rpm=60)
    assert after_first(booked(a.reserve, b.reserve, a.reserve, b.reserve), (1, 2, 3))
    assert other.reserve() == 0   # another key is another budget


def test_a_shared_limit_spaces_tokens_and_bursts_as_one_in_a_process_does(redis_url):
    for kw in ({}, dict(redis=redis_url, key=f'test-{uuid.uuid4().hex[:8]}')):
        tok = RateLimit(tpm=6000, **kw)
        assert after_first(booked(lambda: tok.reserve(1000), lambda: tok.reserve(10)), (10,))
        bursty = RateLimit(rpm=60, burst=3, **({} if not kw else dict(redis=redis_url, key=kw['key'] + 'b')))
        first = booked(bursty.reserve)
        assert [bursty.reserve(), bursty.reserve()] == [0, 0]   # three go at once
        assert after_first(first + booked(bursty.reserve, bursty.reserve), (1, 2))


def test_waits_follow_the_redis_clock_not_the_machines(redis_url, monkeypatch):
    lim = shared(redis_url, rpm=60)
    def off_clocks():                                   # a machine whose clocks are far off
        with monkeypatch.context() as m:
            m.setattr(time, 'time', lambda: 0.0)
            m.setattr(time, 'monotonic', lambda: 1e9)
            return lim.reserve()
    assert after_first(booked(lim.reserve, off_clocks, off_clocks), (1, 2))


def test_a_redis_that_lost_its_scripts_gets_them_again(redis_url):
    import redis
    lim = shared(redis_url, rpm=60)
    first = booked(lim.reserve)
    redis.Redis.from_url(redis_url).script_flush()   # as after a Redis restart
    assert after_first(first + booked(lim.reserve), (1,))


def test_a_shared_schedule_expires_once_idle(redis_url):
    import redis
    lim = shared(redis_url, rpm=60)
    lim.reserve()
    ttl = redis.Redis.from_url(redis_url).pttl(f'lexi:ratelimit:{lim.key}')
    assert 3590_000 < ttl <= 3601_000   # an hour past its last booked time (one second from now)


# ---------------------------------------------------------------- tpm corrected by the reply's usage

@pytest.mark.parametrize('where', ['process', 'redis'])
def test_settle_moves_the_token_budget_by_what_the_reply_used(redis_url, where):
    make = (lambda **kw: shared(redis_url, **kw)) if where == 'redis' else RateLimit
    lim = make(tpm=6000)                     # 100 tokens a second
    def then(settle):
        def call():
            lim.settle(*settle)
            return lim.reserve(0)
        return call
    slots = booked(lambda: lim.reserve(1000),  # the estimate (prompt + max_tokens) holds the budget 10 s
                   then((1000, 100)),          # the reply used 100: 9 s of budget back
                   then((0, 500)),             # a reply that used more than reserved: 5 s later
                   then((7, 7)))               # as reserved: nothing moves
    assert after_first(slots, (1, 6, 6))
    no_tpm = make(rpm=60)
    no_tpm.settle(10, 1000)                  # no tpm: nothing to correct
    assert no_tpm.reserve() == 0


def test_settle_takes_whole_token_counts():
    lim = RateLimit(tpm=100)
    for bad in (dict(reserved=-1, actual=0), dict(reserved=1, actual=2.5), dict(reserved=True, actual=1)):
        with pytest.raises(UsageError, match='whole number of tokens'): lim.settle(**bad)


# ---------------------------------------------------------------- no silent fallback

def test_an_unreachable_redis_is_a_clear_error_at_the_first_request_and_nothing_is_sent(standin):
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]           # a port nothing listens on
    lim = RateLimit(rpm=60, redis=f'redis://:hunter2@127.0.0.1:{port}/0', key='prod')   # constructing connects to nothing
    chat = Chat(MODEL, rate_limit=lim, **standin.kwargs('openai'))
    with pytest.raises(RateLimitUnavailableError) as ei: chat('hi')
    msg = str(ei.value)
    assert f'127.0.0.1:{port}' in msg and 'hunter2' not in msg and 'nothing was sent' in msg and 'multiply' in msg
    assert standin.requests == [] and chat.hist == []
    assert 'hunter2' not in repr(lim) and "key='prod'" in repr(lim)


@pytest.mark.parametrize('kw, says', [(dict(key='prod'), 'pass redis='), (dict(redis='redis://h:6379/0'), "key='name'"),
                                      (dict(redis='redis://h:6379/0', key=''), "key='name'"),
                                      (dict(redis=6379, key='prod'), 'Redis URL'), (dict(redis='http://h/', key='p'), 'Redis URL')])
def test_a_shared_limit_needs_a_redis_url_and_a_key(kw, says):
    with pytest.raises(UsageError, match=says): RateLimit(rpm=60, **kw)


# ---------------------------------------------------------------- copies

def test_copies_are_the_same_budget_and_only_a_shared_limit_crosses_processes(redis_url):
    local, remote = RateLimit(rpm=60), shared(redis_url, rpm=60)
    chat = Chat(MODEL, rate_limit=local)
    assert chat.copy().settings.rate_limit is local and copy.deepcopy(local) is local and copy.copy(remote) is remote
    with pytest.raises(UsageError, match='redis='): pickle.dumps(local)
    again = pickle.loads(pickle.dumps(remote))
    assert (again.key, again.redis, again.rpm) == (remote.key, remote.redis, 60)
    assert after_first(booked(remote.reserve, again.reserve), (1,))   # the unpickled limit books in the same schedule


# ---------------------------------------------------------------- the stand-in's quota

def test_the_stand_in_refuses_requests_beyond_its_window_with_429_and_retry_after(standin):
    standin.window = Window(2, seconds=30)
    standin.queue('one', 'two', 'three')
    chat = Chat(MODEL, retries=0, **standin.kwargs('openai'))
    assert [chat(f'q{i}').choices[0].message.content for i in range(2)] == ['one', 'two']
    with pytest.raises(litellm.RateLimitError) as ei: chat('q3')
    from lexi.resilience import retry_after
    assert 29 < retry_after(ei.value) <= 30 and len(standin.window.refused) == 1
    assert standin.pending == [Reply(text='three')]     # a refused request takes no scripted item
    assert len(standin.window.admitted) == 2 and standin.window.most() == 2


def test_the_stand_in_window_counts_embeddings_too(standin):
    from lexi.testing import Embeddings
    standin.window = Window(1, seconds=30)
    standin.queue(Embeddings([[0.1, 0.2]]), Embeddings([[0.3, 0.4]]))
    kw = dict(model='openai/text-embedding-3-small', input=['x'], max_retries=0, **standin.kwargs('openai'))
    assert litellm.embedding(**kw).data[0]['embedding'] == [0.1, 0.2]
    with pytest.raises(litellm.RateLimitError): litellm.embedding(**kw)
    assert len(standin.window.refused) == 1 and len(standin.pending) == 1


def test_a_window_lets_requests_through_again_as_old_ones_leave_it():
    w = Window(2, seconds=0.2)
    assert w.admit() is None and w.admit() is None
    refused = w.admit()
    assert isinstance(refused, Fault) and refused.status == 429 and 0 < refused.retry_after <= 0.2
    time.sleep(refused.retry_after)
    assert w.admit() is None and w.most(0.2) == 2 and w.most(10) == 3
    with pytest.raises(UsageError): Window(0)


# ---------------------------------------------------------------- 4 processes, one budget

SECONDS = 5        # how long the processes share the budget
RPM = 600          # 10 requests a second


def _worker(api_base, redis_url, key, ready, go, out):
    "One of several processes sending chat requests under one shared limit for SECONDS; puts (sent, refused)."
    lim = RateLimit(rpm=RPM, redis=redis_url, key=key)
    kw = dict(api_base=api_base, api_key='test-key', retries=0)
    Chat(MODEL, **kw)('warm up')   # a process's first LiteLLM call sets up much more than the next ones
    ready.wait()
    go.wait(60)
    end, sent, refused = time.monotonic() + SECONDS, 0, 0
    while time.monotonic() < end and sent + refused < 4 * SECONDS * RPM // 60:
        try:
            Chat(MODEL, rate_limit=lim, **kw)('hi')
            sent += 1
        except litellm.RateLimitError: refused += 1
    out.put((sent, refused))


def test_four_processes_sharing_one_limit_keep_to_the_quota_and_use_it(standin, redis_url):
    n, ctx, key = 4, multiprocessing.get_context('spawn'), f'test-{uuid.uuid4().hex[:8]}'
    standin.queue(*['ok'] * (n + 4 * SECONDS * RPM // 60 * n))
    ready, go, out = ctx.Barrier(n + 1), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(standin.kwargs('openai')['api_base'], redis_url, key, ready, go, out))
             for _ in range(n)]
    for p in procs: p.start()
    try:
        ready.wait(120)                    # every process has sent its warm-up request
        # The provider's quota: 10 requests a second (rpm=600), and one more in any second for the few milliseconds
        # by which a request can reach it later than the place it booked.
        standin.window = Window(RPM // 60 + 1, seconds=1)
        go.set()
        results = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs: p.join(10)
    w, budget = standin.window, RPM / 60                   # requests a second
    said = f'sent and refused per process {results}; {w}'
    assert sum(r[1] for r in results) == 0 and w.refused == [], said
    assert all(r[0] > 0 for r in results), said            # every process took part
    rate = (len(w.admitted) - 1) / (w.admitted[-1] - w.admitted[0])
    assert len(w.admitted) >= 0.9 * SECONDS * budget and rate >= 0.9 * budget, f'{rate:.2f} a second; {said}'


def test_a_chat_corrects_the_booked_tokens_with_the_replys_usage():
    from lexi import Chat, RateLimit
    from lexi.testing import Reply, Scripted
    lim = RateLimit(tpm=60_000)
    settled = []
    real = lim.settle
    lim.settle = lambda reserved, actual: settled.append((reserved, actual)) or real(reserved, actual)
    Chat('openai/gpt-4.1', backend=Scripted(Reply(text='ok', usage={'input': 10, 'output': 50})), rate_limit=lim,
         max_tokens=4000)('hi')
    (reserved, actual), = settled
    assert reserved >= 4000 and actual == 60
