"""Anthropic Messages wire format for lexi's provider stand-in (JSON and SSE), shaped as
api.anthropic.com sends it: thinking blocks with signatures, server-side web search
(server_tool_use + web_search_tool_result), text blocks with citations, tool_use blocks,
and usage with prompt-cache and web-search counts.
"""
from __future__ import annotations
import json

from ._script import Search, Thinking, Tokens, Turn, pieces, signatures, sse

__all__ = ['reply_json', 'reply_events', 'error_body', 'error_event', 'MESSAGES', 'STOP_REASONS']

STOP_REASONS = {'stop': 'end_turn', 'length': 'max_tokens', 'tool_calls': 'tool_use', 'content_filter': 'refusal'}
_ERRORS = {400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error', 403: 'permission_error',
           404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error',
           504: 'timeout_error', 529: 'overloaded_error'}
_DIRECT = {'type': 'direct'}


# Anthropic's own wording for errors a test scripts without a message (its docs' error examples).
MESSAGES = {400: 'There was an issue with the format or content of your request.', 401: 'invalid x-api-key',
            403: 'Your API key does not have permission to use the specified resource.',
            404: 'The requested resource could not be found.', 413: 'Request exceeds the maximum allowed number of bytes.',
            429: 'Number of request tokens has exceeded your per-minute rate limit '
                 '(https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. Please '
                 'reduce the prompt length or the maximum tokens requested, or try again later.',
            500: 'Internal server error', 504: 'Request timed out.', 529: 'Overloaded'}


def error_body(status: int, message: str, request_id: str = 'req_011standin') -> dict:
    "Anthropic's error body: {'type': 'error', 'error': {'type', 'message'}, 'request_id'} (the wait goes in a header)."
    typ = _ERRORS.get(status, 'api_error' if status >= 500 else 'invalid_request_error')
    return {'type': 'error', 'error': {'type': typ, 'message': message}, 'request_id': request_id}


def error_event(status: int, message: str) -> bytes:
    "The `error` event Anthropic sends when a stream fails after it began (e.g. overloaded_error)."
    typ = _ERRORS.get(status, 'api_error' if status >= 500 else 'invalid_request_error')
    return sse({'type': 'error', 'error': {'type': typ, 'message': message}}, 'error')


def _usage(t: Tokens, start: bool = False, long_ttl: bool = False, searched: bool = False) -> dict:
    u = {'input_tokens': t.input - t.cache_read - t.cache_write, 'cache_creation_input_tokens': t.cache_write,
         'cache_read_input_tokens': t.cache_read}
    if start:   # writes under a 1-hour mark are reported (and priced) as such
        hour = t.cache_write if long_ttl else 0
        u['cache_creation'] = {'ephemeral_5m_input_tokens': t.cache_write - hour, 'ephemeral_1h_input_tokens': hour}
    u['output_tokens'] = 1 if start else t.output
    if start: u.update(service_tier='standard', inference_geo='global')
    if searched and not start: u['server_tool_use'] = {'web_search_requests': t.web_searches, 'web_fetch_requests': 0}
    return u


def _hour_marks(turn: Turn) -> bool:
    "The request carries a cache_control mark with ttl '1h' (its writes are then 1-hour writes)."
    return '"ttl": "1h"' in json.dumps(turn.request.body) if isinstance(turn.request.body, dict) else False


def _caller(turn: Turn) -> dict:
    return {'caller': _DIRECT} if turn.reply.caller else {}


def _search_round(turn: Turn, round_: list) -> list[dict]:
    """A round of searches as Anthropic sends it: a server_tool_use block for each, then a web_search_tool_result
    for each, listing the cited sources, or a web_search_tool_result_error."""
    ids = [turn.ids.srvtoolu() for _ in round_]
    uses = [{'type': 'server_tool_use', 'id': i, 'name': 'web_search', 'input': {'query': s.query}, **_caller(turn)}
            for i, s in zip(ids, round_)]
    results = [{'type': 'web_search_result', 'title': c.title, 'url': c.url, 'encrypted_content': turn.ids.blob(),
                'page_age': None} for c in turn.reply.citations]
    def content(s):
        return {'type': 'web_search_tool_result_error', 'error_code': s.error} if s.error else results
    return uses + [{'type': 'web_search_tool_result', 'tool_use_id': i, 'content': content(s), **_caller(turn)}
                   for i, s in zip(ids, round_)]


def _text_block(turn: Turn, part) -> dict:
    if isinstance(part, str): return {'type': 'text', 'text': part}
    cits = [{'type': 'web_search_result_location', 'cited_text': c.cited_text, 'url': c.url, 'title': c.title,
             'encrypted_index': turn.ids.blob(24)} for c in part.citations]
    return {'citations': cits, 'type': 'text', 'text': part.text}


