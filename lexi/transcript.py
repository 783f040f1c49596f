"""A chat's history for people to read: who said what, each tool call with its result, and what it cost.

`chat.transcript` (or `Transcript(hist, use)`) prints as plain text in a terminal and shows as markdown in a
notebook, where tool calls are collapsed blocks (the format `hist2fmt` writes, so `fmt2hist` reads it back).
The history itself is not changed: it stays the list of messages the provider takes.
"""
from __future__ import annotations
import json
import textwrap
from typing import Any

from ._inert import code
from ._util import get, text_of
from .fmt import hist2fmt

__all__ = ['Transcript']

WHO = {'user': '🧑 user', 'assistant': '🤖 assistant', 'system': '⚙️ system'}
MAX_RESULT = 300   # characters of a tool result shown in the terminal view


def _short(text: str, most: int = MAX_RESULT) -> str:
    text = ' '.join(str(text).split())
    return text if len(text) <= most else text[:most - 1] + '…'


def _args(raw) -> str:
    "Tool-call arguments as name=value pairs when they are a JSON object; as written otherwise."
    try: args = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError: return _short(raw, 200)
    if not isinstance(args, dict): return _short(raw, 200)
    return ', '.join(f'{k}={json.dumps(v, ensure_ascii=False)}' for k, v in args.items())


def _content(m) -> str:
    content = get(m, 'content')
    text = text_of(content)
    if isinstance(content, list):
        others = [p.get('type', '?') for p in content if isinstance(p, dict) and p.get('type') != 'text']
        if others: text = (text + '\n' if text else '') + ' '.join(f'[{t}]' for t in others)
    return text


class Transcript:
    "A chat's history (and usage) for people: `print(chat.transcript)`, or `chat.transcript` as a notebook cell's value."
    def __init__(self, hist: list,     # messages, as chat.hist holds them
                 use: Any = None):     # the chat's lexi.Use, shown at the end
        self.hist, self.use = list(hist), use

    def lines(self) -> list[str]:
        "The terminal view, line by line."
        results = {get(m, 'tool_call_id'): m for m in self.hist if get(m, 'role') == 'tool'}
        out = []
        for m in self.hist:
            role = get(m, 'role')
            if role == 'tool': continue
            text = _content(m).strip('\n')
            if text or role != 'assistant':
                head, *rest = (text or '').split('\n') or ['']
                out.append(f'{WHO.get(role, role)}: {head}')
                out += [textwrap.indent(line, '   ') for line in rest]
            for tc in get(m, 'tool_calls') or []:
                fn, res = get(tc, 'function'), results.get(get(tc, 'id'))
                shown = _short(text_of(get(res, 'content'))) if res is not None else '(no result)'
                out.append(f"   🔧 {get(fn, 'name')}({_args(get(fn, 'arguments'))}) → {shown}")
        if self.use is not None: out.append(f'── use: {self.use}')
        return out

    def __str__(self): return '\n'.join(self.lines())

    def __repr__(self): return str(self)

    def _repr_markdown_(self) -> str:
        body = hist2fmt(self.hist) if self.hist else '*(no messages yet)*'
        return body + (f'\n\n<details><summary>use</summary>\n\n{code(self.use)}\n\n</details>' if self.use is not None else '')
