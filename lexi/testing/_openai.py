"""OpenAI wire format for lexi's provider stand-in: chat completions (JSON and SSE), embeddings,
the model list and error bodies, shaped as api.openai.com sends them.

Reasoning goes out as `reasoning_content` (in the message, or in stream deltas), as
OpenAI-compatible servers send it; cited spans become `url_citation` annotations.
"""
from __future__ import annotations
import base64
import struct
import time

from ._script import Embeddings, Reply, Request, Tokens, Turn, pieces, sse

__all__ = ['reply_json', 'reply_events', 'embeddings_json', 'models_json', 'error_body', 'error_event', 'MESSAGES']

# status -> (error type, error code), as OpenAI reports them
_ERRORS = {400: ('invalid_request_error', None), 401: ('invalid_request_error', 'invalid_api_key'),
           403: ('invalid_request_error', 'unsupported_country_region_territory'),
           404: ('invalid_request_error', 'model_not_found'), 408: ('timeout', None),
           429: ('requests', 'rate_limit_exceeded'), 500: ('server_error', None), 503: ('server_error', None)}


# OpenAI's own wording for errors a test scripts without a message.
MESSAGES = {400: "We could not parse the JSON body of your request.",
            401: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
            404: 'The model does not exist or you do not have access to it.',
            429: 'Rate limit reached on tokens per min (TPM). Please try again later. '
                 'Visit https://platform.openai.com/account/rate-limits to learn more.',
            500: 'The server had an error while processing your request. Sorry about that!',
            503: 'The engine is currently overloaded, please try again later.'}


def error_body(status: int, message: str, retry_after: float | None = None) -> dict:
    "OpenAI's error body: {'error': {'message', 'type', 'param', 'code'}} (the wait goes in headers)."
    typ, code = _ERRORS.get(status, ('server_error' if status >= 500 else 'invalid_request_error', None))
    return {'error': {'message': message, 'type': typ, 'param': None, 'code': code}}


def error_event(status: int, message: str) -> bytes:
    "The event an OpenAI stream ends with when it fails after it began: the error body as a data line."
    return sse(error_body(status, message))


def _usage(t: Tokens) -> dict:
    return {'prompt_tokens': t.input, 'completion_tokens': t.output, 'total_tokens': t.total,
            'prompt_tokens_details': {'cached_tokens': t.cache_read, 'audio_tokens': 0},
            'completion_tokens_details': {'reasoning_tokens': t.reasoning, 'audio_tokens': 0,
                                          'accepted_prediction_tokens': 0, 'rejected_prediction_tokens': 0}}


def _annotations(reply: Reply) -> list[dict]:
    "One `url_citation` per (cited span, source), with character offsets into the answer text."
    out, pos = [], 0
    for p in reply.parts:
        text = p if isinstance(p, str) else p.text
        for c in ([] if isinstance(p, str) else p.citations):
            out.append({'type': 'url_citation', 'url_citation': {
                'end_index': pos + len(text), 'start_index': pos, 'title': c.title, 'url': c.url}})
        pos += len(text)
    return out


def _calls(turn: Turn) -> list[dict]:
    return [{'id': tc.id or turn.ids.call(), 'type': 'function',
             'function': {'name': tc.name, 'arguments': tc.text}}
            for tc in turn.reply.tool_calls]


def _head(turn: Turn, obj: str) -> dict:
    return {'id': turn.ids.chatcmpl(), 'object': obj, 'created': int(time.time()), 'model': turn.model}


def reply_json(turn: Turn) -> dict:
    "A `chat.completion` body."
    r = turn.reply
    msg = {'role': 'assistant', 'content': r.full_text or None, 'refusal': None, 'annotations': _annotations(r)}
    if r.reasoning: msg['reasoning_content'] = r.reasoning
    if r.tool_calls: msg['tool_calls'] = _calls(turn)
    choice = {'index': 0, 'message': msg, 'logprobs': None, 'finish_reason': r.finish_reason}
    return {**_head(turn, 'chat.completion'), 'choices': [choice], 'usage': _usage(turn.tokens),
            'service_tier': 'default', 'system_fingerprint': turn.ids.fingerprint()}


def _wants_usage(req: Request) -> bool:
    opts = req.body.get('stream_options') if isinstance(req.body, dict) else None
    return bool(isinstance(opts, dict) and opts.get('include_usage'))


def _call_deltas(turn: Turn, calls: list[dict]) -> list[dict]:
    "Per call: id, type and name with empty arguments first, then the arguments in fragments."
    out = []
    for i, c in enumerate(calls):
        fn = c['function']
        out.append({'tool_calls': [{'index': i, 'id': c['id'], 'type': 'function',
                                    'function': {'name': fn['name'], 'arguments': ''}}]})
        out += [{'tool_calls': [{'index': i, 'function': {'arguments': frag}}]}
                for frag in pieces(fn['arguments'], turn.reply.chunk_size or 8)]
    return out


def _deltas(turn: Turn) -> list[dict]:
    r = turn.reply
    calls = _calls(turn)
    deltas = [{'reasoning_content': p} for p in pieces(r.reasoning, r.chunk_size)]
    deltas += [{'content': p} for p in pieces(r.full_text, r.chunk_size)]
    deltas += _call_deltas(turn, calls)
    if _annotations(r): deltas.append({'annotations': _annotations(r)})
    first = {'role': 'assistant', 'content': '', 'refusal': None}
    if deltas and 'tool_calls' in deltas[0]: return [{**first, 'content': None, **deltas[0]}] + deltas[1:]
    return [first] + deltas


def reply_events(turn: Turn) -> list[bytes]:
    "`chat.completion.chunk` events; a usage chunk when stream_options.include_usage; then [DONE]."
    head, with_usage = {**_head(turn, 'chat.completion.chunk'), 'service_tier': 'default',
                        'system_fingerprint': turn.ids.fingerprint()}, _wants_usage(turn.request)

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        body = {**head, 'choices': [{'index': 0, 'delta': delta, 'logprobs': None, 'finish_reason': finish}]}
        return sse({**body, 'usage': None} if with_usage else body)
    events = [chunk(d) for d in _deltas(turn)] + [chunk({}, turn.reply.finish_reason)]
    if with_usage: events.append(sse({**head, 'choices': [], 'usage': _usage(turn.tokens)}))
    return events + [sse('[DONE]')]


def embeddings_json(emb: Embeddings, req: Request, model: str) -> dict:
    "A `list` of `embedding` objects; base64 float32 vectors when the request asks encoding_format='base64'."
    b64 = isinstance(req.body, dict) and req.body.get('encoding_format') == 'base64'

    def enc(v):
        return base64.b64encode(struct.pack(f'<{len(v)}f', *v)).decode() if b64 else [float(x) for x in v]
    data = [{'object': 'embedding', 'index': i, 'embedding': enc(v)} for i, v in enumerate(emb.vectors)]
    tokens = emb.tokens if emb.tokens is not None else max(1, req.size // 4)
    return {'object': 'list', 'data': data, 'model': model,
            'usage': {'prompt_tokens': tokens, 'total_tokens': tokens}}


def models_json(models) -> dict:
    "The model list GET /models returns."
    return {'object': 'list', 'data': [{'id': m, 'object': 'model', 'created': 1700000000, 'owned_by': 'lexi-standin'}
                                       for m in models]}
