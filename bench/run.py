"""lexi benchmarks, run on demand (`make bench`), never part of the test suite.

Prints one line per measurement. Every figure comes from this run on this machine; the ratios
compare lexi with the bare LiteLLM path it wraps, against lexi's loopback stand-in.
"""
from __future__ import annotations
import asyncio, json, os, statistics, subprocess, sys, time

os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')

IMPORT_PROBE = '''
import resource, sys, time
t = time.perf_counter(); import {mod}; dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
'''


def import_cost(mod: str, runs: int = 5) -> tuple[float, float]:
    "Median seconds and peak RSS (MB) of a fresh interpreter importing `mod`."
    res = [subprocess.run([sys.executable, '-c', IMPORT_PROBE.format(mod=mod)], capture_output=True, text=True,
                          check=True).stdout.split() for _ in range(runs)]
    return statistics.median(float(r[0]) for r in res), statistics.median(float(r[1]) for r in res)


def timed(fn, n: int) -> float:
    "Median seconds of `fn()` over n runs, after one warm-up."
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def bench_turn(srv, n=150):
    import litellm
    from lexi import Chat
    from lexi.testing import Reply
    kw, model = srv.kwargs('openai'), 'openai/gpt-4.1'
    def bare():
        srv.queue(Reply(text='Hello there, nice to meet you.'))
        litellm.completion(model=model, messages=[{'role': 'user', 'content': 'Hi'}], **kw)
    def lexi_turn():
        srv.queue(Reply(text='Hello there, nice to meet you.'))
        Chat(model, **kw)('Hi')
    # interleave the two to spread machine noise evenly
    a, b = [], []
    for _ in range(5): a.append(timed(bare, n // 5)); b.append(timed(lexi_turn, n // 5))
    return statistics.median(a), statistics.median(b)


def _tool_script(srv):
    from lexi.testing import Reply, ToolCall
    srv.queue(Reply(tool_calls=[ToolCall('slow', {'i': i}) for i in range(4)]), Reply(text='done'))


def slow(i: int) -> int:
    "Sleeps 0.3 s"
    time.sleep(0.3); return i


async def aslow(i: int) -> int:
    "Sleeps 0.3 s"
    await asyncio.sleep(0.3); return i


def bench_parallel_tools(srv, n=5):
    from lexi import AsyncChat, Chat
    kw, model = srv.kwargs('openai'), 'openai/gpt-4.1'
    def sync_step():
        _tool_script(srv); Chat(model, tools=[slow], **kw)('go', max_steps=5)
    def async_step():
        _tool_script(srv)
        aslow.__name__ = 'slow'
        asyncio.run(AsyncChat(model, tools=[aslow], **kw)('go', max_steps=5))
    return timed(sync_step, n), timed(async_step, n)


def bench_stream(srv, n=10, chunks=500):
    import litellm
    from lexi import Chat
    from lexi.testing import Reply
    kw, model, text = srv.kwargs('openai'), 'openai/gpt-4.1', 'abcd' * chunks
    def bare():
        srv.queue(Reply(text=text, chunk_size=4))
        for _ in litellm.completion(model=model, messages=[{'role': 'user', 'content': 'Hi'}], stream=True,
                                    stream_options={'include_usage': True}, **kw): pass
    def lexi_stream():
        srv.queue(Reply(text=text, chunk_size=4))
        for _ in Chat(model, **kw)('Hi', stream=True): pass
    a, b = [], []
    for _ in range(3): a.append(timed(bare, n)); b.append(timed(lexi_stream, n))
    return statistics.median(a), statistics.median(b)


def main():
    li_t, li_m = import_cost('litellm')
    lx_t, lx_m = import_cost('lexi')
    base_t, base_m = import_cost('json')
    print(f'import litellm: {li_t*1000:.0f} ms, {li_m - base_m:.0f} MB over a bare interpreter')
    print(f'import lexi:    {lx_t*1000:.1f} ms, {lx_m - base_m:.1f} MB over a bare interpreter')
    from lexi.testing import StandIn
    with StandIn() as srv:
        bare, lx = bench_turn(srv)
        print(f'one-turn call: bare litellm {bare*1000:.2f} ms, Chat {lx*1000:.2f} ms, ratio {lx/bare:.3f} (goal <= 1.03)')
        s, a = bench_parallel_tools(srv)
        print(f'4 parallel tools of 0.3 s (whole call, 2 requests): Chat {s:.3f} s, AsyncChat {a:.3f} s (goal <= 0.45 s)')
        bare, lx = bench_stream(srv)
        print(f'500-chunk stream: bare litellm {bare*1000:.1f} ms, Chat {lx*1000:.1f} ms, ratio {lx/bare:.3f} (goal <= 1.05)')


if __name__ == '__main__':
    main()
