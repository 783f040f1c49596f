"""Tools: schemas from Python functions, calling them for a model, and synthetic tool-call history.

A tool is a plain function with type hints, a docstring and docments comments:

    def simple_add(a: int,    # first operand
                   b: int=0   # second operand
                  ) -> int:
        "Add two numbers together"
        return a + b

`lite_mk_func(simple_add)` is its OpenAI tool schema; `call_tool(tc, mk_ns([simple_add]))` runs the
model's call `tc` and returns the tool message for the history. Before the tool runs, its arguments
are converted to the types its hints name and validated by pydantic (lax: '3' becomes 3 for an int,
an object becomes the pydantic model or dataclass a parameter names; 'abc' or 3.5 for an int is
refused). Whatever goes wrong in a call (unknown tool, arguments that are not JSON, do not fit the
signature or are refused by pydantic, an exception inside the tool) comes back as a tool message the
model can read and act on, never as an exception in the caller. A refused call's message is an
`ArgsRefused` (a plain dict otherwise), so a chat counts them: `chat.use.tool_arg_errors`.
"""
from __future__ import annotations
import asyncio
import concurrent.futures
import inspect
import json
import os
import random
import string
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable

from ._media import part_from_bytes, part_from_path, text_part
from ._schema import ArgumentValueError, func_schema, prepare_args, tool_name, tool_params
from .errors import ToolArgumentsError, ToolError, ToolExecutionError, UnknownToolError, UsageError
from ._util import get

__all__ = ['check_tool', 'lite_mk_func', 'ToolResponse', 'mk_ns', 'call_tool', 'acall_tool', 'tool_content', 'is_server_call',
           'local_calls', 'ArgsRefused', 'arg_errors', 'random_tool_id',
           'mk_tc', 'mk_tc_req', 'mk_tc_result', 'mk_tc_results']

TRACEBACK_FRAMES = 3  # innermost traceback frames shown to the model when a tool raises


def check_tool(f: Callable | dict  # a function or a schema dict given as a tool
               ):
    """UsageError when the model could not call `f` well: a parameter with neither a type hint nor a
    default to take its type from (its schema would be empty, so the model must guess what to pass),
    or no docstring (the model would see only the name); or, for a schema dict, when it is not an
    OpenAI tool schema. Chat(tools=...) and a call's tools= check every tool so."""
    if isinstance(f, Mapping): return check_schema(f)
    if isinstance(f, type):
        raise UsageError(f'{f.__name__} is a class; a tool is a function (with type hints and a docstring) or a '
                         'schema dict. Wrap what you want the model to do in a function.')
    if not callable(f): return
    name = tool_name(f)
    _, params = tool_params(f)
    untyped = [p.name for p, hint in params if hint is inspect.Parameter.empty and p.default in (inspect.Parameter.empty, None)]
    if untyped:
        raise UsageError(f'tool {name!r}: parameter {untyped[0]!r} has no type hint, so the model is not told what to pass. '
                         f'Add one, e.g. def {name}({untyped[0]}: str, ...); for a function you cannot change, '
                         'wrap it in one that has hints and a docstring.')
    if not (inspect.getdoc(f) or '').strip():
        raise UsageError(f'tool {name!r} has no docstring, so the model sees only its name. Add one saying what it '
                         f'does, e.g. def {name}(...):\n    "Add two numbers."')


_SCHEMA_SHAPE = ("{'type': 'function', 'function': {'name': 'add', 'description': 'Add two numbers.', "
                 "'parameters': {'type': 'object', 'properties': {...}, 'required': [...]}}}")


def _schema_problem(d: Mapping) -> str | None:
    "What keeps `d` from being an OpenAI tool schema (None when it is one)."
    fn = d.get('function')
    if fn is None:
        if d and all(callable(v) for v in d.values()):
            return 'is a mapping of functions; pass the functions as a list (tools=[add, ...]); a name -> function mapping goes to ns='
        if 'input_schema' in d: return "is in Anthropic's format; LiteLLM takes OpenAI's (its input_schema is the 'parameters')"
        return "has no 'function'"
    if d.get('type', 'function') != 'function': return f"has type {d.get('type')!r}; a function tool's type is 'function'"
    if not isinstance(fn, Mapping): return f"has a 'function' of type {type(fn).__name__}; it is a dict"
    if not isinstance(fn.get('name'), str) or not fn['name'].strip(): return "has no 'name' (a str) in its 'function'"
    if not isinstance(fn.get('description', ''), str): return "has a 'description' that is not a str"
    if not isinstance(fn.get('parameters', {}), Mapping): return "has 'parameters' that are not a JSON schema dict"
    return None


