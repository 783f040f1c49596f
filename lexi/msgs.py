"""Messages for LiteLLM: `mk_msg` / `mk_msgs`, and prompt-cache checkpoints.

Content can be text, media bytes (JPEG, PNG, GIF, WebP, PDF, WAV, MP3: told apart by their magic
number), a `Path` to such a file, or a list mixing these (one message in several parts); in a
list, a bare http(s) URL is media chosen by its extension. Dicts with a 'role' and LiteLLM
`Message` objects are already messages and pass through.

Empty text: Gemini rejects an empty text part and Anthropic an empty or whitespace-only text
block (LiteLLM 1.106 swaps the latter for a placeholder sentence of its own). So blank text parts
are dropped from multi-part content; a message whose text is empty gets a single space (OpenAI and
Gemini take it as is, LiteLLM gives Anthropic its placeholder); and `mk_msgs` gives an assistant
tool-call request with blank text `content=None`, so no provider sees any text for it.

Audio: LiteLLM sends `input_audio` parts (audio bytes) to OpenAI and Gemini, but leaves them out of
Anthropic requests without a word. Audio by URL (a `file` part with an audio `format`) reaches only
Gemini as audio (see lexi._media). `media_kinds(msgs)` tells a caller which kinds a request carries.

Prompt caching (Anthropic and compatible): a checkpoint `{'type': 'ephemeral'}` (plus `'ttl'`)
marks the end of a prefix to cache. A request may carry at most 4 checkpoints; `mk_msgs` never
returns more, dropping the oldest pre-existing ones first.
"""
from __future__ import annotations
import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._media import is_audio_part, is_url, part_from_bytes, part_from_path, part_from_url, text_part
from .errors import UsageError
from ._util import get

__all__ = ['mk_msg', 'mk_msgs', 'remove_cache_ckpts', 'add_cache_ckpt', 'count_cache_ckpts', 'limit_cache_ckpts',
           'cache_positions', 'check_ttl',
           'media_kinds', 'MAX_CACHE_CKPTS']

MAX_CACHE_CKPTS = 4  # Anthropic rejects a request with a 5th cache_control block
TTLS = ('5m', '1h')
_UNCACHEABLE_PARTS = {'thinking', 'redacted_thinking'}  # Anthropic refuses cache_control on thinking blocks


# ---------------------------------------------------------------- message access (dicts and Message objects)

def _with(m, **changes):
    "A copy of message `m` with fields changed (a value of `...` deletes the field)."
    if isinstance(m, Mapping):
        res = dict(m)
        for k, v in changes.items():
            if v is ...: res.pop(k, None)
            else: res[k] = v
        return res
    res = m.model_copy()
    for k, v in changes.items():
        if v is not ...: setattr(res, k, v)
        elif getattr(res, k, None) is not None: setattr(res, k, None)
    return res


def _is_message_obj(o) -> bool:
    return hasattr(o, 'role') and hasattr(o, 'content') and hasattr(o, 'model_copy')


def _is_response(o) -> bool:
    choices = getattr(o, 'choices', None)
    return bool(choices) and hasattr(choices[0], 'message')


def _fresh(m):
    "A deep copy of message `m`, so neither lexi nor LiteLLM (which edits messages it is given) touches the caller's."
    return m.model_copy(deep=True) if hasattr(m, 'model_copy') else copy.deepcopy(m)


def check_ttl(ttl):
    "UsageError unless `ttl` is None, '5m' or '1h'."
    if ttl is not None and ttl not in TTLS:
        raise UsageError(f"ttl must be '5m' or '1h' (or None for the provider's default), not {ttl!r}.")


# ---------------------------------------------------------------- mk_msg

def _blank_text(p) -> bool:
    return (isinstance(p, Mapping) and p.get('type') == 'text' and not str(p.get('text') or '').strip()
            and p.get('cache_control') is None)


