"""Structured output: a chat's answer as a validated instance of the caller's own type.

`chat.struct(msg, Analysis)` (or any call with `output_type=`) asks for an answer of that type: a
pydantic model, a dataclass, a TypedDict (from typing_extensions before Python 3.12), or a
container of them such as `list[Model]`. How it is asked for, per request:

- 'schema' mode, when LiteLLM says every model the request may reach supports a response schema
  and the call has no tools: `response_format` with the JSON schema (strict, in OpenAI's sense,
  when the schema allows it), which LiteLLM turns into each provider's own mechanism.
- 'tool' mode otherwise: a tool named `final_answer` whose parameters are the schema; the model is
  made to call it (or, with tools of the caller's, to call some tool, until it calls this one).

A reply that is not valid JSON or fails validation (pydantic validators included) is answered
with the errors, and the model is asked again, up to `max_retries` times; then
StructuredOutputError. A type whose schema is not an object is wrapped as {"result": ...}.
This module is pure: the turn engine (lexi/_engine.py) asks it what to send and what a reply means.
"""
from __future__ import annotations
import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from typing_extensions import is_typeddict  # also knows typing_extensions.TypedDict, which pydantic needs before 3.12

from ._schema import adapter, type_schema
from ._util import get
from .errors import UsageError
from .tools import mk_tc_result

__all__ = ['OUTPUT_TOOL', 'Output', 'Checked', 'strict_schema', 'partial_instance', 'parse_json_text']

OUTPUT_TOOL = 'final_answer'
_WRAP = 'result'


# ---------------------------------------------------------------- schemas

def _nullable(s: dict) -> bool:
    return s.get('type') == 'null' or (isinstance(s.get('type'), list) and 'null' in s['type']) or \
        any(_nullable(o) for o in s.get('anyOf', ()) if isinstance(o, dict))


def strict_schema(s: Any) -> Any:
    """OpenAI's strict form of schema `s`: every object closed (additionalProperties false) with all
    its properties required, those that were optional made nullable, and no defaults. None when `s`
    cannot be strict (an object with free-form keys, such as a dict[str, int])."""
    if isinstance(s, list):
        out = [strict_schema(x) for x in s]
        return None if any(x is None for x in out) else out
    if not isinstance(s, dict): return s
    out = {k: v for k, v in s.items() if k != 'default'}
    for key in ('items', 'anyOf', 'oneOf', 'allOf'):
        if key in out and (sub := strict_schema(out[key])) is None: return None
        if key in out: out[key] = sub
    if out.get('type') != 'object': return out
    if out.get('additionalProperties') not in (None, False) or 'patternProperties' in out: return None
    required, props = set(out.get('required', ())), {}
    for name, sub in (out.get('properties') or {}).items():
        if (sub := strict_schema(sub)) is None: return None
        props[name] = sub if name in required or _nullable(sub) else {'anyOf': [sub, {'type': 'null'}]}
    return {**out, 'properties': props, 'required': list(props), 'additionalProperties': False}


def _null_dropper(s: dict):
    """A function that removes, in place, the nulls a strict schema made the model send for optional fields of
    a value of schema `s` (so their defaults apply); None when `s` has no such field anywhere. Made once per type."""
    if not isinstance(s, dict): return None
    if isinstance(s.get('properties'), dict):
        req, props = set(s.get('required', ())), s['properties']
        optional = [k for k, sub in props.items() if k not in req and not _nullable(sub)]
        inner = {k: d for k, sub in props.items() if (d := _null_dropper(sub))}
        if not optional and not inner: return None
        def drop_in_object(v):
            if not isinstance(v, dict): return
            for k in optional:
                if k in v and v[k] is None: del v[k]
            for k, d in inner.items():
                if k in v: d(v[k])
        return drop_in_object
    if (d := _null_dropper(s.get('items'))) is not None:
        def drop_in_items(v):
            for x in v if isinstance(v, list) else (): d(x)
        return drop_in_items
    return None


def _schemas(output_type) -> tuple:
    """(what removes forced nulls from an answer, the schema asked for as JSON, its strict form as JSON or
    None, whether it is wrapped), made once per type: building a schema reads docments from source, which
    costs milliseconds. Requests get fresh copies from the JSON (LiteLLM may edit a schema it is given)."""
    key = _hashable(output_type)
    if key is not None and key in _SCHEMAS: return _SCHEMAS[key]
    own = type_schema(output_type)
    wrapped = not (own.get('type') == 'object' and 'properties' in own)
    asked = {'type': 'object', 'properties': {_WRAP: own}, 'required': [_WRAP]} if wrapped else own
    strict = strict_schema(asked)
    out = (_null_dropper(own) if strict else None, json.dumps(asked), json.dumps(strict) if strict else None, wrapped)
    if key is not None and len(_SCHEMAS) < 256: _SCHEMAS[key] = out
    return out


_SCHEMAS: dict = {}


def _hashable(tp):
    try: hash(tp)
    except TypeError: return None
    return tp


