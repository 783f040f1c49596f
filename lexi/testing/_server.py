"""The HTTP side of lexi's provider stand-in: a threaded loopback server, request recording
(credentials redacted), routing by path to a provider, and writing JSON or SSE answers
(with delays, per-event delays and mid-stream cuts).

`StandIn` (lexi/testing.py) owns the script queue; this module asks it for the next item
through `owner._take()` and records requests through `owner._record(req)`. With `owner.strict`,
a chat request that breaks a provider rule (`_rules`) gets that provider's 400 and is
recorded through `owner._violate(req)`, before any scripted item is taken.
"""
from __future__ import annotations
import dataclasses
import json
import re
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import _anthropic as anthropic, _gemini as gemini, _openai as openai, _responses as responses
from ._rules import violation
from ._script import Embeddings, Fault, Raw, Reply, Request, Turn, resolve_tokens
from ..errors import UsageError

__all__ = ['Server', 'Answer', 'route', 'plan', 'make_request', 'fault_message', 'RENDERERS']

RENDERERS = {'openai': openai, 'anthropic': anthropic, 'gemini': gemini}
_SECRET_HEADERS = frozenset({'authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'proxy-authorization',
                             'cookie'})
_SECRET_PARAMS = frozenset({'key', 'api_key', 'access_token'})
_GEMINI_PATH = re.compile(r'/models/(?P<model>[^/:]+):(?P<op>generateContent|streamGenerateContent)$')
_USED_PORTS: set = set()   # ports earlier stand-ins in this process listened on
_FAULT_TEXT = {400: 'bad request', 401: 'invalid API key', 403: 'permission denied', 404: 'not found',
               408: 'request timeout', 413: 'request too large', 429: 'rate limit exceeded',
               500: 'internal server error', 502: 'bad gateway', 503: 'service unavailable',
               504: 'gateway timeout', 529: 'overloaded'}


@dataclass
class Answer:
    "What to send back: a whole body, or a list of SSE events (sent chunked, one event per chunk)."
    status: int = 200
    headers: list = field(default_factory=list)
    body: bytes = b''
    events: list | None = None
    delay: float = 0.0
    event_delay: float = 0.0
    event_delay_from: int = 0
    cut_after: int | None = None     # streams: stop after this many events; bodies: drop the connection unanswered


def route(method: str, path: str) -> tuple[str, str | None, str | None]:
    "(provider, kind, model from path) for a request; kind is 'chat', 'responses', 'embeddings', 'models' or None."
    if method == 'POST' and path.endswith('/chat/completions'): return 'openai', 'chat', None
    if method == 'POST' and path.endswith('/responses'): return 'openai', 'responses', None
    if method == 'POST' and path.endswith('/embeddings'): return 'openai', 'embeddings', None
    if method == 'GET' and path.endswith('/models'): return 'openai', 'models', None
    if method == 'POST' and path.endswith('/messages'): return 'anthropic', 'chat', None
    m = _GEMINI_PATH.search(path)
    if method == 'POST' and m: return 'gemini', 'chat', m['model']
    return 'unknown', None, None


def _json_answer(status: int, body, headers=(), delay: float = 0.0) -> Answer:
    data = json.dumps(body, ensure_ascii=False, indent=None).encode()
    return Answer(status, [('Content-Type', 'application/json'), *headers], data, delay=delay)


def _error(owner, req: Request, status: int, message: str, headers=(), delay: float = 0.0,
           retry_after: float | None = None) -> Answer:
    provider = req.provider if req.provider in RENDERERS else 'openai'
    if provider == 'anthropic':   # Anthropic names every answer's request in a header and in an error body
        rid = owner.ids.req()
        return _json_answer(status, anthropic.error_body(status, message, rid), [*headers, ('request-id', rid)], delay)
    return _json_answer(status, RENDERERS[provider].error_body(status, message, retry_after), headers, delay)


def _own_error(owner, req: Request, status: int, message: str) -> Answer:
    "An error the stand-in itself raises (a scripting problem): recorded in `owner.unscripted`."
    req.error = message
    owner._flag(req)
    return _error(owner, req, status, message, [('x-should-retry', 'false')])


def _rule_error(owner, req: Request, message: str) -> Answer:
    "A request a real provider would refuse: a 400 in its words, recorded in `owner.violations`."
    req.error = message
    owner._violate(req)
    return _error(owner, req, 400, req.error, [('x-should-retry', 'false')])


def _describe(req: Request) -> str:
    model = f', model {req.model!r}' if req.model else ''
    return f'{req.method} {req.path} ({req.provider}{model}{", stream" if req.stream else ""})'


def fault_message(provider: str, status: int) -> str:
    "What `provider` says for `status` when the Fault gives no message: its own wording, else a stand-in one."
    mod = RENDERERS.get(provider, openai)
    return mod.MESSAGES.get(status) or f'lexi.testing: scripted fault {status} ({_FAULT_TEXT.get(status, "error")})'