def _part(o) -> dict:
    "One content part from a str, bytes, Path or part dict."
    if isinstance(o, str): return part_from_url(o) if is_url(o) else text_part(o)
    if isinstance(o, (bytes, bytearray, memoryview)): return part_from_bytes(o)
    if isinstance(o, Path): return part_from_path(o)
    if isinstance(o, Mapping):
        if 'role' in o: raise UsageError("a message part cannot be a whole message (it has a 'role'); "
                                         "pass the messages to mk_msgs as separate items.")
        return o
    raise UsageError(f"cannot make a content part from a {type(o).__name__}; pass str, bytes, a Path or a part dict.")


def _content(items) -> str | list:
    """Message content from a list of parts; a list holding one string is that string, unless it is a bare URL
    (media, as in any other list: ['https://.../cat.png'] sends the image, like ['https://.../cat.png', 'What is it?'])."""
    if len(items) == 1 and isinstance(items[0], str) and not is_url(items[0]): return items[0] or ' '
    parts = [p for p in map(_part, items) if not _blank_text(p)]
    return parts or ' '


def _as_msg(content, role: str):
    if isinstance(content, Mapping):
        if 'role' in content: return content
        if 'type' in content: return {'role': role, 'content': [content]}
        raise UsageError("a message dict needs a 'role' (or, for a single content part, a 'type').")
    if isinstance(content, str): return {'role': role, 'content': content or ' '}
    if isinstance(content, (list, tuple)): return {'role': role, 'content': _content(content)}
    if isinstance(content, (bytes, bytearray, memoryview, Path)): return {'role': role, 'content': [_part(content)]}
    if _is_response(content): return content.choices[0].message
    if _is_message_obj(content): return content
    raise UsageError(f"mk_msg cannot make a message from a {type(content).__name__}; pass str, bytes, a Path, "
                     "a list of parts, a message dict or a Message.")


def mk_msg(content: Any,            # str, bytes, Path, list of parts, message dict, Message or ModelResponse
           role: str = 'user',      # role when content is not already a message
           cache: bool = False,     # put a prompt-cache checkpoint on the message's last part
           ttl: str | None = None,  # checkpoint lifetime: '5m' or '1h' (None: provider default, 5 minutes)
           ):
    "A LiteLLM message from `content`; messages pass through (a ModelResponse gives its message)."
    check_ttl(ttl)
    msg = _as_msg(content, role)
    return add_cache_ckpt(msg, ttl) if cache else msg


# ---------------------------------------------------------------- checkpoints

def _ckpt(ttl) -> dict:
    return {'type': 'ephemeral'} if ttl is None else {'type': 'ephemeral', 'ttl': ttl}


def _tc_dict(tc) -> dict:
    if isinstance(tc, Mapping): return dict(tc)
    return tc.model_dump(exclude_none=True) if hasattr(tc, 'model_dump') else dict(tc)


def _locs(m) -> list:
    "Where message `m` carries checkpoints, in order: ('msg', None), ('content', j), ('tool_calls', j)."
    res = [('msg', None)] if get(m, 'cache_control') is not None else []
    content = get(m, 'content')
    if isinstance(content, list):
        res += [('content', j) for j, p in enumerate(content) if isinstance(p, Mapping) and p.get('cache_control') is not None]
    res += [('tool_calls', j) for j, tc in enumerate(get(m, 'tool_calls') or []) if get(tc, 'cache_control') is not None]
    return res


def _without(obj: Mapping) -> dict:
    return {k: v for k, v in _tc_dict(obj).items() if k != 'cache_control'}


def _drop(m, loc):
    "A copy of `m` without the checkpoint at `loc`."
    kind, j = loc
    if kind == 'msg': return _with(m, cache_control=...)
    items = list(get(m, kind))
    items[j] = _without(items[j])
    return _with(m, **{kind: items})


def _collapse(m):
    "Content that is a single plain text part becomes a string again."
    c = get(m, 'content')
    if isinstance(c, list) and len(c) == 1 and isinstance(c[0], Mapping) and set(c[0]) == {'type', 'text'} \
            and c[0]['type'] == 'text':
        return _with(m, content=c[0]['text'])
    return m


