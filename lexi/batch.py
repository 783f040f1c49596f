"""Batch work: many prompts, each in its own chat, at most `concurrency` at a time (see `batch`).
"""
from __future__ import annotations
import asyncio
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from ._litellm import aclose_loop_clients
from .errors import UsageError

__all__ = ['batch', 'abatch']


def _is_message(p) -> bool: return isinstance(p, Mapping) and 'role' in p or hasattr(p, 'role')


def _chat_for(model_or_chat):
    "A function making each prompt's AsyncChat: the given chat's settings and history, or a fresh chat of a model."
    from .chat import AsyncChat, _ChatBase
    if isinstance(model_or_chat, _ChatBase): return lambda: AsyncChat._of(model_or_chat.settings, model_or_chat.hist)
    if isinstance(model_or_chat, (str, list, tuple)): return lambda: AsyncChat(model_or_chat)
    raise UsageError(f'batch needs a Chat, an AsyncChat or a model name, not {type(model_or_chat).__name__}.')


def _call(chat, prompt, output_type, kw: dict):
    "The awaitable running one prompt in `chat`."
    if 'template' in kw:
        if not isinstance(prompt, Mapping): raise UsageError('with template=, each prompt is a dict of its variables.')
        kw = {**kw, 'tvars': {**kw.get('tvars', {}), **prompt}}
        msg = None
    elif isinstance(prompt, (list, tuple)) and prompt and all(map(_is_message, prompt)):
        chat.hist = chat.hist + list(prompt[:-1])
        msg = prompt[-1]
    else: msg = prompt
    return chat.struct(msg, output_type, **kw) if output_type is not None else chat(msg, **kw)


class _Progress:
    "A tqdm bar (the notebook widget in Jupyter, the terminal bar elsewhere) counting done, failed and cost."
    def __init__(self, total: int, on: bool):
        self.done = self.failed = 0
        self.cost, self.bar = 0.0, None
        if on:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')   # tqdm.auto warns when Jupyter lacks ipywidgets, then uses the text bar
                from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc='lexi.batch', unit='prompt')

    def add(self, ok: bool, cost: float):
        self.done, self.failed, self.cost = self.done + ok, self.failed + (not ok), self.cost + cost
        if self.bar is not None:
            self.bar.set_postfix(done=self.done, failed=self.failed, cost=f'${self.cost:.4f}', refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None: self.bar.close()


async def abatch(prompts,                   # messages, conversations, or (with template=) template variables
                 model_or_chat,             # a Chat or AsyncChat (settings and history are copied), or a model name
                 *, concurrency: int = 8,   # most prompts in flight at once
                 progress: bool = True,     # show a progress bar
                 output_type=None,          # answer each as an instance of this type (see Chat.struct)
                 return_exceptions: bool = True,  # a failure is its exception at its place (False: raise the first)
                 **call_kwargs) -> list:
    "The async `batch` (see its help): `results = await abatch(prompts, chat)`, for code with an event loop."
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UsageError(f'concurrency={concurrency!r}: pass a whole number >= 1.')
    prompts, make = list(prompts), _chat_for(model_or_chat)
    results: list[Any] = [None] * len(prompts)
    sem, bar = asyncio.Semaphore(concurrency), _Progress(len(prompts), progress)

    async def one(i: int, prompt):
        async with sem:
            chat = make()
            try: results[i] = await _call(chat, prompt, output_type, call_kwargs)
            except Exception as e:
                if not return_exceptions: raise
                results[i] = e
            bar.add(not isinstance(results[i], Exception), chat.use.cost)

    tasks = [asyncio.ensure_future(one(i, p)) for i, p in enumerate(prompts)]
    try: await asyncio.gather(*tasks)
    except BaseException as e:
        for t in tasks: t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _keep(e, results, bar)
        raise
    finally: bar.close()
    return results


def _keep(e: BaseException, results: list, bar: _Progress):
    "Attach what finished to the exception that ended the batch."
    try: e.results = list(results)
    except AttributeError: pass
    if hasattr(e, 'add_note'): e.add_note(f'lexi.batch: {bar.done} prompt(s) finished, {bar.failed} failed; see .results.')


class _Runner:
    "abatch on an event loop of its own in a worker thread; cancellable from the calling thread."
    def __init__(self, coro_fn):
        self.coro_fn, self.loop, self.task, self.outcome, self.partial = coro_fn, None, None, None, None
        self.ready, self.finished = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name='lexi-batch', daemon=True)

    def _run(self):
        async def main():
            self.loop, self.task = asyncio.get_running_loop(), asyncio.current_task()
            self.ready.set()
            try: return await self.coro_fn()
            except BaseException as e:   # the task's own exception carries .results; asyncio.run raises a new one
                self.partial = getattr(e, 'results', None)
                raise
            finally: await aclose_loop_clients()   # this loop is lexi's: close LiteLLM's clients of it before it closes
        try: self.outcome = ('ok', asyncio.run(main()))
        except BaseException as e: self.outcome = ('error', e)
        finally: self.ready.set(); self.finished.set()

    def result(self):
        self.thread.start()
        try:
            # waited on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread
            # looking finished on Python 3.11 while it still runs
            while not self.finished.wait(0.05): pass
        except BaseException as stop:          # Ctrl-C in the caller: cancel the batch, keep what finished
            self.ready.wait()
            if self.loop is not None and self.task is not None: self.loop.call_soon_threadsafe(self.task.cancel)
            self.finished.wait()
            stop.results = self.partial
            if hasattr(stop, 'add_note'): stop.add_note('lexi.batch: interrupted; what finished is in .results.')
            raise
        kind, value = self.outcome
        if kind == 'error': raise value
        return value


def batch(prompts, model_or_chat, *, concurrency: int = 8, progress: bool = True, output_type=None,
          return_exceptions: bool = True, **call_kwargs) -> list:
    """Many prompts, each in its own chat, at most `concurrency` at a time, with a progress bar; the results
    in input order.

        results = batch(['Define RAII', 'One sentence on lifetimes'], 'openai/gpt-4.1', concurrency=8)
        rows = batch([{'text': t} for t in reviews], chat, template='Sentiment of: {{ text }}', output_type=Sentiment)

    Each prompt runs in a chat of its own, made from the given one's settings (model, system prompt, tools,
    backend, rate limit, retries, ...) and a copy of its history, which stays unchanged. A prompt is a message
    (text, parts, a message dict), a conversation (a list of message dicts: all but the last are its history),
    or, with `template=`, the template's variables. Results come back in input order: each call's return value
    (the last ModelResponse, or with `output_type` the instance), or the exception a prompt failed with
    (`return_exceptions=False` raises the first instead and cancels the rest). Interrupting a batch (Ctrl-C, or
    cancelling the task) starts no new work, cancels what is in flight, and raises with `.results` holding what
    finished (None where nothing did). It runs on an event loop of its own in a worker thread, so it works in
    plain scripts and in Jupyter alike; `abatch` is the same for async code."""
    return _Runner(lambda: abatch(prompts, model_or_chat, concurrency=concurrency, progress=progress,
                                  output_type=output_type, return_exceptions=return_exceptions, **call_kwargs)).result()
