"""What a test queues on lexi's provider stand-in (`lexi.testing`), and what it records.

Pure data and small helpers; no I/O. A `Reply` is provider-neutral: the OpenAI, Anthropic and
Gemini renderers (`_openai`, `_anthropic`, `_gemini`) turn the same
`Reply` into each provider's exact JSON body or server-sent-event stream.
"""
from __future__ import annotations
import base64
import hashlib
import json
import math
import random
import re
import string
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import UsageError

__all__ = ['Citation', 'Cited', 'Thinking', 'Search', 'ToolCall', 'Reply', 'Fault', 'Embeddings', 'Raw', 'Request',
           'Tokens', 'FINISHES', 'SEARCH_ERRORS', 'SIGNED', 'pieces', 'resolve_tokens', 'signature', 'signatures',
           'Ids', 'Turn', 'sse']

FINISHES = ('stop', 'length', 'tool_calls', 'content_filter')
_USAGE_KEYS = frozenset({'input', 'output', 'cache_read', 'cache_write', 'reasoning', 'search'})
# The error codes of Anthropic's web_search_tool_result_error, as its web search tool documents them.
SEARCH_ERRORS = ('too_many_requests', 'invalid_input', 'max_uses_exceeded', 'query_too_long', 'unavailable')
SIGNED = ('text', 'search', 'call')   # Gemini parts a Reply(signed=...) may put thought signatures on


@dataclass(frozen=True)
class Citation:
    "A source behind a cited span: Anthropic `web_search_result_location`, a Gemini grounding chunk, an OpenAI `url_citation`."
    url: str              # the source's address
    title: str = ''       # the page title (Gemini shows the site name when this is empty)
    cited_text: str = ''  # the quoted passage (Anthropic `cited_text`)


@dataclass(frozen=True)
class Cited:
    "A span of answer text backed by one or more `Citation`s; put it in `Reply(text=[...])`."
    text: str                                 # the cited span, as it appears in the answer
    citations: Sequence[Citation] = ()        # its sources

    def __post_init__(self):
        cits = (self.citations,) if isinstance(self.citations, Citation) else tuple(self.citations)
        if not all(isinstance(c, Citation) for c in cits):
            raise UsageError('Cited(text, citations) takes Citation objects, e.g. Cited("x", [Citation("https://a.org")]).')
        object.__setattr__(self, 'citations', cits)


@dataclass(frozen=True)
class Thinking:
    """A thinking block at its place in `Reply(text=[...])`, between text and searches (Anthropic interleaves
    them: a reply may think, search, think again, then answer). `Reply(thinking=...)` is the usual single block
    at the start. Gemini and OpenAI-format replies carry all thinking ahead of the answer."""
    text: str   # the thinking text


@dataclass(frozen=True)
class Search:
    """One server-side web search the provider ran, in `Reply(search=[...])` (before the text) or at its place in
    `Reply(text=[...])`. A str there is short for Search(query). Searches side by side form one round, as the
    providers send them: Anthropic sends each round's `server_tool_use` blocks, then their results; Gemini one
    `toolCall` and `toolResponse` per round (when the request circulates server-side tool invocations) and every
    query in its grounding metadata."""
    query: str                 # what was searched for
    error: str | None = None   # Anthropic web_search_tool_result_error code (e.g. 'max_uses_exceeded'); None: results

    def __post_init__(self):
        if not isinstance(self.query, str): raise UsageError('Search(query) takes the query text as a str.')
        if self.error is not None and self.error not in SEARCH_ERRORS:
            raise UsageError(f'Search(error={self.error!r}) is not one of Anthropic\'s codes: {", ".join(SEARCH_ERRORS)}.')


def _searches(items) -> tuple:
    if items is None: return None
    items = (items,) if isinstance(items, (str, Search)) else tuple(items)
    if not all(isinstance(i, (str, Search)) for i in items):
        raise UsageError('Reply(search=[...]) takes query strings or Search objects.')
    return tuple(Search(i) if isinstance(i, str) else i for i in items)