def _fault(owner, req: Request, f: Fault) -> Answer:
    msg = f.message or fault_message(req.provider, f.status)
    headers = [('retry-after', f'{f.retry_after:g}')] if f.retry_after is not None else []
    if f.should_retry is not None: headers.append(('x-should-retry', 'true' if f.should_retry else 'false'))
    return _error(owner, req, f.status, msg, headers, f.delay, f.retry_after)


def _tokens(owner, req: Request, r: Reply):
    "The reply's token counts; with the prompt-cache simulation on, Anthropic's cache reads and writes from it."
    t = resolve_tokens(r, req.size)
    cache = owner.prompt_cache if req.provider == 'anthropic' and isinstance(req.body, dict) else None
    if cache is None or set(r.usage or ()) & {'input', 'cache_read', 'cache_write'}: return t
    use = cache.use(req.body)
    return dataclasses.replace(t, input=max(use.total, use.read + use.written, 1), cache_read=use.read, cache_write=use.written)


def _reply(owner, req: Request, r: Reply, kind: str = 'chat') -> Answer:
    mod = responses if kind == 'responses' else RENDERERS[req.provider]
    turn = Turn(r, req, r.model or req.model or 'standin-model', _tokens(owner, req, r), owner.ids)
    try: body = mod.reply_events(turn) if req.stream else mod.reply_json(turn)
    except UsageError as e:   # a script this provider's wire format cannot carry (raw tool arguments)
        return _own_error(owner, req, 400, f'lexi.testing: {e}')
    owner._issued(turn.issued)
    if not req.stream:
        return Answer(200, [('Content-Type', 'application/json')], json.dumps(body).encode(),
                      delay=r.delay, cut_after=r.cut_after)
    headers = [('Content-Type', 'text/event-stream; charset=utf-8'), ('Cache-Control', 'no-cache')]
    if r.fault is not None:   # the stream fails with the provider's error event after cut_after events
        f = r.fault
        body = body[:r.cut_after] + [mod.error_event(f.status, f.message or fault_message(req.provider, f.status))]
        return Answer(200, headers, events=body, delay=r.delay, event_delay=r.event_delay, event_delay_from=r.event_delay_from)
    return Answer(200, headers, events=body, delay=r.delay, event_delay=r.event_delay, event_delay_from=r.event_delay_from,
                  cut_after=r.cut_after)


def _raw(item: Raw) -> Answer:
    "A verbatim body; an error status also says `x-should-retry: false` unless the item's headers say otherwise."
    headers = [('Content-Type', item.content_type), *item.headers]
    if item.status >= 400 and not any(k.lower() == 'x-should-retry' for k, _ in item.headers):
        headers.append(('x-should-retry', 'false'))
    return Answer(item.status, headers, item.body, delay=item.delay)


def _scripted(owner, req: Request, kind: str, item) -> Answer:
    if isinstance(item, Fault): return _fault(owner, req, item)
    if isinstance(item, Raw): return _raw(item)
    if kind in ('chat', 'responses') and isinstance(item, Reply): return _reply(owner, req, item, kind)
    if kind == 'embeddings' and isinstance(item, Embeddings):
        body = openai.embeddings_json(item, req, item.model or req.model or 'standin-embedding')
        return _json_answer(200, body, delay=item.delay)
    need = 'an Embeddings' if kind == 'embeddings' else 'a Reply'
    return _own_error(owner, req, 400, f'lexi.testing: {_describe(req)} needs {need}, but the next scripted item '
                                       f'was {type(item).__name__}; queue items in the order requests arrive')


def plan(owner, req: Request) -> Answer:
    "Decide the answer to `req`: the model list, the next scripted item, or a stand-in error."
    _, kind, _ = route(req.method, req.path)
    if kind == 'models': return _json_answer(200, openai.models_json(owner.models))
    if kind is None:
        return _own_error(owner, req, 404, f'lexi.testing: no provider endpoint at {req.method} {req.path}; the '
                                           'stand-in serves /chat/completions, /responses, /embeddings, /models, /v1/messages '
                                           'and /models/{model}:generateContent (use srv.kwargs(provider))')
    over = owner.window.admit() if owner.window is not None else None   # a request quota: lexi/testing/_window.py
    if over is not None: return _fault(owner, req, over)   # a provider's rate limit answers before its rules
    checked = 'responses' if kind == 'responses' else req.provider
    broken = (violation(checked, req.body, req.model, owner._signatures())
              if kind in ('chat', 'responses') and owner.strict else None)
    if broken: return _rule_error(owner, req, broken)   # before taking an item: a refused request uses none
    item = req.item = owner._take()
    if item is not None: return _scripted(owner, req, kind, item)
    retry = req.headers.get('x-stainless-retry-count', '0')
    hint = (f' (this is the OpenAI SDK retrying, x-stainless-retry-count={retry}: pass max_retries=0)'
            if retry not in ('', '0') else '')
    return _own_error(owner, req, 400, f'lexi.testing: nothing scripted for {_describe(req)}{hint}; '
                                       'queue a Reply or Fault with srv.queue(...) before making the request')


