"""lexi.embed through the stand-in: LiteLLM's real embedding requests, batching, order, concurrency, usage, errors.

Expected vectors are built from the scripts in each test. The stand-in hands scripted items out in the order
requests arrive, and concurrent batches may arrive in any order, so `answers` records which item answered
which request; expectations come from that pairing, never from the order requests happened to arrive in.
"""
import math
import threading

import litellm
import pytest

from lexi.embed import BATCH_LIMITS, Vector, Vectors, aembed, batch_limits, embed
from lexi.embed import _plan
from lexi.errors import UsageError
from lexi.testing import Embeddings, Fault
from lexi.usage import Use

MODEL = 'openai/text-embedding-3-small'


def kw(srv, **more): return {**srv.kwargs('openai'), **more}


def texts(n): return [f'text number {i}' for i in range(n)]


def script(k: int, size: int, **more) -> Embeddings:
    "Item k: `size` vectors [k, position], so every vector says which item and which place it came from."
    return Embeddings([[float(k), float(p)] for p in range(size)], **more)


def answers(srv, monkeypatch=None) -> list:
    "(request, scripted item) pairs: the stand-in records which item answered each request (read them afterwards)."
    class Pairs:
        def __iter__(self): return iter([(r, r.item) for r in srv.requests if r.item is not None])
    return Pairs()


def expected(pairs, inputs) -> list:
    "The vector each input should get: the one at its position in the answer to the request that carried it."
    out = {}
    for req, item in pairs:
        for pos, text in enumerate(req.body['input']): out[text] = list(item.vectors[pos])
    return [out[t] for t in inputs]


def in_flight(monkeypatch, name: str) -> dict:
    "Wrap litellm.embedding / aembedding to count the calls in flight; returns {'now', 'max', 'calls'}."
    real, lock, seen = getattr(litellm, name), threading.Lock(), {'now': 0, 'max': 0, 'calls': 0}
    def enter():
        with lock: seen['now'] += 1; seen['calls'] += 1; seen['max'] = max(seen['max'], seen['now'])
    def leave():
        with lock: seen['now'] -= 1
    def sync(*a, **k):
        enter()
        try: return real(*a, **k)
        finally: leave()
    async def asynch(*a, **k):
        enter()
        try: return await real(*a, **k)
        finally: leave()
    monkeypatch.setattr(litellm, name, asynch if name == 'aembedding' else sync)
    return seen


# -- one text, a list

def test_one_string_gives_one_vector(standin):
    standin.queue(Embeddings([[0.5, -0.25, 1.0]], tokens=4))
    v = embed('Hello there.', MODEL, **kw(standin))
    assert isinstance(v, Vector) and v == [0.5, -0.25, 1.0] and all(type(x) is float for x in v)
    assert v.model == MODEL and v.use.input == 4 and v.use.calls == 1
    assert standin.requests[0].body['input'] == ['Hello there.']
    assert standin.requests[0].body['model'] == 'text-embedding-3-small'


def test_a_list_gives_vectors_in_order(standin):
    standin.queue(script(0, 3))
    vs = embed(['a', 'b', 'c'], MODEL, **kw(standin))
    assert isinstance(vs, Vectors) and vs == [[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]]
    assert len(standin.requests) == 1 and standin.requests[0].body['input'] == ['a', 'b', 'c']


def test_empty_list_sends_nothing(standin):
    for empty in ([], ()):
        vs = embed(empty, MODEL, **kw(standin))
        assert vs == [] and isinstance(vs, Vectors) and vs.use == Use()
    assert standin.requests == []


def test_kwargs_reach_the_request(standin):
    standin.queue(Embeddings([[1.0, 2.0]]))
    embed('x', MODEL, dimensions=2, user='u-1', **kw(standin))
    body = standin.requests[0].body
    assert body['dimensions'] == 2 and body['user'] == 'u-1'


@pytest.mark.filterwarnings('ignore:Pydantic serializer warnings')  # LiteLLM dumps the base64 str into the SDK's float model
def test_base64_vectors_come_back_as_floats(standin):
    vectors = [[0.5, -0.25, 3.0], [1.5, 2.0, -8.0]]   # exact in float32
    standin.queue(Embeddings(vectors))
    vs = embed(['a', 'b'], MODEL, encoding_format='base64', **kw(standin))
    assert standin.requests[0].body['encoding_format'] == 'base64'
    assert vs == vectors and all(type(x) is float for v in vs for x in v)


