"""Provider request rules for lexi's provider stand-in: `violation(provider, body)` names the first
rule a chat request body breaks, in the words the real provider answers with (HTTP 400), plus
where (the message or content index), or returns None for a valid body.

Pure functions over the parsed JSON body LiteLLM sent; no I/O. Only rules the real providers are
known to enforce are here; each check quotes the provider's own error message. Indexes are the
body's own (after LiteLLM's translation), e.g. Anthropic's `messages.3` counts the wire messages,
in which LiteLLM has merged consecutive tool results and user text into one user message.
"""
from __future__ import annotations
import json
import re
from collections import Counter

from ._gemini import is_gemini3
from ._rules_responses import responses_violation

__all__ = ['violation', 'anthropic_violation', 'openai_violation', 'gemini_violation', 'responses_violation']

_MAX_CACHE_BLOCKS = 4


def _blocks(msg) -> list:
    "A message's content blocks (a string content is one text block)."
    c = msg.get('content') if isinstance(msg, dict) else None
    if isinstance(c, str): return [{'type': 'text', 'text': c}]
    return [b for b in c if isinstance(b, dict)] if isinstance(c, list) else []


def _first_duplicate(names) -> str | None:
    return next((n for n, k in Counter(names).items() if k > 1), None)


# -- Anthropic /v1/messages. Its 400 messages, as the API words them: "messages: at least one message is
# required"; "tools: Tool names must be unique."; "A maximum of 4 blocks with cache_control may be provided.
# Found 5."; "messages: text content blocks must be non-empty"; "messages.N: all messages must have non-empty
# content except for the optional final assistant message"; "messages.N: `tool_use` ids were found without
# `tool_result` blocks immediately after: ..."; "messages.N.content.K: unexpected `tool_use_id` found in
# `tool_result` blocks: ..."; "messages.N.content.K.tool_use.input: Input should be a valid dictionary";
# (Claude 4.6 and later) "This model does not support assistant message prefill. The conversation must end with
# a user message."; with thinking on, mid tool loop: "messages.N.content.0.type: Expected `thinking` or
# `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a
# thinking block ...".

def _anthropic_cache_blocks(body: dict) -> int:
    "Blocks carrying cache_control: system blocks, tools, message blocks (and blocks inside tool results)."
    system = body.get('system') if isinstance(body.get('system'), list) else []
    blocks = [b for b in system if isinstance(b, dict)] + [t for t in body.get('tools') or [] if isinstance(t, dict)]
    for m in body.get('messages') or []:
        for b in _blocks(m):
            blocks.append(b)
            if b.get('type') == 'tool_result' and isinstance(b.get('content'), list):
                blocks += [x for x in b['content'] if isinstance(x, dict)]
    return sum('cache_control' in b for b in blocks)


def _anthropic_content(body: dict, msgs: list) -> str | None:
    "No empty text block (system or messages), no message without content but a final assistant one."
    system = body.get('system') if isinstance(body.get('system'), list) else []
    if any(isinstance(b, dict) and b.get('type') == 'text' and not b.get('text') for b in system):
        return 'system: text content blocks must be non-empty'
    for i, m in enumerate(msgs):
        if not m.get('content') and not (i == len(msgs) - 1 and m.get('role') == 'assistant'):
            return f'messages.{i}: all messages must have non-empty content except for the optional final assistant message'
        for k, b in enumerate(_blocks(m)):
            if b.get('type') == 'text' and not b.get('text'):
                return f'messages.{i}.content.{k}: text content blocks must be non-empty'
    return None


def _ids(msg, kind: str, key: str = 'id') -> list:
    return [b.get(key) for b in _blocks(msg) if b.get('type') == kind]


def _anthropic_unanswered(msgs: list, i: int) -> str | None:
    "Every tool_use of assistant message i has a tool_result in the next message, a user message."
    nxt = msgs[i + 1] if i + 1 < len(msgs) else {}
    answered = set(_ids(nxt, 'tool_result', 'tool_use_id')) if nxt.get('role') == 'user' else set()
    # server_tool_use blocks (web search, 'srvtoolu_' ids) come with their own result blocks: not counted here
    missing = [t for t in _ids(msgs[i], 'tool_use') if t not in answered]
    if not missing: return None
    return (f'messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: '
            f'{", ".join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.')


