"""Test doubles for code that calls LLMs through lexi or LiteLLM, offline.

Two of them, sharing one script language (`Reply`, `ToolCall`, ...):
- `Scripted`: a backend for `Chat(..., backend=Scripted(...))` that answers in-process with LiteLLM
  objects: no HTTP, fast, for unit tests of your own code (see lexi/testing/_scripted.py).
- `StandIn`: a loopback HTTP server speaking the providers' wire formats, so that LiteLLM's real
  request and response handling runs (everything below).


`StandIn` is a real HTTP server on 127.0.0.1 (a free port, a background thread) that speaks the wire
formats LiteLLM talks to: OpenAI chat completions (plus /embeddings and /models) and the OpenAI
Responses API (/v1/responses, where LiteLLM sends 'openai/responses/<model>' and models it serves only
there), Anthropic Messages, and Gemini generateContent / streamGenerateContent. You queue provider-
neutral scripts; each request takes the next one and gets it rendered in its provider's exact JSON or
server-sent-event format, so LiteLLM's own request building and response parsing run for real. Every
request is recorded (credentials redacted), so a test can check what was sent; `Request.client_closed`
tells that the client hung up before the whole answer was sent (a stream it abandoned and closed).

    import litellm
    from lexi.testing import StandIn, Reply, ToolCall, Fault

    with StandIn() as srv:
        srv.queue(Reply(text='Hi!'),
                  Reply(tool_calls=[ToolCall('add', {'a': 1, 'b': 2})]))
        r = litellm.completion('anthropic/claude-sonnet-4-5', [{'role': 'user', 'content': 'Hello'}],
                               **srv.kwargs('anthropic'))
        assert r.choices[0].message.content == 'Hi!'
        sent = srv.requests[-1].body          # what LiteLLM put on the wire
        assert sent['messages'][0]['content'] == [{'type': 'text', 'text': 'Hello'}]

In pytest, the `standin` fixture (registered by lexi's pytest plugin) gives a started `StandIn` and
fails the test at teardown if any request found nothing scripted or broke a provider rule.

Provider rules (`StandIn(strict=True)`, the default): every chat request body is checked, before a
scripted item is taken, against rules the real providers enforce. A request that breaks one gets
HTTP 400 with that provider's error body and message (LiteLLM raises `BadRequestError`), takes no
queued item, and is recorded in `srv.violations` (its `.error` says which rule broke and where).
The rules, in the providers' words:
- Anthropic: the first message is the user's ("first message must use the \"user\" role"), and for
  Claude 4.6 and later the last one too ("This model does not support assistant message prefill"); every `tool_use` has a `tool_result` in the next message ("`tool_use` ids were found
  without `tool_result` blocks immediately after"), every `tool_result` answers a `tool_use` of the
  previous message ("unexpected `tool_use_id` found in `tool_result` blocks"); at most 4 blocks with
  cache_control (system, tools and messages); tool names unique; tool_use ids (and the tool_use_id of
  results) match `^[a-zA-Z0-9_-]+$`; a tool_use input is an object; text blocks non-empty; messages
  non-empty, each with content (but a final assistant message). Server tool blocks (web search,
  'srvtoolu_' ids) carry their own results.
- OpenAI: an assistant message with tool_calls is followed by tool messages answering every
  tool_call_id before any other role; a tool message answers a call of the assistant message before it;
  tool-call ids are at most 40 characters. Responses API: every function_call input item has a
  function_call_output after it ("No tool output found for function call call_..."), every output answers a
  call before it; an item given by `id` is one an earlier response sent ("Item with id '...' not found."), and
  with `store: false` a reasoning item needs its encrypted_content ("... Items are not persisted when `store`
  is set to false. ..."); a reasoning item is followed by what the model produced after it.
- Gemini: contents non-empty, every content with parts; a model turn with N function calls is
  followed by a turn with N function responses, and responses only follow a function call turn; a
  function call turn follows a user or function response turn (so it never comes first);
  function declaration names unique; function call args and function response values are objects.
  Gemini 3 (a model named gemini-3 or later) also checks thought signatures, as Google documents them: in the
  current turn (after the last user message that is not function responses) the first functionCall of
  each model turn carries one ("Function call is missing a thought_signature in functionCall parts. ...");
  every signature is one the stand-in sent, back on the kind of part it was sent on (a call's on that
  call), or Google's skip_thought_signature_validator placeholder ("Corrupted thought signature."). LiteLLM
  answers that 400 by sending the request again with placeholders, so the call succeeds and only
  `srv.violations` (and the `standin` fixture) tells.
`StandIn(strict=False)` (or setting `srv.strict = False`) turns the checks off, for a test that must
send such requests and get scripted answers to them. (To test how code handles a provider's 400,
script `Fault(400, ...)`: it answers a valid request.)

What you can script (one item per request, first in first out, shared by all providers):
- `Reply(text, tool_calls, thinking, signature, search, finish, usage, model, delay, event_delay,
  event_delay_from, cut_after, chunk_size, signed, caller, fault)`: a model answer. Whether it goes out as JSON or as a stream depends on
  the request (`stream=True`, or Gemini's streaming endpoint). `text` may be a list interleaving text, `Cited`
  spans, `Thinking` blocks and `Search`es, in the order an Anthropic reply has them (think, say, search, think
  again, answer); `thinking=` and `search=` put one block and a round of searches before the text.
- `Search(query, error)`: a server-side web search; `error` (e.g. 'max_uses_exceeded') makes Anthropic's result
  a `web_search_tool_result_error`. Searches side by side are one round.
- `ToolCall(name, args, id)` in a Reply's tool_calls: `args` a dict, or the raw argument text as a str, sent
  as written where the provider can send it: OpenAI always, Anthropic in a stream (e.g. a call cut mid-way,
  '{"a": 1, "b'); elsewhere only text that is a JSON object (otherwise the stand-in answers with its own 400).
- `Fault(status, message, retry_after)`: an HTTP error with the provider's error body, in the provider's own
  words when `message` is None: Anthropic's {'type': 'error', 'error': {'type', 'message'}, 'request_id'} (529 is
  overloaded_error 'Overloaded') with a request-id header; Gemini's {'error': {'code', 'message', 'status'}}
  (429 RESOURCE_EXHAUSTED with `details`: QuotaFailure, Help and, given retry_after, a RetryInfo 'retryDelay',
  where Gemini says how long to wait; 503 UNAVAILABLE 'The model is overloaded. ...'); OpenAI's
  {'error': {'message', 'type', 'param', 'code'}}. `retry_after` is also sent as a Retry-After header (Anthropic
  and OpenAI send one; Gemini puts the wait in the body only). LiteLLM maps them to its exceptions (429 ->
  RateLimitError, 500 -> InternalServerError, OpenAI's 503 -> ServiceUnavailableError; Anthropic's 529 and
  Gemini's 503 -> InternalServerError).
- `Embeddings(vectors)`: the answer to an embeddings request.
- `srv.queue_raw(body, status, content_type, headers)`: a body sent exactly as given.
`GET /models` is not scripted: it lists `srv.models`.

Routing: `srv.kwargs(provider)` gives LiteLLM the `api_base` and a dummy `api_key` for 'openai',
'anthropic' or 'gemini' (use the matching model prefix: 'openai/...', 'anthropic/...',
'gemini/...'); `srv.env(provider)` gives the same as environment variables.

Retries: the OpenAI SDK under LiteLLM's 'openai/' models retries 408/409/429/5xx answers, timeouts
and dropped connections twice by default. Faults carry `x-should-retry: false`, which the SDK
obeys, so one Fault answers exactly one call. For timeouts (`Reply(delay=...)` with a short
`timeout=`) and dropped connections (`cut_after` on a non-stream request) pass `max_retries=0`,
or the SDK's retries take the next queued items (or find nothing scripted).

Mid-stream cuts: `Reply(cut_after=N)` sends the first N events of a stream, then closes the
connection without the end of the chunked body, as a dropped connection looks; LiteLLM raises
`litellm.exceptions.MidStreamFallbackError` (wrapping an APIConnectionError) while the stream is
read, after the chunks before the cut. On a non-stream request `cut_after` drops the connection
without an answer. N counts events: OpenAI chunks (the first carries only the role), Anthropic
events (message_start, content_block_start, ping, deltas, ...), Gemini chunks. `Reply(cut_after=N,
fault=Fault(529))` ends the stream after N events with the provider's error event instead (Anthropic's
`event: error` with overloaded_error, a Gemini or OpenAI `data: {"error": ...}` line), as a provider that fails
part-way does.

Prompt cache (`StandIn(prompt_cache=True)`): Anthropic replies then report cache reads and writes as
Anthropic's documented rule gives them for the request's cache_control marks (see lexi/testing/_cache.py:
the longest cached prefix ending at a mark, or up to 20 blocks before one, is read; up to the last mark is
written), unless the Reply's usage sets input or cache counts itself.

Usage (`Reply(usage=dict(...))`) is provider-neutral: `input` is every prompt token (cached ones
included, as LiteLLM's `prompt_tokens` reports), `output` every completion token (reasoning
included); `cache_read`, `cache_write` and `reasoning` are parts of those; `search` the web search requests
billed (default: the searches without an error). On the wire:
- OpenAI: prompt/completion tokens, `cached_tokens`, `reasoning_tokens` (no cache writes).
  Streams carry usage only when the request sets `stream_options={'include_usage': True}`; the
  same holds for what LiteLLM reports for Anthropic and Gemini streams.
- Anthropic: `input_tokens` is the uncached rest; cache reads/writes and web search requests are
  separate fields. Anthropic sends no reasoning count: LiteLLM estimates it from the thinking text.
- Gemini: promptTokenCount, candidatesTokenCount (output minus reasoning), thoughtsTokenCount,
  cachedContentTokenCount (no cache writes).

What the providers send, and the stand-in with them (measured on real replies; `Reply` fields change them):
- Gemini 3 signs every reply: the first functionCall part of a reply with calls, else the text (in a stream, the
  closing empty chunk); with server-side search circulated (the request's toolConfig sets
  includeServerSideToolInvocations, LiteLLM's `include_server_side_tool_invocations=True`), each search round
  is a `toolCall` part and a `toolResponse` part with a signature each: up to three signatures in a reply. Real
  replies sometimes sign the text or the search parts and leave the first functionCall unsigned:
  `Reply(signed=('text',))`, `signed=('search',)`, `signed=('text', 'call')`. `signature=` gives the values,
  one per signed part; otherwise they are derived from the reply (distinct per part). Gemini 2.5 signs only
  when it thought. LiteLLM's id for a signed call is '<id>__thought__<signature>'.
- Gemini 3 gives each functionCall its own 8-character `id`; Gemini 2.5 none (LiteLLM makes up 'call_...').
- Gemini streams send each functionCall, toolCall and toolResponse part in its own event, and usage that grows
  event by event (candidatesTokenCount counts the answer so far; thoughtsTokenCount the whole thinking).
- Anthropic web search: LiteLLM lists the server-side `web_search` call (id 'srvtoolu_...') among
  `message.tool_calls`; a tool loop must not try to run it. Anthropic interleaves text, searches, results and
  several thinking blocks; a search can fail (a web_search_tool_result_error in place of results), and
  usage's web_search_requests counts the searches that ran (by default here: those without an error;
  `usage={'search': n}` says otherwise). With search, a stream's message_start counts the request's own
  input, message_delta the input with the results. tool_use and server tool blocks carry
  `caller: {'type': 'direct'}`; some replies have none (`Reply(caller=False)`).
- OpenAI Responses API: output items in order (reasoning, web_search_call, message, function_call); the
  reasoning item's summary only when the request asks (`reasoning.summary`), its encrypted_content only when
  `include` lists 'reasoning.encrypted_content'; each function_call has its own 'fc_' id and the 'call_' id
  its output answers; a reply cut by the token limit is status 'incomplete'. Streams are typed events
  (response.created ... response.completed), without [DONE]. LiteLLM's stream bridge drops the url_citation
  annotations that the JSON form carries.
- Gemini grounding: a cited span at the very start of the text has no startIndex on the wire, and
  LiteLLM makes no annotation for it.
- Streams: LiteLLM's chunks name the requested model, not `Reply(model=...)`.
"""
from __future__ import annotations
import collections
import json
import threading
from typing import Any, Iterable