def _content_blocks(turn: Turn) -> list[dict]:
    "Thinking, text and search blocks in the reply's order; searches side by side form one round."
    r, blocks, round_ = turn.reply, [], []
    sigs = iter(signatures(r, len(r.thoughts)))
    for item in r.items + (None,):
        if isinstance(item, Search):
            round_.append(item)
            continue
        if round_: blocks += _search_round(turn, round_); round_ = []
        if isinstance(item, Thinking): blocks.append({'type': 'thinking', 'thinking': item.text, 'signature': next(sigs)})
        elif item is not None: blocks.append(_text_block(turn, item))
    return blocks


def _blocks(turn: Turn, stream: bool = False) -> list[dict]:
    """The message's content blocks, in the order Anthropic sends them. In a stream a tool_use input may be
    raw text (a str), streamed as it is: a reply cut mid-call streams JSON that never closes."""
    return _content_blocks(turn) + [
        {'type': 'tool_use', 'id': tc.id or turn.ids.toolu(), 'name': tc.name, **_caller(turn),
         'input': tc.args if stream and isinstance(tc.args, str) else tc.as_object('Anthropic')}
        for tc in turn.reply.tool_calls]


def _searched(turn: Turn) -> bool: return bool(turn.reply.searches or turn.tokens.web_searches)


def reply_json(turn: Turn) -> dict:
    "A `message` body."
    t, searched = turn.tokens, _searched(turn)
    usage = {**_usage(t, start=True, long_ttl=_hour_marks(turn)), 'output_tokens': t.output}
    if searched: usage['server_tool_use'] = _usage(t, searched=True)['server_tool_use']
    return {'model': turn.model, 'id': turn.ids.msg(), 'type': 'message', 'role': 'assistant',
            'content': _blocks(turn), 'stop_reason': STOP_REASONS[turn.reply.finish_reason], 'stop_sequence': None,
            'usage': usage}


def _start_usage(turn: Turn) -> dict:
    """message_start's usage. With web search it counts only the request's own input: the results the searches
    bring in are counted in message_delta's input_tokens, as Anthropic reports them."""
    u = _usage(turn.tokens, start=True, long_ttl=_hour_marks(turn))
    if _searched(turn): u['input_tokens'] = min(u['input_tokens'], max(1, turn.request.size // 4))
    return u


def _delta(i: int, delta: dict) -> bytes:
    return sse({'type': 'content_block_delta', 'index': i, 'delta': delta}, 'content_block_delta')


def _block_start(block: dict) -> dict:
    "The content_block_start form of a block: its content arrives in deltas."
    typ = block['type']
    if typ == 'thinking': return {'type': 'thinking', 'thinking': '', 'signature': ''}
    if typ == 'text': return {'citations': [], 'type': 'text', 'text': ''} if 'citations' in block else {'type': 'text', 'text': ''}
    if typ in ('tool_use', 'server_tool_use'): return {**block, 'input': {}}
    return block


def _block_deltas(turn: Turn, i: int, block: dict) -> list[bytes]:
    typ, size = block['type'], turn.reply.chunk_size
    if typ == 'thinking':
        return [_delta(i, {'type': 'thinking_delta', 'thinking': p}) for p in pieces(block['thinking'], size)] + \
               [_delta(i, {'type': 'signature_delta', 'signature': block['signature']})]
    if typ == 'text':
        cits = [_delta(i, {'type': 'citations_delta', 'citation': c}) for c in block.get('citations', ())]
        return cits + [_delta(i, {'type': 'text_delta', 'text': p}) for p in pieces(block['text'], size)]
    if typ in ('tool_use', 'server_tool_use'):
        inp = block['input']   # raw text is streamed as written; an empty object as no text at all
        args = inp if isinstance(inp, str) else json.dumps(inp) if inp else ''
        return [_delta(i, {'type': 'input_json_delta', 'partial_json': p}) for p in [''] + pieces(args, size or 8)]
    return []


def reply_events(turn: Turn) -> list[bytes]:
    "message_start, per block content_block_start/delta.../stop (a ping after the first start), message_delta, message_stop."
    t = turn.tokens
    start = {'model': turn.model, 'id': turn.ids.msg(), 'type': 'message', 'role': 'assistant', 'content': [],
             'stop_reason': None, 'stop_sequence': None, 'usage': _start_usage(turn)}
    events = [sse({'type': 'message_start', 'message': start}, 'message_start')]
    for i, block in enumerate(_blocks(turn, stream=True)):
        events.append(sse({'type': 'content_block_start', 'index': i, 'content_block': _block_start(block)},
                          'content_block_start'))
        if i == 0: events.append(sse({'type': 'ping'}, 'ping'))
        events += _block_deltas(turn, i, block)
        events.append(sse({'type': 'content_block_stop', 'index': i}, 'content_block_stop'))
    delta = {'stop_reason': STOP_REASONS[turn.reply.finish_reason], 'stop_sequence': None}
    events.append(sse({'type': 'message_delta', 'delta': delta, 'usage': _usage(t, searched=_searched(turn))}, 'message_delta'))
    return events + [sse({'type': 'message_stop'}, 'message_stop')]
