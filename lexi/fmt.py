"""Formatted output of a chat (text, thinking marks, one collapsible block per tool call) and back.

A tool round renders as a block holding a fenced JSON object:

    <details class='tool-usage-details'>

    ```json
    {"id": "toolu_01", "call": {"function": "simple_add", "arguments": {"a": 10, "b": 5}},
     "result": "15", "step": 1}
    ```

    </details>

`arguments` keeps the argument values as JSON values (ints stay ints); a result longer than `mx`
characters is cut, marked '<TRUNCATED>' and flagged `"truncated": true`; `step` numbers the
assistant turns of one output, so calls made in parallel (one turn) share it. `fmt2hist` reads
the JSON back into a history LiteLLM accepts; `hist2fmt` goes the other way. For what the blocks
and texts hold, fmt2hist(hist2fmt(hist)) == hist (see hist2fmt for the exact conditions).
"""
from __future__ import annotations
import json
import re
from typing import Any, AsyncIterable, Iterable

from ._assemble import chunk_delta
from ._inert import code, code_lines, inert, restore, split_lines
from ._util import get, text_of
from ._litellm import lm_types
from .errors import UsageError
from .stream import THINKING_MARK
from .tools import local_calls

__all__ = ['TOOL_DETAILS_TAG', 'USAGE_DETAILS_TAG', 'TRUNCATED', 're_tools', 'mk_tr_details', 'fmt2hist',
           'hist2fmt', 'Formatted', 'StreamFormatter', 'AsyncStreamFormatter']

TOOL_DETAILS_TAG = "<details class='tool-usage-details'>"
USAGE_DETAILS_TAG = "<details class='usage-details'>"
TRUNCATED = '<TRUNCATED>'  # marks where a long tool result was cut
# A user or system turn: a labelled div; its text as markdown, or (class ending '-parts') its content parts as JSON.
_TURN_LABELS = {'user': '**🧑 User**', 'system': '**⚙️ System**'}
_re_turn = re.compile(r"<div class='lexi-(user|system)(-parts)?'>")

# Splits formatted output into [text, block, json, text, block, json, ..., trailing text]: the layout of lexi's
# blocks, kept for code that reads them; fmt2hist itself reads blocks only where markdown sees no code.
re_tools = re.compile(r"^(<details class='tool-usage-details'>\n+```json\n+(.*?)\n+```\n+</details>)",
                      flags=re.DOTALL | re.MULTILINE)
# A run of thinking marks the formatter printed: at the start, before the blank line that precedes text, or at the end.
_re_thinking = re.compile(rf"\A\s*(?:{THINKING_MARK})+\s*|(?:{THINKING_MARK})+(?:\n\n|\s*\Z)")


def _parse_args(raw) -> Any:
    "Tool-call arguments as a JSON object when they parse to one; otherwise the raw string, untouched."
    if isinstance(raw, dict): return raw
    try: args = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError: return raw
    return args if isinstance(args, dict) else raw


def _result(content, mx: int | None) -> tuple[Any, bool]:
    "A tool result as a JSON value, cut to `mx` characters when longer; and whether it was cut."
    if not isinstance(content, str):
        try: text = json.dumps(content, ensure_ascii=False)
        except (TypeError, ValueError): content = text = str(content)
        if mx is None or len(text) <= mx: return content, False
        content = text
    if mx is not None and len(content) > mx: return content[:mx] + TRUNCATED, True
    return content, False


def mk_tr_details(tr: dict,               # tool result message: {'tool_call_id','role','name','content'}
                  tc: Any,                # the tool call it answers: ChatCompletionMessageToolCall or dict
                  mx: int | None = 2000,  # longest result kept whole (None: never cut)
                  step: int | None = None # assistant turn number; calls of one turn share it
                  ) -> str:
    "A `<details class='tool-usage-details'>` block holding the call and its result as JSON."
    fn = get(tc, 'function')
    result, cut = _result(get(tr, 'content'), mx)
    obj = {'id': get(tr, 'tool_call_id') or get(tc, 'id'),
           'call': {'function': get(fn, 'name') or get(tr, 'name'), 'arguments': _parse_args(get(fn, 'arguments'))},
           'result': result}
    if cut: obj['truncated'] = True
    if step is not None: obj['step'] = step
    return f"\n\n{TOOL_DETAILS_TAG}\n\n```json\n{json.dumps(obj, indent=2, ensure_ascii=False)}\n```\n\n</details>\n\n"