from ._script import Citation, Cited, Embeddings, Fault, Ids, Raw, Reply, Request, Search, Thinking, ToolCall
from ._server import Server
from ._scripted import Scripted, model_response, response_chunks
from ._cache import PromptCache
from ._window import Window
from ..errors import UsageError

__all__ = ['StandIn', 'Reply', 'ToolCall', 'Cited', 'Citation', 'Thinking', 'Search', 'Embeddings', 'Fault', 'Request',
           'PROVIDERS', 'DEFAULT_MODELS', 'Scripted', 'model_response', 'response_chunks', 'Window']

PROVIDERS = ('openai', 'anthropic', 'gemini')
DEFAULT_MODELS = ('gpt-4.1', 'gpt-4.1-mini', 'text-embedding-3-small')
_KEY = 'test-key'
_SCRIPTABLE = (Reply, Fault, Embeddings, Raw)


class StandIn:
    """A loopback HTTP server answering LiteLLM's provider requests from a queue of scripts.

    Use it as a context manager (`with StandIn() as srv:`), or call `start()` and `close()`.
    Attributes: `requests` (every `Request` received, in order), `unscripted` (requests the
    stand-in answered with its own error: nothing scripted, wrong item type, unknown path),
    `violations` (requests refused for breaking a provider rule), `strict` (check provider
    rules; may be changed), `models` (what GET /models lists; a list you may change), `url` (base URL),
    `window` (None, or a `Window(limit, seconds)`: a provider's request quota, answered with 429s beyond it).
    """

    def __init__(self,
                 models: Iterable[str] | None = None,  # model ids GET /models lists (default DEFAULT_MODELS)
                 seed: int | None = 0,                 # seed for generated ids (None: different every run)
                 strict: bool = True,                  # refuse requests the real provider would refuse (400)
                 prompt_cache: bool = False):          # simulate Anthropic's prompt cache in reported usage
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.prompt_cache = PromptCache() if prompt_cache else None
        self.strict = strict
        self.window: Window | None = None   # a request quota to enforce (lexi/testing/_window.py)
        self.requests: list[Request] = []
        self.unscripted: list[Request] = []
        self.violations: list[Request] = []
        self.ids = Ids(seed)
        self._signed: dict = {}   # Gemini thought signatures sent -> the part each was sent on
        self._items: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._server: Server | None = None

    # -- lifecycle
    def start(self) -> 'StandIn':
        "Start serving on 127.0.0.1 at a free port (idempotent); returns self."
        if self._server is None: self._server = Server(self)
        return self

    def close(self) -> None:
        "Stop serving and close open connections. Recorded requests stay readable."
        if self._server is not None: self._server.stop()
        self._server = None

    def __enter__(self) -> 'StandIn': return self.start()
    def __exit__(self, *exc) -> None: self.close()

    @property
    def url(self) -> str:
        "Base URL, e.g. 'http://127.0.0.1:54321'."
        if self._server is None:
            raise UsageError('The stand-in is not running: use `with StandIn() as srv:` or call srv.start() first.')
        return f'http://127.0.0.1:{self._server.server_port}'

    # -- scripting
    def queue(self, *items: Reply | Fault | Embeddings | str) -> 'StandIn':
        "Queue scripted items, answered in order by the next requests; a str is short for Reply(text=str)."
        items = tuple(Reply(text=i) if isinstance(i, str) else i for i in items)
        for i in items:
            if not isinstance(i, _SCRIPTABLE):
                raise UsageError(f'srv.queue() takes Reply, Fault, Embeddings or str items, not {type(i).__name__}.')
        with self._lock: self._items.extend(items)
        return self

    def queue_raw(self,
                  body: bytes | str | dict | list,  # sent verbatim; a dict or list is sent as JSON
                  status: int = 200,                # HTTP status
                  content_type: str = 'application/json',
                  headers: dict | None = None,      # extra response headers
                  delay: float = 0.0) -> 'StandIn': # seconds to wait before answering
        """Queue a body sent exactly as given, whatever the provider (e.g. a hand-written SSE stream).
        An error status also gets `x-should-retry: false` unless `headers` set it (see Retries above)."""
        if isinstance(body, (dict, list)): body = json.dumps(body)
        if isinstance(body, str): body = body.encode()
        if not isinstance(body, bytes): raise UsageError('queue_raw(body) takes bytes, str, dict or list.')
        return self.queue(Raw(body, status, content_type, tuple((headers or {}).items()), delay))

    @property
    def pending(self) -> list:
        "Items queued and not yet used, in order."
        with self._lock: return list(self._items)

    def reset(self) -> None:
        "Forget queued items, recorded requests, unscripted requests, rule violations and the simulated prompt cache."
        with self._lock:
            if self.prompt_cache is not None: self.prompt_cache = PromptCache()
            self._items.clear()
            self.requests.clear()
            self.unscripted.clear()
            self.violations.clear()
            self._signed.clear()

    # -- routing LiteLLM here
    def _bases(self) -> dict[str, str]:
        return {'openai': f'{self.url}/v1', 'anthropic': self.url, 'gemini': f'{self.url}/v1beta'}

    def _check(self, provider: str) -> str:
        if provider not in PROVIDERS:
            raise UsageError(f'Unknown provider {provider!r}: use one of {", ".join(PROVIDERS)} '
                             "(the prefix of the LiteLLM model name, e.g. 'anthropic/claude-sonnet-4-5').")
        return provider

    def kwargs(self, provider: str) -> dict[str, Any]:
        "Keyword arguments for litellm.completion/acompletion/embedding: api_base and a dummy api_key."
        return {'api_base': self._bases()[self._check(provider)], 'api_key': _KEY}

    def env(self, provider: str) -> dict[str, str]:
        "Environment variables with the same effect as `kwargs(provider)` (set them before the call)."
        base = self._bases()[self._check(provider)]
        return {'openai': {'OPENAI_BASE_URL': base, 'OPENAI_API_BASE': base, 'OPENAI_API_KEY': _KEY},
                'anthropic': {'ANTHROPIC_API_BASE': base, 'ANTHROPIC_BASE_URL': base, 'ANTHROPIC_API_KEY': _KEY},
                'gemini': {'GEMINI_API_BASE': base, 'GEMINI_API_KEY': _KEY}}[provider]

    # -- called from server threads
    def _take(self):
        with self._lock: return self._items.popleft() if self._items else None

    def _record(self, req: Request) -> None:
        with self._lock: self.requests.append(req)

    def _flag(self, req: Request) -> None:
        with self._lock: self.unscripted.append(req)

    def _violate(self, req: Request) -> None:
        with self._lock: self.violations.append(req)

    def _issued(self, signed: dict) -> None:
        with self._lock: self._signed.update(signed)

    def _signatures(self) -> dict:
        with self._lock: return dict(self._signed)

    def __repr__(self) -> str:
        where = self.url if self._server else 'stopped'
        return (f'<StandIn {where}: {len(self._items)} pending, {len(self.requests)} requests, '
                f'{len(self.unscripted)} unscripted, {len(self.violations)} violations>')
