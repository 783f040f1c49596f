"""JSON schemas for tool functions, and turning a model's JSON arguments back into Python values.

Types are described and validated by pydantic (`TypeAdapter`, in its lax mode), so whatever a schema
promises, the call can convert: dicts become dataclasses and pydantic models, strings become Enum
members, '3' becomes 3 for an int (but 'abc' and 3.5 are refused: converting them would lose
something), lists of those convert item by item. Schemas are made self-contained (no `$ref`/`$defs`,
which some providers reject) and free of pydantic's `title` noise. Parameter descriptions come from
docments comments (`a: int, # first operand`), also for the fields of dataclasses and models.

Gemini takes a subset of OpenAPI's schema (type, format, description, nullable, enum of strings,
properties, required, items, anyOf, min/max bounds, default, ...) and refuses other keywords.
LiteLLM turns a tool schema into that subset for Gemini (it inlines `$defs`, turns a null branch of
`anyOf` into `nullable`, and drops every other keyword), so what it drops must not be all a schema
says: a single Literal value is written as a one-value `enum` rather than `const`, and enum values
that are not strings (which Gemini cannot take as an enum) are repeated in the description.
"""
from __future__ import annotations
import copy
import dataclasses
import functools
import inspect
import io
import json
import textwrap
import tokenize
import types
import typing
import weakref
from typing import Any, Union, get_args, get_origin

from fastcore.docments import docments

from .errors import UsageError

__all__ = ['tool_name', 'func_schema', 'type_schema', 'field_comments', 'prepare_args', 'ArgumentValueError']

SHOWN_PROBLEMS = 5  # argument problems told to the model for one call (the rest are counted)

empty = inspect.Parameter.empty
_VAR_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def tool_name(f) -> str:
    "The name a tool is called by: the function's `__name__`."
    name = getattr(f, '__name__', None)
    if not isinstance(name, str) or not name or name == '<lambda>':
        raise UsageError(f"{f!r} has no usable name; define the tool with `def`, or set its __name__.")
    return name


@functools.lru_cache(maxsize=512)
def _adapter(hint):
    from pydantic import TypeAdapter
    return TypeAdapter(hint)


def adapter(hint):
    "A cached pydantic TypeAdapter for `hint` (uncached when the hint is unhashable)."
    try: return _adapter(hint)
    except TypeError:
        from pydantic import TypeAdapter
        return TypeAdapter(hint)


def _hints(f) -> dict:
    target = f if inspect.isfunction(f) or inspect.ismethod(f) or isinstance(f, type) else getattr(f, '__call__', f)
    if isinstance(f, type): target = f.__init__
    try: return typing.get_type_hints(target, include_extras=True)
    except Exception as e:
        raise UsageError(f"cannot resolve the type hints of {tool_name(f)!r} ({e}); define the types it names "
                         "before making its schema.") from e


def _admits_none(hint) -> bool:
    if hint is None or hint is type(None) or hint is Any: return True
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


def field_comments(cls) -> dict:
    "Docments-style comments on a class's fields: {'x': 'the x'} for `x: int  # the x`."
    try: src = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError): return {}
    lines, res = {}, {}
    skip = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type not in skip: lines.setdefault(tok.start[0], []).append(tok)
    except (tokenize.TokenError, IndentationError): return {}
    for toks in lines.values():
        if len(toks) >= 3 and toks[0].type == tokenize.NAME and toks[1].string == ':' and toks[-1].type == tokenize.COMMENT:
            res.setdefault(toks[0].string, toks[-1].string.lstrip('#').strip())
    return res


def _classes(hint, seen=None) -> dict:
    "Dataclasses and pydantic models reachable from `hint`, by name."
    seen = {} if seen is None else seen
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or hasattr(hint, 'model_fields')):
        if hint.__name__ in seen: return seen
        seen[hint.__name__] = hint
        try: subs = typing.get_type_hints(hint).values()
        except Exception: subs = ()
        for h in subs: _classes(h, seen)
    for a in get_args(hint): _classes(a, seen)
    return seen


def _describe_fields(schema, classes: dict):
    "Add docments comments as descriptions to object schemas made from `classes` (matched by title)."
    if isinstance(schema, dict):
        cls = classes.get(schema.get('title')) if 'properties' in schema else None
        if cls is not None:
            for name, doc in field_comments(cls).items():
                prop = schema['properties'].get(name)
                if isinstance(prop, dict) and doc and 'description' not in prop: prop['description'] = doc
        for v in schema.values(): _describe_fields(v, classes)
    elif isinstance(schema, list):
        for v in schema: _describe_fields(v, classes)