class Formatted(str):
    """Markdown that lexi's formatter wrote (`hist2fmt`, `StreamFormatter.outp`). `mk_msgs` and `Chat(hist=...)`
    expand a Formatted item into the tool calls and results it shows; a plain str is always text, whatever it
    contains, so text a model or a person wrote never becomes a tool call. Wrap formatted output you saved
    yourself (`Formatted(text)`), or call `fmt2hist` on it."""
    __slots__ = ()


def _clean(text: str) -> str:
    "Assistant text from a stretch of formatted output: unescaped, without thinking marks and outer whitespace."
    return _re_thinking.sub('', restore(text.strip('\r\n'))).strip()


def _bad(n: int, what: str) -> UsageError:
    return UsageError(f'fmt2hist: tool block {n} {what}; fix or remove that block.')


def _read_block(js: str, n: int) -> dict:
    try: obj = json.loads(js)
    except ValueError as e: raise _bad(n, f'does not hold valid JSON ({e})') from None
    except RecursionError: raise _bad(n, 'nests its JSON too deeply') from None
    call = obj.get('call') if isinstance(obj, dict) else None
    if not isinstance(call, dict) or not call.get('function') or not obj.get('id'):
        raise _bad(n, 'needs "id" and "call": {"function": ...}')
    if not isinstance(obj['id'], str) or not isinstance(call['function'], str):
        raise _bad(n, 'needs "id" and "call.function" as strings')
    if not isinstance(call.get('arguments'), (dict, str, type(None))):
        raise _bad(n, 'needs "call.arguments" as a JSON object (or the raw arguments string)')
    if not isinstance(obj.get('step'), (int, type(None))) or isinstance(obj.get('step'), bool):
        raise _bad(n, 'needs "step" as a whole number')
    return obj


def _block_end(lines: list, i: int, code: set) -> tuple[int, str] | None:
    """Where the tool block opened at line `i` ends, and its JSON text; None when the lines after the tag are not
    a block's layout (blank lines, a ```json fence, the JSON, the closing fence, blank lines, </details>)."""
    j = i + 1
    while j < len(lines) and not lines[j].strip(): j += 1
    if j >= len(lines) or lines[j].rstrip() != '```json': return None
    k = j + 1
    while k < len(lines) and lines[k].rstrip() != '```': k += 1
    end = k + 1
    while end < len(lines) and not lines[end].strip(): end += 1
    if end >= len(lines) or lines[end].rstrip() != '</details>' or end in code: return None
    return end, '\n'.join(lines[j + 1:k])


def _turn_end(parts: list, i: int, code: set) -> tuple[int, str] | None:
    """Where the turn block opened at line `i` ends, and the text of its body: the lines between its label (and
    the blank line after it) and the blank line before its closing `</div>`, outside code. None: no such layout."""
    lines = parts[0::2]
    if i + 2 >= len(lines) or lines[i + 1] or lines[i + 2] not in _TURN_LABELS.values() or lines[i + 3:i + 4] != ['']:
        return None
    end = next((k for k in range(i + 5, len(lines)) if lines[k] == '</div>' and k not in code and not lines[k - 1]), None)
    if end is None: return None
    return end, ''.join(parts[2 * (i + 4):2 * (end - 2) + 1])


