"""lexi's error types.

Caller mistakes raise `UsageError`, whose message says what to do. Provider errors stay LiteLLM's
exceptions (LiteLLM already maps each provider onto them); `is_retryable` classifies them.
Tool failures are not raised to the caller of a chat: they go back to the model as tool messages.
The `ToolError` family names those failures for code that calls tools directly.
"""
from __future__ import annotations

__all__ = ['LexiError', 'UsageError', 'IncompleteResponseError', 'EmptyResponseError', 'ToolError', 'UnknownToolError',
           'ToolArgumentsError', 'ToolExecutionError', 'StructuredOutputError', 'RateLimitUnavailableError', 'is_retryable']

# HTTP statuses below 500 for which the same request may succeed later: timeout, conflict, too early, rate
# limit. Every 5xx (Anthropic's 529 "overloaded" included) is retryable too; other 4xx say the request is wrong.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class LexiError(Exception):
    "Base class of every error lexi raises itself."


class UsageError(LexiError, ValueError):
    "The caller passed something lexi cannot use; the message says what to pass instead."


class ToolError(LexiError):
    "A tool call could not be carried out. `name` is the tool the model asked for."
    def __init__(self, msg: str, name: str | None = None):
        super().__init__(msg)
        self.name = name


class UnknownToolError(ToolError):
    "The model asked for a tool that was not passed to the chat."


class ToolArgumentsError(ToolError):
    "The model's arguments are not JSON, or do not fit the tool's signature."


class ToolExecutionError(ToolError):
    "The tool itself raised; the original exception is `__cause__`."


class StructuredOutputError(LexiError):
    """A structured call got no valid answer after its last attempt. `attempts` is how many answers the
    model gave, `raw` the last one's JSON text, `errors` why it is not valid (one line each)."""
    def __init__(self, msg: str, attempts: int, raw: str, errors: list):
        super().__init__(msg)
        self.attempts, self.raw, self.errors = attempts, raw, list(errors)


class IncompleteResponseError(LexiError):
    """An answer was still cut by the token limit after the last continuation (`ensure_complete=True`),
    or a tool call was cut twice in one step. `text` is the answer so far (joined), `response` the last
    ModelResponse; chat.hist keeps the partial answer, valid to send."""
    def __init__(self, msg: str, text: str, response=None):
        super().__init__(msg)
        self.text, self.response = text, response


class EmptyResponseError(LexiError):
    """The provider answered (HTTP 200) with a response that has no choices: nothing to show or record.
    Providers do this when a content filter stops the prompt, so it is not retried. `response` is what
    the provider sent (its usage is counted in chat.use); chat.hist is unchanged by the step."""
    def __init__(self, msg: str, response=None):
        super().__init__(msg)
        self.response = response

    @classmethod
    def of(cls, resp, model: str) -> 'EmptyResponseError':
        "The error for reply `resp` to a request to `model`, naming the reply's fields that are not in every reply."
        from ._litellm import answered_model, set_fields
        extra = {k: v for k, v in set_fields(resp).items() if k not in _USUAL_FIELDS and not k.startswith('_')}
        said = ''.join(f', {k}: {v!r}'[:300] for k, v in extra.items())
        return cls(f'{answered_model(resp) or model} answered with a response with no choices (HTTP 200, id '
                   f'{getattr(resp, "id", None)!r}{said}): no reply to show or record. A provider does this when a '
                   'content filter stops the prompt; `.response` is what it sent.', response=resp)


# A response's fields every reply has; any other is news worth naming when a reply has no choices
# (Azure's prompt_filter_results, say).
_USUAL_FIELDS = frozenset({'id', 'created', 'model', 'object', 'system_fingerprint', 'choices', 'usage', 'service_tier'})


def _chain(exc: BaseException, depth: int = 20):
    "`exc`, then the exceptions it was raised from or while handling, outermost first."
    while exc is not None and depth:
        yield exc
        exc, depth = exc.__cause__ or exc.__context__, depth - 1


def _reply_error(exc: BaseException) -> tuple | None:
    """(message, code) of an error object a provider sent in an HTTP 200 reply (OpenRouter and other
    OpenAI-compatible servers do), as LiteLLM read it: it raises a bare Exception carrying `message` and
    `status_code` (the object's code), then wraps it in its own exception with an empty message."""
    for e in _chain(exc):
        if type(e) is Exception and isinstance(getattr(e, 'message', None), str): return e.message, getattr(e, 'status_code', None)
    return None


def name_reply_error(exc: BaseException):
    "Put the provider's own words into `exc` (its message) when LiteLLM dropped them; see _reply_error."
    found = _reply_error(exc)
    if found is None or not isinstance(getattr(exc, 'message', None), str) or (found[0] and found[0] in str(exc)): return
    text, code = found
    exc.message = f"{exc.message.rstrip(' -')}: the provider's reply (HTTP 200) carried an error object: {text!r} (code {code!r})"
    exc.args = (exc.message,)


def _status(exc) -> int | None:
    status = getattr(exc, 'status_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException  # an exception a chat call (or LiteLLM) raised
                 ) -> bool:
    """True if `exc` is a transient provider or network failure worth retrying: a rate limit (429),
    timeout (408 and client-side timeouts), conflict (409), server error (5xx, overloaded) or a dropped
    connection. False for errors in the request itself (400, 401, 403, 404, 422, context window
    exceeded, content policy, unsupported parameters) and for anything that is not a provider error."""
    from ._litellm import litellm_error_kind
    kind = litellm_error_kind(exc)
    if kind == 'final' or _local_failure(exc): return False
    status = _status(exc)
    if status is not None: return status in RETRYABLE_STATUS or status >= 500
    return kind == 'transient' or isinstance(exc, (TimeoutError, ConnectionError)) or _network_error(exc)


# Errors of Python code, not of a network or a provider. LiteLLM reports one raised while it builds a
# request (content of the wrong type, a part without its field, text UTF-8 cannot encode) as an
# APIConnectionError or InternalServerError; the same request would fail the same way every time. So does
# a request the OpenAI SDK's client refuses to send (no API key for a server at api_base, say).
_LOCAL_ERRORS = (TypeError, KeyError, AttributeError, IndexError, UnicodeEncodeError)


def _local_failure(exc: BaseException) -> bool:
    "A provider error that began as an error in Python code (see _LOCAL_ERRORS) rather than in a reply or a connection."
    from ._litellm import refused_by_client
    *_, root = _chain(exc)
    return root is not exc and (isinstance(root, _LOCAL_ERRORS) or refused_by_client(root))


def _network_error(exc) -> bool:
    "httpx's timeouts and transport errors (what the HTTP clients under LiteLLM raise), when httpx is loaded."
    import sys
    httpx = sys.modules.get('httpx')
    return httpx is not None and isinstance(exc, (httpx.TimeoutException, httpx.TransportError))


class RateLimitUnavailableError(LexiError):
    """A shared `RateLimit(redis=...)` could not use its Redis (unreachable, or it refused the command). Nothing was
    sent and chat.hist is unchanged. lexi never falls back to a limit kept in one process, which would multiply the
    real rate by the number of processes: catch this to decide (wait and try again, alert, stop)."""