def _inline(schema, defs: dict, stack=()):
    "`schema` with every local `$ref` replaced by its definition (a recursive one becomes a bare object)."
    if isinstance(schema, list): return [_inline(o, defs, stack) for o in schema]
    if not isinstance(schema, dict): return schema
    ref = schema.get('$ref')
    if isinstance(ref, str) and ref.startswith('#/$defs/'):
        name = ref.rsplit('/', 1)[1]
        if name in stack or name not in defs: return {'type': 'object'}
        extra = {k: v for k, v in schema.items() if k not in ('$ref', '$defs')}   # a recursive model's root has both
        return {**_inline(copy.deepcopy(defs[name]), defs, stack + (name,)), **extra}
    return {k: _inline(v, defs, stack) for k, v in schema.items() if k != '$defs'}


def _clean(schema):
    """Drop pydantic's titles and the no-op `additionalProperties: true` / `items: {}` from a schema, and write
    `const` (a Literal of one value) as a one-value `enum`: the same to JSON Schema, and Gemini keeps an enum."""
    if isinstance(schema, list): return [_clean(o) for o in schema]
    if not isinstance(schema, dict): return schema
    res = {}
    for k, v in schema.items():
        if k == 'title' and isinstance(v, str): continue
        if (k, v) in (('additionalProperties', True), ('items', {})): continue
        if k == 'properties' and isinstance(v, dict): res[k] = {n: _clean(s) for n, s in v.items()}
        elif k == 'const' and 'enum' not in schema: res['enum'] = [v]
        elif k in ('default', 'enum', 'const', 'examples', 'required'): res[k] = v
        else: res[k] = _clean(v)
    return res


def type_schema(hint) -> dict:
    "The JSON schema for values of type `hint` (no `$ref`s, no titles)."
    if hint is empty or hint is Any: return {}
    try: raw = adapter(hint).json_schema()
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"lexi cannot describe values of type {hint!r} to a model ({why}); use basic types, Literal, "
                         "Enum, lists/dicts of them, TypedDicts, dataclasses or pydantic models.") from e
    _describe_fields(raw, _classes(hint))
    return _clean(_inline(raw, raw.get('$defs', {})))


def _json_default(value, hint):
    "`value` as JSON-ready data for a schema's `default`, or `empty` if it has no JSON form."
    try: return json.loads(json.dumps(value))
    except (TypeError, ValueError): pass
    try: return adapter(hint if hint is not empty else type(value)).dump_python(value, mode='json')
    except Exception: return empty


def _param_schema(p: inspect.Parameter, hint, doc) -> dict:
    if hint is empty and p.default not in (empty, None): hint = type(p.default)
    s = type_schema(hint)
    if doc: s['description'] = doc
    if p.default is not empty and (d := _json_default(p.default, hint)) is not empty: s['default'] = d
    _note_enums(s)
    return s


def _loose_enum(s) -> list:
    "The enum values of `s` and of its anyOf branches, when some value is not a string (an int Enum, Literal[1, 2])."
    if not isinstance(s, dict): return []
    own = s.get('enum') if isinstance(s.get('enum'), list) else []
    vals = list(own) if any(not isinstance(v, str) for v in own) else []
    for b in s.get('anyOf') or (): vals += _loose_enum(b)
    return vals


def _described(s: dict):
    "The schemas under `s` that describe values of their own: its properties and items, and those of its anyOf branches."
    yield from (v for v in (s.get('properties') or {}).values() if isinstance(v, dict))
    if isinstance(s.get('items'), dict): yield s['items']
    for b in s.get('anyOf') or ():
        if isinstance(b, dict): yield from _described(b)


def _note_enums(s: dict):
    """Repeat enum values that are not strings in the description, here and below: Gemini takes only strings as
    enum values, so LiteLLM drops such an enum for Gemini, and the description is what tells the model the choices.
    The note goes on the node holding the anyOf, whose description LiteLLM hands to each branch."""
    if vals := _loose_enum(s):
        note = 'one of: ' + ', '.join(json.dumps(v) for v in vals)
        s['description'] = f"{s['description']} ({note})" if s.get('description') else note[0].upper() + note[1:]
    for sub in _described(s): _note_enums(sub)


def _returns(ret_hint, ret_doc) -> str:
    "The 'Returns:' section of a tool description."
    lines = []
    if ret_hint is not empty and ret_hint is not None and ret_hint is not type(None):
        try: s = type_schema(ret_hint)
        except UsageError: s = {'type': getattr(ret_hint, '__name__', str(ret_hint))}
        kind = s.get('type') or '|'.join(o.get('type', 'object') for o in s.get('anyOf', [])) or 'object'
        lines.append(f'- type: {kind}')
    if ret_doc: lines.append(f'- description: {ret_doc}')
    return 'Returns:\n' + '\n'.join(lines) if lines else ''


def tool_params(f):
    "The parameters a model can pass to `f` (no *args/**kwargs), with resolved type hints."
    sig = inspect.signature(f)
    hints = _hints(f)
    return sig, [(p, hints.get(n, p.annotation if not isinstance(p.annotation, str) else empty))
                 for n, p in sig.parameters.items() if p.kind not in _VAR_KINDS]


