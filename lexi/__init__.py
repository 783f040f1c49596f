"""lexi: one pleasant API over every LLM provider LiteLLM supports."""
__version__ = '0.1.0'

from .errors import LexiError, UsageError, ToolError, UnknownToolError, ToolArgumentsError, ToolExecutionError, is_retryable

__all__ = ['__version__', 'LexiError', 'UsageError', 'ToolError', 'UnknownToolError', 'ToolArgumentsError',
           'ToolExecutionError', 'is_retryable']
