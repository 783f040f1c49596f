"""Saved conversations: `chat.save(path)` writes a chat as JSON, `Chat.load(path, ...)` brings it back.

The file holds the model, the settings that are plain data (system prompt, temperature, tool schemas,
cache settings, LiteLLM keywords such as max_tokens or api_base), the history exactly as the chat
keeps it (thinking blocks and signatures, citations, tool calls and results) and the usage. A loaded
chat's next request is the one the saved chat would have sent.

Never saved: credentials (api_key, any keyword or header named like a key, token, secret, password or
authorization, and any value equal to a secret-looking environment variable's), and what is not
data: functions (pass `tools=[...]` to load to run tools again; their schemas are kept, so the model
still sees them), a backend or Router, a rate limit, output_type and callbacks. Pass them to load.

Writes are atomic: the JSON goes to a temporary file beside the target, then replaces it in one
rename, so a crash mid-save leaves the previous file whole.
"""
from __future__ import annotations
import copy
import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ._litellm import message_from_dict, sendable
from ._settings import Settings, _default, secret_name
from .errors import UsageError
from .usage import Use

__all__ = ['save', 'load', 'FORMAT', 'VERSION']

FORMAT, VERSION = 'lexi.chat', 1
# Settings that are never written: they are not data (functions, objects); load takes them again.
_NOT_SAVED = frozenset({'ns', 'backend', 'rate_limit', 'output_type', 'on_progress'})


def _env_secrets() -> set:
    "Values of environment variables named like credentials (an API key passed by value is dropped too)."
    return {v for k, v in os.environ.items() if secret_name(k) and len(v) >= 8}


def _clean(value, secrets: set):
    "`value` without credentials: secret-named keys dropped at any depth, secret values dropped."
    if isinstance(value, Mapping):
        return {k: _clean(v, secrets) for k, v in value.items() if not secret_name(k) and not (isinstance(v, str) and v in secrets)}
    if isinstance(value, (list, tuple)): return [_clean(v, secrets) for v in value if not (isinstance(v, str) and v in secrets)]
    return value


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
        value = _clean(dict(value) if isinstance(value, Mapping) else list(value) if isinstance(value, tuple) else value, secrets)
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


def _use_of(d: dict, where: str) -> Use:
    names = {f.name for f in dataclasses.fields(Use)} - {'by_model'}
    if not isinstance(d, Mapping) or set(d) - names - {'by_model'}:
        raise UsageError(f'{where}: "use" is not a lexi usage record.')
    use = Use(**{k: v for k, v in d.items() if k in names})
    use.by_model = {m: _use_of(u, where) for m, u in (d.get('by_model') or {}).items()}
    return use


def save(chat, path) -> Path:
    "Write `chat` to `path` as JSON (atomically); returns the path."
    path = Path(path)
    settings, left = _settings_data(chat.settings)
    data = {'format': FORMAT, 'version': VERSION, 'class': type(chat).__name__, 'model': chat.settings.model,
            'settings': settings, 'not_saved': left, 'hist': [_plain(sendable(m)) for m in chat.hist],
            'use': _use_data(chat.use)}
    text = json.dumps(data, indent=1, ensure_ascii=False)   # fails here, before any file is touched
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try: os.unlink(tmp)
        except OSError: pass
        raise
    return path


def _read(path: Path) -> dict:
    try: text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError: raise UsageError(f'{path} is not a saved lexi chat: it is not UTF-8 text.') from None
    try: data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f'{path} is not a saved lexi chat: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); '
                         'it may be cut short or edited.') from None
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise UsageError(f'{path} is JSON but not a saved lexi chat (it has no "format": "{FORMAT}").')
    if not isinstance(data.get('version'), int) or data['version'] > VERSION:
        raise UsageError(f'{path} was saved by a newer lexi (format version {data.get("version")!r}; this lexi reads '
                         f'version {VERSION}): upgrade lexi to load it.')
    for key, kind in (('model', str), ('settings', dict), ('hist', list)):
        if not isinstance(data.get(key), kind):
            raise UsageError(f'{path}: "{key}" is missing or not a {kind.__name__}; the file is damaged.')
    if not all(isinstance(m, dict) and isinstance(m.get('role'), str) for m in data['hist']):
        raise UsageError(f'{path}: "hist" holds something that is not a message (a dict with a "role"); the file is damaged.')
    return data


def load(cls, path, tools=None, **overrides):
    """A `cls` chat (Chat or AsyncChat) from the file at `path`. `tools` are the functions to run (their
    schemas replace the saved ones of the same name); `overrides` are options as Chat takes them (model=,
    backend=, api_key=, ...), applied over the saved settings."""
    path = Path(path)
    data = _read(path)
    options = dict(data['settings'])
    extra = options.pop('completion_kwargs', {})
    try: settings = Settings(model='-').merge(model=data['model'], **options, **(extra if isinstance(extra, dict) else {}))
    except (UsageError, TypeError) as e: raise UsageError(f'{path}: the saved settings do not load: {e}') from None
    if tools is not None: settings = settings.merge(tools=tools)
    if overrides: settings = settings.merge(**overrides)
    # replies come back as the LiteLLM Messages a live chat holds (reply.content works on both alike)
    hist = [message_from_dict(m) if m['role'] == 'assistant' else m for m in copy.deepcopy(data['hist'])]
    chat = cls._of(settings, hist)
    if 'use' in data: chat.use = _use_of(data['use'], str(path))
    return chat
