"""lexi: one pleasant API over every LLM provider LiteLLM supports.

Importing lexi is cheap: LiteLLM itself is imported the first time a function needs it.
`lexi.testing` (the provider stand-in) is imported on its own: `from lexi.testing import StandIn`.
"""
__version__ = '0.1.0'

from .errors import (LexiError, UsageError, ToolError, UnknownToolError, ToolArgumentsError, ToolExecutionError,
                     StructuredOutputError, IncompleteResponseError, EmptyResponseError, is_retryable)
from .msgs import mk_msg, mk_msgs, remove_cache_ckpts, add_cache_ckpt, count_cache_ckpts, limit_cache_ckpts
from .tools import (lite_mk_func, ToolResponse, mk_ns, call_tool, acall_tool, random_tool_id, mk_tc, mk_tc_req,
                    mk_tc_result, mk_tc_results)
from .stream import stream_with_complete, astream_with_complete, build_response, delta_text
from .cite import citations, cite_footnote, cite_footnotes
from .fmt import re_tools, mk_tr_details, fmt2hist, hist2fmt, StreamFormatter, AsyncStreamFormatter
from .display import render_response, register_notebook_display, display_stream, adisplay_stream
from .usage import Use
from .chat import Chat, AsyncChat, Results, FINAL_PROMPT, ChatStream, AsyncChatStream
from ._continue import CONTINUE_PROMPT
from ._settings import Settings
from .templates import Template, render
from .tasks import run_task, arun_task, TaskResult, IssueVerdict, Review
from .resilience import RateLimit
from .embed import embed, aembed, Vector, Vectors
from .batch import batch, abatch
from .ask import ask, aask
from .models import models, model_info, ModelInfo, Models  # lexi.models is then this function; import the module as lexi.models too
from ._litellm import patch_litellm, unpatch_litellm

__all__ = ['__version__',
           'LexiError', 'UsageError', 'ToolError', 'UnknownToolError', 'ToolArgumentsError', 'ToolExecutionError',
           'StructuredOutputError', 'IncompleteResponseError', 'EmptyResponseError', 'is_retryable', 'Template', 'render',
           'run_task', 'arun_task', 'TaskResult', 'IssueVerdict', 'Review', 'RateLimit',
           'embed', 'aembed', 'Vector', 'Vectors', 'batch', 'abatch', 'ask', 'aask', 'models', 'model_info', 'ModelInfo', 'Models',
           'mk_msg', 'mk_msgs', 'remove_cache_ckpts', 'add_cache_ckpt', 'count_cache_ckpts', 'limit_cache_ckpts',
           'lite_mk_func', 'ToolResponse', 'mk_ns', 'call_tool', 'acall_tool', 'random_tool_id', 'mk_tc', 'mk_tc_req',
           'mk_tc_result', 'mk_tc_results',
           'stream_with_complete', 'astream_with_complete', 'build_response', 'delta_text',
           'citations', 'cite_footnote', 'cite_footnotes',
           're_tools', 'mk_tr_details', 'fmt2hist', 'hist2fmt', 'StreamFormatter', 'AsyncStreamFormatter',
           'render_response', 'register_notebook_display', 'display_stream', 'adisplay_stream',
           'Use', 'Chat', 'AsyncChat', 'Results', 'FINAL_PROMPT', 'CONTINUE_PROMPT', 'ChatStream', 'AsyncChatStream', 'Settings', 'patch_litellm', 'unpatch_litellm']
