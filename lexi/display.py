"""Notebook rendering: responses as markdown, and live display of a chat stream.

IPython is optional: it is imported inside the functions that need it, and everything here also
works without a running IPython shell, or in terminal IPython (display_stream then prints the text as it arrives).
Nothing here patches LiteLLM's classes; `register_notebook_display` registers a markdown
formatter with the running IPython shell instead.
"""
from __future__ import annotations
import sys
import time
from typing import Any, AsyncIterable, Iterable

from ._inert import code, inert, inline
from ._util import get, text_of
from ._litellm import lm_types
from .fmt import AsyncStreamFormatter, StreamFormatter
from .tools import local_calls

__all__ = ['render_response', 'render_message', 'register_notebook_display', 'display_stream', 'adisplay_stream']


def _thinking(msg) -> str:
    "The message's reasoning, from reasoning_content or its thinking blocks."
    if text := get(msg, 'reasoning_content'): return text
    return '\n\n'.join(get(b, 'thinking') or '' for b in get(msg, 'thinking_blocks') or []).strip()


def _tool_line(tc) -> str:
    fn = get(tc, 'function')
    return f"🔧 {inline(get(fn, 'name'))}({inline(get(fn, 'arguments') or '')})"


def render_message(msg: Any  # an assistant Message or message dict
                   ) -> str:
    """Markdown for one message: collapsed thinking, the text, then one '🔧 name(arguments)' line per tool call.
    What the model wrote is shown with no live HTML (as `hist2fmt` writes it); markdown formatting stays."""
    parts = []
    if thinking := _thinking(msg): parts.append(f'<details><summary>🧠 Thinking</summary>\n\n{inert(thinking)}\n\n</details>')
    if text := text_of(get(msg, 'content')): parts.append(inert(text))
    parts += [_tool_line(tc) for tc in local_calls(get(msg, 'tool_calls'))]  # server-side search is not a tool step
    return '\n\n'.join(parts) or '*(empty reply)*'


def render_response(resp: Any  # a ModelResponse (a Message or message dict is rendered without the details list)
                    ) -> str:
    """Markdown for a response: the message (see render_message) and a collapsed list of id, model,
    finish_reason and usage."""
    choices = get(resp, 'choices')
    if not choices: return render_message(resp)
    details = [f"id: {code(get(resp, 'id'))}", f"model: {code(get(resp, 'model'))}",
               f"finish_reason: {code(get(choices[0], 'finish_reason'))}"]
    if get(resp, 'usage'):   # lexi's one-line Use, not LiteLLM's Usage repr (a thousand characters of details)
        from .usage import Use
        details.append(f'usage: {code(Use.of(resp, get(resp, "model")))}')
    body = render_message(get(choices[0], 'message'))
    return body + '\n\n<details>\n\n- ' + '\n- '.join(details) + '\n\n</details>'


def _shell():
    "The running IPython shell, or None (IPython missing or not running)."
    if 'IPython' not in sys.modules: return None  # no shell can be running; don't pay for the import
    try: from IPython import get_ipython
    except ImportError: return None
    return get_ipython()


def _renders_markdown(shell) -> bool:
    """Whether the shell's displays reach a front end that renders markdown: a kernel's do (Jupyter, VS Code, an
    nbclient run). Terminal IPython prints a display's plain text only (`<...Markdown object>`), so text goes to stdout."""
    terminal = sys.modules.get('IPython.terminal.interactiveshell')
    return terminal is None or not isinstance(shell, terminal.TerminalInteractiveShell)


def show_note(obj_repr: str,  # an object's repr (shown as code: it may hold user text such as a model name)
              note: str       # markdown lexi wrote, saying what the object's state means
              ):
    "Display an object's repr and a note about it, from its `_ipython_display_`: markdown, with a plain-text twin."
    from IPython.display import display
    display({'text/plain': f'{obj_repr}: {note}', 'text/markdown': f'{code(obj_repr)}: {note}'}, raw=True)


def register_notebook_display() -> bool:
    """Show LiteLLM ModelResponses as markdown (render_response) in the running IPython shell.

    Registers a 'text/markdown' formatter for ModelResponse; calling it again changes nothing.
    Returns False, and does nothing, when no IPython shell is running.
    """
    shell = _shell()
    if shell is None: return False
    shell.display_formatter.formatters['text/markdown'].for_type(lm_types().ModelResponse, render_response)
    return True


_now = time.monotonic  # the clock live updates are spaced by
UPDATE_INTERVAL = 0.05  # seconds: at most one display update this often while a stream runs


class _Live:
    """One display that shows the whole formatted output so far: an updated IPython display, or stdout.

    Rendering the whole markdown costs time linear in its length, so the display is updated at most
    once per UPDATE_INTERVAL while items arrive (the first piece shows at once), and `finish` makes a
    last update so the display ends showing the full output."""
    def __init__(self, fmt: StreamFormatter):
        self.fmt, self.handle, self.last, self.stale = fmt, None, None, False
        shell = _shell()
        if shell is not None and _renders_markdown(shell):
            from IPython.display import Markdown, display
            self.Markdown, self.handle = Markdown, display(Markdown(''), display_id=True)

    def _update(self, now: float):
        self.handle.update(self.Markdown(self.fmt.outp))
        self.last, self.stale = now, False

    def show(self, piece: str):
        if not piece: return
        if self.handle is None:
            sys.stdout.write(piece); sys.stdout.flush()
            return
        now = _now()
        if self.last is None or now - self.last >= UPDATE_INTERVAL: self._update(now)
        else: self.stale = True

    def finish(self):
        "Show whatever arrived since the last update."
        if self.handle is not None and self.stale: self._update(_now())


def display_stream(rs: Iterable,                  # what Chat(..., stream=True) yields
                   include_usage: bool = False,   # show each step's usage
                   mx: int | None = 2000          # longest tool result shown whole
                   ) -> StreamFormatter:
    """Show the stream as live markdown (one display, updated as items arrive, at most every 50 ms, and
    once more at the end with the whole output); returns the formatter (`.outp`)."""
    fmt = StreamFormatter(include_usage=include_usage, mx=mx)
    live = _Live(fmt)
    try:
        for piece in fmt.format_stream(rs): live.show(piece)
    finally: live.finish()
    return fmt


def show_instances(items: Iterable  # what chat.struct(msg, T, stream=True) yields: partial instances, then the final one
                   ):
    """Show a struct stream in one display, each instance as IPython shows it: updated as they arrive (at most every
    UPDATE_INTERVAL), and once more at the end with the last one (the validated instance, or the last partial one
    when the stream fails). Terminal IPython, which would print every update on a new line, shows only the last."""
    from IPython.display import display
    shell = _shell()
    live = shell is not None and _renders_markdown(shell)
    handle, last, stale, o = None, None, False, None
    try:
        for o in items:
            now, stale = _now(), True
            if not live or (last is not None and now - last < UPDATE_INTERVAL): continue
            if handle is None: handle = display(o, display_id=True)
            else: handle.update(o)
            last, stale = now, False
    finally:
        if stale and handle is None: display(o)
        elif stale: handle.update(o)


async def adisplay_stream(rs: AsyncIterable | Iterable,  # what AsyncChat(..., stream=True) yields
                          include_usage: bool = False,
                          mx: int | None = 2000) -> AsyncStreamFormatter:
    "Async `display_stream`: `fmt = await adisplay_stream(rs)`."
    fmt = AsyncStreamFormatter(include_usage=include_usage, mx=mx)
    live = _Live(fmt)
    try:
        async for piece in fmt.format_stream(rs): live.show(piece)
    finally: live.finish()
    return fmt