def func_schema(f) -> dict:
    "{'name', 'description', 'parameters'} for the function `f`, from its signature, hints, docstring and docments."
    name = tool_name(f)
    _, params = tool_params(f)
    try: docs = docments(f, full=True)
    except Exception: docs = {}
    doc_of = lambda n: (docs.get(n) or {}).get('docment')
    props, req = {}, []
    for p, hint in params:
        props[p.name] = _param_schema(p, hint, doc_of(p.name))
        if p.default is empty and not _admits_none(hint): req.append(p.name)
    parameters = {'type': 'object', 'properties': props}
    if req: parameters['required'] = req
    ret_hint = _hints(f).get('return', empty)
    desc = '\n\n'.join(o for o in (inspect.getdoc(f) or '', _returns(ret_hint, doc_of('return'))) if o)
    return {'name': name, 'description': desc, 'parameters': parameters} if desc else {'name': name, 'parameters': parameters}


@dataclasses.dataclass(frozen=True)
class _Plan:
    "How to bind and convert a function's arguments, made once per function."
    sig: inspect.Signature
    params: tuple    # (Parameter, its TypeAdapter or None, whether a missing value means None), no *args/**kwargs


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # function -> its _Plan


def _plan(f) -> _Plan:
    "`f`'s plan, made at its first call and kept while `f` lives (each call only validates)."
    try: return _PLANS[f]
    except (KeyError, TypeError): pass
    try: sig, params = tool_params(f)
    except UsageError:
        # Hints that do not resolve (a name defined nowhere): nothing can be checked, so the tool gets the model's
        # JSON values as they are, as any parameter whose type pydantic cannot handle does (see _validator). Not
        # kept: the name may be defined later (in a notebook), and the next call then converts.
        sig = inspect.signature(f)
        return _Plan(sig, tuple((p, None, False) for p in sig.parameters.values() if p.kind not in _VAR_KINDS))
    plan = _Plan(sig, tuple((p, _validator(h), h is not empty and _admits_none(h)) for p, h in params))
    try: _PLANS[f] = plan
    except TypeError: pass   # not weakly referable (some builtins): made again at each call
    return plan


def prepare_args(f, args: dict) -> inspect.BoundArguments:
    """Bind the model's JSON `args` to `f`'s signature, converting each to its annotated type (pydantic's lax
    mode: '3' -> 3 for an int, a dict -> a model; a value converting would change is refused). Parameters
    without a type hint, and **kwargs, take the values as they are. Raises TypeError (the arguments do not fit
    the signature) or ArgumentValueError (values their types do not accept, one line per problem)."""
    plan, args = _plan(f), dict(args)
    for p, _, nullable in plan.params:  # an Optional parameter without a default may be left out by the model
        if nullable and p.name not in args and p.default is empty: args[p.name] = None
    pos = []
    for p, _, _ in plan.params:
        if p.kind is not p.POSITIONAL_ONLY or p.name not in args: break
        pos.append(args.pop(p.name))
    bound = plan.sig.bind(*pos, **args)
    problems = []
    for p, ta, _ in plan.params:
        if ta is not None and p.name in bound.arguments:
            try: bound.arguments[p.name] = _convert(ta, bound.arguments[p.name])
            except ValueError as e: problems += _problems(p.name, e)
    if problems: raise ArgumentValueError(_summary(problems))
    return bound


def _convert(ta, value):
    """`value` validated by `ta`. A string that fails is tried as JSON text as well: models now and then send a
    list or an object as its JSON text, which loses nothing; the first error is the one reported."""
    try: return ta.validate_python(value)
    except ValueError as first:
        if not isinstance(value, str): raise
        try: return ta.validate_json(value)
        except ValueError: raise first from None


class ArgumentValueError(ValueError):
    "Some arguments have values their parameters' types do not accept."


def _problems(name: str, e: ValueError) -> list[str]:
    "Readable lines for a pydantic ValidationError on parameter `name` (pydantic's messages, without its URLs)."
    errs = getattr(e, 'errors', None)
    if not callable(errs): return [f"{name}: {e}"]
    return [f"{'.'.join(map(str, (name, *d.get('loc', ()))))}: {d.get('msg')}" +
            ('' if d.get('type') == 'missing' else f" (got {d.get('input')!r:.100})")   # a missing field's input is its parent
            for d in errs(include_url=False)]


def _summary(problems: list[str]) -> str:
    more = len(problems) - SHOWN_PROBLEMS
    return '; '.join(problems[:SHOWN_PROBLEMS]) + (f'; and {more} more' if more > 0 else '')


def _validator(hint):
    """The TypeAdapter converting JSON values to `hint`, or None when there is nothing pydantic can check: no
    hint, Any, or a type pydantic cannot build a validator for (an arbitrary class), whose values the tool
    then gets as they are."""
    if hint is empty or hint is Any: return None
    try: return adapter(hint)
    except Exception: return None
