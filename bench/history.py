"""Long conversations: what one more call costs as the history grows, lexi against bare LiteLLM.

- one more call at 10 / 100 / 1,000 / 5,000 messages, OpenAI and Anthropic with cache=True, with and without
  tool rounds in the history: lexi / bare `litellm.completion` given the very messages lexi sends;
- a 500-turn conversation, in total and per 100-turn segment: lexi / bare;
- lexi's own CPU per call with recorded replies (no HTTP, no LiteLLM) at 10 and 5,000 messages, and what each
  unchanged message adds to a call.

Run with `python bench/history.py` (also part of `make bench`). Every figure comes from this run.
"""
from __future__ import annotations
import copy, gc, json, os, statistics, subprocess, sys, time

os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')
os.environ.setdefault('LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS', 'True')
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

SERVE = """
import json, sys
from lexi.testing import StandIn, Reply
srv = StandIn().start()
srv.queue(*[Reply(text='Sure, here is the next part of the answer.') for _ in range(%d)])
print(json.dumps({p: srv.kwargs(p) for p in ('openai', 'anthropic')}), flush=True)
sys.stdin.read()
"""
MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5'}


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


def history(n: int, tools: bool) -> list:
    """n messages as a live chat holds them (user and tool messages as dicts, assistant replies as LiteLLM
    Messages), turns of about 100 characters; with `tools`, every 4th turn is a tool round."""
    from litellm.types.utils import Message
    from lexi.tools import mk_tc, mk_tc_result
    out, i = [], 0
    while len(out) < n:
        out.append({'role': 'user', 'content': f'Question {i}: what comes next in the series we were discussing?'})
        if tools and i % 4 == 3 and len(out) + 3 <= n:
            tc = mk_tc('add', json.dumps({'a': i, 'b': 1}))
            out += [Message(role='assistant', content='Let me add.', tool_calls=[tc]), mk_tc_result(tc, str(i + 1))]
        out.append(Message(role='assistant', content=f'Answer {i}: the next one follows the same rule as before, plus one.'))
        i += 1
    return out[:n]


def server(replies: int):
    child = subprocess.Popen([sys.executable, '-c', SERVE % replies], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return child, json.loads(child.stdout.readline())


def once(fn) -> float:
    gc.collect(); gc.disable()
    try:
        t = time.perf_counter(); fn(); return time.perf_counter() - t
    finally: gc.enable()


def one_more_call(kw: dict, provider: str, n: int, tools: bool, rounds: int) -> tuple[float, float, float]:
    "Median seconds of one more call, bare and lexi, and the median of their per-round ratios."
    import litellm
    from lexi import Chat
    hist = history(n, tools)
    opts = dict(cache=provider == 'anthropic', tools=[add] if tools else None, **kw[provider])
    chat = Chat(MODELS[provider], hist=hist, **opts)
    sent = []
    Chat(MODELS[provider], hist=hist, **{**opts, 'backend': lambda **k: sent.append(k) or litellm.completion(**k)})('Next?')
    request = sent[0]

    def lexi():
        chat('Next?')
        del chat.hist[n:]
    copies = []
    def bare(): litellm.completion(**copies.pop())
    pairs = []
    for r in range(rounds + 1):
        copies.append(copy.deepcopy(request))          # LiteLLM edits what it is given; copied outside the timing
        a, b = (once(bare), once(lexi)) if r % 2 else tuple(reversed((once(lexi), once(bare))))
        if r: pairs.append((a, b))
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs), statistics.median(b / a for a, b in pairs)


def conversation(kw: dict, turns: int = 500) -> tuple[list, list]:
    "Seconds per 100-turn segment of a `turns`-turn conversation, bare and lexi (OpenAI, no tools)."
    import litellm
    from lexi import Chat
    chat, msgs, lexi_t, bare_t = Chat(MODELS['openai'], **kw['openai']), [], [], []
    for i in range(turns):
        q = f'Turn {i}: and what comes after that?'
        t = time.perf_counter(); chat(q); lexi_t.append(time.perf_counter() - t)
        msgs.append({'role': 'user', 'content': q})
        t = time.perf_counter()
        r = litellm.completion(model=MODELS['openai'], messages=msgs, max_retries=0, **kw['openai'])
        bare_t.append(time.perf_counter() - t)
        msgs.append({'role': 'assistant', 'content': r.choices[0].message.content})
    seg = lambda ts: [sum(ts[k:k + 100]) for k in range(0, turns, 100)]
    return seg(bare_t), seg(lexi_t)


def own_cpu(n: int, calls: int = 40) -> float:
    """lexi's own CPU seconds per call with `n` messages of history (Anthropic, cache=True, tools), a recorded reply
    and no HTTP: the fastest of `calls` calls, each adding one user message and one reply (no edits)."""
    from lexi import Chat
    from lexi.testing import model_response
    resp = model_response('Sure, here is the next part.', MODELS['anthropic'])
    chat = Chat(MODELS['anthropic'], hist=history(n, True), cache=True, tools=[add], backend=lambda **k: resp)
    ts = []
    for _ in range(calls):
        gc.collect(); gc.disable()
        try:
            t = time.process_time(); chat('Next?'); ts.append(time.process_time() - t)
        finally: gc.enable()
    return min(ts[1:])


def main():
    print('long conversations: one more call, lexi / bare litellm.completion with the same messages (median of rounds)')
    child, kw = server(20000)
    try:
        for provider in ('openai', 'anthropic'):
            for tools in (False, True):
                for n in (10, 100, 1000, 5000):
                    rounds = 30 if n < 1000 else 10 if n == 1000 else 5
                    b, l, ratio = one_more_call(kw, provider, n, tools, rounds)
                    print(f"  {provider}{' cache=True' if provider == 'anthropic' else ''}, {'with' if tools else 'no'} tools, "
                          f'{n:>5} messages: bare {b * 1000:7.1f} ms, lexi {l * 1000:7.1f} ms, ratio {ratio:.3f} (goal <= 1.05)')
        bare, lexi = conversation(kw)
        print(f'  500-turn conversation: bare {sum(bare):.2f} s, lexi {sum(lexi):.2f} s, ratio {sum(lexi) / sum(bare):.3f} '
              f'(goal <= 1.05); per 100 turns: ' + ', '.join(f'{l / b:.3f}' for b, l in zip(bare, lexi)))
    finally: child.stdin.close(); child.wait()
    small, big = own_cpu(10), own_cpu(5000)
    print(f"  lexi's own CPU per call (Anthropic, cache=True, tools, recorded reply): {small * 1e6:.0f} us at 10 messages, "
          f'{big * 1e6:.0f} us at 5,000: {(big - small) / 4990 * 1e6:.2f} us per unchanged message (goal <= 1)')


if __name__ == '__main__':
    main()
