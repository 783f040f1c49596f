"""OpenAI Responses API request rules for lexi's provider stand-in (`lexi.testing._rules` dispatches here):
`responses_violation(body, issued)` names the first rule a /v1/responses body breaks, in OpenAI's words, or
returns None. Pure functions over the parsed body; `issued` holds the item ids earlier responses sent.
"""
from __future__ import annotations

__all__ = ['responses_violation']


# -- OpenAI /responses (invalid_request_error): "No tool output found for function call CALL_ID." when a
# function_call input item has no function_call_output after it; "No tool call found for function call output with
# call_id CALL_ID." when an output answers no call before it. An item given by `id` names an item of an earlier
# response: "Item with id 'ID' not found." when there is none, and with `store` false (nothing kept), a reasoning
# item without its encrypted_content "Item with id 'rs_...' not found. Items are not persisted when `store` is set to
# false. ..."; a reasoning item comes with the item that followed it: "Item 'rs_...' of type 'reasoning' was
# provided without its required following item."

def _responses_calls(items: list) -> str | None:
    for k, item in enumerate(items):
        cid = item.get('call_id')
        if item.get('type') == 'function_call' and not any(
                o.get('type') == 'function_call_output' and o.get('call_id') == cid for o in items[k + 1:]):
            return f'No tool output found for function call {cid}.'
        if item.get('type') == 'function_call_output' and not any(
                c.get('type') == 'function_call' and c.get('call_id') == cid for c in items[:k]):
            return f'No tool call found for function call output with call_id {cid}.'
    return None


def _follows_reasoning(item: dict | None) -> bool:
    "An item that may follow a reasoning item: what the model produced after it (not the user's, not a tool result)."
    if item is None or item.get('type') in ('reasoning', 'function_call_output'): return False
    return item.get('type') != 'message' or item.get('role') == 'assistant'


def _responses_items(items: list, stored: bool, issued: dict) -> str | None:
    for k, item in enumerate(items):
        iid, typ = item.get('id'), item.get('type')
        if iid is not None and typ == 'reasoning' and not stored and not item.get('encrypted_content'):
            return (f"Item with id '{iid}' not found. Items are not persisted when `store` is set to false. Try again "
                    'with `store` set to true, or remove this item from your input.')
        if iid is not None and not item.get('encrypted_content') and issued.get(iid) != ('item', typ):
            return f"Item with id '{iid}' not found."
        if typ == 'reasoning' and not _follows_reasoning(items[k + 1] if k + 1 < len(items) else None):
            return f"Item '{iid}' of type 'reasoning' was provided without its required following item."
    return None


def responses_violation(body: dict, issued: dict | None = None) -> str | None:
    "The first OpenAI Responses API rule `body` breaks, or None; `issued`: the item ids earlier responses had."
    items = body.get('input') if isinstance(body.get('input'), list) else []
    items = [i for i in items if isinstance(i, dict)]
    return _responses_calls(items) or _responses_items(items, body.get('store', True) is not False, issued or {})
