"""Saved conversations: `chat.save(path)` writes a chat as JSON, `Chat.load(path, ...)` brings it back.

The file holds the model, the settings that are plain data (system prompt, temperature, tool schemas,
cache settings, LiteLLM keywords such as max_tokens or api_base), the history exactly as the chat
keeps it (thinking blocks and signatures, citations, tool calls and results) and the usage. A loaded
chat's next request is the one the saved chat would have sent, to the endpoint the loader names.

A saved chat is data that someone may hand you, so loading trusts the file with what is said, never
with where it goes or who pays for it:
- Connection settings in the file are not applied: every LiteLLM keyword that is not a request
  parameter (api_base, base_url, extra_headers, headers, api_version, organization, custom_llm_provider,
  metadata, callbacks, provider endpoints and regions, ...). The loaded chat sends to what the caller
  passes to load (api_base=, api_key=, extra_headers=, ...), or else to LiteLLM's defaults and
  environment, so a hostile file cannot send your key anywhere you did not name. A model name holding a
  URL (LiteLLM sends huggingface/ and oobabooga/ requests to a URL given as the model) is refused unless
  the caller passes model=. For a file you wrote yourself, `load(path, trust_connection=True)` applies
  them all (they are kept in the file for that).
- Request parameters (`REQUEST_PARAMS` in lexi/_saved_format.py: max_tokens, top_p, stop, seed, top_k, response_format, ...) and
  lexi's own options (sp, temp, tools as schemas, cache, max_steps, ...) apply, checked as Chat checks them.
- A damaged or hostile file (not JSON, wrong types anywhere, numbers beyond 64 bits, NaN, nesting
  deeper than 100) is a UsageError naming what is wrong and where, before any chat exists.

Never saved: credentials (api_key, any keyword or header named like a key, token, secret, password or
auth, keys and passwords inside URLs such as `https://user:KEY@host/?key=...`, and any value equal to a
secret-looking environment variable's), and what is not data: functions (pass `tools=[...]` to load to
run tools again; their schemas are kept, so the model still sees them), a backend or Router, a rate
limit, output_type and callbacks. Pass them to load.

Writes are atomic: the JSON goes to a temporary file beside the target (`.lexi-XXXXXXXX.tmp`, short, so
any legal file name works), is flushed to disk, then replaces the target in one rename, so a crash
mid-save leaves the previous file whole. The temporary file is removed on any exception; one left by a
killed process is removed by a later save to that folder once it is an hour old. Overwriting keeps the
file's permission bits; a new file is readable by its owner only (0600), as it holds a conversation.
"""
from __future__ import annotations
import copy
import dataclasses
import json
import os
import re
import stat
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

from ._litellm import message_from_dict, sendable
from ._portable import _is_server_call
from ._saved_format import REQUEST_PARAMS, problem
from ._redact import redact_url, secret_name
from ._settings import Settings, _default
from .errors import UsageError
from .usage import Use

__all__ = ['save', 'load', 'FORMAT', 'VERSION']

FORMAT, VERSION = 'lexi.chat', 1
# Settings that are never written: they are not data (functions, objects); load takes them again.
_NOT_SAVED = frozenset({'ns', 'backend', 'rate_limit', 'output_type', 'on_progress'})
_MAX_DEPTH = 100          # nesting no saved chat needs; deeper input would exhaust the stack later (copies, LiteLLM)
_INT_LIMIT = 2 ** 63      # JSON numbers beyond 64 bits overflow C timers and provider parsers
_STALE_AFTER = 3600       # seconds after which a '.lexi-*.tmp' beside a target is a killed save's leftover
_TEMP = re.compile(r'\.lexi-[a-z0-9_]{8}\.tmp')   # what tempfile.mkstemp(prefix='.lexi-', suffix='.tmp') makes


# ---------------------------------------------------------------- saving

def _env_secrets() -> set:
    "Values of environment variables named like credentials (an API key passed by value is dropped too)."
    return {v for k, v in os.environ.items() if secret_name(k) and len(v) >= 8}


def _without_secrets(value, secrets: set, connection: bool):
    """`value` without values equal to an environment secret; where `connection` (completion_kwargs), also
    without secret-named keys at any depth and with credentials cut out of URLs."""
    if isinstance(value, Mapping):
        return {k: _without_secrets(v, secrets, connection) for k, v in value.items()
                if not (connection and secret_name(k)) and not (isinstance(v, str) and v in secrets)}
    if isinstance(value, (list, tuple)):
        return [_without_secrets(v, secrets, connection) for v in value if not (isinstance(v, str) and v in secrets)]
    return redact_url(value, mask=None) if connection else value


def _jsonable(value) -> bool:
    try: json.dumps(value)
    except (TypeError, ValueError): return False
    return True


