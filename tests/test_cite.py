"""citations(resp) for each provider's layout, and footnote links for streamed Anthropic citations."""
import litellm
from litellm import ModelResponse
from litellm.types.utils import Delta, Message, ModelResponseStream, StreamingChoices

from lexi.cite import cite_footnote, cite_footnotes, citations, footnote_link
from lexi.stream import stream_with_complete
from lexi.testing import Cited, Citation, Reply


def anth(url, title, quote, supported=None):
    c = {'type': 'web_search_result_location', 'cited_text': quote, 'url': url, 'title': title, 'encrypted_index': 'EI'}
    return {**c, 'supported_text': supported} if supported else c


def resp_with(message, **extra):
    return ModelResponse(choices=[{'index': 0, 'message': message, 'finish_reason': 'stop'}], **extra)


def test_citations_flattens_anthropic_groups_and_keeps_every_field():
    c1, c2, c3 = anth('https://a.org', 'A', 'q1', 'Otters swim.'), anth('https://b.org', 'B', 'q2', 'Rocks.'), anth('https://c.org', 'C', 'q3', 'Rocks.')
    msg = Message(content='Otters swim. Rocks.', provider_specific_fields={'citations': [[c1], [c2, c3]], 'thinking_blocks': None})
    assert citations(resp_with(msg)) == [c1, c2, c3]
    assert citations(msg) == [c1, c2, c3]          # a Message (e.g. from chat history) works too


def test_citations_reads_openai_url_citation_annotations():
    ann = [{'type': 'url_citation', 'url_citation': {'start_index': 0, 'end_index': 6, 'url': 'https://o.org', 'title': 'Otters'}},
           {'type': 'url_citation', 'url_citation': {'start_index': 11, 'end_index': 15, 'url': 'https://f.org', 'title': 'Fun'}}]
    msg = Message(content='Otters are fun.', annotations=ann)
    assert citations(resp_with(msg)) == [
        {'type': 'url_citation', 'url': 'https://o.org', 'title': 'Otters', 'start_index': 0, 'end_index': 6},
        {'type': 'url_citation', 'url': 'https://f.org', 'title': 'Fun', 'start_index': 11, 'end_index': 15}]


def test_citations_falls_back_to_gemini_grounding_chunks_when_there_are_no_annotations():
    gm = [{'groundingChunks': [{'web': {'uri': 'https://g.org/1', 'title': 'g1.org'}}, {'web': {'uri': 'https://g.org/2', 'title': 'g2.org'}}],
           'webSearchQueries': ['otters']}]
    r = resp_with(Message(content='Otters.'))
    r.vertex_ai_grounding_metadata = gm
    assert citations(r) == [{'type': 'grounding_chunk', 'url': 'https://g.org/1', 'title': 'g1.org'},
                            {'type': 'grounding_chunk', 'url': 'https://g.org/2', 'title': 'g2.org'}]


def test_citations_of_a_reply_without_sources_is_empty():
    assert citations(resp_with(Message(content='No sources.'))) == []
    assert citations({'role': 'assistant', 'content': 'x'}) == []


def chunk(content='', citation=None):
    fields = {'citation': citation} if citation else None
    return ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=content, provider_specific_fields=fields))])


def test_footnote_link_is_a_markdown_link_titled_with_the_source():
    assert footnote_link(anth('https://a.org/x', 'Otter - Wikipedia', 'q')) == '[*](https://a.org/x "Otter - Wikipedia") '
    assert footnote_link(anth('https://a.org', 'Say "hi"', 'q')) == '[*](https://a.org "Say \\"hi\\"") '


def test_cite_footnote_puts_the_link_into_the_chunk_text_in_place():
    c = chunk(citation=anth('https://a.org', 'A', 'q'))
    assert cite_footnote(c) is c
    assert c.choices[0].delta.content == '[*](https://a.org "A") '


def test_cite_footnote_applied_twice_adds_the_link_once():
    c = chunk(citation=anth('https://a.org', 'A', 'q'))
    cite_footnote(c); cite_footnote(c)
    assert c.choices[0].delta.content == '[*](https://a.org "A") '


def test_cite_footnote_leaves_chunks_without_a_citation_alone():
    plain, empty = chunk('Otters swim.'), ModelResponseStream(choices=[])
    empty.choices = []
    cite_footnote(plain); cite_footnote(empty)
    assert plain.choices[0].delta.content == 'Otters swim.' and empty.choices == []


def test_cite_footnotes_marks_every_cited_chunk_of_a_stream():
    chunks = [chunk('Otters '), chunk(citation=anth('https://a.org', 'A', 'q1')), chunk('swim'),
              chunk(citation=anth('https://b.org', 'B', 'q2')), chunk(' fast.')]
    assert cite_footnotes(chunks) == chunks
    text = ''.join(c.choices[0].delta.content for c in chunks)
    assert text == 'Otters [*](https://a.org "A") swim[*](https://b.org "B")  fast.'


def test_streamed_anthropic_search_with_footnotes_keeps_links_in_text_and_citations_in_fields(standin):
    reply = Reply(text=['Otters are ', Cited('playful', [Citation('https://a.org/o', 'Otters "A"', 'they play')]), '.'],
                  search=['otters'])
    standin.queue(reply)
    cap = stream_with_complete(litellm.completion('anthropic/claude-sonnet-4-5', [{'role': 'user', 'content': 'otters?'}],
                                                  stream=True, web_search_options={'search_context_size': 'low'},
                                                  **standin.kwargs('anthropic')), postproc=cite_footnote)
    shown = ''.join(c.choices[0].delta.content or '' for c in cap)
    assert shown == 'Otters are [*](https://a.org/o "Otters \\"A\\"") playful.'
    assert cap.value.choices[0].message.content == shown
    assert [(c['url'], c['cited_text']) for c in citations(cap.value)] == [('https://a.org/o', 'they play')]