def _parse_body(raw: bytes):
    if not raw: return None
    try: return json.loads(raw)
    except ValueError: return raw.decode('utf-8', 'replace')


def make_request(method: str, target: str, headers, raw: bytes) -> Request:
    "A `Request` record with credentials redacted."
    url = urlsplit(target)
    query = {k: ('***' if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(url.query, keep_blank_values=True)}
    hdrs = {k.lower(): ('***' if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
    body = _parse_body(raw)
    provider, _, path_model = route(method, url.path)
    stream = url.path.endswith(':streamGenerateContent') or (isinstance(body, dict) and body.get('stream') is True)
    model = path_model or (body.get('model') if isinstance(body, dict) else None)
    return Request(method, url.path, query, hdrs, body, provider, stream, model, size=len(raw))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'       # keep-alive: LiteLLM's HTTP clients pool connections
    disable_nagle_algorithm = True      # small header and body writes go out at once, not 40 ms apart
    server_version = 'lexi-standin/1'

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        try: super().finish()
        finally: self.server.connections.discard(self.connection)

    def log_message(self, format, *args): pass

    def do_GET(self): self._handle()
    def do_POST(self): self._handle()

    def _read_body(self) -> bytes:
        n = int(self.headers.get('Content-Length') or 0)
        if n: return self.rfile.read(n)
        if 'chunked' not in (self.headers.get('Transfer-Encoding') or '').lower(): return b''
        out = b''
        while (size := int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)):
            out += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return out

    def _handle(self):
        owner = self.server.owner
        req = make_request(self.command, self.path, self.headers, self._read_body())
        owner._record(req)
        try: answer = plan(owner, req)
        except Exception as e:   # a stand-in bug or a bad script: answer, and make the test see it
            answer = _own_error(owner, req, 500, f'lexi.testing: could not answer {_describe(req)}: {e!r}')
        try: self._send(answer)
        except (BrokenPipeError, ConnectionResetError, OSError):
            req.client_closed = self.close_connection = True

    def _send(self, a: Answer):
        if a.delay: time.sleep(a.delay)
        if a.events is None and a.cut_after is not None:
            self.close_connection = True     # drop the connection without answering
            return
        self.send_response(a.status)
        for k, v in a.headers: self.send_header(k, v)
        if a.events is None:
            self.send_header('Content-Length', str(len(a.body)))
            self.end_headers()
            self.wfile.write(a.body)
            return
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        self._send_events(a)

    def _send_events(self, a: Answer):
        for n, event in enumerate(a.events):
            if a.cut_after is not None and n >= a.cut_after:
                self.close_connection = True  # no terminating chunk: the client sees a cut stream
                return
            if a.event_delay and n >= a.event_delay_from: time.sleep(a.event_delay)
            self.wfile.write(b'%x\r\n%s\r\n' % (len(event), event))
        self.wfile.write(b'0\r\n\r\n')


class Server(ThreadingHTTPServer):
    "A threaded HTTP server on 127.0.0.1 (free port) answering for `owner`, run in a daemon thread."
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256   # socketserver's 5 drops connections when many clients connect at once (batch work)

    def __init__(self, owner, host: str = '127.0.0.1'):
        self.owner, self.connections = owner, set()
        self._bind_fresh_port(host)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.01},
                                        name=f'lexi-standin-{self.server_port}', daemon=True)
        self._thread.start()

    def _bind_fresh_port(self, host: str):
        """Bind a free port no earlier stand-in of this process used: an HTTP client may still pool a
        keep-alive connection to an old stand-in's port, and must never reach this one through it."""
        held = []
        for _ in range(50):
            super().__init__((host, 0), _Handler)
            if self.server_port not in _USED_PORTS: break
            held.append(self.socket)     # keep it bound so the next bind gets another port
        for sock in held: sock.close()
        _USED_PORTS.add(self.server_port)

    def handle_error(self, request, client_address):
        "Stay quiet about clients that went away (timeouts, cut streams); report anything else."
        if not isinstance(sys.exc_info()[1], OSError): super().handle_error(request, client_address)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)      # skip HTTPServer's reverse DNS lookup of the host
        self.server_name, self.server_port = self.server_address[:2]

    def stop(self):
        "Stop serving and close every open connection."
        self.shutdown()
        for conn in list(self.connections):
            try: conn.shutdown(socket.SHUT_RDWR)
            except OSError: pass
        self.server_close()
        self._thread.join(timeout=5)
