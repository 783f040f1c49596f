"""is_retryable: LiteLLM's exception classes and HTTP statuses, both sides, raised for real through the stand-in."""
import httpx
import litellm
import pytest

from lexi import Chat, UsageError, is_retryable
from lexi.testing import Fault

MODELS = {'openai': 'openai/gpt-4.1', 'anthropic': 'anthropic/claude-sonnet-4-5', 'gemini': 'gemini/gemini-2.5-flash'}


def raised(standin, provider, fault):
    standin.queue(fault)
    with pytest.raises(Exception) as ei:
        Chat(MODELS[provider], retries=0, **standin.kwargs(provider))('hi')
    return ei.value


@pytest.mark.parametrize('provider', list(MODELS))
@pytest.mark.parametrize('status', [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retryable(standin, provider, status):
    assert is_retryable(raised(standin, provider, Fault(status)))


@pytest.mark.parametrize('provider', list(MODELS))
@pytest.mark.parametrize('status', [400, 401, 403, 404, 422])
def test_request_errors_are_not_retryable(standin, provider, status):
    exc = raised(standin, provider, Fault(status))
    assert getattr(exc, 'status_code', None) == status and not is_retryable(exc)


@pytest.mark.parametrize('provider', ['openai', 'anthropic'])
def test_a_context_window_error_is_not_retryable(standin, provider):
    msg = ("This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens."
           if provider == 'openai' else 'prompt is too long: 210000 tokens > 200000 maximum')
    exc = raised(standin, provider, Fault(400, message=msg))
    assert isinstance(exc, litellm.ContextWindowExceededError) and not is_retryable(exc)


def test_a_timeout_and_a_dropped_connection_are_retryable(standin):
    from lexi.testing import Reply
    standin.queue(Reply(text='late', delay=1.0))
    with pytest.raises(litellm.Timeout) as ei:
        Chat(MODELS['openai'], timeout=0.2, retries=0, **standin.kwargs('openai'))('hi')
    assert is_retryable(ei.value)
    standin.queue(Reply(text='x', cut_after=0))
    with pytest.raises((litellm.APIConnectionError, litellm.InternalServerError)) as ei:  # LiteLLM's name for it varies
        Chat(MODELS['anthropic'], retries=0, **standin.kwargs('anthropic'))('hi')
    assert is_retryable(ei.value)


def test_errors_that_are_not_from_a_provider():
    req = httpx.Request('POST', 'http://127.0.0.1/x')
    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    assert is_retryable(httpx.ReadTimeout('slow', request=req)) and is_retryable(httpx.ConnectError('down', request=req))
    assert not is_retryable(UsageError('bad input')) and not is_retryable(ValueError('x')) and not is_retryable(KeyError('k'))
    status = lambda code: type('E', (Exception,), {'status_code': code})()
    assert is_retryable(status(503)) and is_retryable(status(429)) and not is_retryable(status(400))


@pytest.mark.parametrize('provider', list(MODELS))
def test_a_failure_of_litellm_to_build_the_request_is_not_retryable(standin, provider):
    # LiteLLM reports a Python error raised while it writes the request (here: content of the wrong type,
    # which lexi's own chats refuse before sending) as an APIConnectionError: sending it again cannot help.
    with pytest.raises(litellm.APIConnectionError) as ei:
        litellm.completion(MODELS[provider], [{'role': 'user', 'content': 123}], max_retries=0, **standin.kwargs(provider))
    assert not is_retryable(ei.value) and standin.requests == []


# ---------------------------------------------------------------- a 200 that carries no reply

NO_CHOICES = {'id': 'chatcmpl-filtered', 'object': 'chat.completion', 'created': 1, 'model': 'gpt-4.1', 'choices': [],
              'prompt_filter_results': [{'prompt_index': 0, 'content_filter_results': {'hate': {'filtered': True}}}],
              'usage': {'prompt_tokens': 30, 'completion_tokens': 0, 'total_tokens': 30}}


async def test_a_reply_with_no_choices_names_what_the_provider_sent_and_is_not_retried(standin):
    from lexi import AsyncChat, EmptyResponseError
    for cls in (Chat, AsyncChat):
        standin.reset()
        standin.queue_raw(NO_CHOICES).queue_raw(NO_CHOICES)
        chat = cls(MODELS['openai'], retries=2, max_wait=0.01, **standin.kwargs('openai'))
        with pytest.raises(EmptyResponseError) as ei:
            out = chat('Say something hateful.')
            if cls is AsyncChat: await out
        msg = str(ei.value)
        assert 'a response with no choices' in msg and 'prompt_filter_results' in msg and 'backend' not in msg
        assert ei.value.response.id == 'chatcmpl-filtered' and not is_retryable(ei.value)
        assert len(standin.requests) == 1 and chat.hist == [] and chat.use.input == 30   # billed, so counted


@pytest.mark.parametrize('error, raised', [({'message': 'The server had an error processing your request.', 'type': 'server_error',
                                             'code': 'internal'}, litellm.APIError),
                                           ({'message': 'Unknown parameter: foo.', 'type': 'invalid_request_error',
                                             'code': 400}, litellm.BadRequestError)])
def test_a_200_carrying_an_error_object_names_its_message_and_code(standin, error, raised):
    standin.queue_raw({'error': error})
    chat = Chat(MODELS['openai'], retries=2, max_wait=0.01, **standin.kwargs('openai'))
    with pytest.raises(raised) as ei:
        chat('hi')
    assert error['message'] in str(ei.value) and repr(error['code']) in str(ei.value) and 'HTTP 200' in str(ei.value)
    assert len(standin.requests) == 1 and chat.hist == []


def test_a_200_carrying_a_retryable_error_status_is_retried(standin):
    standin.queue_raw({'error': {'message': 'Upstream overloaded.', 'code': 503}}).queue('Fine now.')
    chat = Chat(MODELS['openai'], retries=1, max_wait=0.01, **standin.kwargs('openai'))
    assert chat('hi').choices[0].message.content == 'Fine now.' and len(standin.requests) == 2


def test_a_function_backend_that_returns_no_response_is_still_a_usage_error():
    with pytest.raises(UsageError, match='the backend returned str, not a response'):
        Chat(MODELS['openai'], backend=lambda **kw: 'hello')('hi')