def _settings_data(s: Settings) -> tuple[dict, list]:
    "The settings worth saving (those differing from the defaults), and the names of those left out."
    secrets, out, left = _env_secrets(), {}, []
    for f in dataclasses.fields(Settings):
        value = getattr(s, f.name)
        if f.name in ('model', 'tool_fns') or value == _default(f.name): continue   # model: saved on its own
        if f.name in _NOT_SAVED:
            left.append(f.name)
            continue
        plain = dict(value) if isinstance(value, Mapping) else list(value) if isinstance(value, tuple) else value
        value = _without_secrets(plain, secrets, connection=f.name == 'completion_kwargs')
        if _jsonable(value): out[f.name] = value
        else: left.append(f.name)
    return out, left


def _plain(o):
    "A JSON-able copy (LiteLLM objects inside a message dumped as LiteLLM dumps them)."
    return json.loads(json.dumps(o, default=lambda v: v.model_dump(exclude_none=True) if hasattr(v, 'model_dump') else repr(v)))


def _use_data(use: Use) -> dict:
    d = {f.name: getattr(use, f.name) for f in dataclasses.fields(Use) if f.name != 'by_model'}
    d['by_model'] = {m: _use_data(u) for m, u in use.by_model.items()}
    return d


def _document(chat) -> dict:
    settings, left = _settings_data(chat.settings)
    return {'format': FORMAT, 'version': VERSION, 'class': type(chat).__name__,
            'model': redact_url(chat.settings.model, mask=None), 'settings': settings, 'not_saved': left,
            'hist': [_plain(sendable(m)) for m in chat.hist], 'use': _use_data(chat.use)}


def _sweep(folder: str):
    "Remove temporary files that killed saves left in `folder` (ours, by name and owner, and an hour old)."
    now = time.time()
    try: entries = list(os.scandir(folder))
    except OSError: return
    for e in entries:
        if not _TEMP.fullmatch(e.name): continue
        try:
            st = e.stat(follow_symlinks=False)
            mine = st.st_uid == os.getuid() if hasattr(os, 'getuid') else True   # Windows: no owner ids
            if stat.S_ISREG(st.st_mode) and mine and now - st.st_mtime > _STALE_AFTER: os.unlink(e.path)
        except OSError: pass   # gone already, or not ours to remove


def _sync_folder(folder: str):
    "Make the rename itself durable (POSIX); where a folder cannot be opened (Windows) the OS does it."
    try: fd = os.open(folder, os.O_RDONLY)
    except OSError: return
    try: os.fsync(fd)
    except OSError: pass
    finally: os.close(fd)