def _type_name(tp) -> str:
    name = getattr(tp, '__name__', None) or str(tp)
    return re.sub(r'[^a-zA-Z0-9_-]', '_', name)[:64] or 'answer'


# ---------------------------------------------------------------- reading replies

_FENCE = re.compile(r'^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$', re.S)


def parse_json_text(text: str):
    "The JSON value in a reply's text: as is, inside a markdown fence, or from the first { or [ on."
    text = (text or '').strip()
    if m := _FENCE.match(text): text = m.group(1)
    try: return json.loads(text)
    except ValueError:
        start = min((i for i in (text.find('{'), text.find('[')) if i >= 0), default=-1)
        if start <= 0: raise
        return json.JSONDecoder().raw_decode(text[start:])[0]


def _errors(e: Exception) -> list[str]:
    if hasattr(e, 'errors'):
        return [f"{'.'.join(map(str, d.get('loc', ()))) or '(root)'}: {d.get('msg')}" for d in e.errors()]
    return [str(e)]


@dataclass
class Checked:
    "What a reply means for a structured call."
    ok: bool = False
    value: Any = None                        # the validated instance, when ok
    raw: str = ''                            # the JSON text the model gave (or '' when it gave none)
    errors: list = field(default_factory=list)   # why it is not valid
    answers: list = field(default_factory=list)  # tool messages the history needs after the reply
    reask: list = field(default_factory=list)    # messages asking again (when not ok)
    run: list = field(default_factory=list)      # the caller's tool calls to run first


class Output:
    "How one call asks for, reads and checks an answer of `output_type`."

    def __init__(self, output_type, tool_mode: bool, user_tools: bool):
        if output_type is None or output_type is type(None):
            raise UsageError('output_type must be a type, e.g. a pydantic model or list[MyModel].')
        self.type, self.tool_mode, self.user_tools = output_type, tool_mode, user_tools
        self._drop_nulls, self._schema_json, self._strict_json, self.wrapped = _schemas(output_type)
        self.name = _type_name(output_type)

    @property
    def schema(self) -> dict:
        "The JSON schema asked for (a fresh copy)."
        return json.loads(self._schema_json)

    @property
    def strict(self) -> dict | None:
        "Its strict form (a fresh copy), or None when the schema cannot be strict."
        return json.loads(self._strict_json) if self._strict_json else None

    @property
    def tool(self) -> dict:
        return {'type': 'function', 'function': {'name': OUTPUT_TOOL, 'parameters': self.schema,
                'description': f'Give your final answer ({self.name}) by calling this. Call it once, with the whole answer.'}}

    def add_to(self, kw: dict, final: bool) -> dict:
        "Request keywords `kw` with the output asked for (on the last request the output tool is forced)."
        if not self.tool_mode:
            fmt = {'name': self.name, 'schema': self.strict or self.schema, 'strict': self._strict_json is not None}
            return {**kw, 'response_format': {'type': 'json_schema', 'json_schema': fmt}}
        forced = {'type': 'function', 'function': {'name': OUTPUT_TOOL}}
        tools = [t for t in kw.get('tools', ()) if get(t['function'], 'name') != OUTPUT_TOOL] + [self.tool]
        return {**kw, 'tools': tools, 'tool_choice': 'required' if self.user_tools and not final else forced}

    def validate(self, value):
        "The instance for a parsed JSON value (ValueError / pydantic's ValidationError when it does not fit)."
        if self.wrapped:
            if not isinstance(value, dict) or _WRAP not in value: raise ValueError(f'expected an object with a "{_WRAP}" key')
            value = value[_WRAP]
        if self._drop_nulls is not None: self._drop_nulls(value)   # `value` was parsed for this call: ours to change
        return adapter(self.type).validate_python(value)

    def check(self, reply) -> Checked:
        "What the assistant message `reply` means: a valid answer, tools to run first, or a reason to ask again."
        return self._check_tool(reply) if self.tool_mode else self._check_text(get(reply, 'content') or '')

    def _fast(self, raw: str):
        "pydantic straight from the JSON text, when nothing needs doing first (a plain object, no forced nulls)."
        if self.wrapped or (self._drop_nulls is not None and 'null' in raw) or not raw.lstrip().startswith('{'): return None
        try: return adapter(self.type).validate_json(raw)
        except Exception: return None   # the full path below says what is wrong

    def _try(self, raw: str) -> Checked:
        if (value := self._fast(raw)) is not None: return Checked(ok=True, value=value, raw=raw)
        try: return Checked(ok=True, value=self.validate(parse_json_text(raw)), raw=raw)
        except Exception as e: return Checked(raw=raw, errors=_errors(e) if hasattr(e, 'errors') else [f'not valid JSON: {e}'])

    def _check_text(self, text: str) -> Checked:
        c = self._try(text)
        if not c.ok:
            c.reask = [{'role': 'user', 'content': f'Your reply is not a valid {self.name}:\n' + _bullets(c.errors) +
                        '\nReply again with only the corrected JSON.'}]
        return c

    def _check_tool(self, reply) -> Checked:
        calls = get(reply, 'tool_calls') or []
        mine = [tc for tc in calls if get(get(tc, 'function'), 'name') == OUTPUT_TOOL]
        if not mine:
            if calls: return Checked(run=list(calls))
            return Checked(raw=get(reply, 'content') or '', errors=[f'no call of {OUTPUT_TOOL}'],
                           reask=[{'role': 'user', 'content': f'Give your final answer by calling {OUTPUT_TOOL}.'}])
        tc, others = mine[-1], [o for o in calls if o is not mine[-1]]
        c = self._try(get(get(tc, 'function'), 'arguments') or '')
        skipped = [mk_tc_result(o, 'Not run: the final answer was given.') for o in others]
        if c.ok: c.answers = skipped + [mk_tc_result(tc, 'Accepted.')]
        else: c.reask = skipped + [mk_tc_result(tc, f'Invalid {OUTPUT_TOOL} arguments:\n' + _bullets(c.errors) +
                                              f'\nCall {OUTPUT_TOOL} again with corrected arguments.')]
        return c

    def partials(self):
        "A chunk viewer for streams: each chunk gives [] or [a partial instance], when a field has just arrived."
        return _Partials(self)