def _anthropic_unasked(msgs: list, i: int) -> str | None:
    "Every tool_result of user message i answers a tool_use of the message before it, an assistant message."
    prev = msgs[i - 1] if i > 0 and msgs[i - 1].get('role') == 'assistant' else {}
    called = set(_ids(prev, 'tool_use'))
    for k, b in enumerate(_blocks(msgs[i])):
        if b.get('type') == 'tool_result' and b.get('tool_use_id') not in called:
            return (f'messages.{i}.content.{k}: unexpected `tool_use_id` found in `tool_result` blocks: '
                    f'{b.get("tool_use_id")}. Each `tool_result` block must have a corresponding `tool_use` block '
                    'in the previous message.')
    return None


def _anthropic_tools_answered(msgs: list) -> str | None:
    for i, m in enumerate(msgs):
        check = {'assistant': _anthropic_unanswered, 'user': _anthropic_unasked}.get(m.get('role'))
        err = check(msgs, i) if check else None
        if err: return err
    return None


_ANTHROPIC_ID = re.compile(r'^[a-zA-Z0-9_-]+$')


def _anthropic_ids(msgs: list) -> str | None:
    "Every tool_use id and tool_result tool_use_id matches ^[a-zA-Z0-9_-]+$ (Anthropic's pattern)."
    for i, m in enumerate(msgs):
        for k, b in enumerate(_blocks(m)):
            key = {'tool_use': 'id', 'tool_result': 'tool_use_id'}.get(b.get('type'))
            if key and not _ANTHROPIC_ID.match(str(b.get(key) or '')):
                return f"messages.{i}.content.{k}.{b['type']}.{key}: String should match pattern '^[a-zA-Z0-9_-]+$'"
    return None


def _anthropic_inputs(msgs: list) -> str | None:
    "Every tool_use (and server_tool_use) block's input is an object."
    for i, m in enumerate(msgs):
        for k, b in enumerate(_blocks(m)):
            if b.get('type') in ('tool_use', 'server_tool_use') and not isinstance(b.get('input'), dict):
                return f'messages.{i}.content.{k}.{b["type"]}.input: Input should be a valid dictionary'
    return None


_CLAUDE_VERSION = re.compile(r'claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?:\D|$)')


def _refuses_prefill(model) -> bool:
    "Claude 4.6 and later answer an assistant-last request with a 400 (no assistant prefill)."
    m = _CLAUDE_VERSION.search(str(model or ''))
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (4, 6)


def _turn_start(msgs: list) -> int:
    "Index of the current assistant turn's first message: after the last user message that is not tool results alone."
    for i in range(len(msgs) - 1, -1, -1):
        m = msgs[i]
        if m.get('role') == 'user' and any(b.get('type') != 'tool_result' for b in _blocks(m)): return i + 1
    return 0


def _anthropic_thinking_first(body: dict, msgs: list) -> str | None:
    """With thinking on, mid tool loop (the last message carries tool results), the turn's first assistant message
    starts with its thinking block, sent back unchanged (later steps of the loop need not think again)."""
    thinking = body.get('thinking') if isinstance(body.get('thinking'), dict) else {}
    if thinking.get('type') not in ('enabled', 'adaptive') or not _ids(msgs[-1], 'tool_result', 'tool_use_id'): return None
    i = _turn_start(msgs)
    if i >= len(msgs) or msgs[i].get('role') != 'assistant': return None
    first = (_blocks(msgs[i]) or [{}])[0].get('type')
    if first in ('thinking', 'redacted_thinking'): return None
    return (f'messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. '
            'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the '
            'lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from '
            'previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at '
            'https://docs.claude.com/en/docs/build-with-claude/extended-thinking')