def _write(path: Path, text: str):
    "Replace the file at `path` (through a symlink: the link stays) by `text`, atomically, keeping its mode."
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    try: mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError: mode = None   # a new file keeps mkstemp's 0600: it holds a conversation
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.lexi-', suffix='.tmp')
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            if mode is not None: os.chmod(tmp, mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            try: os.unlink(tmp)
            except OSError: pass
    _sync_folder(folder)
    _sweep(folder)


def save(chat, path) -> Path:
    "Write `chat` to `path` as JSON (atomically); returns the path."
    path = Path(path)
    text = json.dumps(_document(chat), indent=1, ensure_ascii=False)   # fails here, before any file is touched
    _write(path, text)
    return path


# ---------------------------------------------------------------- loading

def _number(kind):
    def parse(text: str):
        n = kind(text)
        if kind is float and n in (float('inf'), float('-inf')) or kind is int and abs(n) >= _INT_LIMIT:
            raise ValueError(f'the number {text[:20]}{"..." if len(text) > 20 else ""} is out of range')
        return n
    return parse


def _no_constant(name: str):
    raise ValueError(f'{name} is not a number lexi saves')


def _depth(o) -> int:
    "How deeply `o` nests (iteratively: the point is to refuse what would exhaust the stack)."
    deepest, stack = 0, [(o, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > _MAX_DEPTH: break
        if isinstance(v, dict): stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list): stack.extend((x, d + 1) for x in v)
    return deepest


def _parse(path: Path) -> dict:
    try: text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError: raise UsageError(f'{path} is not a saved lexi chat: it is not UTF-8 text.') from None
    try: data = json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise UsageError(f'{path} is not a saved lexi chat: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); '
                         'it may be cut short or edited.') from None
    except RecursionError:
        raise UsageError(f'{path} is not a saved lexi chat: its JSON nests too deeply to read.') from None
    except ValueError as e: raise UsageError(f'{path}: {e}; the file is damaged or was not written by lexi.') from None
    if _depth(data) > _MAX_DEPTH:
        raise UsageError(f'{path}: the JSON nests deeper than {_MAX_DEPTH} levels, which no saved chat does; '
                         'the file is damaged or was not written by lexi.')
    return data


def _read(path: Path) -> dict:
    "The file's data, checked against the format (lexi/_saved_format.py); UsageError naming the first problem and where."
    data = _parse(path)
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise UsageError(f'{path} is JSON but not a saved lexi chat (it has no "format": "{FORMAT}").')
    version = data.get('version')
    if isinstance(version, bool) or not isinstance(version, int) or version > VERSION:
        raise UsageError(f'{path} was saved by a newer lexi (format version {version!r}; this lexi reads '
                         f'version {VERSION}): upgrade lexi to load it.')
    for key, kind in (('model', str), ('settings', dict), ('hist', list)):
        if not isinstance(data.get(key), kind):
            raise UsageError(f'{path}: "{key}" is missing or not a {kind.__name__}; the file is damaged.')
    if not all(isinstance(m, dict) and isinstance(m.get('role'), str) for m in data['hist']):
        raise UsageError(f'{path}: "hist" holds something that is not a message (a dict with a "role"); the file is damaged.')
    if (wrong := problem(data)) is not None:
        raise UsageError(f'{path}: {wrong}; the file is damaged or was not written by lexi (fix or remove that entry).')
    _check_tool_results(data['hist'], path)
    return data


def _check_tool_results(hist: list, path: Path):
    "Each tool call answered by a tool result right after its message, and each result answering one: valid to send."
    pending, seen = {}, set()
    for i, m in enumerate(hist):
        if m['role'] == 'tool':
            if pending.pop(m['tool_call_id'], None) is None:
                raise UsageError(f'{path}: hist.{i} is a tool result for {m["tool_call_id"]!r}, which the assistant message '
                                 'before it did not call; the file is damaged.')
            continue
        if pending:
            raise UsageError(f'{path}: hist.{next(iter(pending.values()))} has tool calls without results '
                             f'({", ".join(map(repr, pending))}); the file is damaged.')
        for c in m.get('tool_calls') or []:
            if c['id'] in seen: raise UsageError(f'{path}: hist.{i}: the tool call id {c["id"]!r} is used twice; the file is damaged.')
            seen.add(c['id'])
            if not _is_server_call(c): pending[c['id']] = i   # server tools (web search) have no tool message
    if pending:
        raise UsageError(f'{path}: the last message calls tools without results ({", ".join(map(repr, pending))}); '
                         'the file is damaged.')


def _check_model(model: str, path: Path, trusted: bool):
    if not model.isprintable():
        raise UsageError(f'{path}: the saved model {model!r} is not a model name (it holds control characters); '
                         'pass model= to load.')
    if '://' in model and not trusted:
        raise UsageError(f'{path}: the saved model {redact_url(model)!r} is an endpoint URL, and LiteLLM would send '
                         'your key there; pass model= to load (or trust_connection=True for a file you wrote).')


def _options(data: dict, path: Path, trusted: bool, given: dict) -> dict:
    """The saved options to apply: lexi's own, and of the LiteLLM keywords the request parameters (all of them
    when `trusted`). Connection settings left out that the caller does not pass again are named in a warning."""
    options = {k: v for k, v in data['settings'].items() if v is not None}
    extra = options.pop('completion_kwargs', None) or {}
    skipped = [k for k in extra if k not in REQUEST_PARAMS and not trusted]
    named = set(given) | ({'api_base', 'base_url'} if {'api_base', 'base_url'} & set(given) else set())  # one setting, two names
    if given.get('backend') is None and (missing := [k for k in skipped if k not in named]):
        warnings.warn(f'{path}: connection settings in the file were not applied ({", ".join(missing)}): pass them to '
                      'load, or trust_connection=True for a file you wrote.', stacklevel=4)
    return {**options, **{k: v for k, v in extra.items() if k not in skipped}}


def load(cls, path, tools=None, trust_connection: bool = False, **overrides):
    """A `cls` chat (Chat or AsyncChat) from the file at `path`. `tools` are the functions to run (their
    schemas replace the saved ones of the same name); `overrides` are options as Chat takes them (model=,
    backend=, api_base=, api_key=, ...), applied over the saved settings. The file's connection settings
    (api_base, headers, ...: see this module's docstring) apply only with `trust_connection=True`."""
    path = Path(path)
    data = _read(path)
    if overrides.get('model') is None and overrides.get('backend') is None:   # a backend resolves names itself
        _check_model(data['model'], path, trust_connection)
    options = _options(data, path, trust_connection, overrides)
    try: settings = Settings(model='-').merge(model=data['model'], **options)
    except (UsageError, TypeError, ValueError) as e: raise UsageError(f'{path}: the saved settings do not load: {e}') from None
    if tools is not None: settings = settings.merge(tools=tools)
    if overrides: settings = settings.merge(**overrides)
    # replies come back as the LiteLLM Messages a live chat holds (reply.content works on both alike)
    hist = [message_from_dict(m) if m['role'] == 'assistant' else m for m in copy.deepcopy(data['hist'])]
    chat = cls._of(settings, hist)
    if data.get('use') is not None: chat.use = _use_of(data['use'])
    return chat


def _use_of(d: dict) -> Use:
    use = Use(**{k: v for k, v in d.items() if k != 'by_model'})
    use.by_model = {m: _use_of(u) for m, u in (d.get('by_model') or {}).items()}
    return use