@dataclass(frozen=True)
class ToolCall:
    """One tool call in a `Reply`; several in one reply are parallel calls.

    `args` as a str is the argument text exactly as the model wrote it, valid JSON or not (e.g. the cut
    '{"a": 1, "b' of a reply stopped mid-call). OpenAI sends any text; Anthropic streams it as it is (its
    JSON bodies and Gemini's carry an object, so there only text that parses to an object can be sent)."""
    name: str                      # the tool's name
    args: dict | str | None = None # its arguments: a dict (sent as JSON; None means {}), or the raw text
    id: str | None = None          # call id; None: provider style (call_..., toolu_..., 8 characters on Gemini 3, none on 2.5)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise UsageError('ToolCall needs a tool name, e.g. ToolCall("add", {"a": 1}).')
        if self.args is not None and not isinstance(self.args, (dict, str)):
            raise UsageError(f'ToolCall({self.name!r}) args must be a dict of arguments (or their raw text as a str), '
                             f'not {type(self.args).__name__}.')

    @property
    def text(self) -> str:
        "The arguments as the model writes them: the raw text, or the dict as JSON."
        return self.args if isinstance(self.args, str) else json.dumps(self.args or {})

    def as_object(self, provider: str) -> dict:
        "The arguments as an object, for wire formats that carry one; raw text that is not a JSON object cannot be."
        if not isinstance(self.args, str): return self.args or {}
        try: obj = json.loads(self.args) if self.args.strip() else {}
        except ValueError: obj = None
        if not isinstance(obj, dict):
            raise UsageError(f'ToolCall({self.name!r}, {self.args!r}): {provider} sends tool arguments as a JSON object '
                             'here; raw text that is not one can be sent by OpenAI, or streamed by Anthropic.')
        return obj


@dataclass
class Reply:
    """A scripted model answer, rendered in the wire format of whichever provider asks.

    `text` is a string, or a list of strings, `Cited` spans, and (for interleaved replies) `Thinking` blocks and
    `Search`es at their place. `finish` defaults to 'tool_calls' when there are tool calls, else 'stop'. `usage`
    keys (all optional): input (prompt tokens, including cached ones), output (completion tokens, including
    reasoning), cache_read, cache_write, reasoning, search (web search requests billed; default: the searches that
    did not fail). Missing ones are derived deterministically from the request and reply sizes.
    """
    text: str | Sequence[str | Cited | Thinking | Search] = ''  # answer text; Cited spans carry citations
    tool_calls: Sequence[ToolCall] = ()        # parallel tool calls, in order
    thinking: str | None = None                # reasoning text (Anthropic thinking, Gemini thought parts, reasoning_content)
    signature: str | Sequence[str] | None = None  # thinking signature(s), one per signed block or part; None: stand-in values
    search: Sequence[str | Search] | None = None  # web searches the provider ran (server-side search), before the text
    finish: str | None = None                  # 'stop' | 'length' | 'tool_calls' | 'content_filter'
    usage: dict | None = None                  # token counts, see above
    model: str | None = None                   # model name echoed back; None: the requested model
    delay: float = 0.0                         # seconds to wait before answering
    event_delay: float = 0.0                   # stream: seconds to wait before each event
    event_delay_from: int = 0                  # stream: the first event that waits event_delay (0: all; 3: a stall after 3)
    cut_after: int | None = None               # stream: close the connection after this many events
    chunk_size: int | None = None              # stream: text piece length; None: one piece per word
    signed: str | Sequence[str] | None = None  # Gemini: parts with a thought signature ('text', 'search', 'call'); None: as Gemini does
    caller: bool = True                        # Anthropic: tool_use and server tool blocks carry `caller` (some replies have none)
    fault: 'Fault | None' = None               # stream: after cut_after events, end with this error as the provider's error event

    def __post_init__(self):
        self.tool_calls = (self.tool_calls,) if isinstance(self.tool_calls, ToolCall) else tuple(self.tool_calls)
        if not all(isinstance(tc, ToolCall) for tc in self.tool_calls):
            raise UsageError('Reply(tool_calls=...) takes ToolCall objects, e.g. [ToolCall("add", {"a": 1})].')
        self.search = _searches(self.search)
        if isinstance(self.signature, (list, tuple)): self.signature = tuple(self.signature)
        if isinstance(self.signed, str): self.signed = (self.signed,)
        if self.signed is not None and not set(self.signed) <= set(SIGNED):
            raise UsageError(f'Reply(signed={self.signed!r}): Gemini signs parts among {", ".join(SIGNED)}.')
        if self.finish is not None and self.finish not in FINISHES:
            raise UsageError(f'Reply(finish={self.finish!r}) is not one of {", ".join(FINISHES)}.')
        if self.usage is not None and not set(self.usage) <= _USAGE_KEYS:
            raise UsageError(f'Reply(usage=...) keys must be among {sorted(_USAGE_KEYS)}; got {sorted(self.usage)}.')
        if self.cut_after is not None and self.cut_after < 0: raise UsageError('Reply(cut_after=N) needs N >= 0.')
        if self.chunk_size is not None and self.chunk_size < 1: raise UsageError('Reply(chunk_size=N) needs N >= 1.')
        if self.fault is not None and not (isinstance(self.fault, Fault) and self.cut_after is not None):
            raise UsageError('Reply(fault=Fault(...)) needs cut_after=N too: the stream fails with that error after N events.')
        for p in self.items:
            if not isinstance(p, (str, Cited, Thinking, Search)):
                raise UsageError('Reply(text=[...]) items must be str, Cited, Thinking or Search.')
        if self.usage: resolve_tokens(self, 0)   # inconsistent counts fail here, not inside the server

    @property
    def items(self) -> tuple:
        """The whole content in order: the leading thinking and searches, then the text's items (empty strings
        dropped), each a str, Cited, Thinking or Search."""
        if isinstance(self.text, (str, Cited, Thinking, Search)): body = (self.text,)
        else: body = tuple(self.text)
        head = ((Thinking(self.thinking),) if self.thinking else ()) + (self.search or ())
        return head + tuple(p for p in body if not (isinstance(p, str) and p == ''))

    @property
    def parts(self) -> tuple:
        "The answer text as a tuple of `str` and `Cited` spans (empty strings dropped)."
        return tuple(p for p in self.items if isinstance(p, (str, Cited)))

    @property
    def full_text(self) -> str:
        "The whole answer text, cited spans included."
        return ''.join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def thoughts(self) -> list[str]:
        "The text of every thinking block, in order."
        return [p.text for p in self.items if isinstance(p, Thinking)]

    @property
    def reasoning(self) -> str:
        "All thinking text, joined (what OpenAI-format replies carry as reasoning_content)."
        return ''.join(self.thoughts)

    @property
    def searches(self) -> list[Search]:
        "Every search, in order."
        return [p for p in self.items if isinstance(p, Search)]

    @property
    def queries(self) -> list[str]:
        "The queries of the searches that did not fail."
        return [s.query for s in self.searches if s.error is None]

    @property
    def finish_reason(self) -> str:
        "`finish`, or its default: 'tool_calls' if there are tool calls, else 'stop'."
        return self.finish or ('tool_calls' if self.tool_calls else 'stop')

    @property
    def citations(self) -> list[Citation]:
        "Every distinct citation in the text, first appearance first."
        seen = {}
        for p in self.parts:
            for c in (p.citations if isinstance(p, Cited) else ()): seen.setdefault(c.url, c)
        return list(seen.values())