def anthropic_violation(body: dict) -> str | None:
    "The first Anthropic Messages API rule `body` breaks, or None."
    msgs = [m for m in body.get('messages') or [] if isinstance(m, dict)]
    if not msgs: return 'messages: at least one message is required'
    if msgs[-1].get('role') == 'assistant' and _refuses_prefill(body.get('model')):
        return 'This model does not support assistant message prefill. The conversation must end with a user message.'
    if msgs[0].get('role') != 'user': return 'messages: first message must use the "user" role'
    dup = _first_duplicate(t.get('name') for t in body.get('tools') or [] if isinstance(t, dict))
    if dup is not None: return f'tools: Tool names must be unique. ({dup!r} appears more than once)'
    n = _anthropic_cache_blocks(body)
    if n > _MAX_CACHE_BLOCKS: return f'A maximum of {_MAX_CACHE_BLOCKS} blocks with cache_control may be provided. Found {n}.'
    return (_anthropic_content(body, msgs) or _anthropic_ids(msgs) or _anthropic_inputs(msgs)
            or _anthropic_tools_answered(msgs) or _anthropic_thinking_first(body, msgs))


# -- OpenAI /chat/completions. Its 400 messages (param 'messages.[N].role'): "An assistant message with
# 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids
# did not have response messages: ..."; "Invalid parameter: messages with role 'tool' must be a response to a
# preceeding message with 'tool_calls'." (sic); "Invalid parameter: 'tool_call_id' of '...' not found in
# 'tool_calls' of previous message."; "Invalid 'messages[N].tool_calls[K].id': string too long. Expected a string
# with maximum length 40, but got a string with length L instead." Duplicate tool names are not checked: no OpenAI refusal of them is on record.

def _call_ids(msg) -> list:
    return [tc.get('id') for tc in msg.get('tool_calls') or [] if isinstance(tc, dict)]


def _openai_calls_answered(msgs: list, i: int) -> str | None:
    "Assistant message i's tool calls are all answered by the tool messages right after it."
    answered, j = set(), i + 1
    while j < len(msgs) and msgs[j].get('role') == 'tool':
        answered.add(msgs[j].get('tool_call_id'))
        j += 1
    missing = [c for c in _call_ids(msgs[i]) if c not in answered]
    if not missing: return None
    return (f"messages.[{i}]: An assistant message with 'tool_calls' must be followed by tool messages responding "
            f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(missing)}")


def _openai_tool_answers(msgs: list, i: int) -> str | None:
    "Tool message i answers a call of the assistant message before the run of tool messages it is in."
    j = i - 1
    while j >= 0 and msgs[j].get('role') == 'tool': j -= 1
    if j < 0 or msgs[j].get('role') != 'assistant' or not _call_ids(msgs[j]):
        return (f"messages.[{i}].role: Invalid parameter: messages with role 'tool' must be a response to a "
                "preceeding message with 'tool_calls'.")
    tcid = msgs[i].get('tool_call_id')
    if tcid not in _call_ids(msgs[j]):
        return f"messages.[{i}]: Invalid parameter: 'tool_call_id' of '{tcid}' not found in 'tool_calls' of previous message."
    return None


_OPENAI_ID_MAX = 40


def _openai_ids(msgs: list) -> str | None:
    "Tool-call ids are at most 40 characters."
    for i, m in enumerate(msgs):
        for k, tc in enumerate(c for c in m.get('tool_calls') or [] if isinstance(c, dict)):
            n = len(str(tc.get('id') or ''))
            if n > _OPENAI_ID_MAX:
                return (f"Invalid 'messages[{i}].tool_calls[{k}].id': string too long. Expected a string with maximum "
                        f"length {_OPENAI_ID_MAX}, but got a string with length {n} instead.")
    return None


def openai_violation(body: dict) -> str | None:
    "The first OpenAI chat completions rule `body` breaks, or None."
    msgs = [m for m in body.get('messages') or [] if isinstance(m, dict)]
    if err := _openai_ids(msgs): return err
    for i, m in enumerate(msgs):
        err = (_openai_calls_answered(msgs, i) if m.get('role') == 'assistant' and m.get('tool_calls')
               else _openai_tool_answers(msgs, i) if m.get('role') == 'tool' else None)
        if err: return err
    return None


