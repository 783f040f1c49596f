"""Puts back what LiteLLM's `stream_chunk_builder` loses when it joins streamed chunks.

Measured on LiteLLM 1.106.2 by streaming and not streaming the same provider replies:
- a reply without text gets content '' (the builder's starting value; Anthropic tool-only streams
  also send '' fragments) where the non-streamed reply has None. That matters: LiteLLM sends an
  assistant message with content '' to Anthropic as a placeholder text block.
- `model` is the name the caller asked for ('claude-sonnet-4-5'), not the model that answered
  ('claude-sonnet-4-5-20250929'), which the chunks carry in `hidden_params`.
- `provider_specific_fields` are merged last-chunk-wins, so: Anthropic citations all land in one
  list instead of one list per cited text block; `thinking_blocks` keeps only the last fragment
  (the signature, with empty thinking text); `web_search_calls` stays a dict keyed by call id
  instead of the list a non-streamed reply has; Gemini `thought_signatures` keeps only the last
  chunk's signatures; Gemini 3's `server_side_tool_invocations` (a server-side search's toolCall and its
  toolResponse, which arrive in separate chunks) keeps only the last chunk's, the response without the
  call's args and signature, so the next request would send the call back broken.
- Gemini's thought parts, which a non-streamed reply lists as `thinking_blocks` without a signature, reach
  a stream's chunks as reasoning_content only, so a streamed reply had no thinking blocks. (LiteLLM sends
  the thought back from either; the history is the same with the block put back: one block for the
  thinking, as Gemini sends it in one thought part.)
Everything else (text, parallel tool calls, reasoning_content, message.thinking_blocks with
signatures, annotations, usage with cache and reasoning tokens) stream_chunk_builder gets right.

The helpers here are pure: they read chunk objects (or dicts) and fix a built response in place.
"""
from __future__ import annotations

__all__ = ['get', 'chunk_delta', 'merged_provider_fields', 'joined_invocations', 'restore_dropped', 'compact_text_runs']

# Keys rebuilt on their own: citations are regrouped; thinking blocks come from the assembled message;
# server-side tool invocations are joined across chunks.
_SKIP = frozenset({'citation', 'thinking_blocks', 'server_side_tool_invocations'})


from ._util import get  # noqa: E402  (re-exported: the stream modules read fields through here)
from ._litellm import hidden_params, set_fields  # noqa: E402


def chunk_delta(chunk):
    "The first choice's delta of a stream chunk, or None (no choices, or not a chunk)."
    choices = get(chunk, 'choices') or []
    return get(choices[0], 'delta') if choices else None


def _citation_groups(deltas: list) -> list:
    "Citations grouped as the provider sent them: one list per run of citation deltas (one cited block)."
    groups, run = [], None
    for d in deltas:
        c = (get(d, 'provider_specific_fields') or {}).get('citation')
        if c is not None:
            if run is None: run = []; groups.append(run)
            run.append(dict(c))
        elif get(d, 'content'): run = None
    return groups


def _add_fields(merged: dict, fields: dict):
    for k, v in fields.items():
        if k in _SKIP: continue
        if k == 'thought_signatures':
            have = merged.setdefault(k, [])
            have.extend(s for s in (v or []) if s not in have)
        else: merged[k] = v


def joined_invocations(entries: list) -> list:
    """Gemini server-side tool invocations from several chunks, joined as LiteLLM joins those of one response:
    each call (tool_type, id, args, its thought_signature) with its response (response, and that part's signature
    as response_thought_signature), in call order; a response whose call never came stays as it is."""
    calls, answers = {}, {}
    for e in entries:
        if not isinstance(e, dict): continue
        if 'args' in e or 'response' not in e: calls.setdefault(e.get('id'), {}).update(e)
        else: answers[e.get('id')] = dict(e)
    out = []
    for cid, call in calls.items():
        if (answer := answers.pop(cid, None)) is not None:
            call['response'] = answer.get('response')
            if 'response_thought_signature' in answer: call['response_thought_signature'] = answer['response_thought_signature']
        out.append(call)
    return out + list(answers.values())