@dataclass(frozen=True)
class Fault:
    "An HTTP error in the asking provider's error-body shape (e.g. 429 rate limit, 500, 529 overloaded)."
    status: int = 429                  # HTTP status
    message: str | None = None         # error message; None: a default naming the status
    retry_after: float | None = None   # seconds for the Retry-After header (None: no header)
    delay: float = 0.0                 # seconds to wait before answering
    should_retry: bool | None = False  # `x-should-retry` header the OpenAI SDK obeys; False: SDK does not retry

    def __post_init__(self):
        if not (isinstance(self.status, int) and 400 <= self.status <= 599):
            raise UsageError(f'Fault(status={self.status!r}) needs an HTTP error status between 400 and 599.')


@dataclass(frozen=True)
class Embeddings:
    "A reply to POST /embeddings: one vector per input."
    vectors: Sequence[Sequence[float]]   # the embedding vectors, in input order
    model: str | None = None             # model name echoed back; None: the requested model
    tokens: int | None = None            # prompt tokens reported; None: derived from the input size
    delay: float = 0.0                   # seconds to wait before answering


@dataclass(frozen=True)
class Raw:
    "A body sent verbatim (see `StandIn.queue_raw`)."
    body: bytes
    status: int = 200
    content_type: str = 'application/json'
    headers: tuple = ()
    delay: float = 0.0


@dataclass
class Request:
    "One request the stand-in received. Credentials in headers and `?key=` are replaced by '***'."
    method: str                   # 'POST' or 'GET'
    path: str                     # path without the query string, e.g. '/v1/messages'
    query: dict                   # query parameters (single values)
    headers: dict                 # header names lower-cased
    body: Any                     # parsed JSON body (the raw text if not JSON; None if empty)
    provider: str                 # 'openai' | 'anthropic' | 'gemini' | 'unknown'
    stream: bool                  # True if the request asked for a stream
    model: str | None = None      # requested model (body 'model', or the Gemini path's model)
    error: str | None = None      # the stand-in's own error (nothing scripted, ...) or the provider rule broken
    client_closed: bool = False   # the client hung up before the whole answer was sent (an abandoned stream)
    item: Any = field(default=None, repr=False)  # the scripted item that answered it (None: nothing was taken)
    size: int = field(default=0, repr=False)   # body length in bytes

    def __repr__(self):
        extra = f', error={self.error!r}' if self.error else ''
        return f'Request({self.method} {self.path}, provider={self.provider!r}, model={self.model!r}, stream={self.stream}{extra})'


@dataclass(frozen=True)
class Tokens:
    "Resolved token counts of one reply (see `Reply.usage`)."
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    web_searches: int = 0

    @property
    def total(self) -> int: return self.input + self.output