def _bullets(lines: list) -> str: return '\n'.join(f'- {l}' for l in lines)


class _Partials:
    "Feeds the answer's JSON text, as it streams, to a lenient parser; shows partial instances."
    def __init__(self, out: Output):
        from ._partial import PartialJSON
        self.out, self.parser, self.index, self.memo = out, PartialJSON(), None, {}

    def _text(self, chunk) -> str:
        choices = get(chunk, 'choices') or []
        delta = get(choices[0], 'delta') if choices else None
        if delta is None: return ''
        if not self.out.tool_mode: return get(delta, 'content') or ''
        text = ''
        for tc in get(delta, 'tool_calls') or []:
            fn = get(tc, 'function')
            if get(fn, 'name') == OUTPUT_TOOL: self.index = get(tc, 'index')
            if get(tc, 'index') == self.index: text += get(fn, 'arguments') or ''
        return text

    def __call__(self, chunk) -> list:
        text = self._text(chunk)
        if not text or not self.parser.feed(text): return []
        value = self.parser.value
        if self.out.wrapped: value = value.get(_WRAP) if isinstance(value, dict) else None
        return [] if value is None else [partial_instance(self.out.type, value, self.memo)]


# ---------------------------------------------------------------- partial instances

def _model_fields(tp) -> dict | None:
    fields = getattr(tp, 'model_fields', None)
    return {k: f.annotation for k, f in fields.items()} if isinstance(tp, type) and isinstance(fields, dict) else None


def _members(value, memo: dict | None, convert) -> list | dict:
    """`convert(key, member)` for each member of a container (key: index or name), reusing what was converted
    at the previous update for every member but the last one then: members complete in order, so only the
    newest can still change."""
    prev = memo.get(id(value)) if memo is not None else None
    if isinstance(value, list):
        keep = prev[1][:-1] if prev else []
        out = keep + [convert(i, v) for i, v in enumerate(value[len(keep):], len(keep))]
    else:
        keep = dict(list(prev[1].items())[:-1]) if prev else {}
        out = {**keep, **{k: convert(k, v) for k, v in value.items() if k not in keep}}
    if memo is not None: memo[id(value)] = (value, out)  # the container is kept with it, so its id stays its own
    return out


def partial_instance(tp, value, memo: dict | None = None):
    """`value` (a partly streamed JSON value) as the caller's own type `tp`, without validation: a model
    or dataclass has the fields that arrived and None for the rest (`model_fields_set` says which
    arrived); a TypedDict or dict has the keys that arrived; lists hold partial items. With `memo`
    (one dict per stream), members that were complete at the previous call are not converted again:
    successive partials share them."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1: return partial_instance(inner[0], value, memo)
        tp, origin, args = Any, None, ()
    by_name = lambda types_: (lambda k, v: partial_instance(types_.get(k, Any), v, memo))
    if isinstance(value, list):
        item = args[0] if origin in (list, tuple, set) and args else Any
        return _members(value, memo, lambda i, v: partial_instance(item, v, memo))
    if not isinstance(value, dict): return value
    if (fields := _model_fields(tp)) is not None:
        given = _members(value, memo, by_name(fields))
        return tp.model_construct(_fields_set=set(given), **{**{k: None for k in fields}, **given})
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        given, obj = _members(value, memo, by_name(typing.get_type_hints(tp))), object.__new__(tp)
        for f in dataclasses.fields(tp): object.__setattr__(obj, f.name, given.get(f.name))
        return obj
    if is_typeddict(tp): return _members(value, memo, by_name(typing.get_type_hints(tp)))
    val_type = args[1] if origin is dict and len(args) == 2 else Any
    return _members(value, memo, lambda k, v: partial_instance(val_type, v, memo))
