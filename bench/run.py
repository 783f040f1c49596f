"""lexi benchmarks, run on demand (`make bench`), never part of the test suite.

Prints one line per measurement. Every figure comes from this run on this machine; the ratios
compare lexi with the bare LiteLLM path it wraps, against lexi's loopback stand-in.
"""
from __future__ import annotations
import asyncio, gc, json, os, statistics, subprocess, sys, time

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


SERVE = """
import sys
from lexi.testing import StandIn, Reply
srv = StandIn().start()
srv.queue(*[Reply(text=%r) for _ in range(%d)])
print(srv.kwargs('openai')['api_base'], flush=True)
sys.stdin.read()
"""


def paired(bare, lexi, text: str, rounds: int, settle: float):
    """Median times of `bare` and `lexi`, and the median of their per-round ratios. The two alternate
    call by call (order flipped every round) against a stand-in in its own process, so neither
    shares a GIL with the server's threads and machine noise falls on both alike. Each call starts
    `settle` seconds after the last, once LiteLLM's background logging thread (which rebuilds every
    streamed response) is done, so one call's clean-up does not land in the next one's time."""
    child = subprocess.Popen([sys.executable, '-c', SERVE % (text, 2 * rounds + 2)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    kw = dict(api_base=child.stdout.readline().strip(), api_key='test-key')
    def once(fn):  # as timeit does: collect first, no GC pause inside the timed call
        time.sleep(settle); gc.collect(); gc.disable()
        try:
            t, c = time.perf_counter(), time.process_time()
            fn(kw)
            return time.perf_counter() - t, time.process_time() - c
        finally: gc.enable()
    try:
        once(bare); once(lexi)
        pairs = []
        for i in range(rounds):
            if i % 2: b = once(lexi); a = once(bare)
            else: a = once(bare); b = once(lexi)
            pairs.append((a, b))
    finally: child.stdin.close(); child.wait()
    med = lambda xs: statistics.median(xs)
    return dict(bare=med(a[0] for a, _ in pairs), lexi=med(b[0] for _, b in pairs),
                wall_ratio=med(b[0] / a[0] for a, b in pairs), cpu_ratio=med(b[1] / a[1] for a, b in pairs))


MODEL, HI = 'openai/gpt-4.1', [{'role': 'user', 'content': 'Hi'}]


def bench_turn(rounds=300, caller_work=0.0):
    """Chat vs bare litellm.completion. With caller_work, the bare side also spends that many seconds
    after the call, as any caller does: LiteLLM's post-call logging thread then competes for the GIL
    with it, as it does with lexi's own bookkeeping (a control for that effect)."""
    import litellm
    from lexi import Chat
    def bare(kw):
        r, t = litellm.completion(model=MODEL, messages=HI, **kw), time.perf_counter()
        while time.perf_counter() - t < caller_work: pass
        return r
    return paired(bare, lambda kw: Chat(MODEL, **kw)('Hi'), 'Hello there, nice to meet you.', rounds, settle=0.005)


def bench_stream(rounds=30, chunks=500, logging=True):
    """LiteLLM hands every chunk to a logging thread pool, whose work lands at random in later timings;
    with logging=False that is off for both sides (a benchmark setting, not lexi's), which makes the
    ratio stricter (a smaller denominator) and less noisy."""
    import litellm
    from lexi import Chat
    litellm.disable_streaming_logging = not logging
    def bare(kw):
        for _ in litellm.completion(model=MODEL, messages=HI, stream=True, stream_options={'include_usage': True}, **kw): pass
    def lexi(kw):
        for _ in Chat(MODEL, **kw)('Hi', stream=True): pass
    # distinct words, one chunk each (LiteLLM aborts a stream that repeats the same chunk)
    return paired(bare, lexi, ' '.join(f'w{i}' for i in range(chunks)), rounds, settle=0.3)


def own_cost(srv, chunks=500, n=50):
    """lexi's own time per call, without HTTP: a Chat whose provider call returns a recorded response
    (or a recorded chunk list), so only lexi's work is timed. Stable where the wall ratios are noisy."""
    import litellm
    from lexi.testing import Reply
    from lexi import Chat
    srv.queue(Reply(text='Hello there, nice to meet you.'), Reply(text=' '.join(f'w{i}' for i in range(chunks))))
    kw = srv.kwargs('openai')
    resp = litellm.completion(model=MODEL, messages=HI, **kw)
    recorded = list(litellm.completion(model=MODEL, messages=HI, stream=True, stream_options={'include_usage': True}, **kw))
    backend = lambda **k: iter(recorded) if k.get('stream') else resp
    turn = timed(lambda: Chat(MODEL, backend=backend)('Hi'), n * 10)
    stream = timed(lambda: list(Chat(MODEL, backend=backend)('Hi', stream=True)), n)
    return turn, stream


def _tool_script(srv, name):
    from lexi.testing import Reply, ToolCall
    srv.queue(Reply(tool_calls=[ToolCall(name, {'i': i}) for i in range(4)]), Reply(text='done'))


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
        _tool_script(srv, 'slow'); Chat(model, tools=[slow], **kw)('go', max_steps=5)
    def async_step():
        _tool_script(srv, 'aslow')
        asyncio.run(AsyncChat(model, tools=[aslow], **kw)('go', max_steps=5))
    return timed(sync_step, n), timed(async_step, n)


def bench_cache_share(steps=20):
    """A `steps`-request Anthropic tool loop with cache=True against the stand-in's simulation of
    Anthropic's prompt cache: tokens read from the cache, as a share of the ceiling (the prefix each
    request shares with the one before it), and as a share of all input."""
    from lexi import Chat, Use
    from lexi.testing import Reply, StandIn, ToolCall
    from lexi.testing._cache import shared_prefix
    from litellm import ModelResponse
    with StandIn(prompt_cache=True) as srv:
        srv.queue(*[Reply(text=f'Step {i}.', tool_calls=[ToolCall('slow', {'i': i})]) for i in range(steps - 1)], Reply(text='done'))
        chat = Chat('anthropic/claude-sonnet-4-5', sp='You count. ' * 100, tools=[slow], cache=True, **srv.kwargs('anthropic'))
        uses = [Use.of(o) for o in chat('Count with the tool. ' * 50, max_steps=steps + 1, return_all=True, ns={'slow': int})
                if isinstance(o, ModelResponse)]
        reqs = [r.body for r in srv.requests]
    ceiling = sum(shared_prefix(a, b) for a, b in zip(reqs, reqs[1:]))
    read, total = sum(u.cached for u in uses), sum(u.input for u in uses)
    return read / ceiling, read / total, ceiling / total


REPORT_JSON = json.dumps({'title': 'Cities', 'cities': [{'name': f'City {i}', 'population': 1000 * i, 'note': 'x' * 20}
                                                        for i in range(30)]})  # about 2 KB


def _report_type():
    from pydantic import BaseModel
    class City(BaseModel):
        name: str
        population: int
        note: str = ''
    class Report(BaseModel):
        title: str
        cities: list[City]
    return Report


def bench_struct(rounds=200):
    "chat.struct one turn vs bare litellm.completion sending the same response_format (and parsing nothing)."
    import litellm
    from lexi import Chat
    from lexi.structured import Output
    Report = _report_type()
    fmt = Output(Report, tool_mode=False, user_tools=False).add_to({}, final=False)['response_format']
    bare = lambda kw: litellm.completion(model=MODEL, messages=HI, response_format=fmt, **kw)
    return paired(bare, lambda kw: Chat(MODEL, **kw).struct('Hi', Report), REPORT_JSON, rounds, settle=0.005)


def bench_partials(sizes=(1, 4, 16, 64, 256)):
    """What a streamed struct does per chunk (feed the text, build a partial instance when a field
    completes), for the same ~2 KB object cut into pieces of each size: total and per-chunk time."""
    from lexi.structured import Output
    from lexi.testing import response_chunks, Reply
    Report, out = _report_type(), None
    res = []
    for size in sizes:
        chunks = response_chunks(Reply(text=REPORT_JSON, chunk_size=size))
        def run():
            view = Output(Report, tool_mode=False, user_tools=False).partials()
            for c in chunks: view(c)
        total = timed(run, 5)
        res.append((size, len(chunks), total))
    return res


def bench_partials_growth(counts=(15, 30, 60, 120), size=4):
    "The same per-chunk work for objects of 1, 2, 4 and 8 KB: linear total time means no quadratic re-parsing."
    from lexi.structured import Output
    from lexi.testing import response_chunks, Reply
    Report, res = _report_type(), []
    for n in counts:
        text = json.dumps({'title': 'Cities', 'cities': [{'name': f'City {i}', 'population': 1000 * i, 'note': 'x' * 20}
                                                        for i in range(n)]})
        chunks = response_chunks(Reply(text=text, chunk_size=size))
        def run():
            view = Output(Report, tool_mode=False, user_tools=False).partials()
            for c in chunks: view(c)
        res.append((len(text), len(chunks), timed(run, 5)))
    return res


def main():
    li_t, li_m = import_cost('litellm')
    lx_t, lx_m = import_cost('lexi')
    base_t, base_m = import_cost('json')
    print(f'import litellm: {li_t*1000:.0f} ms, {li_m - base_m:.0f} MB over a bare interpreter')
    print(f'import lexi:    {lx_t*1000:.1f} ms, {lx_m - base_m:.1f} MB over a bare interpreter')
    for work in (0.0, 40e-6):
        r = bench_turn(caller_work=work)
        print(f"one-turn call: bare litellm{f' + {work*1e6:.0f} µs caller work' if work else ''} {r['bare']*1000:.2f} ms, "
              f"Chat {r['lexi']*1000:.2f} ms, ratio {r['wall_ratio']:.3f} wall, {r['cpu_ratio']:.3f} client CPU (goal <= 1.02)")
    from lexi.testing import StandIn
    with StandIn() as srv:
        turn, stream = own_cost(srv)
        print(f"lexi's own time (recorded replies, no HTTP): one turn {turn*1000:.3f} ms, 500-chunk stream {stream*1000:.2f} ms")
        s, a = bench_parallel_tools(srv)
        print(f'4 parallel tools of 0.3 s (whole call, 2 requests): Chat {s:.3f} s, AsyncChat {a:.3f} s (goal <= 0.35 s)')
    share, of_input, ceiling = bench_cache_share()
    print(f'20-step cached Anthropic tool loop: cache reads {share:.2%} of the ceiling (goal >= 99.5%); '
          f'{of_input:.1%} of all input read from cache, ceiling {ceiling:.1%}')
    r = bench_struct()
    print(f"struct one turn (2 KB object): bare litellm with the same response_format {r['bare']*1000:.2f} ms, "
          f"chat.struct {r['lexi']*1000:.2f} ms, ratio {r['wall_ratio']:.3f} wall (goal <= 1.03)")
    for size, n, total in bench_partials():
        print(f'streamed struct partials, 2 KB in {size:>3}-character chunks: {n:>5} chunks, {total*1000:7.2f} ms, '
              f'{total/n*1e6:6.1f} µs per chunk, {total/len(REPORT_JSON)*1e6:5.2f} µs per character')
    for size, n, total in bench_partials_growth():
        print(f'streamed struct partials, {size/1000:4.1f} KB object in 4-character chunks: {n:>5} chunks, {total*1000:7.2f} ms, '
              f'{total/n*1e6:5.1f} µs per chunk')
    for logging in (True, False):
        r = bench_stream(logging=logging)
        print(f"500-chunk stream (LiteLLM stream logging {'on' if logging else 'off'}): bare litellm {r['bare']*1000:.1f} ms, "
              f"Chat {r['lexi']*1000:.1f} ms, ratio {r['wall_ratio']:.3f} wall, {r['cpu_ratio']:.3f} client CPU (goal <= 1.05)")
    import embed, fmt_curve, history, scale   # the other benchmarks in bench/, beside this file
    scale.main()
    embed.main()
    fmt_curve.main()
    history.main()


if __name__ == '__main__':
    main()
