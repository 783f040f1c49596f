"""Citations: where each provider's sources are in a LiteLLM response, and footnote links for streams.

Where LiteLLM 1.106 puts them:
- Anthropic (web search, documents): `message.provider_specific_fields['citations']`, a list with
  one list per cited text block; each citation is a dict with url, title, cited_text and
  `supported_text` (the answer text it backs; absent in replies lexi assembled from a stream,
  whose chunks do not say where a cited span ends).
- Streamed Anthropic replies: one citation per chunk, in `delta.provider_specific_fields['citation']`.
- OpenAI (search models) and Gemini (grounding): `message.annotations`, dicts
  {'type': 'url_citation', 'url_citation': {url, title, start_index, end_index}}; replies on LiteLLM's route to
  OpenAI's Responses API carry them flat, as that API does: {'type': 'url_citation', url, title, start_index,
  end_index} (and, streamed, none: LiteLLM 1.110's stream bridge passes no annotation on).
- Gemini also keeps its raw grounding metadata in `resp.vertex_ai_grounding_metadata`
  (groundingChunks with web.uri / web.title); used when there are no annotations.
"""
from __future__ import annotations
from typing import Any, Iterable

from ._assemble import chunk_delta, get

__all__ = ['citations', 'cite_footnote', 'cite_footnotes', 'footnote_link']


def _flatten(groups) -> list:
    out = []
    for g in groups or []: out.extend(g if isinstance(g, list) else [g])
    return out


def _anthropic(msg) -> list:
    fields = get(msg, 'provider_specific_fields') or {}
    return [dict(c) for c in _flatten(fields.get('citations')) if isinstance(c, dict)]


def _annotation(a) -> dict | None:
    """A url_citation annotation, flattened (the Responses API's already is). Its indices stay as sent (OpenAI counts
    characters, Gemini UTF-8 bytes)."""
    uc = get(a, 'url_citation') or (a if get(a, 'url') else None)
    if get(a, 'type') != 'url_citation' or not uc: return None
    return {'type': 'url_citation', 'url': get(uc, 'url'), 'title': get(uc, 'title'),
            'start_index': get(uc, 'start_index'), 'end_index': get(uc, 'end_index')}


def _grounding(resp) -> list:
    out = []
    for meta in get(resp, 'vertex_ai_grounding_metadata') or []:
        for ch in get(meta, 'groundingChunks') or []:
            if web := get(ch, 'web'): out.append({'type': 'grounding_chunk', 'url': get(web, 'uri'), 'title': get(web, 'title')})
    return out


def citations(resp: Any  # a ModelResponse (streamed and assembled, or not), or a Message
              ) -> list[dict]:
    """Every citation in `resp`, in order, as dicts that each have at least 'type', 'url' and 'title'.

    Anthropic citations keep all their fields (cited_text, encrypted_index, supported_text, ...);
    url_citation annotations are flattened (url, title, start_index, end_index);
    Gemini grounding sources are used only when there are no annotations. [] when there are none.
    """
    choices = get(resp, 'choices')
    msg = get(choices[0], 'message') if choices else resp
    if msg is None: return []
    found = _anthropic(msg) + [c for a in get(msg, 'annotations') or [] if (c := _annotation(a))]
    return found or (_grounding(resp) if choices else [])


def footnote_link(citation: dict) -> str:
    "A markdown footnote link `[*](url \"title\") ` for one citation (renders as a linked '*' with the title on hover)."
    title = str(citation.get('title') or citation.get('url') or '').replace('\\', '\\\\').replace('"', '\\"')
    return f'[*]({citation.get("url", "")} "{title}") '


def cite_footnote(chunk: Any  # a stream chunk (ModelResponseStream)
                  ) -> Any:
    """Put a markdown footnote link into the text of a streamed chunk that carries a citation.

    Edits the chunk in place (`delta.content`) and returns it. Chunks without a citation are left
    alone. Safe to apply more than once: a chunk that already shows its link is not changed again.
    """
    delta = chunk_delta(chunk)
    c = (get(delta, 'provider_specific_fields') or {}).get('citation') if delta is not None else None
    if not isinstance(c, dict): return chunk
    link, content = footnote_link(c), get(delta, 'content') or ''
    if link in content: return chunk
    if isinstance(delta, dict): delta['content'] = content + link
    else: delta.content = content + link
    return chunk


def cite_footnotes(chunks: Iterable  # stream chunks, e.g. list(litellm.completion(..., stream=True))
                   ) -> list:
    "Apply `cite_footnote` to every chunk (in place); returns the chunks as a list."
    return [cite_footnote(c) for c in chunks]
