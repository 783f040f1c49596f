"""The turn engine: what one chat call sends and records, written once for Chat and AsyncChat.

`steps` is a generator that does no I/O. It yields a `Completion` (a request to send) or a
`RunTools` (tool calls to run), and the driver sends back the `ModelResponse` or the list of tool
messages. If the driver's I/O fails it throws the exception into the engine, which leaves
`chat.hist` valid to send (and says what it kept) before the exception goes on to the caller.
"""
from __future__ import annotations
from dataclasses import dataclass, field

from .msgs import MAX_CACHE_CKPTS, add_cache_ckpt, cache_positions, mk_msg, remove_cache_ckpts
from .tools import local_calls, mk_tc_result
from ._util import get
from .usage import Use

__all__ = ['Completion', 'RunTools', 'Turn', 'steps', 'place_ckpts', 'EFFORT']

EFFORT = {'l': 'low', 'm': 'medium', 'h': 'high'}


@dataclass
class Completion:
    "A request for the driver to send to LiteLLM."
    kwargs: dict                 # keyword arguments of litellm.completion / acompletion
    prefill: str | None = None   # text the reply continues (yielded first when streaming)


@dataclass
class RunTools:
    "Tool calls for the driver to run locally; it sends back one tool message per call, in order."
    calls: list


@dataclass
class Turn:
    "Everything one chat call needs, resolved from the Chat's settings and the call's arguments."
    new: list                    # messages of this call not yet in hist
    prefill: str | None = None
    stream: bool = False
    max_steps: int = 2
    final_prompt: str = ''
    tool_choice: object = None
    temp: float | None = None
    think: str | None = None
    search: str | None = None
    tools: list = field(default_factory=list)   # tool schemas sent to the model
    ns: dict = field(default_factory=dict)      # name -> callable for local tool calls
    kwargs: dict = field(default_factory=dict)  # other completion keywords


def _has_calls(m) -> bool: return bool(get(m, 'tool_calls'))


def place_ckpts(msgs: list, cache_idxs=(-1,), ttl=None, budget: int = MAX_CACHE_CKPTS) -> list:
    """Copies of `msgs` with cache checkpoints: at `cache_idxs` counted over the messages that are
    neither tool calls nor tool results, and on the two latest tool-call messages, so each step of
    a tool loop reads the prefix the step before it wrote. At most `budget`, the newest kept."""
    pos = set(cache_positions(msgs, cache_idxs))
    pos |= set([i for i, m in enumerate(msgs) if _has_calls(m)][-2:])
    keep = set(sorted(pos)[-budget:]) if budget > 0 else set()
    out = [remove_cache_ckpts(m) for m in msgs]
    return [add_cache_ckpt(m, ttl) if i in keep else m for i, m in enumerate(out)]


def _reply(resp, prefill):
    "The assistant message of `resp`, with the prefill put back in front so hist holds the whole reply."
    msg = resp.choices[0].message
    if prefill: msg.content = prefill + (msg.content or '')
    return msg


def _note(exc: BaseException, text: str):
    if hasattr(exc, 'add_note'): exc.add_note(text)


def _skipped(calls, why: str) -> list:
    "Tool messages answering `calls` with `why`, so no call in hist is left without a result."
    return [mk_tc_result(tc, why) for tc in calls]


def steps(chat, t: Turn):
    "The engine of one call (see module docstring). Returns the last ModelResponse."
    pending, n = list(t.new), 0
    while True:
        n += 1
        final = n >= t.max_steps  # the last request allowed: no more tools (max_steps=1 means none at all)
        if final and n > 1 and t.final_prompt: pending.append(mk_msg(t.final_prompt))
        req = chat._request(t, pending, first=n == 1, final=final)
        try: resp = yield req
        except BaseException as e:
            _note(e, 'lexi: chat.hist is unchanged by this call.' if n == 1 else
                  f'lexi: chat.hist keeps the {n - 1} completed step(s) of this call.')
            raise
        msg = _reply(resp, req.prefill)
        chat.hist.extend(pending + [msg])
        chat.use += Use.of(resp, chat.model)
        pending, calls = [], local_calls(get(msg, 'tool_calls'))
        if not calls: return resp
        if final:  # the model called tools despite tool_choice='none': answer them so hist stays valid
            chat.hist.extend(_skipped(calls, 'Not run: this call reached its step limit (max_steps).'))
            return resp
        try: results = yield RunTools(calls)
        except BaseException as e:
            chat.hist.extend(_skipped(calls, f'Not run: interrupted ({type(e).__name__}).'))
            _note(e, 'lexi: the interrupted tool calls are recorded in chat.hist as not run.')
            raise
        chat.hist.extend(results)