def remove_cache_ckpts(msg):  # a message dict or Message
    "`msg` without cache checkpoints anywhere (a copy when it had any; `msg` itself is not changed)."
    locs = _locs(msg)
    if not locs: return msg
    for loc in reversed(locs): msg = _drop(msg, loc)
    return _collapse(msg) if any(kind == 'content' for kind, _ in locs) else msg


def _last_part(parts: list) -> int:
    "Index of the part a checkpoint goes on: the last one that is not a thinking block."
    for j in range(len(parts) - 1, -1, -1):
        if not (isinstance(parts[j], Mapping) and parts[j].get('type') in _UNCACHEABLE_PARTS): return j
    return len(parts) - 1


def add_cache_ckpt(msg,                   # a message dict or Message
                   ttl: str | None = None  # '5m' or '1h' (None: provider default)
                   ):
    """A copy of `msg` with exactly one checkpoint at its end: on its last tool call when it has tool
    calls (rendered after any text, so the whole message is cached); on the message itself for a tool
    result (LiteLLM puts it on the Anthropic tool_result block); else on its last content part."""
    check_ttl(ttl)
    m, cc = remove_cache_ckpts(msg), _ckpt(ttl)
    if get(m, 'role') == 'tool': return _with(m, cache_control=cc)
    tcs = get(m, 'tool_calls')
    if tcs:
        calls = [_tc_dict(tc) for tc in tcs]
        calls[-1] = {**calls[-1], 'cache_control': cc}
        return _with(m, tool_calls=calls)
    content = get(m, 'content')
    if isinstance(content, list) and content:
        parts, j = list(content), _last_part(content)
        parts[j] = {**parts[j], 'cache_control': cc}
        return _with(m, content=parts)
    text = content if isinstance(content, str) and content else ' '
    return _with(m, content=[{'type': 'text', 'text': text, 'cache_control': cc}])


def _as_list(msgs) -> list:
    return [msgs] if isinstance(msgs, Mapping) or _is_message_obj(msgs) else list(msgs)


def count_cache_ckpts(msgs) -> int:  # a list of messages (or one message)
    "How many cache checkpoints `msgs` carry."
    return sum(len(_locs(m)) for m in _as_list(msgs))


def _limit(msgs: list, n: int, keep=()) -> list:
    "`msgs` with the oldest checkpoints dropped until at most `n` remain; those in messages `keep` stay."
    locs = [(i, loc) for i, m in enumerate(msgs) for loc in _locs(m)]
    excess = len(locs) - n
    if excess <= 0: return list(msgs)
    res = list(msgs)
    for i, loc in [o for o in locs if o[0] not in keep][:excess][::-1]: res[i] = _drop(res[i], loc)
    return res


def limit_cache_ckpts(msgs: list,  # messages
                      n: int = MAX_CACHE_CKPTS  # most checkpoints to keep
                      ) -> list:
    "`msgs` keeping only the newest `n` checkpoints (the input list and messages are not changed)."
    if not isinstance(n, int) or n < 0: raise UsageError(f"n must be a whole number >= 0, not {n!r}.")
    return _limit(_as_list(msgs), n)


# ---------------------------------------------------------------- mk_msgs

def ckpt_count(m) -> int:
    "How many cache checkpoints message `m` carries."
    return len(_locs(m))


def cacheable(m) -> bool:
    "Messages cache_idxs count: not tool results, not assistant tool-call requests."
    role = get(m, 'role')
    return role not in ('tool', 'function') and not (role == 'assistant' and get(m, 'tool_calls'))