def _est(s: str) -> int: return math.ceil(len(s) / 4)


def resolve_tokens(reply: Reply, request_size: int) -> Tokens:
    "Token counts for `reply`: its `usage` where given, else estimates (about 4 characters a token)."
    u = reply.usage or {}
    reasoning = u.get('reasoning', _est(reply.reasoning))
    args = ''.join(tc.args if isinstance(tc.args, str) else repr(tc.args or {}) for tc in reply.tool_calls)
    output = u.get('output', max(1, _est(reply.full_text) + _est(args) + reasoning))
    cache_read, cache_write = u.get('cache_read', 0), u.get('cache_write', 0)
    inp = u.get('input', max(1, math.ceil(request_size / 4)) + cache_read + cache_write)
    if inp < cache_read + cache_write:
        raise UsageError(f'Reply(usage=...): input ({inp}) counts every prompt token, so it must be at least '
                         f'cache_read + cache_write ({cache_read + cache_write}).')
    if output < reasoning:
        raise UsageError(f'Reply(usage=...): output ({output}) includes reasoning, so it must be at least {reasoning}.')
    return Tokens(inp, output, cache_read, cache_write, reasoning, u.get('search', len(reply.queries)))


def _derived(seed: str) -> str:
    digest = hashlib.sha256(('lexi.testing:' + seed).encode()).digest()
    return base64.b64encode(b'\x12' + digest + digest[:15]).decode()


def signature(reply: Reply) -> str:
    """The reply's first signature: `reply.signature` (its first if several), or one derived from the reply's
    content (the same reply gets the same value; different replies, different values)."""
    if isinstance(reply.signature, tuple) and reply.signature: return reply.signature[0]
    if isinstance(reply.signature, str) and reply.signature: return reply.signature
    return _derived(repr((reply.items, reply.tool_calls)))


def signatures(reply: Reply, n: int) -> list[str]:
    """`n` signatures for the reply's signed blocks or parts, in order: those `reply.signature` gives, else the
    first signature and distinct values derived from it (same reply, same values)."""
    if isinstance(reply.signature, tuple):
        if len(reply.signature) < n:
            raise UsageError(f'Reply(signature=...) gives {len(reply.signature)} signature(s); this reply carries {n} '
                             'signed blocks or parts on this provider: give one per block or part, or a single str.')
        return list(reply.signature[:n])
    first = signature(reply)
    return [first] + [_derived(f'{first}#{i}') for i in range(1, n)]


def pieces(text: str, size: int | None = None) -> list[str]:
    "Split `text` for streaming: `size`-character pieces, or one piece per word (space attached in front)."
    if not text: return []
    if size: return [text[i:i + size] for i in range(0, len(text), size)]
    return re.findall(r'\s*\S+|\s+$', text) or [text]


class Ids:
    "Provider-style ids from a seeded random source, so a run's ids are reproducible."
    _B62 = string.digits + string.ascii_letters

    def __init__(self, seed: int | None = 0):
        self._rng, self._lock = random.Random(seed), threading.Lock()

    def _chars(self, n: int, alphabet: str = _B62) -> str:
        with self._lock: return ''.join(self._rng.choice(alphabet) for _ in range(n))

    def chatcmpl(self) -> str: return 'chatcmpl-' + self._chars(29)
    def call(self) -> str: return 'call_' + self._chars(24)
    def fingerprint(self) -> str: return 'fp_' + self._chars(10, '0123456789abcdef')
    def msg(self) -> str: return 'msg_01' + self._chars(22)
    def toolu(self) -> str: return 'toolu_01' + self._chars(22)
    def srvtoolu(self) -> str: return 'srvtoolu_01' + self._chars(22)
    def req(self) -> str: return 'req_011' + self._chars(21)
    def gemini_call(self) -> str: return self._chars(8, string.digits + string.ascii_lowercase)
    def gemini_response(self) -> str: return self._chars(23, self._B62 + '-_')
    def blob(self, n: int = 48) -> str: return self._chars(n, self._B62 + '+/')


@dataclass
class Turn:
    "What a renderer needs for one reply: the script, the request it answers, and resolved values."
    reply: Reply
    request: Request
    model: str
    tokens: Tokens
    ids: Ids
    issued: dict = field(default_factory=dict)   # thought signature -> the part it was sent on (Gemini 3 checks)


def sse(data: Any, event: str | None = None, sep: str = '\n\n') -> bytes:
    "One server-sent event: optional `event:` line, a compact JSON (or literal string) `data:` line."
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(',', ':'))
    head = f'event: {event}\n' if event else ''
    return f'{head}data: {payload}{sep}'.encode()
