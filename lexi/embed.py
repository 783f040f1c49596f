"""Embeddings: `embed` and `aembed` turn texts into vectors through any LiteLLM embedding model.

    v = embed('A sentence.')                         # one Vector (a list of floats)
    vs = embed(texts, batch_size=100, concurrency=8) # Vectors, in the order of `texts`
    vs.use                                           # tokens, cost and requests, added up

A list is split into batches the provider takes in one request (its documented limit unless
`batch_size` says otherwise; see BATCH_LIMITS), and the batches run at most `concurrency` at a time:
threads for `embed`, tasks for `aembed`. The first failure is raised as LiteLLM raised it; no batch
starts after it, `embed` waits for those already in flight and `aembed` cancels them, so a call returns
every vector or none. Vectors sent as base64 (`encoding_format='base64'`) come back as floats too.
"""
from __future__ import annotations
import array
import asyncio
import base64
import contextvars
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from ._caps import provider
from ._litellm import lm
from .errors import LexiError, UsageError
from .usage import Use

__all__ = ['embed', 'aembed', 'Vector', 'Vectors', 'BATCH_LIMITS', 'batch_limits']

DEFAULT_EMBED_MODEL = 'openai/text-embedding-3-small'

# What one embeddings request may carry, by LiteLLM provider name: (most inputs, most tokens summed over
# the inputs, None when no such cap is documented). Where the numbers come from:
# - openai: 2048 inputs ("any array must be 2048 dimensions or less") and 300,000 tokens summed across the
#   inputs of one request, both from OpenAI's API reference for POST /embeddings.
# - azure: 2048 inputs (Azure OpenAI docs, corrected in MicrosoftDocs/azure-docs#124129); no token cap found.
# - gemini: 100 inputs; batchEmbedContents answers "at most 100 requests can be in one batch".
# - vertex_ai: 250 input texts and 20,000 tokens per request (Vertex AI "Get text embeddings", API limits);
#   gemini-embedding-001 takes one input per request there (same page): see `batch_limits`.
# - cohere: 96 texts per call (Cohere's Embed API limit, as its SDK integrations document it).
# - voyage: 1,000 inputs; 120K tokens for voyage-3-large, voyage-code-3 and the finance/law models, the
#   lowest of Voyage's per-model caps (320K and 1M for the others), from Voyage's embeddings API reference.
# - mistral: 16,384 tokens per request (mistral-embed's error: "Too many tokens in batch. Max is 16384");
#   512 inputs, from its "Too many inputs in request" error as reported by users (not in Mistral's docs).
# - bedrock: Titan text models take one inputText per request (LiteLLM sends one request per input itself);
#   Cohere models on Bedrock take Cohere's 96: see `batch_limits`.
BATCH_LIMITS: dict[str, tuple[int, int | None]] = {
    'openai': (2048, 300_000), 'azure': (2048, None), 'gemini': (100, None), 'vertex_ai': (250, 20_000),
    'cohere': (96, None), 'voyage': (1000, 120_000), 'mistral': (512, 16_384), 'bedrock': (1, None)}
DEFAULT_BATCH = 64   # inputs per request for providers not in the table: small enough for most servers
_BYTES_PER_TOKEN = 3  # token estimate for the token caps: English runs ~4 characters a token, so this overestimates


class Vector(list):
    "One embedding: a list of floats, with `use` (tokens, cost, requests) and `model` (the model asked)."
    __slots__ = ('use', 'model')

    def __init__(self, values=(), use: Use | None = None, model: str | None = None):
        super().__init__(values)
        self.use, self.model = use if use is not None else Use(), model


class Vectors(list):
    "Embeddings of a list of texts, in input order (each a list of floats), with `use` summed over every request and `model`."
    __slots__ = ('use', 'model')

    def __init__(self, vectors=(), use: Use | None = None, model: str | None = None):
        super().__init__(vectors)
        self.use, self.model = use if use is not None else Use(), model


# ---------------------------------------------------------------- checking and planning

def _check_int(name: str, value, allow_none: bool = False) -> None:
    if allow_none and value is None: return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f'{name} must be a whole number of at least 1, not {value!r}'
                         f"{' (or None for the provider limit)' if allow_none else ''}.")


