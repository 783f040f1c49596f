"""Gemini (Google AI Studio) wire format for lexi's provider stand-in: generateContent JSON and
streamGenerateContent?alt=sse events, shaped as generativelanguage.googleapis.com sends them:
thought parts (`thought: true`), thought signatures on the parts Gemini signs, functionCall parts (with
their own `id` on Gemini 3), server-side search as `toolCall` / `toolResponse` parts (when the request
circulates server-side tool invocations), usageMetadata, and groundingMetadata with citations.

What Gemini sends, and the stand-in with it:
- Gemini 3 signs every reply, thinking shown or not: the first functionCall part of a reply with calls,
  else its text (in a stream: the closing empty text chunk); each toolCall and toolResponse part carries
  its own signature. Gemini 2.5 signs only when it thought. `Reply(signed=...)` puts the signatures
  elsewhere, as real replies sometimes do (on the text before the calls, or only on the search parts, the
  first functionCall then having none).
- Gemini 3 gives each functionCall an `id` (8 characters); Gemini 2.5 gives none.
- A stream sends each functionCall, toolCall and toolResponse part in its own event, and its usage grows
  event by event: candidatesTokenCount counts the answer so far; thoughtsTokenCount is the whole thinking
  from the first event after it (events of thought alone report the prompt only).
"""
from __future__ import annotations
import json
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from ._script import Cited, Reply, Search, Thinking, Tokens, Turn, pieces, signatures, sse

__all__ = ['reply_json', 'reply_events', 'error_body', 'error_event', 'MESSAGES', 'FINISH_REASONS', 'is_gemini3', 'circulates']

