"""The turn engine: what one chat call sends, shows and records, written once for Chat and AsyncChat.

`turn(settings, msg, log)` checks the call (a UsageError before anything is sent) and returns a
generator that does no I/O. It yields steps, each saying completely what its driver is to do:

- `Send(request, stream, postproc, view)`: call the backend with the keyword arguments `request`;
  when `stream`, hand each chunk (after `postproc`, and through `view` when set: a structured call
  shows partial instances instead of chunks) to the caller as it arrives, keeping it in `received`;
  send back the complete ModelResponse.
- `RunTools(calls, ns, parallel)`: run these tool calls, looking tools up only in `ns`
  (concurrently when `parallel`); send back one tool message per call, in order.
- `Show(items)`: hand these items to the caller, in order.
- `Wait(seconds)`: wait, then carry on: before a retry, or while a rate limit has no room.

The generator returns the call's last ModelResponse (with `output_type`: the validated instance). Everything is recorded into the `Log` it is
handed (history, usage, last response) before the caller sees it. When the driver's I/O fails, it
throws the exception in: the engine leaves `log.hist` valid to send, notes on the exception what it
kept, and re-raises. New behaviour (waiting before a retry, continuing a truncated reply, re-asking
after a validation error) is a new step type or a new branch here; drivers only do I/O.
"""
from __future__ import annotations
import itertools
from dataclasses import dataclass, field
from typing import Callable, Mapping

from . import _caps
from ._backend import models as reachable_models
from ._litellm import answered_model, count_tokens, stream_chunk
from ._precheck import check_key, check_something_sent
from ._log import Log
from ._request import build_request, check_kwargs, check_text
from ._settings import Settings
from ._util import get
from .cite import cite_footnote
from ._continue import Joiner, continue_message
from .errors import EmptyResponseError, IncompleteResponseError, StructuredOutputError, UsageError, is_retryable, name_reply_error
from .resilience import retry_wait
from .structured import Output
from .msgs import mk_msg
from .tools import arg_errors, local_calls, mk_tc_result
from .usage import Use

__all__ = ['Send', 'RunTools', 'Show', 'Wait', 'Log', 'turn']   # Log lives in lexi/_log.py


@dataclass
class Send:
    "Send one request through the backend; the driver sends back the complete ModelResponse."
    request: dict                        # keyword arguments of litellm.completion
    stream: bool = False                 # pass the reply's chunks to the caller as they arrive
    postproc: Callable | None = None     # applied to each chunk (in place) before the caller sees it
    view: Callable | None = None         # chunk -> the items the caller sees for it (None: the chunk itself)
    received: list = field(default_factory=list)  # the chunks passed to the caller so far (the driver appends them)


@dataclass
class RunTools:
    "Run these tool calls; the driver sends back one tool message per call, in order."
    calls: list                          # the model's tool calls
    ns: Mapping                          # name -> callable: the only place tools are looked up
    parallel: bool = True                # run them concurrently
    done: dict = field(default_factory=dict)  # position -> tool message, as each call finishes (the driver fills it)


@dataclass
class Show:
    "Hand these items to the caller (complete responses, tool results, a prefill chunk)."
    items: list


@dataclass
class Wait:
    "Wait this long (without blocking an event loop), then send back None: before a retry, or for a rate limit."
    seconds: float
    why: str = ''


def _names(models: list) -> str: return ', '.join(models)


def _thinking_claude(s: Settings, reach: list) -> list:
    "The Claude models among `reach` when the call thinks: Anthropic takes no prefill with extended thinking."
    return [m for m in reach if 'claude' in m.lower()] if s.think else []


def _check(s: Settings, reach: list, audio: bool):
    "UsageError, before anything is sent, for what a model the request may reach is known not to take."
    if s.think and (no := _caps.lacking(reach, _caps.has_reasoning)):
        raise UsageError(f'{_names(no)} does not support reasoning according to LiteLLM; call without think=.')
    if s.search and (no := _caps.lacking(reach, _caps.has_search)):
        raise UsageError(f'{_names(no)} does not support web search according to LiteLLM; call without search=, '
                         'or pass web_search_options=... yourself to send it anyway.')
    if s.prefill and (no := _caps.lacking(reach, _caps.takes_prefill)):
        raise UsageError(f'{_names(no)} does not take an assistant prefill (LiteLLM: supports_assistant_prefill is False; '
                         'the provider refuses such a request). Ask for the opening you want in the prompt instead, '
                         'or use output_type= for JSON.')
    if s.prefill and (claude := _thinking_claude(s, reach)):
        raise UsageError(f'{_names(claude)} takes no prefill with extended thinking (Anthropic: prefilling is only '
                         'available without it); drop prefill= or think=.')
    if audio and (no := _caps.lacking(reach, _caps.takes_audio)):
        raise UsageError(f'{_names(no)} does not take audio input according to LiteLLM; use a model that does '
                         '(for example gemini/gemini-2.5-flash), or send a transcript as text.')