# -- batching

@pytest.mark.parametrize('n,size', [(10, 3), (9, 3), (5, 1), (4, 10)])
def test_a_long_list_is_split_into_batches(standin, n, size):
    batches = math.ceil(n / size)
    standin.queue(*[script(k, min(size, n - k * size)) for k in range(batches)])
    inputs = texts(n)
    vs = embed(inputs, MODEL, batch_size=size, concurrency=1, **kw(standin))   # one at a time: arrival order known
    assert [r.body['input'] for r in standin.requests] == [inputs[i:i + size] for i in range(0, n, size)]
    assert vs == [[float(i // size), float(i % size)] for i in range(n)]


def test_order_kept_when_later_batches_finish_first(standin, monkeypatch):
    # items queued first wait longest: the batches that reach the stand-in first are answered last
    standin.queue(*[script(k, 2, delay=d) for k, d in enumerate((0.3, 0.2, 0.1, 0.0))])
    pairs, inputs = answers(standin, monkeypatch), texts(8)
    vs = embed(inputs, MODEL, batch_size=2, concurrency=4, **kw(standin))
    assert vs == expected(pairs, inputs)
    assert sorted(v[0] for v in vs[::2]) == [0.0, 1.0, 2.0, 3.0]   # every item answered one batch


def test_provider_limit_is_the_default_batch(standin):
    n = BATCH_LIMITS['openai'][0] + 1   # OpenAI's 2048 inputs, and one more
    standin.queue(Embeddings([[1.0]] * (n - 1)), Embeddings([[2.0]]))
    vs = embed(texts(n), MODEL, concurrency=1, **kw(standin))
    assert [len(r.body['input']) for r in standin.requests] == [n - 1, 1]
    assert vs[-1] == [2.0] and vs[0] == [1.0] and len(vs) == n


def test_batch_limits_table():
    assert batch_limits('openai/text-embedding-3-small') == (2048, 300_000)
    assert batch_limits('gemini/text-embedding-004')[0] == 100
    assert batch_limits('cohere/embed-english-v3.0')[0] == 96
    assert batch_limits('bedrock/amazon.titan-embed-text-v2:0')[0] == 1
    assert batch_limits('bedrock/cohere.embed-english-v3')[0] == 96
    assert batch_limits('vertex_ai/gemini-embedding-001')[0] == 1
    assert batch_limits('ollama/nomic-embed-text') == (64, None)   # not in the table: the default


def test_token_cap_splits_long_texts():
    big = 'x' * 300   # ~100 estimated tokens each
    plan = _plan([big] * 5, 10, budget=250)
    assert [len(b) for _, b in plan] == [2, 2, 1] and [s for s, _ in plan] == [0, 2, 4]
    assert [len(b) for _, b in _plan([big * 10, 'a', 'b'], 10, budget=250)] == [1, 2]   # over the cap: alone
    assert [len(b) for _, b in _plan(['a'] * 7, 3, budget=None)] == [3, 3, 1]


# -- concurrency

def test_concurrency_bound(standin, monkeypatch):
    standin.queue(*[script(k, 1, delay=0.15) for k in range(6)])
    seen = in_flight(monkeypatch, 'embedding')
    vs = embed(texts(6), MODEL, batch_size=1, concurrency=2, **kw(standin))
    assert seen['calls'] == 6 and seen['max'] == 2 and len(vs) == 6


def test_concurrency_one_runs_in_order(standin):
    standin.queue(*[script(k, 1) for k in range(3)])
    vs = embed(texts(3), MODEL, batch_size=1, concurrency=1, **kw(standin))
    assert [r.body['input'] for r in standin.requests] == [['text number 0'], ['text number 1'], ['text number 2']]
    assert vs == [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]


# -- usage and cost

def test_usage_and_cost_add_up(standin):
    standin.queue(script(0, 2, tokens=5), script(1, 2, tokens=7), script(2, 2, tokens=11))   # same sizes: any arrival order fits
    vs = embed(texts(6), MODEL, batch_size=2, **kw(standin))
    price = litellm.model_cost['text-embedding-3-small']['input_cost_per_token']
    assert vs.use.input == 23 and vs.use.output == 0 and vs.use.calls == 3
    assert vs.use.cost > 0 and vs.use.cost == pytest.approx(23 * price)
    assert vs.model == MODEL


# -- async

async def test_aembed_one_and_many(standin):
    standin.queue(Embeddings([[0.5, 0.5]], tokens=2))
    v = await aembed('hi', MODEL, **kw(standin))
    assert isinstance(v, Vector) and v == [0.5, 0.5] and v.use.input == 2
    standin.queue(script(0, 2, tokens=3), script(1, 2, tokens=4))
    vs = await aembed(['a', 'b', 'c', 'd'], MODEL, batch_size=2, concurrency=1, **kw(standin))
    assert vs == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert vs.use.input == 7 and vs.use.calls == 2 and vs.use.cost > 0
    assert await aembed([], MODEL, **kw(standin)) == []


async def test_aembed_order_and_concurrency_bound(standin, monkeypatch):
    standin.queue(*[script(k, 2, delay=d) for k, d in enumerate((0.3, 0.25, 0.2, 0.15, 0.1, 0.05))])
    pairs, inputs = answers(standin, monkeypatch), texts(12)
    seen = in_flight(monkeypatch, 'aembedding')
    vs = await aembed(inputs, MODEL, batch_size=2, concurrency=3, **kw(standin))
    assert vs == expected(pairs, inputs)
    assert seen['calls'] == 6 and seen['max'] == 3


# -- caller mistakes: UsageError before any request

@pytest.mark.parametrize('texts_,args,where', [
    ('', {}, 'The text is an empty string'),
    (['a', '', 'c'], {}, r'texts\[1\] is an empty string'),
    (['a', 'b', 3], {}, r'texts\[2\] must be a str, not int'),
    (['a', None], {}, r'texts\[1\] must be a str, not NoneType'),
    ({'a'}, {}, 'set'),
    (b'abc', {}, 'bytes'),
    (['a'], {'concurrency': 0}, 'concurrency'),
    (['a'], {'concurrency': 2.5}, 'concurrency'),
    (['a'], {'batch_size': 0}, 'batch_size'),
    (['a'], {'batch_size': -1}, 'batch_size'),
    (['a'], {'input': ['b']}, 'first argument'),
])
async def test_bad_input_raises_before_any_request(standin, texts_, args, where):
    with pytest.raises(UsageError, match=where): embed(texts_, MODEL, **args, **kw(standin))
    with pytest.raises(UsageError, match=where): await aembed(texts_, MODEL, **args, **kw(standin))
    assert standin.requests == []


# -- provider errors stay LiteLLM's

def test_fault_raises_litellms_exception(standin):
    standin.queue(Fault(500, 'Embedding backend down.'))
    with pytest.raises(litellm.InternalServerError, match='Embedding backend down'):
        embed('x', MODEL, max_retries=0, **kw(standin))


def test_failure_stops_later_batches_and_waits_for_those_in_flight(standin, monkeypatch):
    # the first request to arrive is answered slowly, the second with the fault: both start before any failure
    standin.queue(script(0, 1, delay=0.3), Fault(500), script(2, 1), script(3, 1))
    seen = in_flight(monkeypatch, 'embedding')
    with pytest.raises(litellm.InternalServerError):
        embed(texts(4), MODEL, batch_size=1, concurrency=2, max_retries=0, **kw(standin))
    assert seen['now'] == 0              # the slow batch finished before embed raised
    assert len(standin.requests) == 2    # no batch started after the failure
    assert len(standin.pending) == 2


def test_failure_in_sequence_stops_there(standin):
    standin.queue(script(0, 1), Fault(503), script(2, 1))
    with pytest.raises(litellm.ServiceUnavailableError):
        embed(texts(3), MODEL, batch_size=1, concurrency=1, max_retries=0, **kw(standin))
    assert len(standin.requests) == 2


async def test_async_failure_cancels_the_rest(standin, monkeypatch):
    standin.queue(Fault(500), script(1, 1, delay=2.0), script(2, 1), script(3, 1))
    seen = in_flight(monkeypatch, 'aembedding')
    with pytest.raises(litellm.InternalServerError):
        await aembed(texts(4), MODEL, batch_size=1, concurrency=2, max_retries=0, **kw(standin))
    assert seen['now'] == 0 and seen['calls'] == 2   # the slow one cancelled, none started after the failure