def merged_provider_fields(deltas: list, thinking_blocks=None) -> dict:
    "The message's provider_specific_fields as a non-streamed reply would carry them."
    merged, saw_thinking, invocations = {}, False, []
    for d in deltas:
        fields = get(d, 'provider_specific_fields') or {}
        saw_thinking = saw_thinking or 'thinking_blocks' in fields
        invocations += fields.get('server_side_tool_invocations') or []
        _add_fields(merged, fields)
    if invocations: merged['server_side_tool_invocations'] = joined_invocations(invocations)
    if isinstance(merged.get('web_search_calls'), dict): merged['web_search_calls'] = list(merged['web_search_calls'].values())
    if groups := _citation_groups(deltas): merged['citations'] = groups
    if saw_thinking and thinking_blocks: merged['thinking_blocks'] = list(thinking_blocks)
    return merged


# Providers whose non-streamed replies list Gemini's thought parts as thinking blocks without a signature.
_UNSIGNED_THOUGHTS = frozenset({'gemini', 'vertex_ai', 'vertex_ai_beta'})


def _thought_blocks(resp, msg) -> list | None:
    """A streamed Gemini reply's thinking as the block a non-streamed one lists (its stream carries the thought
    text as reasoning_content only); None for other providers, or when there is no thinking."""
    if get(msg, 'thinking_blocks') or hidden_params(resp).get('custom_llm_provider') not in _UNSIGNED_THOUGHTS: return None
    text = get(msg, 'reasoning_content')
    return [{'type': 'thinking', 'thinking': text}] if text else None


def restore_dropped(resp, chunks: list):
    "Fix `resp` (built by stream_chunk_builder from `chunks`) in place; returns it."
    served = hidden_params(resp).get('provider_response_model')
    if served: resp.model = served
    if not get(resp, 'choices'): return resp
    msg = resp.choices[0].message
    if msg.content == '': msg.content = None
    deltas = [d for d in map(chunk_delta, chunks) if d is not None]
    if blocks := _thought_blocks(resp, msg): msg.thinking_blocks = blocks
    fields = merged_provider_fields(deltas, get(msg, 'thinking_blocks'))
    msg.provider_specific_fields = fields or None
    return resp


# A chunk is joinable when none of these carry anything (stream-wide values such as id, model,
# system_fingerprint or service_tier repeat on every chunk and do not matter).
_CHUNK_CARGO = ('usage', 'provider_specific_fields', 'citations')
_CHOICE_META = frozenset({'index', 'delta'})
_DELTA_TEXT = frozenset({'content', 'role'})


def _plain_text(chunk) -> str | None:
    "The text of a chunk that carries text and nothing else (no tool call, reasoning, field, usage or finish)."
    if isinstance(chunk, dict) or not hasattr(chunk, 'model_copy'): return None
    top = set_fields(chunk)
    if any(k in top for k in _CHUNK_CARGO) or len(top.get('choices') or ()) != 1: return None
    choice = chunk.choices[0]
    if not set(set_fields(choice)) <= _CHOICE_META: return None
    fields = set_fields(choice.delta)
    text = fields.get('content')
    return text if isinstance(text, str) and set(fields) <= _DELTA_TEXT else None


def compact_text_runs(chunks: list) -> list:
    """`chunks` with each run of text-only chunks joined into one copy, so LiteLLM's builder (whose
    cost grows with the chunk count) sees a handful of chunks; the caller's chunks are not changed."""
    out, run = [], []
    def flush():
        if len(run) > 1:
            joined = run[0][0].model_copy(deep=True)
            joined.choices[0].delta.content = ''.join(t for _, t in run)
            out.append(joined)
        else: out.extend(c for c, _ in run)
        run.clear()
    for c in chunks:
        t = _plain_text(c)
        if t is None: flush(); out.append(c)
        else: run.append((c, t))
    flush()
    return out