def _check_sendable(s: Settings, new: list, log: Log):
    """UsageError, before anything is sent, for a message (new, or new to hist since the last call), text or keyword
    LiteLLM cannot send."""
    check_kwargs(s)
    log.entries(new)
    for name in ('sp', 'prefill'):
        if isinstance(text := getattr(s, name), str): check_text(text, name)


def _output(s: Settings, reach: list):
    "How a call with output_type asks for it (see lexi/structured.py); None without output_type."
    if s.output_type is None: return None
    if s.prefill: raise UsageError('prefill= cannot be combined with output_type= (the answer must be JSON); drop one.')
    tool_mode = bool(s.tools) or bool(_caps.lacking(reach, _caps.takes_schema)) or any(_caps.takes_schema(m) is None for m in reach)
    return Output(s.output_type, tool_mode=tool_mode, user_tools=bool(s.tools))


def turn(s: Settings, msg, log: Log):
    "Check one call and return its engine (a generator, not yet started); see the module docstring."
    reach = reachable_models(s.backend, s.model)
    new = [] if msg is None else [mk_msg(msg)]
    check_something_sent(new, log.hist)
    _check_sendable(s, new, log)
    _check(s, reach, log.prepared.audio)
    check_key(s, reach)
    return _steps(s, new, log, s.cache and _caps.wants_ckpts(reach), _output(s, reach), reach)


def _note(exc: BaseException, text: str):
    if hasattr(exc, 'add_note'): exc.add_note(text)


def _skipped(calls, why: str) -> list:
    "Tool messages answering `calls` with `why`, so no call in hist is left without a result."
    return [mk_tc_result(tc, why) for tc in calls]


def _interrupted_tools(e: BaseException, calls: list, done: dict, log: Log):
    """Record an interrupted step's calls: a tool that finished keeps its result (it ran: the model must not be
    told otherwise, or it may run a tool with side effects again), the others are answered as not run."""
    why = f'Not run: interrupted ({type(e).__name__}).'
    log.hist.extend(done.get(i) or mk_tc_result(tc, why) for i, tc in enumerate(calls))
    _note(e, f'lexi: {len(done)} of the step\'s {len(calls)} tool call(s) had finished and keep their results in '
             'chat.hist; the others are recorded as not run.')


def _reply(resp, prefill: str | None, model: str):
    "The assistant message of `resp`, with the prefill put back in front so hist holds the whole reply."
    choices = get(resp, 'choices')
    if not isinstance(choices, list):
        raise UsageError(f'the backend returned {type(resp).__name__}, not a response; a backend returns what '
                         'litellm.completion returns (a ModelResponse, or chunks for stream=True).')
    if not choices: raise EmptyResponseError.of(resp, model)
    msg = choices[0].message
    if prefill: msg.content = prefill + (msg.content or '')
    return msg


def _deltas(chunks: list) -> list:
    return [get(c.choices[0], 'delta') for c in chunks if get(c, 'choices')]


def _streamed_text(chunks: list) -> str:
    return ''.join(get(d, 'content') or '' for d in _deltas(chunks))


def _kept_note(e: BaseException, text: str, chunks: list, pending: list) -> str:
    "What a stream that ended part-way left in hist, said on its exception."
    how = 'was stopped part-way' if not isinstance(e, Exception) else f'failed part-way ({type(e).__name__})'
    mine = 'your message and ' if pending else ''
    calls = any(get(d, 'tool_calls') for d in _deltas(chunks))
    return (f"lexi: the reply {how}; chat.hist keeps {mine}the {len(text)} characters streamed so far as the "
            "assistant's (partial) reply" + ('; the tool calls it had begun are left out (none was run).' if calls else '.'))