def cache_positions(msgs: list, cache_idxs, elig: list | None = None) -> list[int]:
    """Indices in `msgs` that `cache_idxs` names, counting only cacheable messages (`elig`: their indices, when
    the caller knows them); UsageError for bad idxs."""
    idxs = (-1,) if cache_idxs is None else (cache_idxs,) if isinstance(cache_idxs, int) else tuple(cache_idxs)
    if any(isinstance(k, bool) or not isinstance(k, int) for k in idxs):
        raise UsageError(f"cache_idxs must be whole numbers (message positions), not {cache_idxs!r}.")
    if len(set(idxs)) > MAX_CACHE_CKPTS:
        raise UsageError(f"cache_idxs names {len(set(idxs))} positions but a request takes at most "
                         f"{MAX_CACHE_CKPTS} cache checkpoints; pass at most {MAX_CACHE_CKPTS}.")
    if elig is None: elig = [i for i, m in enumerate(msgs) if cacheable(m)]
    return list(dict.fromkeys(elig[k] for k in idxs if -len(elig) <= k < len(elig)))


def _expand(m, role: str) -> list:
    """The messages item `m` of mk_msgs stands for: lexi's formatted output (a `Formatted` str, as hist2fmt and
    StreamFormatter.outp give) expands into its history; any other str is one message's text, whatever it holds."""
    from .fmt import Formatted, fmt2hist
    if isinstance(m, Formatted): return list(fmt2hist(m))
    return [mk_msg(m, role=role)]


def _tidy(m):
    """`m` with empty text made safe to send: blank text parts dropped; a tool-call request with blank
    text gets content None (Gemini rejects an empty text part, and LiteLLM sends Anthropic a placeholder
    sentence for one); other empty text becomes a single space."""
    if get(m, 'role') not in ('user', 'assistant', 'system'): return m
    content = get(m, 'content')
    if isinstance(content, list) and any(map(_blank_text, content)):
        content = [p for p in content if not _blank_text(p)] or ''
        m = _with(m, content=content)
    if isinstance(content, str) and not content.strip():
        if get(m, 'tool_calls'): return _with(m, content=None)
        if not content: return _with(m, content=' ')
    return m


def _build(msgs) -> list:
    if msgs is None: return []
    if isinstance(msgs, (str, bytes, bytearray, Path, Mapping)) or _is_message_obj(msgs) or _is_response(msgs):
        msgs = [msgs]
    if not isinstance(msgs, Iterable):
        raise UsageError(f'messages must be a list of messages (or one message), not {type(msgs).__name__}.')
    res, role = [], 'user'
    for m in msgs:
        new = _expand(m, role)
        res += [_tidy(_fresh(o)) for o in new]
        if new: role = 'assistant' if get(new[-1], 'role') in ('user', 'tool', 'function') else 'user'
    return res


def mk_msgs(msgs: Any,               # messages (str, bytes, list of parts, dict, Message), or one message
            cache: bool = False,     # add cache checkpoints at cache_idxs
            cache_idxs=(-1,),        # positions to cache, counting only messages that are neither tool
                                     #   results nor assistant tool-call requests
            ttl: str | None = None,  # checkpoint lifetime: '5m' or '1h'
            ) -> list:
    """LiteLLM messages from `msgs`, roles alternating user/assistant (tool messages keep their place).
    Returns copies; never more than 4 checkpoints (the oldest pre-existing ones are dropped)."""
    check_ttl(ttl)
    res = _build(msgs)
    if not cache: return _limit(res, MAX_CACHE_CKPTS)
    pos = cache_positions(res, cache_idxs)
    for i in pos: res[i] = add_cache_ckpt(res[i], ttl)
    return _limit(res, MAX_CACHE_CKPTS, keep=set(pos))


_PART_KINDS = {'image_url': 'image', 'input_audio': 'audio', 'file': 'file', 'document': 'file'}


def _kind(p) -> str | None:
    if is_audio_part(p): return 'audio'
    return _PART_KINDS.get(p.get('type')) if isinstance(p, Mapping) else None


def media_kinds(msgs) -> set[str]:  # a list of messages (or one message)
    """Which media the messages carry: a subset of {'image', 'audio', 'file'} (PDFs are 'file'; audio
    by URL, a file part with an audio format, is 'audio')."""
    parts = [p for m in _as_list(msgs) if isinstance(c := get(m, 'content'), list) for p in c]
    return {k for p in parts if (k := _kind(p))}
