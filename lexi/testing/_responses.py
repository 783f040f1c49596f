"""OpenAI Responses API wire format for lexi's provider stand-in: POST /v1/responses, as a `response` JSON body or
as its stream of typed server-sent events, shaped as api.openai.com sends them.

LiteLLM sends a chat request there for models named 'openai/responses/<model>' (reasoning models served through
the Responses API); it turns the chat messages into input items and the response back into a chat reply.

What OpenAI sends, and the stand-in with it: the output is a list of items, in order: a `reasoning` item (its
`summary` holds the thinking text only when the request asks for one, `reasoning.summary`; its
`encrypted_content` only when the request's `include` lists 'reasoning.encrypted_content'), `web_search_call`
items for server-side searches, a `message` item whose `output_text` carries `url_citation` annotations, and one
`function_call` item per tool call (its own `fc_` id and the `call_id` a `function_call_output` answers). Usage
counts input_tokens (cached_tokens among them) and output_tokens (reasoning_tokens among them). A reply cut by
the token limit has status 'incomplete' and incomplete_details {'reason': 'max_output_tokens'}. A stream sends
response.created and response.in_progress, then per item output_item.added, its deltas and output_item.done,
and ends with response.completed (or response.incomplete) carrying the whole response; it has no [DONE].
"""
from __future__ import annotations
import time

from ._script import Cited, Turn, pieces, sse

__all__ = ['reply_json', 'reply_events']

_INCOMPLETE = {'length': 'max_output_tokens', 'content_filter': 'content_filter'}


def _hex(turn: Turn, n: int = 48) -> str: return turn.ids._chars(n, '0123456789abcdef')


def _asks(turn: Turn, what: str) -> bool:
    body = turn.request.body if isinstance(turn.request.body, dict) else {}
    if what == 'summary': return bool((body.get('reasoning') or {}).get('summary'))
    return what in (body.get('include') or [])


def _annotations(turn: Turn) -> list[dict]:
    "A `url_citation` per (cited span, source), with character offsets into the answer text."
    out, pos = [], 0
    for p in turn.reply.parts:
        text = p if isinstance(p, str) else p.text
        for c in (p.citations if isinstance(p, Cited) else ()):
            out.append({'type': 'url_citation', 'end_index': pos + len(text), 'start_index': pos, 'title': c.title, 'url': c.url})
        pos += len(text)
    return out


def _items(turn: Turn) -> list[dict]:
    "The response's output items, completed, in the order OpenAI sends them."
    r, items = turn.reply, []
    if r.reasoning:
        item = {'id': 'rs_' + _hex(turn), 'type': 'reasoning',
                'summary': [{'type': 'summary_text', 'text': r.reasoning}] if _asks(turn, 'summary') else []}
        if _asks(turn, 'reasoning.encrypted_content'): item['encrypted_content'] = 'gAAAAA' + turn.ids.blob(64)
        items.append(item)
    items += [{'id': 'ws_' + _hex(turn), 'type': 'web_search_call', 'status': 'completed',
               'action': {'type': 'search', 'query': q}} for q in r.queries]
    if r.full_text:
        items.append({'id': 'msg_' + _hex(turn), 'type': 'message', 'status': 'completed', 'role': 'assistant',
                      'content': [{'type': 'output_text', 'annotations': _annotations(turn), 'logprobs': [], 'text': r.full_text}]})
    items += [{'id': 'fc_' + _hex(turn), 'type': 'function_call', 'status': 'completed', 'arguments': tc.text,
               'call_id': tc.id or turn.ids.call(), 'name': tc.name} for tc in r.tool_calls]
    return items


def _usage(turn: Turn) -> dict:
    t = turn.tokens
    return {'input_tokens': t.input, 'input_tokens_details': {'cached_tokens': t.cache_read},
            'output_tokens': t.output, 'output_tokens_details': {'reasoning_tokens': t.reasoning},
            'total_tokens': t.total}


def _response(turn: Turn, rid: str, output: list, done: bool = True) -> dict:
    "A `response` object (in progress: no output yet and no usage)."
    body = turn.request.body if isinstance(turn.request.body, dict) else {}
    reason = _INCOMPLETE.get(turn.reply.finish_reason)
    status = ('incomplete' if reason else 'completed') if done else 'in_progress'
    return {'id': rid, 'object': 'response', 'created_at': int(time.time()), 'status': status, 'background': False,
            'error': None, 'incomplete_details': {'reason': reason} if reason and done else None,
            'instructions': body.get('instructions'), 'max_output_tokens': body.get('max_output_tokens'),
            'max_tool_calls': None, 'model': turn.model, 'output': output, 'parallel_tool_calls': True,
            'previous_response_id': body.get('previous_response_id'), 'prompt_cache_key': None,
            'reasoning': {'effort': (body.get('reasoning') or {}).get('effort'), 'summary': (body.get('reasoning') or {}).get('summary')},
            'safety_identifier': None, 'service_tier': 'default', 'store': body.get('store', True),
            'temperature': 1.0, 'text': body.get('text') or {'format': {'type': 'text'}, 'verbosity': 'medium'},
            'tool_choice': body.get('tool_choice', 'auto'), 'tools': body.get('tools') or [], 'top_logprobs': 0,
            'top_p': 1.0, 'truncation': 'disabled', 'usage': _usage(turn) if done else None, 'user': None, 'metadata': {}}