# -- Gemini generateContent / streamGenerateContent (INVALID_ARGUMENT). Its messages: "*
# GenerateContentRequest.contents: contents is not specified"; "* GenerateContentRequest.contents[N].parts:
# contents.parts must not be empty."; "Duplicate function declaration found: NAME"; "Please ensure that the
# number of function response parts is equal to the number of function call parts of the function call turn.";
# "Please ensure that function response turn comes immediately after a function call turn."; "Please ensure
# that function call turn comes immediately after a user turn or after a function response turn."; a value
# that is not an object where the API takes a Struct (function call args, function response response):
# "Invalid value at 'contents[N].parts[K].function_call.args' (type.googleapis.com/google.protobuf.Struct), VALUE"

def _parts(content, *keys) -> int:
    "How many of a content's parts carry any of `keys` (LiteLLM writes snake_case, the API documents camelCase)."
    parts = content.get('parts') if isinstance(content, dict) else None
    return sum(any(k in p for k in keys) for p in parts or [] if isinstance(p, dict))


_CALL, _RESPONSE = ('functionCall', 'function_call'), ('functionResponse', 'function_response')


_STRUCTS = ((('functionCall', 'function_call'), 'args', 'function_call.args'),
            (('functionResponse', 'function_response'), 'response', 'function_response.response'))


def _gemini_structs(contents: list) -> str | None:
    "Function call args and function response values, where given, are objects (protobuf Structs)."
    for i, c in enumerate(contents):
        for k, p in enumerate(x for x in c.get('parts') or [] if isinstance(x, dict)):
            for keys, field, where in _STRUCTS:
                inner = next((p[key] for key in keys if isinstance(p.get(key), dict)), {})
                if inner.get(field) is not None and not isinstance(inner[field], dict):   # JSON null: left unset
                    return (f"Invalid value at 'contents[{i}].parts[{k}].{where}' "
                            f"(type.googleapis.com/google.protobuf.Struct), {json.dumps(inner[field])}")
    return None


def _gemini_turns(contents: list) -> str | None:
    """Every content has parts; function responses answer, in number, the function calls of the turn before;
    a function call turn follows a user turn or a function response turn (so never opens the contents)."""
    for i, c in enumerate(contents):
        if not c.get('parts'):
            return f'* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.'
        prev_calls = _parts(contents[i - 1], *_CALL) if i > 0 and contents[i - 1].get('role') == 'model' else 0
        if _parts(c, *_RESPONSE) and not prev_calls:
            return (f'contents[{i}]: Please ensure that function response turn comes immediately after a function '
                    'call turn.')
        calls, nxt = _parts(c, *_CALL), contents[i + 1] if i + 1 < len(contents) else None
        if c.get('role') == 'model' and calls and (i == 0 or contents[i - 1].get('role') == 'model'):
            return (f'contents[{i}]: Please ensure that function call turn comes immediately after a user turn or '
                    'after a function response turn.')
        if c.get('role') == 'model' and calls and nxt is not None and _parts(nxt, *_RESPONSE) != calls:
            return (f'contents[{i + 1}]: Please ensure that the number of function response parts is equal to the '
                    f'number of function call parts of the function call turn. (contents[{i}] has {calls} function '
                    f'call parts, contents[{i + 1}] has {_parts(nxt, *_RESPONSE)} function response parts)')
    return None


# -- Gemini 3 thought signatures (https://ai.google.dev/gemini-api/docs/thought-signatures): in the current turn
# (the contents after the last user message that is not function responses) the first functionCall part of each
# step must carry its signature, else "Function call is missing a thought_signature in functionCall parts. ..."; a
# signature must come back as it was sent, on the part it was sent on (parts are neither merged nor split), and
# one the backend did not mint is "Corrupted thought signature.". Google documents placeholders that skip the
# check (LiteLLM sends one when it has no signature for a call); Gemini 2.5 does not validate signatures.

_PLACEHOLDERS = frozenset(('skip_thought_signature_validator', 'context_engineering_is_the_way_to_go',
                           'c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I=', 'Y29udGV4dF9lbmdpbmVlcmluZ19pc190aGVfd2F5X3RvX2dv'))
