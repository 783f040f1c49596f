"""Benchmarks of lexi's work at scale: `batch` against bare `litellm.batch_completion`, and a shared RateLimit.

Run on demand (`python bench/scale.py`, or as part of `make bench`), never in the test suite. The
stand-in runs in a child process (as in bench/run.py) so its server threads do not share the
client's GIL, and every reply waits 100 ms, as a provider would.

- batch: 400 prompts at concurrency 40 take ideally 400 / 40 x 0.1 s = 1.0 s; the figure is wall / ideal,
  next to litellm.batch_completion with 40 workers on the same prompts.
- rate limit: RateLimit(rpm=600) shared by 4 threads for 20 s; the figures are the most requests in
  any 1-second window (the limit allows 10) and the throughput as a share of 10 per second.
"""
from __future__ import annotations
import os, statistics, subprocess, sys, threading, time

os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')

SERVE = """
import sys
from lexi.testing import StandIn, Reply
srv = StandIn().start()
srv.queue(*[Reply(text='ok', delay=%r) for _ in range(%d)])
print(srv.kwargs('openai')['api_base'], flush=True)
sys.stdin.read()
"""
MODEL = 'openai/gpt-4.1'


class Server:
    "A stand-in in a child process answering `n` requests, each after `delay` seconds."
    def __init__(self, n: int, delay: float = 0.1):
        self.child = subprocess.Popen([sys.executable, '-c', SERVE % (delay, n)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.kw = dict(api_base=self.child.stdout.readline().strip(), api_key='test-key')

    def __enter__(self): return self
    def __exit__(self, *exc): self.child.stdin.close(); self.child.wait()


def bench_batch(n: int = 400, concurrency: int = 40, delay: float = 0.1, rounds: int = 5) -> dict:
    """Median wall seconds of lexi.batch, of litellm.batch_completion (a thread pool) and of bare
    litellm.acompletion under a semaphore (the floor LiteLLM itself sets) on the same `n` prompts, in
    turn round by round (order rotated, after one warm-up of each), each also as a share of the ideal."""
    import asyncio
    import litellm
    from lexi import Chat, batch
    prompts = [f'Question {i}' for i in range(n)]
    with Server(n * 3 * (rounds + 1), delay) as srv:   # three runners, each round
        chat = Chat(MODEL, **srv.kw)
        def run_lexi():
            rs = batch(prompts, chat, concurrency=concurrency, progress=False)
            assert not [r for r in rs if isinstance(r, Exception)], [r for r in rs if isinstance(r, Exception)][:1]
        def run_bare():
            rs = litellm.batch_completion(model=MODEL, messages=[[{'role': 'user', 'content': p}] for p in prompts],
                                          max_workers=concurrency, **srv.kw)
            assert not [r for r in rs if isinstance(r, Exception)], [r for r in rs if isinstance(r, Exception)][:1]
        async def bare_async():
            sem = asyncio.Semaphore(concurrency)
            async def one(p):
                async with sem: return await litellm.acompletion(model=MODEL, messages=[{'role': 'user', 'content': p}], **srv.kw)
            await asyncio.gather(*map(one, prompts))
        runs = [('lexi', run_lexi), ('bare', run_bare), ('acompletion', lambda: asyncio.run(bare_async()))]
        times = {name: [] for name, _ in runs}
        for r in range(rounds + 1):
            for name, fn in runs[r % 3:] + runs[:r % 3]:
                t = time.perf_counter(); fn(); dt = time.perf_counter() - t
                if r: times[name].append(dt)
    ideal = n / concurrency * delay
    out = {name: statistics.median(ts) for name, ts in times.items()}
    return dict(ideal=ideal, **out, **{f'{name}_ratio': t / ideal for name, t in out.items()})


def bench_rate_limit(rpm: float = 600, threads: int = 4, seconds: float = 20.0, delay: float = 0.1) -> dict:
    """`threads` threads, each with its own Chat, share one RateLimit(rpm) and send as fast as it lets them
    for `seconds`. The time each request leaves is taken as the backend is called (after the limiter's
    wait): the most requests in any 1-second window, and throughput as a share of rpm / 60 per second."""
    import litellm
    from lexi import Chat, RateLimit
    lim, sent, lock = RateLimit(rpm=rpm), [], threading.Lock()
    with Server(int(rpm / 60 * seconds * 2) + 100, delay) as srv:
        def backend(**kw):
            with lock: sent.append(time.monotonic())
            return litellm.completion(**kw)
        Chat(MODEL, backend=backend, **srv.kw)('warm up')   # LiteLLM's first call builds its HTTP client
        sent.clear()
        start = time.monotonic()
        def work():
            chat = Chat(MODEL, backend=backend, rate_limit=lim, **srv.kw)
            while time.monotonic() - start < seconds:
                chat.hist = []
                chat('Hi')
        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts: t.start()
        for t in ts: t.join()
    inside = sorted(t - start for t in sent if t - start < seconds)
    most = max(sum(1 for u in inside[i:] if u < t + 1.0) for i, t in enumerate(inside))
    return dict(requests=len(inside), most_in_a_second=most, allowed=rpm / 60,
                throughput=len(inside) / seconds / (rpm / 60))


def main():
    r = bench_batch()
    print(f"batch of 400 prompts at concurrency 40 (100 ms replies, ideal {r['ideal']:.2f} s): lexi.batch {r['lexi']:.3f} s "
          f"(wall / ideal {r['lexi_ratio']:.3f}, goal <= 1.15); litellm.batch_completion {r['bare']:.3f} s ({r['bare_ratio']:.3f}); "
          f"bare litellm.acompletion, 40 at a time {r['acompletion']:.3f} s ({r['acompletion_ratio']:.3f}); "
          f"lexi.batch / acompletion {r['lexi'] / r['acompletion']:.3f}")
    r = bench_rate_limit()
    print(f"RateLimit(rpm=600) shared by 4 threads for 20 s: {r['requests']} requests, at most {r['most_in_a_second']} in any "
          f"1-second window (limit {r['allowed']:.0f}, goal <= {r['allowed'] + 1:.0f}), throughput {r['throughput']:.1%} of the limit (goal >= 95%)")


if __name__ == '__main__':
    main()