def _interrupted(e: BaseException, send: Send, pending: list, prefill, log: Log, step: int, partial=None):
    """Record what a failed request leaves: when a stream ended part-way after text reached the caller
    (the caller closed, cancelled or interrupted it, or it failed: a reset, a stall past timeout=, an
    error event), that text as the assistant's reply, since the caller has seen it; otherwise nothing.
    Tool calls it had begun are left out, so no call is without a result. A failed continuation
    (`partial` gives the answer so far) always keeps the answer so far."""
    if partial is not None:
        log.hist.extend(pending + [{'role': 'assistant', 'content': partial()}])
        _note(e, 'lexi: the answer was cut by the token limit and asking for the rest failed; '
                 'chat.hist keeps the answer so far as the reply.')
        return
    text = (prefill or '') + _streamed_text(send.received)
    if send.received and text.strip():
        log.hist.extend(pending + [{'role': 'assistant', 'content': text}])
        _note(e, _kept_note(e, text, send.received, pending))
    else: _note(e, 'lexi: chat.hist is unchanged by this call.' if step == 1 else
                f'lexi: chat.hist keeps the {step - 1} completed step(s) of this call.')


def _tokens(s: Settings, kw: dict, log: Log) -> int:
    """A request's tokens as a rate limit counts them: LiteLLM's estimate of its input, plus max_tokens. The
    history's messages are counted once each and kept (lexi/_prepared.py), the system prompt for the request (a
    prefill or the short user turn put before an assistant-first history adds a few tokens this leaves out)."""
    out = s.completion_kwargs.get('max_tokens') or s.completion_kwargs.get('max_completion_tokens') or 0
    system = [m for m in kw['messages'] if m.get('role') == 'system']
    return log.prepared.tokens(s.model) + count_tokens(s.model, system) + int(out)


def _send(s: Settings, kw: dict, make_view, pending: list, prefill, log: Log, step: int, partial=None):
    """One request, sent again after a retryable failure that reached the caller with nothing (at most
    `s.retries` times, waiting as lexi.resilience.retry_wait says); each attempt waits for the rate limit.
    `make_view` makes each streamed attempt's view (None: chunks as they are). Returns (response, its
    assistant message)."""
    tokens = _tokens(s, kw, log) if s.rate_limit is not None and s.rate_limit.tpm else 0
    for attempt in itertools.count(1):
        send = Send(kw, stream=s.stream, postproc=cite_footnote if s.stream else None,
                    view=make_view() if make_view and s.stream else None)
        try:
            if s.rate_limit is not None and (wait := s.rate_limit.reserve(tokens)) > 0: yield Wait(wait, 'rate limit')
            resp = yield send
            if tokens and isinstance(used := get(get(resp, 'usage'), 'total_tokens'), int):
                s.rate_limit.settle(tokens, used)   # the estimate booked before sending, corrected by the reply's usage
            if get(resp, 'choices') == []: log.record([], resp, s.model)   # billed all the same
            return resp, _reply(resp, prefill, s.model)
        except Exception as e:
            name_reply_error(e)
            if attempt > s.retries or send.received or not is_retryable(e):
                if attempt > 1: _note(e, f'lexi: gave up after {attempt} attempts (retries={s.retries}); this is the last error.')
                _interrupted(e, send, pending, prefill, log, step, partial)
                raise
            retry = e
        except BaseException as e:
            _interrupted(e, send, pending, prefill, log, step, partial)
            raise
        try: yield Wait(retry_wait(retry, attempt, s.max_wait), f'retry after {type(retry).__name__}')
        except BaseException as e:
            _note(e, f'lexi: interrupted while waiting to retry after {type(retry).__name__}.')
            _interrupted(e, send, pending, prefill, log, step, partial)
            raise


def _cut(resp) -> bool:
    "The reply stopped at the token limit."
    return get(resp.choices[0], 'finish_reason') == 'length'


def _joining(joiner: Joiner):
    "A stream view showing a continuation through `joiner`: what it repeats of the text before is left out."
    def view(chunk):
        choices = get(chunk, 'choices')
        text = get(get(choices[0], 'delta'), 'content') if choices else None
        if not text: return [chunk]            # finish reason, usage, tool calls: as they are
        out = joiner.feed(text)
        return [stream_chunk(out)] if out else []
    return view