FINISH_REASONS = {'stop': 'STOP', 'length': 'MAX_TOKENS', 'tool_calls': 'STOP', 'content_filter': 'SAFETY'}
_STATUSES = {400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
             409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 501: 'NOT_IMPLEMENTED',
             503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED'}
_SEP = '\r\n\r\n'   # Gemini ends each event with CRLF CRLF
# A minimal stand-in for the search chip HTML Google asks apps to display with grounded answers.
_ENTRY_POINT = '<style>\n.container { display: flex; }\n</style>\n<div class="container">{chips}</div>\n'
_SEARCH_TOOL = 'GOOGLE_SEARCH_WEB'   # the toolType of a Google Search toolCall
_VERSION = re.compile(r'gemini-(\d+)')


def is_gemini3(model) -> bool:
    "Gemini 3 or later (model names as in the request path, e.g. 'gemini-3-flash-preview')."
    m = _VERSION.match(str(model or ''))
    return bool(m) and int(m.group(1)) >= 3


def circulates(body) -> bool:
    "The request asks for server-side tool invocations (toolConfig.includeServerSideToolInvocations)."
    cfg = (body.get('toolConfig') or body.get('tool_config') or {}) if isinstance(body, dict) else {}
    return isinstance(cfg, dict) and bool(cfg.get('includeServerSideToolInvocations'))


# Gemini's own wording for errors a test scripts without a message.
MESSAGES = {400: 'Request contains an invalid argument.', 403: 'The caller does not have permission',
            404: 'Requested entity was not found.',
            429: 'You exceeded your current quota, please check your plan and billing details. For more information '
                 'on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
            500: 'An internal error has occurred. Please retry or report in '
                 'https://developers.generativeai.google/guide/troubleshooting',
            503: 'The model is overloaded. Please try again later.',
            504: 'Deadline expired before operation could complete.'}


def error_body(status: int, message: str, retry_after: float | None = None) -> dict:
    """Gemini's error body: {'error': {'code', 'message', 'status'}}. A 429 (RESOURCE_EXHAUSTED) also carries
    `details`: the quota that ran out, a help link and, when it says how long to wait, a RetryInfo (`retryDelay`,
    e.g. '43s'): Gemini gives the wait there, in the body."""
    err = {'code': status, 'message': message,
           'status': _STATUSES.get(status, 'INTERNAL' if status >= 500 else 'FAILED_PRECONDITION')}
    if status == 429:
        err['details'] = [
            {'@type': 'type.googleapis.com/google.rpc.QuotaFailure', 'violations': [
                {'quotaMetric': 'generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count',
                 'quotaId': 'GenerateContentPaidTierInputTokensPerModelPerMinute', 'quotaValue': '1000000'}]},
            {'@type': 'type.googleapis.com/google.rpc.Help',
             'links': [{'description': 'Learn more about Gemini API quotas', 'url': 'https://ai.google.dev/gemini-api/docs/rate-limits'}]}]
        if retry_after is not None:
            err['details'].append({'@type': 'type.googleapis.com/google.rpc.RetryInfo', 'retryDelay': f'{retry_after:g}s'})
    return {'error': err}


def error_event(status: int, message: str) -> bytes:
    "The event a Gemini stream ends with when it fails after it began: the error body as a data line."
    return sse(error_body(status, message), sep=_SEP)


def _usage(t: Tokens, prompt_only: bool = False, visible: int | None = None) -> dict:
    "usageMetadata; `visible` is the answer's tokens so far (a stream's growing count), None: all of them."
    u = {'promptTokenCount': t.input}
    seen = t.output - t.reasoning if visible is None else visible
    if not prompt_only: u['candidatesTokenCount'] = seen
    u['totalTokenCount'] = t.input if prompt_only else t.input + seen + t.reasoning
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
    chips = ''.join(f'<a class="chip" href="https://www.google.com/search?q={q}">{q}</a>' for q in reply.queries)
    return {'searchEntryPoint': {'renderedContent': _ENTRY_POINT.replace('{chips}', chips)},
            'groundingChunks': chunks, 'groundingSupports': supports, 'webSearchQueries': reply.queries}


@dataclass
class _Part:
    "One part of the reply's content, before streaming splits text into pieces."
    kind: str              # 'thought' | 'text' | 'toolCall' | 'toolResponse' | 'call'
    body: dict             # the part as sent, without its signature
    sig: str | None = None

    def wire(self) -> dict: return {**self.body, 'thoughtSignature': self.sig} if self.sig else dict(self.body)


def _runs(items) -> list[tuple[str, list]]:
    "The reply's items (thinking left out) as runs: ('text', [str...]) and ('search', [Search...])."
    runs: list = []
    for item in items:
        if isinstance(item, Thinking): continue
        kind = 'search' if isinstance(item, Search) else 'text'
        if not runs or runs[-1][0] != kind: runs.append((kind, []))
        runs[-1][1].append(item.text if isinstance(item, Cited) else item)
    return runs


def _invocation(turn: Turn, round_: list) -> list[_Part]:
    "One search round as a toolCall part and its toolResponse part (failed searches left out)."
    queries = [s.query for s in round_ if s.error is None]
    if not queries: return []
    cid = turn.ids.gemini_call()
    chips = ''.join(f'<a class="chip">{q}</a>' for q in queries)
    return [_Part('toolCall', {'toolCall': {'toolType': _SEARCH_TOOL, 'args': {'queries': queries}, 'id': cid}}),
            _Part('toolResponse', {'toolResponse': {'toolType': _SEARCH_TOOL, 'id': cid,
                                                    'response': {'search_suggestions': _ENTRY_POINT.replace('{chips}', chips)}}})]


def _call_part(turn: Turn, tc) -> _Part:
    fc = {'name': tc.name, 'args': tc.as_object('Gemini')}
    cid = tc.id or (turn.ids.gemini_call() if is_gemini3(turn.request.model or turn.model) else None)
    if cid: fc['id'] = cid
    return _Part('call', {'functionCall': fc})


def _signed_kinds(turn: Turn, parts: list[_Part]) -> set:
    "Which parts Gemini signs (see the module docstring), or what the Reply says."
    r = turn.reply
    if r.signed is not None: return set(r.signed)
    if not (is_gemini3(turn.request.model or turn.model) or r.reasoning or r.signature): return set()
    searched = {'search'} if any(p.kind == 'toolCall' for p in parts) else set()
    return searched | ({'call'} if r.tool_calls else {'text'})


def _sign(turn: Turn, parts: list[_Part]) -> list[_Part]:
    "Put the signatures on the signed parts, in order, and note each in turn.issued."
    kinds = _signed_kinds(turn, parts)
    texts = [p for p in parts if p.kind == 'text']
    calls = [p for p in parts if p.kind == 'call']
    targets = [p for p in parts if ('search' in kinds and p.kind in ('toolCall', 'toolResponse'))
               or ('call' in kinds and calls and p is calls[0]) or ('text' in kinds and texts and p is texts[-1])]
    for p, sig in zip(targets, signatures(turn.reply, len(targets))):
        p.sig = sig
        turn.issued[sig] = _where(p.body)
    return parts


def _where(part: dict) -> tuple:
    """What a signed part is, for checking that its signature comes back on it: its kind, and a function call's
    name (ids are left out: the same scripted reply sent twice gets new ids but the same signatures)."""
    for key in ('toolCall', 'toolResponse'):
        if key in part: return key, None
    return ('functionCall', part['functionCall'].get('name')) if 'functionCall' in part else ('text', None)


def _plan(turn: Turn) -> list[_Part]:
    "The reply's parts in Gemini's order: thoughts, text and search rounds as scripted, then the function calls."
    r = turn.reply
    parts = [_Part('thought', {'text': t, 'thought': True}) for t in r.thoughts]
    for kind, run in _runs(r.items):
        if kind == 'text': parts.append(_Part('text', {'text': ''.join(run)}))
        elif circulates(turn.request.body): parts += _invocation(turn, run)
    return _sign(turn, parts + [_call_part(turn, tc) for tc in r.tool_calls])


def _candidate(reply: Reply, parts: list[dict], final: bool) -> dict:
    cand = {'content': {'parts': parts, 'role': 'model'}}
    if final:
        cand['finishReason'] = FINISH_REASONS[reply.finish_reason]
    cand['index'] = 0
    if final and reply.tool_calls: cand['finishMessage'] = 'Model generated function call(s).'
    if final and reply.searches: cand['groundingMetadata'] = _grounding(reply)
    return cand


def _body(turn: Turn, cand: dict, usage: dict, response_id: str) -> dict:
    return {'candidates': [cand], 'usageMetadata': usage, 'modelVersion': turn.model, 'responseId': response_id}


def reply_json(turn: Turn) -> dict:
    "A generateContent response body."
    r = turn.reply
    parts = [p.wire() for p in _plan(turn)]
    return _body(turn, _candidate(r, parts, final=True), _usage(turn.tokens), turn.ids.gemini_response())


def _stream_parts(turn: Turn, plan: list[_Part]) -> tuple[list[dict], dict]:
    """The parts of each streamed event but the last, one part an event (text in pieces), and the last event's
    part. A text signature goes on the closing empty text when the reply has no calls, else on the last piece."""
    size, calls = turn.reply.chunk_size, any(p.kind == 'call' for p in plan)
    events, last = [], {'text': ''}
    for p in plan:
        if p.kind not in ('thought', 'text'):
            events.append(p.wire())
            continue
        bits = pieces(p.body['text'], size)
        events += [{**p.body, 'text': b} for b in bits]
        if p.sig and p.kind == 'text' and not calls: last['thoughtSignature'] = p.sig
        elif p.sig and bits: events[-1]['thoughtSignature'] = p.sig
    return events, last


def _weight(part: dict) -> int:
    "How much of the answer a streamed part carries (for the growing token count)."
    if part.get('thought'): return 0
    if 'text' in part: return len(part['text'])
    return len(json.dumps(part))


def reply_events(turn: Turn) -> list[bytes]:
    "streamGenerateContent?alt=sse events, one part each; the last carries finishReason (and grounding)."
    r, t = turn.reply, turn.tokens
    parts, last = _stream_parts(turn, _plan(turn))
    rid = turn.ids.gemini_response()   # drawn after the parts' ids, as reply_json does: same seed, same ids
    whole, done, visible = sum(map(_weight, parts)) or 1, 0, t.output - t.reasoning
    events = []
    for p in parts:
        done += _weight(p)
        thought_only = bool(p.get('thought'))
        grown = min(visible, max(1, round(visible * done / whole))) if visible else 0
        events.append(_body(turn, _candidate(r, [p], final=False), _usage(t, thought_only, grown), rid))
    events.append(_body(turn, _candidate(r, [last], final=True), _usage(t), rid))
    return [sse(e, sep=_SEP) for e in events]