def _turn_msg(role: str, as_parts: bool, body: str) -> dict:
    if not as_parts: return {'role': role, 'content': restore(body)}
    js = body.strip()
    if not (js.startswith('```json') and js.endswith('```')): raise UsageError(f'fmt2hist: a {role} turn block lost its JSON fence; fix or remove it.')
    try: msg = json.loads(js[len('```json'):-3])
    except (ValueError, RecursionError) as e: raise UsageError(f'fmt2hist: a {role} turn block does not hold valid JSON ({e}).') from None
    if not isinstance(msg, dict) or msg.get('role') != role:
        raise UsageError(f'fmt2hist: a {role} turn block needs a JSON message with "role": "{role}".')
    return msg


def _pieces(outp: str):
    """Yield the text stretches, the JSON of the tool blocks and the user/system turns of `outp`, in order:
    ('text', s), ('block', js), ('turn', message).
    A block counts only where lexi's formatter writes one: its tag alone on a line outside code (model and
    tool text never holds a raw tag outside code: see lexi/_inert.py). Usage blocks are left out."""
    parts = split_lines(outp)
    lines, (code, _) = parts[0::2], code_lines(outp)
    text, i = [], 0
    while i < len(lines):
        line = lines[i] if i not in code else None
        if line == TOOL_DETAILS_TAG and (found := _block_end(lines, i, code)) is not None:
            yield 'text', ''.join(text)
            text, (i, js) = [], found
            yield 'block', js
        elif line is not None and (turn := _re_turn.fullmatch(line)) and (found := _turn_end(parts, i, code)) is not None:
            yield 'text', ''.join(text)
            text, (i, body) = [], found
            yield 'turn', _turn_msg(turn.group(1), bool(turn.group(2)), body)
        elif line is not None and line.startswith(USAGE_DETAILS_TAG):
            while i < len(lines) and lines[i].rstrip() != '</details>': i += 1
        else: text.append(parts[2 * i] + (parts[2 * i + 1] if 2 * i + 1 < len(parts) else ''))
        i += 1
    yield 'text', ''.join(text)


def _tool_call(obj: dict):
    t, args = lm_types(), obj['call'].get('arguments')
    raw = args if isinstance(args, str) else json.dumps({} if args is None else args, separators=(',', ':'), ensure_ascii=False)
    return t.ChatCompletionMessageToolCall(function=t.Function(arguments=raw, name=obj['call']['function']),
                                           id=obj['id'], type='function')


def _content(result):
    "A tool result as message content: text, or content parts as they were; any other JSON value as its JSON text."
    if result is None: return ''
    if isinstance(result, str) or (isinstance(result, list) and all(isinstance(p, dict) and isinstance(p.get('type'), str) for p in result)):
        return result
    return json.dumps(result, ensure_ascii=False)


def _tool_msg(obj: dict) -> dict:
    return {'tool_call_id': obj['id'], 'role': 'tool', 'name': obj['call']['function'], 'content': _content(obj.get('result'))}


def _emit(hist: list, group: dict | None):
    "Append one assistant turn (its calls) and then its tool results."
    if not group: return
    Message = lm_types().Message
    hist.append(Message(content=group['text'] or None, role='assistant', tool_calls=[_tool_call(o) for o in group['blocks']]))
    hist.extend(_tool_msg(o) for o in group['blocks'])


def fmt2hist(outp: str  # formatted output: StreamFormatter.outp, hist2fmt(...), or text in that format
             ) -> list:
    """A LiteLLM history from formatted output: assistant Messages with tool calls, tool result dicts,
    and a final assistant Message holding the text after the last block (none if that text is empty).

    Blocks with only whitespace between them (and the same `step`, when given) are one assistant turn
    with several calls, followed by their results. Text before a turn becomes that turn's content
    (None when there is none). Arguments are re-serialised compactly ('{"a":10,"b":5}'); a result
    flagged truncated comes back cut, as shown. Usage blocks and thinking marks are dropped. Only blocks
    the formatter wrote become tool calls: a block quoted in a reply's text (escaped, or in code) stays text.
    Time is linear in the length of `outp`.
    """
    if not isinstance(outp, str): raise UsageError(f'fmt2hist needs the formatted output as a str, got {type(outp).__name__}.')
    hist, group, text, n = [], None, '', 0
    for kind, value in _pieces(outp):
        if kind == 'text':
            text = _clean(value)
            continue
        if kind == 'turn':
            _emit(hist, group)
            if text: hist.append(lm_types().Message(content=text, role='assistant'))
            hist.append(value)
            group, text = None, ''
            continue
        n += 1
        obj = _read_block(value, n)
        if text or group is None or group['step'] != obj.get('step'):
            _emit(hist, group)
            group = {'text': text, 'step': obj.get('step'), 'blocks': []}
        group['blocks'].append(obj)
    _emit(hist, group)
    if text: hist.append(lm_types().Message(content=text, role='assistant'))
    return hist