def _continued(s: Settings, resp, reply, pending: list, log: Log, n: int, final: bool, ckpts: bool, reach: list):
    """Ask for the rest of an answer cut by the token limit, up to `s.max_continues` times: with the answer
    so far as the prefill where every model the request may reach takes one (the continuation then joins
    seamlessly), otherwise with the answer so far and a user turn asking for the rest. Each piece's usage
    is recorded; the returned reply holds the whole joined text (hist gets it as one message)."""
    seamless = all(_caps.takes_prefill(m) for m in reach) and not _thinking_claude(s, reach)
    text = reply.content or ''
    for count in range(1, s.max_continues + 1):
        if not _cut(resp) or get(reply, 'tool_calls'): break
        if s.on_progress is not None: s.on_progress(count, s.max_continues, text)
        log.record([], resp, s.model)
        head = log.hist + pending
        if seamless:
            kw = build_request(s, head, prefill=text.rstrip(), final=final, ckpts=ckpts, reach=reach, prepared=log.prepared)
        else:
            ask = mk_msg(continue_message(s.continue_prompt, count, s.max_continues, text))
            kw = build_request(s, head + [{'role': 'assistant', 'content': text}, ask], prefill=None, final=final,
                               ckpts=ckpts, reach=reach, prepared=log.prepared)
        joiner = Joiner(text)
        resp, reply = yield from _send(s, kw, (lambda: _joining(joiner)), pending, None, log, n,
                                       partial=lambda: text + joiner.added)
        if not s.stream: joiner.feed(reply.content or '')
        if (rest := joiner.flush()) and s.stream: yield Show([stream_chunk(rest)])
        text = text + joiner.added
        reply.content = text
    return resp, reply


def _failed(out: Output, c, tries: int, log: Log):
    "StructuredOutputError after the last attempt; hist keeps the answers the last reply needs to stay valid."
    log.hist.extend(m for m in c.reask if get(m, 'role') == 'tool')
    return StructuredOutputError(f'no valid {out.name} after {tries} attempt(s): ' + '; '.join(c.errors[:5]),
                                 attempts=tries, raw=c.raw, errors=c.errors)


def _steps(s: Settings, new: list, log: Log, ckpts: bool, out: Output | None, reach: list):
    pending, rounds, tries, first_failed = list(new), 0, 0, None
    log.begin_call()
    for n in itertools.count(1):
        final = rounds + 1 >= s.max_steps  # the last request allowed: no more tools (max_steps=1 means none at all)
        # The final prompt goes in this request only, never into hist: left there, it would tell every
        # later turn that tools are used up.
        last_word = [mk_msg(s.final_prompt)] if final and rounds and s.final_prompt and not pending else []
        prefill = s.prefill if n == 1 else None
        kw = build_request(s, log.hist + pending + last_word, prefill=prefill, final=final, ckpts=ckpts, reach=reach,
                           prepared=log.prepared)
        kw = out.add_to(kw, final) if out else kw
        if s.stream and prefill: yield Show([stream_chunk(prefill)])
        views = out.partials if out else None
        resp, reply = yield from _send(s, kw, views, pending, prefill, log, n)
        if _cut(resp) and get(reply, 'tool_calls'):   # a tool call cut by the token limit is never run: ask again
            log.record([], resp, s.model)
            resp, reply = yield from _send(s, kw, views, pending, prefill, log, n)
            if _cut(resp) and get(reply, 'tool_calls'):
                log.record([], resp, s.model)
                raise IncompleteResponseError(
                    'a tool call was cut by the token limit twice in one step; raise max_tokens (chat.hist is '
                    'unchanged by this step).', text=get(reply, 'content') or '', response=resp)
        if not out and s.max_continues and _cut(resp):
            resp, reply = yield from _continued(s, resp, reply, pending, log, n, final, ckpts, reach)
        log.record(pending + [reply], resp, s.model)
        if not out and s.ensure_complete and _cut(resp):
            raise IncompleteResponseError(
                f'the answer was still cut by the token limit after {s.max_continues} continuation(s); raise '
                'max_tokens or max_continues (chat.hist keeps the partial answer).', text=reply.content or '', response=resp)
        pending, calls, run = [], local_calls(get(reply, 'tool_calls')), None
        if out:
            c = out.check(reply)
            if c.ok:
                log.hist.extend(c.answers)
                if first_failed is not None and not s.keep_attempts: del log.hist[first_failed:len(log.hist) - len(c.answers) - 1]
                yield Show([c.value])
                return c.value
            if not c.run:
                tries += 1
                if first_failed is None: first_failed = len(log.hist) - 1
                if tries > s.struct_retries: raise _failed(out, c, tries, log)
                pending = list(c.reask)
                continue
            calls = local_calls(c.run)
        try:
            if not out: yield Show([resp])
            if not calls: return resp
            if final:  # the model called tools despite tool_choice='none': answer them so hist stays valid
                log.hist.extend(_skipped(calls, 'Not run: this call reached its step limit (max_steps).'))
                return resp
            run = RunTools(calls, s.namespace, s.parallel_tools)
            results = yield run
        except BaseException as e:
            if calls: _interrupted_tools(e, calls, run.done if run is not None else {}, log)
            raise
        log.hist.extend(results)
        if refused := arg_errors(results): log.count(Use.refused(refused, answered_model(resp) or s.model))
        rounds += 1
        if not out: yield Show(results)