def check_schema(d: Mapping  # a tool schema dict
                 ):
    "UsageError, saying what is wrong and the shape expected, unless `d` is an OpenAI function tool schema."
    if (problem := _schema_problem(d)) is not None:
        raise UsageError(f'the tool schema {_short(d)} {problem}. A tool schema looks like {_SCHEMA_SHAPE}; '
                         'or pass the function itself and lexi writes its schema.')


def _short(o, n: int = 80) -> str:
    r = repr(o)
    return r if len(r) <= n else r[:n - 3] + '...'


def lite_mk_func(f: Callable | dict  # a function (type hints, docstring, docments comments) or a ready schema dict
                 ) -> dict:
    "The OpenAI tool schema `{'type': 'function', 'function': {...}}` for `f`; a dict is returned unchanged."
    if isinstance(f, dict): return f
    if not callable(f): raise UsageError(f"a tool must be a function or a schema dict, not {type(f).__name__}.")
    return {'type': 'function', 'function': func_schema(f)}


@dataclass
class ToolResponse:
    "A tool result sent as content parts (text, images, ...) rather than stringified."
    content: list  # parts: str (text), bytes or Path (media), or part dicts


def sendable_text(s: str) -> str:
    """`s` with each lone surrogate (text decoded with errors='surrogateescape': file names, subprocess
    output) replaced by U+FFFD, and split surrogate pairs joined: UTF-8, and so the request, has no room
    for them. A tool's output is the model's to read, so it is mended rather than refused."""
    try:
        s.encode('utf-8')
        return s
    except UnicodeEncodeError: return s.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace')


def tool_content(result: Any) -> str | list:
    "The tool message content for `result`: a ToolResponse's parts, otherwise `str(result)` (None gives 'None')."
    if not isinstance(result, ToolResponse): return sendable_text(str(result))
    items = result.content if isinstance(result.content, (list, tuple)) else [result.content]
    return [_tool_part(o) for o in items]


def _tool_part(o) -> dict:
    if isinstance(o, dict): return o
    if isinstance(o, (bytes, bytearray, memoryview)): return part_from_bytes(o)
    if hasattr(o, 'read_bytes'): return part_from_path(o)
    return text_part(sendable_text(o if isinstance(o, str) else str(o)))


def mk_ns(tools  # callables (and schema dicts, which are skipped), a single callable, or a name->callable mapping
          ) -> dict[str, Callable]:
    "The namespace tools are looked up in: {name: function}."
    if tools is None: return {}
    if isinstance(tools, Mapping): return dict(tools)
    if callable(tools) and not isinstance(tools, type): tools = [tools]
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Iterable):
        raise UsageError(f'ns/tools must be a list of functions or a name -> function dict, not {type(tools).__name__}.')
    ns = {}
    for t in tools:
        if isinstance(t, dict): continue  # a schema alone: nothing to call
        if not callable(t): raise UsageError(f"tools must be callables or schema dicts, not {type(t).__name__}.")
        name = tool_name(t)
        if name in ns and ns[name] != t: raise UsageError(f"two different tools are named {name!r}; rename one.")
        ns[name] = t
    return ns


def _tc_fields(tc) -> tuple:
    "(id, name, arguments) of a tool call given as a dict or a ChatCompletionMessageToolCall."
    fn = get(tc, 'function') or {}
    return get(tc, 'id'), get(fn, 'name'), get(fn, 'arguments')


def _tool_msg(tcid, name, content) -> dict:
    return {'tool_call_id': tcid, 'role': 'tool', 'name': name, 'content': content}


class ArgsRefused(dict):
    """The tool message answering a call whose arguments were refused (not JSON, not fitting the signature, or
    values pydantic could not convert), so the tool did not run. It is the plain message dict in every other way
    (equal to one, sent and saved as one); its type is what lets a chat count refusals (see `arg_errors`)."""
    __slots__ = ()   # no instance __dict__: the message's fields are its items, as a plain dict's are


