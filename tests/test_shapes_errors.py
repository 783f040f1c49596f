"""Errors and usage in the shapes the providers send them: error bodies in each provider's words (Anthropic's
529 overloaded_error, Gemini's RESOURCE_EXHAUSTED with its RetryInfo), errors that end a stream part-way, and
Gemini stream usage that grows event by event (which is what a cut stream reports)."""
import json

import httpx
import litellm
import pytest

from lexi import Chat, is_retryable
from lexi.stream import build_response, stream_with_complete
from lexi.testing import Fault, Reply

from test_shapes_kit import MODELS, provider_of

PATHS = {'anthropic': '/v1/messages', 'openai': '/v1/chat/completions',
         'gemini': '/v1beta/models/gemini-2.5-flash:generateContent'}
BODIES = {'anthropic': {'model': 'claude-sonnet-4-5', 'max_tokens': 9, 'messages': [{'role': 'user', 'content': 'Hi'}]},
          'openai': {'model': 'gpt-4.1', 'messages': [{'role': 'user', 'content': 'Hi'}]},
          'gemini': {'contents': [{'role': 'user', 'parts': [{'text': 'Hi'}]}]}}


def answer(srv, provider, fault):
    srv.queue(fault)
    return httpx.post(srv.url + PATHS[provider], json=BODIES[provider])


def test_anthropic_errors_are_shaped_as_anthropic_documents_them(standin):
    r = answer(standin, 'anthropic', Fault(529))
    body = r.json()
    assert r.status_code == 529 and body['type'] == 'error' and body['error'] == {'type': 'overloaded_error', 'message': 'Overloaded'}
    assert body['request_id'].startswith('req_011') and r.headers['request-id'] == body['request_id']
    limited = answer(standin, 'anthropic', Fault(429, retry_after=12)).json()
    assert limited['error']['type'] == 'rate_limit_error' and 'per-minute rate limit' in limited['error']['message']


def test_gemini_errors_are_shaped_as_google_documents_them(standin):
    body = answer(standin, 'gemini', Fault(429, retry_after=43)).json()['error']
    assert (body['code'], body['status']) == (429, 'RESOURCE_EXHAUSTED') and body['message'].startswith('You exceeded your current quota')
    assert [d['@type'].rsplit('.', 1)[1] for d in body['details']] == ['QuotaFailure', 'Help', 'RetryInfo']
    assert body['details'][-1]['retryDelay'] == '43s'                   # Gemini says how long to wait in the body
    overloaded = answer(standin, 'gemini', Fault(503)).json()['error']
    assert (overloaded['status'], overloaded['message']) == ('UNAVAILABLE', 'The model is overloaded. Please try again later.')
    assert 'details' not in answer(standin, 'gemini', Fault(500)).json()['error']


CLASSES = {('anthropic', 529): litellm.InternalServerError, ('anthropic', 429): litellm.RateLimitError,
           ('gemini', 429): litellm.RateLimitError, ('gemini', 503): litellm.InternalServerError,
           ('openai', 503): litellm.ServiceUnavailableError, ('openai', 429): litellm.RateLimitError}


@pytest.mark.parametrize('provider, status', list(CLASSES))
def test_a_provider_error_in_its_own_words_is_classified_retryable_and_leaves_hist_as_it_was(standin, provider, status):
    standin.queue('first', Fault(status))
    chat = Chat(MODELS[provider], retries=0, **standin.kwargs(provider))
    chat('one')
    before = list(chat.hist)
    with pytest.raises(CLASSES[provider, status]) as ei: chat('two')
    assert is_retryable(ei.value) and chat.hist == before
    want = {529: 'overloaded', 503: 'overloaded', 429: 'rate limit' if provider != 'gemini' else 'quota'}[status]
    assert want in str(ei.value).lower()


@pytest.mark.parametrize('provider', ['anthropic', 'gemini', 'openai'])
def test_an_error_event_ending_a_stream_keeps_the_text_shown(standin, provider):
    cut = {'anthropic': 5, 'gemini': 2, 'openai': 3}[provider]   # events carrying 'one two'
    standin.queue(Reply(text='one two three four', cut_after=cut, fault=Fault(529 if provider == 'anthropic' else 503)),
                  'Going on.')
    chat = Chat(MODELS[provider], **standin.kwargs(provider))
    seen = []
    with pytest.raises(Exception) as ei:
        for o in chat('Count.', stream=True):
            if hasattr(o, 'choices') and o.choices: seen.append(o.choices[0].delta.content or '')
    assert 'overloaded' in str(ei.value).lower()
    assert ''.join(seen) == 'one two' and chat.hist[-1]['content'] == 'one two'
    assert chat('Go on.').choices[0].message.content == 'Going on.'
    assert 'one two' in json.dumps(standin.requests[-1].body)


def test_the_stand_in_refuses_a_fault_without_where_the_stream_fails():
    from lexi import UsageError
    with pytest.raises(UsageError, match='needs cut_after'): Reply(text='x', fault=Fault(529))


# -- Gemini stream usage grows event by event

def usage_of(evs) -> list:
    return [(e['usageMetadata'].get('candidatesTokenCount'), e['usageMetadata'].get('thoughtsTokenCount')) for e in evs]


def test_gemini_stream_usage_grows_as_gemini_reports_it(standin):
    standin.queue(Reply(text='one two three four five six seven eight', thinking='Count.', usage=dict(input=10, output=50, reasoning=10)))
    raw = httpx.post(f'{standin.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', json=BODIES['gemini']).text
    evs = [json.loads(e[6:]) for e in raw.split('\r\n\r\n') if e.startswith('data: ')]
    counts = usage_of(evs)
    assert counts[0] == (None, None)                                    # a thought alone reports the prompt only
    answer_counts = [c for c, _ in counts[1:]]
    assert answer_counts == sorted(answer_counts) and answer_counts[0] < 40 == answer_counts[-1]   # grows to the total
    assert {t for _, t in counts[1:]} == {10}                           # the thinking counted whole from the start
    assert all(e['usageMetadata']['promptTokenCount'] == 10 for e in evs)


def test_a_cut_gemini_stream_counts_the_prompt_and_the_answer_so_far(standin):
    # LiteLLM passes a stream's usage on at its end only; a cut stream's partial reply counts what arrived
    standin.queue(Reply(text='one two three four five six seven eight', usage=dict(input=10, output=40), cut_after=3))
    cap = stream_with_complete(litellm.completion(MODELS['gemini'], [{'role': 'user', 'content': 'Count.'}], stream=True,
                                                  stream_options={'include_usage': True}, **standin.kwargs('gemini')))
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        for _ in cap: pass
    partial = build_response(cap.chunks)
    assert partial.choices[0].message.content == 'one two three'
    assert (partial.usage.prompt_tokens, partial.usage.completion_tokens) == (10, 3)   # not the 40 of the whole answer