def _noted(turn: Turn, items: list) -> list:
    "Note each item's id in turn.issued, so a later request may name it (as OpenAI keeps stored items)."
    for item in items: turn.issued[item['id']] = ('item', item['type'])
    return items


def reply_json(turn: Turn) -> dict:
    "A `response` body."
    return _response(turn, 'resp_' + _hex(turn), _noted(turn, _items(turn)))


def _started(item: dict) -> dict:
    "An item as output_item.added shows it: in progress, without its content yet."
    if item['type'] == 'message': return {**item, 'status': 'in_progress', 'content': []}
    if item['type'] == 'function_call': return {**item, 'status': 'in_progress', 'arguments': ''}
    if item['type'] == 'web_search_call': return {'id': item['id'], 'type': item['type'], 'status': 'in_progress'}
    return {**item, 'summary': []} if item['type'] == 'reasoning' else item


def _reasoning_events(turn: Turn, i: int, item: dict) -> list[tuple[str, dict]]:
    out = []
    for k, part in enumerate(item['summary']):
        at = {'item_id': item['id'], 'output_index': i, 'summary_index': k}
        out.append(('response.reasoning_summary_part.added', {**at, 'part': {'type': 'summary_text', 'text': ''}}))
        out += [('response.reasoning_summary_text.delta', {**at, 'delta': p}) for p in pieces(part['text'], turn.reply.chunk_size)]
        out += [('response.reasoning_summary_text.done', {**at, 'text': part['text']}),
                ('response.reasoning_summary_part.done', {**at, 'part': part})]
    return out


def _message_events(turn: Turn, i: int, item: dict) -> list[tuple[str, dict]]:
    part = item['content'][0]
    at = {'item_id': item['id'], 'output_index': i, 'content_index': 0}
    out = [('response.content_part.added', {**at, 'part': {**part, 'annotations': [], 'text': ''}})]
    out += [('response.output_text.delta', {**at, 'delta': p, 'logprobs': []}) for p in pieces(part['text'], turn.reply.chunk_size)]
    out += [('response.output_text.annotation.added', {**at, 'annotation_index': k, 'annotation': a})
            for k, a in enumerate(part['annotations'])]
    return out + [('response.output_text.done', {**at, 'text': part['text'], 'logprobs': []}),
                  ('response.content_part.done', {**at, 'part': part})]


def _item_events(turn: Turn, i: int, item: dict) -> list[tuple[str, dict]]:
    "The events between an item's output_item.added and output_item.done."
    at = {'item_id': item['id'], 'output_index': i}
    if item['type'] == 'reasoning': return _reasoning_events(turn, i, item)
    if item['type'] == 'message': return _message_events(turn, i, item)
    if item['type'] == 'web_search_call':
        return [(f'response.web_search_call.{s}', at) for s in ('in_progress', 'searching', 'completed')]
    deltas = [('response.function_call_arguments.delta', {**at, 'delta': p})
              for p in pieces(item['arguments'], turn.reply.chunk_size or 8)]
    return deltas + [('response.function_call_arguments.done', {**at, 'arguments': item['arguments']})]


def reply_events(turn: Turn) -> list[bytes]:
    "The Responses stream: created, in_progress, each item's events, then completed (or incomplete)."
    rid, items = 'resp_' + _hex(turn), _noted(turn, _items(turn))
    events = [('response.created', {'response': _response(turn, rid, [], done=False)}),
              ('response.in_progress', {'response': _response(turn, rid, [], done=False)})]
    for i, item in enumerate(items):
        events.append(('response.output_item.added', {'output_index': i, 'item': _started(item)}))
        events += _item_events(turn, i, item)
        events.append(('response.output_item.done', {'output_index': i, 'item': item}))
    final = _response(turn, rid, items)
    events.append((f'response.{final["status"]}', {'response': final}))
    return [sse({'type': name, 'sequence_number': n, **data}, name) for n, (name, data) in enumerate(events)]