def _texts(texts) -> list[str]:
    "The texts as a list, after checking each is a non-empty str."
    if isinstance(texts, str): items = [texts]
    elif isinstance(texts, (list, tuple)): items = list(texts)
    else:
        raise UsageError(f'embed() takes a str or a list of str, not {type(texts).__name__}: pass list(texts).')
    for i, t in enumerate(items):
        where = 'The text' if isinstance(texts, str) else f'texts[{i}]'
        if not isinstance(t, str): raise UsageError(f'{where} must be a str, not {type(t).__name__}: pass text only.')
        if not t: raise UsageError(f'{where} is an empty string, which providers refuse: drop it or give it some text.')
    return items


def _check(texts, batch_size, concurrency, kw) -> list[str]:
    _check_int('batch_size', batch_size, allow_none=True)
    _check_int('concurrency', concurrency)
    if 'input' in kw: raise UsageError('Pass the texts as the first argument of embed(), not as input=.')
    return _texts(texts)


def batch_limits(model: str  # LiteLLM model name
                 ) -> tuple[int, int | None]:
    "(most inputs, most summed tokens or None) one embeddings request to `model` may carry (see BATCH_LIMITS)."
    p, name = provider(model), model.lower()
    if p == 'vertex_ai' and 'gemini-embedding' in name: return 1, None
    if p == 'bedrock' and 'cohere.' in name: return BATCH_LIMITS['cohere']
    return BATCH_LIMITS.get(p, (DEFAULT_BATCH, None))


def _tokens(text: str) -> int:
    return len(text.encode('utf-8')) // _BYTES_PER_TOKEN + 1


def _plan(texts: list[str], size: int, budget: int | None) -> list[tuple[int, list[str]]]:
    """(index of the first text, texts) per request: at most `size` texts, and with a token budget at most
    that many estimated tokens (a text over the budget alone goes in a request of its own)."""
    if budget is None: return [(i, texts[i:i + size]) for i in range(0, len(texts), size)]
    out, start, used = [], 0, 0
    for i, t in enumerate(texts):
        n = _tokens(t)
        if i > start and (i - start == size or used + n > budget):
            out.append((start, texts[start:i]))
            start, used = i, 0
        used += n
    if texts: out.append((start, texts[start:]))
    return out


# ---------------------------------------------------------------- reading responses

def _floats(e) -> list[float]:
    "An embedding as floats: a list as it is, a base64 string as OpenAI sends it (little-endian float32)."
    if not isinstance(e, str): return [float(x) for x in e]
    a = array.array('f')
    a.frombytes(base64.b64decode(e))
    if sys.byteorder == 'big': a.byteswap()
    return a.tolist()


def _field(item, name: str):
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _vectors(resp, n: int) -> list[list[float]]:
    "The `n` vectors of one response, placed by their `index` (in order when the provider sends none)."
    data = list(getattr(resp, 'data', None) or [])
    if len(data) != n:
        raise LexiError(f'The provider sent {len(data)} embeddings for {n} texts in one request; '
                        'try a smaller batch_size.')
    idx = [_field(item, 'index') for item in data]
    if sorted(i for i in idx if isinstance(i, int)) != list(range(n)): idx = list(range(n))  # none, or not 0..n-1
    out: list = [None] * n
    for i, item in zip(idx, data): out[i] = _floats(_field(item, 'embedding'))
    return out


def _result(resp, n: int, model: str) -> tuple[list[list[float]], Use]:
    return _vectors(resp, n), Use.of(resp, model)


# ---------------------------------------------------------------- running batches

_SKIPPED = object()   # a batch not sent because another one failed first


def _in_threads(jobs: list, concurrency: int, run: Callable[[Any], Any]) -> list:
    "run(job) for every job, at most `concurrency` at once; the first failure stops new jobs and is raised."
    if concurrency == 1 or len(jobs) == 1: return [run(j) for j in jobs]
    failed = threading.Event()

    def guarded(job):
        if failed.is_set(): return _SKIPPED
        try: return run(job)
        except BaseException:
            failed.set()   # before this future is done: no worker starts another job after it
            raise
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)), thread_name_prefix='lexi-embed')
    futures = {pool.submit(contextvars.copy_context().run, guarded, j): i for i, j in enumerate(jobs)}
    results: list = [None] * len(jobs)
    try:
        for f in as_completed(futures): results[futures[f]] = f.result()
    finally:
        failed.set()
        for f in futures: f.cancel()
        pool.shutdown(wait=True)   # requests in flight finish (their answers are dropped) before raising
    return results


