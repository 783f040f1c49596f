"""Benchmark of lexi.embed: 1,000 texts through `embed` against the stand-in with a 100 ms reply delay.

Run on demand (`python bench/embed.py`), never part of the test suite. The stand-in runs in a child
process (as in bench/run.py), so its server threads do not share a GIL with the client. The figure is
wall / ideal, where ideal is ceil(batches / concurrency) * delay: what perfectly overlapped batches
would take with zero client and HTTP cost. 1.0 is the floor; the excess is LiteLLM's and lexi's work
per request plus the loopback HTTP round trips.
"""
from __future__ import annotations
import math, os, statistics, subprocess, sys, time

os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')

SERVE = """
import sys
from lexi.testing import StandIn, Embeddings
srv = StandIn().start()
srv.queue(*[Embeddings([[0.5] * %d] * %d, tokens=%d, delay=%r) for _ in range(%d)])
print(srv.kwargs('openai')['api_base'], flush=True)
sys.stdin.read()
"""
MODEL = 'openai/text-embedding-3-small'


def _timed(call, n: int, batch_size: int, delay: float, dims: int, rounds: int) -> float:
    "Median wall seconds of `call(texts, kw)` over `rounds` calls (after one warm-up) against a stand-in in a child process."
    batches = n // batch_size
    if batches * batch_size != n: raise ValueError('Pick n a multiple of batch_size: every scripted reply has batch_size vectors.')
    child = subprocess.Popen([sys.executable, '-c', SERVE % (dims, batch_size, batch_size * 8, delay, batches * (rounds + 1))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    kw = dict(api_base=child.stdout.readline().strip(), api_key='test-key')
    texts = [f'Text number {i} to embed.' for i in range(n)]
    walls = []
    try:
        for r in range(rounds + 1):
            t = time.perf_counter()
            call(texts, kw)
            if r: walls.append(time.perf_counter() - t)   # round 0 warms up LiteLLM and its HTTP clients
    finally: child.stdin.close(); child.wait()
    return statistics.median(walls)


def bench_embed(n: int = 1000,            # texts embedded per timed call
                concurrency: int = 4,     # embed's concurrency (its default)
                delay: float = 0.1,       # the stand-in's reply delay per request, seconds
                batch_size: int = 50,     # texts per request: 1,000 / 50 = 20 requests
                dims: int = 64,           # floats per vector
                rounds: int = 3) -> tuple[float, float, float]:
    "(median wall seconds, ideal seconds, wall / ideal) of `embed` over `rounds` timed calls, after one warm-up call."
    from lexi.embed import embed
    def call(texts, kw):
        vs = embed(texts, MODEL, batch_size=batch_size, concurrency=concurrency, **kw)
        assert len(vs) == n and vs.use.calls == n // batch_size
    wall = _timed(call, n, batch_size, delay, dims, rounds)
    ideal = math.ceil(n / batch_size / concurrency) * delay
    return wall, ideal, wall / ideal


def bench_bare(n: int = 1000, concurrency: int = 4, delay: float = 0.1, batch_size: int = 50, dims: int = 64,
               rounds: int = 3) -> float:
    """The control: the same batches through bare litellm.embedding in a thread pool of the same size (no
    checks, no usage, no reordering). Median wall seconds; the gap to `ideal` is LiteLLM's own work per request."""
    import litellm
    from concurrent.futures import ThreadPoolExecutor
    def call(texts, kw):
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda i: litellm.embedding(model=MODEL, input=texts[i:i + batch_size], **kw),
                          range(0, n, batch_size)))
    return _timed(call, n, batch_size, delay, dims, rounds)


def main():
    for concurrency in (4, 10):
        wall, ideal, ratio = bench_embed(concurrency=concurrency)
        bare = bench_bare(concurrency=concurrency)
        print(f'embed 1,000 texts (20 batches of 50, 100 ms reply delay, concurrency {concurrency}): '
              f'wall {wall:.3f} s, ideal {ideal:.3f} s, wall / ideal {ratio:.3f}; '
              f'bare litellm.embedding in a {concurrency}-thread pool {bare:.3f} s ({bare / ideal:.3f} of ideal)')


if __name__ == '__main__':
    main()