def _turn_block(m) -> str:
    "A user or system message as formatted output: its text as markdown, or its content parts as JSON."
    role, content = get(m, 'role'), get(m, 'content')
    if isinstance(content, str) and get(m, 'cache_control') is None and set(_as_dict(m)) <= {'role', 'content'}:
        return f"<div class='lexi-{role}'>\n\n{_TURN_LABELS[role]}\n\n{inert(content)}\n\n</div>\n\n"
    js = json.dumps(_as_dict(m), indent=2, ensure_ascii=False)
    return f"<div class='lexi-{role}-parts'>\n\n{_TURN_LABELS[role]}\n\n```json\n{js}\n```\n\n</div>\n\n"


def _as_dict(m) -> dict:
    return dict(m) if isinstance(m, dict) else m.model_dump(exclude_none=True)


def _check_roles(hist: list) -> dict:
    "Where each call id's results stand, in order; raises UsageError for messages hist2fmt cannot format."
    for m in hist:
        if get(m, 'role') not in ('assistant', 'tool', 'user', 'system'):
            raise UsageError(f"hist2fmt formats user, system, assistant and tool messages; got a {get(m, 'role')!r} message.")
    at = {}
    for i, m in enumerate(hist):
        if get(m, 'role') == 'tool': at.setdefault(get(m, 'tool_call_id'), []).append(i)
    return at


def _result_of(hist: list, at: dict, tcid, after: int):
    "The first result of call `tcid` after position `after` not taken yet (ids may repeat across turns); None if none."
    k = next((j for j, i in enumerate(at.get(tcid, ())) if i > after), None)
    return None if k is None else hist[at[tcid].pop(k)]


def hist2fmt(hist: list,                # a chat's history (chat.hist), or the assistant side of one
             mx: int | None = None      # cut results longer than this (None keeps them whole, so fmt2hist gets them back)
             ) -> Formatted:
    """The formatted output of `hist`, as StreamFormatter would have shown it, with each user (and system)
    turn in a labelled block; `fmt2hist` reverses it. Texts are written so that no HTML in them is live and no
    tool block they quote can pass for a real one: outside code, '&' and any '<' that could open a tag become
    entities (the page shows the same characters), and code is left as written.

    Round trip fmt2hist(hist2fmt(hist)) == hist holds when: assistant texts are stripped, non-empty
    strings (None for a turn with only tool calls); tool-call arguments are compact JSON objects;
    every tool call is followed by its result. User and system messages come back as they were.
    """
    at, out, step = _check_roles(hist), [], 0
    for pos, m in enumerate(hist):
        role = get(m, 'role')
        if role in _TURN_LABELS:
            out.append(('\n\n' if out and not out[-1].endswith('\n\n') else '') + _turn_block(m))
        if role != 'assistant': continue
        if text := text_of(get(m, 'content')): out.append(('\n\n' if out and not out[-1].endswith('\n') else '') + inert(text))
        tcs = get(m, 'tool_calls') or []
        step += bool(tcs)
        for tc in tcs:
            if (tr := _result_of(hist, at, get(tc, 'id'), pos)) is None:
                raise UsageError(f"hist2fmt: tool call {get(tc, 'id')!r} has no tool result in hist; add its result message.")
            out.append(mk_tr_details(tr, tc, mx=mx, step=step))
    if orphans := sorted(str(k) for k, left in at.items() if left):
        raise UsageError(f'hist2fmt: tool results {orphans} answer no tool call in hist.')
    return Formatted(''.join(out))