def arg_errors(msgs) -> int:
    "How many of the tool messages `msgs` answer calls refused for their arguments (see ArgsRefused)."
    return sum(isinstance(m, ArgsRefused) for m in msgs or ())


def _parse_args(name: str, raw) -> dict:
    if raw is None or (isinstance(raw, str) and not raw.strip()): return {}
    if isinstance(raw, Mapping): return dict(raw)
    try: args = json.loads(raw)
    except (TypeError, ValueError) as e:
        raise ToolArgumentsError(f"Arguments for tool {name!r} are not valid JSON ({e}): {str(raw)[:200]!r}. "
                                 "Send the arguments as one JSON object.", name=name) from e
    if args is None: return {}
    if not isinstance(args, dict):
        raise ToolArgumentsError(f"Arguments for tool {name!r} must be a JSON object, not {type(args).__name__}: "
                                 f"{str(raw)[:200]!r}.", name=name)
    return args


def _prepare(name, raw, ns: dict) -> tuple[Callable, inspect.BoundArguments]:
    "The function to call and its converted arguments; ToolError when either cannot be had."
    fn = ns.get(name) if isinstance(name, str) else None
    if fn is None:
        raise UnknownToolError(f"Unknown tool {name!r}; available: {', '.join(ns) or 'none'}", name=name)
    args = _parse_args(name, raw)
    try: return fn, prepare_args(fn, args)
    except UsageError as e: raise ToolExecutionError(f"Tool {name!r} cannot be called: {e}", name=name) from e
    except TypeError as e:
        sig = _signature(fn)
        raise ToolArgumentsError(f"Arguments for tool {name!r} do not fit its signature {name}{sig}: {e}. {_AGAIN}",
                                 name=name) from e
    except ArgumentValueError as e:
        raise ToolArgumentsError(f"Arguments for tool {name!r} are invalid: {e}. {_AGAIN}", name=name) from e


_AGAIN = 'The tool did not run; call it again with arguments that fit.'


# Frames of lexi's own calling code and of the thread/loop machinery are no news to the model.
_PLUMBING = (__file__, os.path.dirname(asyncio.__file__), os.path.dirname(concurrent.futures.__file__))


def _signature(fn) -> inspect.Signature:
    "The signature with real types even under `from __future__ import annotations` (string hints)."
    try: return inspect.signature(fn, eval_str=True)
    except Exception: return inspect.signature(fn)


def _exc_text(name: str, e: BaseException) -> str:
    "What the model is told when tool `name` raised `e`: type, message and the innermost frames."
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(_PLUMBING)]
    frames = frames[-TRACEBACK_FRAMES:]
    tb = ''.join(traceback.format_list(frames))
    last = ''.join(traceback.format_exception_only(type(e), e)).strip()
    return f"Error: tool {name!r} raised {last}\nTraceback (most recent call last):\n{tb}{last}"


def _as_ns(ns) -> dict:
    return ns if isinstance(ns, dict) else mk_ns(ns)


def _run_awaitable(aw):
    "Run an awaitable to completion from sync code (in a fresh loop on a worker thread if a loop is running)."
    async def _go(): return await aw
    try: asyncio.get_running_loop()
    except RuntimeError: return asyncio.run(_go())
    with concurrent.futures.ThreadPoolExecutor(1) as ex: return ex.submit(asyncio.run, _go()).result()


def call_tool(tc,  # the model's tool call: a dict or a ChatCompletionMessageToolCall
              ns   # {name: function} (see mk_ns); tools are looked up only here
              ) -> dict:
    "Run tool call `tc` and return its tool message `{'tool_call_id', 'role': 'tool', 'name', 'content'}`."
    tcid, name, raw = _tc_fields(tc)
    try:
        fn, bound = _prepare(name, raw, _as_ns(ns))
        res = fn(*bound.args, **bound.kwargs)
        if inspect.isawaitable(res): res = _run_awaitable(res)
        content = tool_content(res)  # a malformed ToolResponse is the tool's error, told to the model
    except ToolArgumentsError as e: return ArgsRefused(_tool_msg(tcid, name, str(e)))
    except ToolError as e: return _tool_msg(tcid, name, str(e))
    except Exception as e: return _tool_msg(tcid, name, _exc_text(name, e))
    return _tool_msg(tcid, name, content)