async def _in_tasks(jobs: list, concurrency: int, run) -> list:
    "await run(job) for every job, at most `concurrency` at once; the first failure cancels the rest and is raised."
    sem, failed = asyncio.Semaphore(concurrency), []

    async def guarded(job):
        async with sem:
            if failed: return _SKIPPED
            try: return await run(job)
            except BaseException:
                failed.append(True)   # before the semaphore is released: no waiting job starts after it
                raise
    tasks = [asyncio.ensure_future(guarded(j)) for j in jobs]
    try:
        for t in asyncio.as_completed(tasks): await t
    finally:
        for t in tasks: t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [t.result() for t in tasks]


def _collect(texts, parts: list, plan: list, model: str) -> Vector | Vectors:
    "Put every batch's vectors back in input order, with the usage added up; one Vector for a single str."
    vectors: list = [None] * sum(len(b) for _, b in plan)
    use = Use()
    for (start, batch), (vs, u) in zip(plan, parts):
        vectors[start:start + len(batch)] = vs
        use.add(u)
    if isinstance(texts, str): return Vector(vectors[0], use, model)
    return Vectors(vectors, use, model)


def _prepare(texts, model, batch_size, concurrency, kw) -> list[tuple[int, list[str]]]:
    items = _check(texts, batch_size, concurrency, kw)
    size, budget = batch_limits(model)
    return _plan(items, batch_size or size, budget)


def embed(texts: str | Sequence[str],     # one text (gives one Vector) or a list of texts (gives Vectors, in order)
          model: str = DEFAULT_EMBED_MODEL,  # LiteLLM embedding model name
          *,
          batch_size: int | None = None,  # most texts per request; None: the provider's limit (BATCH_LIMITS)
          concurrency: int = 4,           # most requests in flight at once (threads)
          **kw                            # passed to litellm.embedding: api_base, api_key, dimensions, encoding_format, ...
          ) -> Vector | Vectors:
    """Embed `texts` with `model`: a str gives one `Vector`, a list gives `Vectors` in input order.

        v = embed('A sentence.')                         # one Vector (a list of floats)
        vs = embed(texts, batch_size=100, concurrency=8) # Vectors, in the order of `texts`
        vs.use                                           # tokens, cost and requests, added up

    A list is split into batches the provider takes in one request (its documented limit unless `batch_size`
    says otherwise), run at most `concurrency` at a time. The first failure is raised as LiteLLM raised it and
    no batch starts after it, so a call returns every vector or none. Vectors sent as base64 come back as
    floats too. Each result has `.use` (tokens, cost from LiteLLM's price table, requests made). Batches also
    stay under the provider's documented per-request token cap, estimated from the texts' length."""
    plan = _prepare(texts, model, batch_size, concurrency, kw)
    if not plan: return Vectors([], Use(), model)
    parts = _in_threads(plan, concurrency,
                        lambda job: _result(lm().embedding(model=model, input=job[1], **kw), len(job[1]), model))
    return _collect(texts, parts, plan, model)


async def aembed(texts: str | Sequence[str],     # one text (gives one Vector) or a list of texts (gives Vectors, in order)
                 model: str = DEFAULT_EMBED_MODEL,  # LiteLLM embedding model name
                 *,
                 batch_size: int | None = None,  # most texts per request; None: the provider's limit (BATCH_LIMITS)
                 concurrency: int = 4,           # most requests in flight at once (tasks)
                 **kw                            # passed to litellm.aembedding: api_base, api_key, dimensions, ...
                 ) -> Vector | Vectors:
    "The async `embed`: batches run as tasks through `litellm.aembedding`; a failure cancels those in flight."
    plan = _prepare(texts, model, batch_size, concurrency, kw)
    if not plan: return Vectors([], Use(), model)

    async def run(job):
        resp = await lm().aembedding(model=model, input=job[1], **kw)
        return _result(resp, len(job[1]), model)
    return _collect(texts, await _in_tasks(plan, concurrency, run), plan, model)
