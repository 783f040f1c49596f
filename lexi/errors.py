"""lexi's error types.

Caller mistakes raise `UsageError`, whose message says what to do. Provider errors stay LiteLLM's
exceptions (LiteLLM already maps each provider onto them); `is_retryable` classifies them.
Tool failures are not raised to the caller of a chat: they go back to the model as tool messages.
The `ToolError` family names those failures for code that calls tools directly.
"""
from __future__ import annotations

__all__ = ['LexiError', 'UsageError', 'ToolError', 'UnknownToolError', 'ToolArgumentsError',
           'ToolExecutionError', 'is_retryable']

# HTTP statuses for which the same request may succeed later.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
# LiteLLM exception class names that mean "try again later", whatever the status says.
_RETRYABLE_NAMES = frozenset({'RateLimitError', 'APIConnectionError', 'Timeout', 'InternalServerError',
                              'ServiceUnavailableError', 'BadGatewayError', 'APITimeoutError'})
_FINAL_NAMES = frozenset({'AuthenticationError', 'PermissionDeniedError', 'BadRequestError', 'NotFoundError',
                          'ContextWindowExceededError', 'ContentPolicyViolationError', 'UnprocessableEntityError',
                          'UnsupportedParamsError', 'InvalidRequestError'})


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


def is_retryable(exc: BaseException) -> bool:
    "True if `exc` is a transient provider or network failure worth retrying (rate limit, timeout, 5xx)."
    for cls in type(exc).__mro__:
        if cls.__name__ in _FINAL_NAMES: return False
        if cls.__name__ in _RETRYABLE_NAMES: return True
    status = getattr(exc, 'status_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None)
    if isinstance(status, int): return status in RETRYABLE_STATUS
    return isinstance(exc, (TimeoutError, ConnectionError))