def _is_async(fn) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, '__call__', None))


async def acall_tool(tc,  # the model's tool call: a dict or a ChatCompletionMessageToolCall
                     ns   # {name: function} (see mk_ns); tools are looked up only here
                     ) -> dict:
    "Async `call_tool`: coroutine functions are awaited; sync functions run in a thread so the loop stays free."
    tcid, name, raw = _tc_fields(tc)
    try:
        fn, bound = _prepare(name, raw, _as_ns(ns))
        if _is_async(fn): res = await fn(*bound.args, **bound.kwargs)
        else: res = await asyncio.to_thread(fn, *bound.args, **bound.kwargs)
        if inspect.isawaitable(res): res = await res
        content = tool_content(res)
    except ToolArgumentsError as e: return ArgsRefused(_tool_msg(tcid, name, str(e)))
    except ToolError as e: return _tool_msg(tcid, name, str(e))
    except Exception as e: return _tool_msg(tcid, name, _exc_text(name, e))
    return _tool_msg(tcid, name, content)


SERVER_TOOL_PREFIX = 'srvtoolu_'  # ids of calls the provider ran itself (Anthropic web search, ...)


def is_server_call(tc) -> bool:
    "True for a call the provider ran itself (LiteLLM lists Anthropic's web search among tool_calls)."
    tcid = tc.get('id') if isinstance(tc, dict) else getattr(tc, 'id', None)
    return str(tcid or '').startswith(SERVER_TOOL_PREFIX)


def local_calls(calls) -> list:
    "The calls in `calls` that lexi must run (server-side calls are left out)."
    return [tc for tc in calls or [] if not is_server_call(tc)]


# ---------------------------------------------------------------- synthetic tool-call history

def random_tool_id() -> str:
    "A random tool-call id in Anthropic's style: 'toolu_' and 25 letters and digits (seed `random` to repeat)."
    return 'toolu_' + ''.join(random.choices(string.ascii_letters + string.digits, k=25))


def mk_tc(func: str | Callable,  # tool name (or the function itself)
          args: str | dict,       # arguments as a JSON string (a dict is dumped to JSON)
          tcid: str | None = None,  # tool-call id; a random one when None
          idx: int = 1            # index of the call in its message
          ) -> dict:
    "A tool call dict as an assistant message carries it."
    name = func if isinstance(func, str) else tool_name(func)
    if not isinstance(args, str): args = json.dumps(args)
    return {'index': idx, 'function': {'arguments': args, 'name': name}, 'id': tcid or random_tool_id(),
            'type': 'function'}


def _tc_dict(tc) -> dict:
    if isinstance(tc, Mapping): return {**tc, 'function': dict(get(tc, 'function') or {})}
    if hasattr(tc, 'model_dump'): return tc.model_dump()
    raise UsageError(f"a tool call must be a dict (see mk_tc) or a ChatCompletionMessageToolCall, not {type(tc).__name__}.")


def mk_tc_req(content: str | None,  # text the assistant says alongside its calls
              tcs: list             # tool calls (see mk_tc)
              ):
    "The assistant Message requesting tool calls `tcs`, which stay plain dicts."
    from ._litellm import assistant_message
    return assistant_message(content, [_tc_dict(tc) for tc in tcs])


def mk_tc_result(tc,             # a tool call (dict or ChatCompletionMessageToolCall)
                 result: Any     # the result: str, ToolResponse, or anything (str() is sent)
                 ) -> dict:
    "The tool message answering `tc` with `result`."
    tcid, name, _ = _tc_fields(tc)
    return _tool_msg(tcid, name, tool_content(result))


def mk_tc_results(tcq,            # the assistant message with tool calls (see mk_tc_req)
                  results: list   # one result per tool call, in order
                  ) -> list[dict]:
    "The tool messages answering each of `tcq`'s tool calls."
    tcs = get(tcq, 'tool_calls') or []
    if len(tcs) != len(results):
        raise UsageError(f"the message has {len(tcs)} tool call(s) but {len(results)} result(s) were given; "
                         "pass one result per call.")
    return [mk_tc_result(tc, r) for tc, r in zip(tcs, results)]
