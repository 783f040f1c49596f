"""A short tour of lexi: a chat turn, a tool loop, and a streamed reply.

    python -m lexi.demo          (or `make demo`)

With LEXI_MODEL set to a LiteLLM model name (e.g. anthropic/claude-sonnet-4-5) and that
provider's API key in the environment, the tour talks to the real provider. Otherwise it runs
offline against lexi's built-in provider stand-in (lexi.testing) with scripted replies.
"""
from __future__ import annotations
import os, re, sys

from .chat import Chat
from .stream import delta_text

OFFLINE_MODEL = 'anthropic/claude-sonnet-4-5'


def simple_add(a: int,      # first operand
               b: int = 0,  # second operand
               ) -> int:
    "Add two numbers together"
    return a + b


def multiply(a: int, b: int) -> int:
    "Multiply two numbers"
    return a * b


def _live_model() -> str | None:
    "LEXI_MODEL, if its provider's API key is in the environment."
    model = os.environ.get('LEXI_MODEL')
    if not model: return None
    from ._litellm import lm
    env = lm().validate_environment(model=model)
    if env.get('keys_in_environment'): return model
    print(f"LEXI_MODEL={model} is set but {', '.join(env.get('missing_keys') or ['its API key'])} is not: running offline.")
    return None


def _script(srv):
    "The replies the stand-in gives offline, in the order the tour asks for them."
    from .testing import Reply, ToolCall
    srv.queue(Reply(text="Hello! I'm lexi's offline stand-in, answering from a script."),
              Reply(text="I'll add both pairs at once.", tool_calls=[ToolCall('simple_add', {'a': 5, 'b': 3}),
                                                                    ToolCall('simple_add', {'a': 7, 'b': 2})]),
              Reply(tool_calls=[ToolCall('multiply', {'a': 8, 'b': 9})]),
              Reply(text='(5 + 3) × (7 + 2) = 8 × 9 = **72**.'),
              Reply(text='1, 2, 3, 4, 5', chunk_size=3))


def tour(model: str, **kw):
    "Run the three parts of the tour against `model`, printing what happens."
    print('\n## 1. A chat turn')
    chat = Chat(model, sp='Be brief.', **kw)
    print('>', chat('Hi! Who are you?').choices[0].message.content)

    print('\n## 2. A tool loop (parallel calls, then a second step)')
    chat = Chat(model, tools=[simple_add, multiply], **kw)
    for o in chat('Calculate (5 + 3) * (7 + 2). Use the tools.', max_steps=5, return_all=True):
        if isinstance(o, dict): print(f"  tool {o['name']} -> {o['content']}")
        else:
            m = o.choices[0].message
            if m.content: print('>', m.content)
            for c in m.tool_calls or []: print(f'  🔧 {c.function.name}({c.function.arguments})')

    print('\n## 3. Streaming')
    from ._litellm import lm_types
    chunk_type, chat = lm_types().ModelResponseStream, Chat(model, **kw)
    print('> ', end='')
    for o in chat('Count to 5', stream=True):
        if isinstance(o, chunk_type): print(delta_text(o) or '', end='', flush=True)
    print(f'\n\nUsage of the last chat: {chat.use}')


def _live(model: str) -> int:
    """The tour against `model`; a provider that cannot be reached or refuses is reported in a few lines on
    stderr (what failed, and how to run offline), exit code 1, rather than a traceback. The live tour retries a
    failed request once (not twice, as a chat does by default), so an unreachable provider is reported in seconds."""
    print(f'lexi demo: talking to {model}.')
    try: tour(model, retries=1)
    except KeyboardInterrupt:
        print('\nlexi demo: interrupted.', file=sys.stderr)
        return 130
    except Exception as e:
        said = (str(e).strip().splitlines() or [''])[0][:300]
        said = re.sub(rf'^litellm\.{type(e).__name__}: ({type(e).__name__}: )?', '', said)  # LiteLLM repeats the name
        print(f'\nlexi demo: the request to {model} failed: {type(e).__name__}: {said}\n'
              f'Check LEXI_MODEL, the provider\'s API key and the network (or the base URL you set for it).\n'
              'To run the tour offline instead, unset LEXI_MODEL: `unset LEXI_MODEL; python -m lexi.demo`.', file=sys.stderr)
        return 1
    return 0


def main() -> int:
    model = _live_model()
    if model: return _live(model)
    from .testing import StandIn
    print('lexi demo: no provider configured (set LEXI_MODEL and its API key to use a real one).\n'
          'Running OFFLINE against lexi.testing.StandIn, a local stand-in provider with scripted replies.')
    with StandIn() as srv:
        _script(srv)
        tour(OFFLINE_MODEL, **srv.kwargs('anthropic'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