_SIG_KEYS = ('thoughtSignature', 'thought_signature')
_KINDS = {'toolCall': 'toolCall', 'tool_call': 'toolCall', 'toolResponse': 'toolResponse',
          'tool_response': 'toolResponse', 'functionCall': 'functionCall', 'function_call': 'functionCall'}


def _where(part: dict) -> tuple:
    "(kind, a function call's name) of a request part, in the response's spelling, as `_gemini._where` gives them."
    key = next((k for k in _KINDS if isinstance(part.get(k), dict)), None)
    if key is None: return 'text', None
    return _KINDS[key], part[key].get('name') if _KINDS[key] == 'functionCall' else None


def _current_turn(contents: list) -> int:
    "Index of the first content of the current turn (after the last user content that is not function responses)."
    for i in range(len(contents) - 1, -1, -1):
        c = contents[i]
        if c.get('role') == 'user' and len(c.get('parts') or []) > _parts(c, *_RESPONSE): return i + 1
    return 0


def _gemini_unsigned_call(contents: list) -> str | None:
    for i in range(_current_turn(contents), len(contents)):
        calls = [p for p in contents[i].get('parts') or [] if isinstance(p, dict) and any(k in p for k in _CALL)]
        if contents[i].get('role') == 'model' and calls and not any(calls[0].get(k) for k in _SIG_KEYS):
            name = next(calls[0][k] for k in _CALL if k in calls[0]).get('name')
            return ('Function call is missing a thought_signature in functionCall parts. This is required for tools '
                    'to work correctly, and missing thought_signature may lead to degraded model performance. '
                    f'Additional data, function call `default_api:{name}` , position {i + 1}. Please refer to '
                    'https://ai.google.dev/gemini-api/docs/thought-signatures for more details.')
    return None


def _gemini_signatures(contents: list, issued: dict) -> str | None:
    "Every signature is a placeholder, or one this backend sent, back on the part it was sent on."
    for i, c in enumerate(contents):
        for k, p in enumerate(x for x in c.get('parts') or [] if isinstance(x, dict)):
            sig = next((p[key] for key in _SIG_KEYS if p.get(key)), None)
            if sig is None or sig in _PLACEHOLDERS: continue
            if sig not in issued:
                return f'Corrupted thought signature. (contents[{i}].parts[{k}]: not a signature this model sent)'
            if issued[sig] != _where(p):
                return (f'Corrupted thought signature. (contents[{i}].parts[{k}], a {_where(p)[0]} part, carries the '
                        f'signature sent on a {issued[sig][0]} part {issued[sig][1] or ""})'.replace(' )', ')'))
    return None


def gemini_violation(body: dict, model: str | None = None, issued: dict | None = None) -> str | None:
    """The first Gemini generateContent rule `body` breaks, or None. `model` (from the request path) and
    `issued` (signature -> the part it was sent on) enable the Gemini 3 signature checks."""
    contents = [c for c in body.get('contents') or [] if isinstance(c, dict)]
    if not contents: return '* GenerateContentRequest.contents: contents is not specified'
    decls = [d.get('name') for t in body.get('tools') or [] if isinstance(t, dict)
             for d in (t.get('function_declarations') or t.get('functionDeclarations') or []) if isinstance(d, dict)]
    dup = _first_duplicate(decls)
    if dup is not None: return f'Duplicate function declaration found: {dup}'
    err = _gemini_turns(contents) or _gemini_structs(contents)
    if err or not is_gemini3(model): return err
    return _gemini_unsigned_call(contents) or _gemini_signatures(contents, issued or {})


def violation(provider: str, body, model: str | None = None, issued: dict | None = None) -> str | None:
    """The error message the real `provider` would answer `body` (a chat request) with, or None if it is valid.
    `model` and `issued` (Gemini thought signatures and Responses item ids the stand-in sent) serve the Gemini 3
    and Responses checks; `provider` 'responses' is OpenAI's Responses API."""
    if not isinstance(body, dict): return None
    if provider == 'gemini': return gemini_violation(body, model, issued)
    if provider == 'responses': return responses_violation(body, issued)
    check = {'anthropic': anthropic_violation, 'openai': openai_violation}.get(provider)
    return check(body) if check is not None else None
