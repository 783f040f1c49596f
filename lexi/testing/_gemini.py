"""Gemini (Google AI Studio) wire format for lexi's provider stand-in: generateContent JSON and
streamGenerateContent?alt=sse events, shaped as generativelanguage.googleapis.com sends them:
thought parts (`thought: true`), functionCall parts carrying `thoughtSignature`, usageMetadata,
and groundingMetadata for web search with citations.
"""
from __future__ import annotations
from urllib.parse import urlparse

from ._script import Reply, Tokens, Turn, pieces, signature, sse

__all__ = ['reply_json', 'reply_events', 'error_body', 'FINISH_REASONS']

FINISH_REASONS = {'stop': 'STOP', 'length': 'MAX_TOKENS', 'tool_calls': 'STOP', 'content_filter': 'SAFETY'}
_STATUSES = {400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
             409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 501: 'NOT_IMPLEMENTED',
             503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED'}
_SEP = '\r\n\r\n'   # Gemini ends each event with CRLF CRLF
# A minimal stand-in for the search chip HTML Google asks apps to display with grounded answers.
_ENTRY_POINT = '<style>\n.container { display: flex; }\n</style>\n<div class="container">{chips}</div>\n'


def error_body(status: int, message: str) -> dict:
    "Gemini's error body: {'error': {'code', 'message', 'status'}}."
    return {'error': {'code': status, 'message': message,
                      'status': _STATUSES.get(status, 'INTERNAL' if status >= 500 else 'FAILED_PRECONDITION')}}


def _usage(t: Tokens, prompt_only: bool = False) -> dict:
    u = {'promptTokenCount': t.input}
    if not prompt_only: u['candidatesTokenCount'] = t.output - t.reasoning
    u['totalTokenCount'] = t.input if prompt_only else t.total
    u['promptTokensDetails'] = [{'modality': 'TEXT', 'tokenCount': t.input}]
    if t.cache_read:
        u['cachedContentTokenCount'] = t.cache_read
        u['cacheTokensDetails'] = [{'modality': 'TEXT', 'tokenCount': t.cache_read}]
    if t.reasoning and not prompt_only: u['thoughtsTokenCount'] = t.reasoning
    return u


def _grounding(reply: Reply) -> dict:
    "groundingMetadata: sources as groundingChunks, each Cited span as a groundingSupport (UTF-8 byte offsets)."
    cits = reply.citations
    index = {c.url: i for i, c in enumerate(cits)}
    chunks = [{'web': {'uri': c.url, 'title': c.title or urlparse(c.url).netloc}} for c in cits]
    supports, pos = [], 0
    for p in reply.parts:
        text = p if isinstance(p, str) else p.text
        end = pos + len(text.encode())
        if not isinstance(p, str) and p.citations:
            seg = {'startIndex': pos, 'endIndex': end, 'text': text} if pos else {'endIndex': end, 'text': text}
            supports.append({'segment': seg, 'groundingChunkIndices': [index[c.url] for c in p.citations]})
        pos = end
    chips = ''.join(f'<a class="chip" href="https://www.google.com/search?q={q}">{q}</a>' for q in reply.search or ())
    return {'searchEntryPoint': {'renderedContent': _ENTRY_POINT.replace('{chips}', chips)},
            'groundingChunks': chunks, 'groundingSupports': supports, 'webSearchQueries': list(reply.search or ())}


def _signed(reply: Reply) -> bool:
    return bool(reply.thinking or reply.signature)


def _call_parts(reply: Reply) -> list[dict]:
    "functionCall parts; the first carries the thought signature, as Gemini's thinking models send it."
    parts = []
    for i, tc in enumerate(reply.tool_calls):
        fc = {'name': tc.name, 'args': tc.as_object('Gemini')}
        if tc.id: fc['id'] = tc.id
        parts.append({'functionCall': fc, 'thoughtSignature': signature(reply)} if i == 0 else {'functionCall': fc})
    return parts


def _parts(reply: Reply) -> list[dict]:
    parts = [{'text': reply.thinking, 'thought': True}] if reply.thinking else []
    if reply.full_text:
        text = {'text': reply.full_text}
        parts.append({**text, 'thoughtSignature': signature(reply)} if _signed(reply) and not reply.tool_calls else text)
    return parts + _call_parts(reply)


def _candidate(reply: Reply, parts: list[dict], final: bool) -> dict:
    cand = {'content': {'parts': parts, 'role': 'model'}}
    if final:
        cand['finishReason'] = FINISH_REASONS[reply.finish_reason]
    cand['index'] = 0
    if final and reply.tool_calls: cand['finishMessage'] = 'Model generated function call(s).'
    if final and reply.search: cand['groundingMetadata'] = _grounding(reply)
    return cand


def _body(turn: Turn, cand: dict, usage: dict, response_id: str) -> dict:
    return {'candidates': [cand], 'usageMetadata': usage, 'modelVersion': turn.model, 'responseId': response_id}


def reply_json(turn: Turn) -> dict:
    "A generateContent response body."
    r = turn.reply
    return _body(turn, _candidate(r, _parts(r), final=True), _usage(turn.tokens), turn.ids.gemini_response())


def _stream_parts(reply: Reply) -> list[list[dict]]:
    "The parts of each streamed chunk but the last: thought pieces, text pieces, then all function calls at once."
    chunks = [[{'text': p, 'thought': True}] for p in pieces(reply.thinking or '', reply.chunk_size)]
    chunks += [[{'text': p}] for p in pieces(reply.full_text, reply.chunk_size)]
    return chunks + ([_call_parts(reply)] if reply.tool_calls else [])


def reply_events(turn: Turn) -> list[bytes]:
    "streamGenerateContent?alt=sse events; the last one carries finishReason (and grounding), full usage throughout after thinking."
    r, rid = turn.reply, turn.ids.gemini_response()
    last = {'text': ''}
    if _signed(r) and not r.tool_calls: last['thoughtSignature'] = signature(r)
    events = []
    for parts in _stream_parts(r):
        thought_only = bool(r.thinking) and all(p.get('thought') for p in parts)
        events.append(_body(turn, _candidate(r, parts, final=False), _usage(turn.tokens, thought_only), rid))
    events.append(_body(turn, _candidate(r, [last], final=True), _usage(turn.tokens), rid))
    return [sse(e, sep=_SEP) for e in events]