class StreamFormatter:
    """Turns the chat stream into formatted markdown, piece by piece; `.outp` is everything so far.

    Items, as a streaming Chat yields them: stream chunks (their text; '🧠' per reasoning chunk),
    the complete response of each step (its tool calls are remembered; its usage shown if
    `include_usage`), and tool result dicts (each rendered with its call by `mk_tr_details`).
    `format_item` returns each piece as text for a terminal (a reply's text as the model wrote it);
    `.outp` is the markdown, where that text is written with no live HTML (as `hist2fmt` writes it).
    """
    def __init__(self, include_usage: bool = False,  # add a collapsed usage block after each step
                 mx: int | None = 2000):             # longest tool result shown whole
        self.include_usage, self.mx = include_usage, mx
        self._done: list[str] = []    # markdown of everything before the current stretch of text
        self._text: list[str] = []    # the current stretch of reply text, as it arrived (escaped when read)
        self.tcs: dict = {}           # tool calls awaiting their results: id -> (call, step)
        self.step = 0                 # assistant turns with tool calls seen so far
        self._thinking = False

    @property
    def outp(self) -> Formatted:
        "All formatted output so far (joined when read, so long streams stay linear)."
        if len(self._done) > 1: self._done[:] = [''.join(self._done)]
        done = self._done[0] if self._done else ''
        return Formatted(done + inert(''.join(self._text)) if self._text else done)

    @outp.setter
    def outp(self, value: str): self._done, self._text = ([value] if value else []), []

    def _seal(self):
        "The current stretch of text is complete: escape it once and keep the markdown."
        if self._text: self._done.append(inert(''.join(self._text)))
        self._text = []

    def format_item(self, o: Any) -> str:
        "The formatted text for one stream item (possibly ''); also added to `.outp`."
        if chunk_delta(o) is not None:
            if res := self._chunk(chunk_delta(o)): self._text.append(res)
            return res
        res = self._format(o)
        if res:
            self._seal()
            self._done.append(res)
        return res

    def format_stream(self, rs: Iterable):
        "Yield the formatted text of each item of `rs`."
        for o in rs: yield self.format_item(o)

    def _format(self, o) -> str:
        if isinstance(o, dict): return self._result(o) if 'tool_call_id' in o else ''
        if get(o, 'choices'): return self._response(o)
        return ''

    def _chunk(self, delta) -> str:
        res = ''
        if get(delta, 'reasoning_content'): res, self._thinking = THINKING_MARK, True
        if content := get(delta, 'content'):
            if self._thinking: res, self._thinking = res + '\n\n', False
            res += content
        return res

    def _response(self, o) -> str:
        self._thinking = False
        msg = get(get(o, 'choices')[0], 'message')
        calls = local_calls(get(msg, 'tool_calls'))  # server-side calls get no result block
        self.step += bool(calls)
        self.tcs.update({get(tc, 'id'): (tc, self.step) for tc in calls})
        usage = get(o, 'usage')
        if not (self.include_usage and usage): return ''
        return f"\n\n{USAGE_DETAILS_TAG}<summary>usage</summary>\n\n{code(usage)}\n\n</details>\n\n"

    def _result(self, tr: dict) -> str:
        unknown = ({'id': tr['tool_call_id'], 'function': {'name': tr.get('name'), 'arguments': '{}'}}, None)
        tc, step = self.tcs.pop(tr['tool_call_id'], unknown)
        return mk_tr_details(tr, tc, mx=self.mx, step=step)


class AsyncStreamFormatter(StreamFormatter):
    "StreamFormatter for async streams: `async for piece in fmt.format_stream(rs)`."
    async def format_stream(self, rs: AsyncIterable | Iterable):
        "Yield the formatted text of each item of `rs` (an async or a plain iterable)."
        if hasattr(rs, '__aiter__'):
            async for o in rs: yield self.format_item(o)
        else:
            for o in rs: yield self.format_item(o)
