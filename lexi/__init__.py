"""lexi: one pleasant API over every LLM provider LiteLLM supports.

Talk to a model
    Chat(model, sp='', tools=[...])      a conversation: history, tool loops, streaming (stream=True)
    AsyncChat(...)                       the same for async code
    ask('question') / aask(...)          one answer as text, nothing kept
    chat.struct(msg, MyModel)            the answer as an instance of your type (pydantic, dataclass, ...)
    run_task / arun_task                 an answer a judge checks against plain-language issues

Messages and history
    mk_msg, mk_msgs                      messages from text, images, PDFs, audio; prompt-cache checkpoints
    hist2fmt, fmt2hist                   a chat as readable markdown, and back into a history
    display_stream / adisplay_stream     a stream as live markdown in Jupyter
    chat.transcript, chat.save(path), Chat.load(path)

Many requests
    batch / abatch                       many prompts, each in its own chat, at most `concurrency` at a time
    RateLimit(rpm=, tpm=)                one request and token budget shared by chats, threads and tasks
    embed / aembed                       embeddings; models(), model_info(name): what LiteLLM knows

Errors: UsageError (a mistake, caught before sending), StructuredOutputError, IncompleteResponseError,
EmptyResponseError, and LiteLLM's own exceptions for provider errors (`is_retryable(e)` says which are
transient); all of lexi's are in lexi.errors. Offline testing: lexi.testing (StandIn, Scripted).

Everything else lives in its module (lexi.tools, lexi.stream, lexi.cite, lexi.fmt, lexi.display, ...);
the names older code imported from `lexi` itself still work. Importing lexi is cheap: LiteLLM is imported
the first time a function needs it. `help(lexi.Chat)` and `help(lexi.Chat.__call__)` list every option.
"""
__version__ = '0.1.0'

import importlib

from .errors import (LexiError, UsageError, StructuredOutputError, IncompleteResponseError, EmptyResponseError,
                     is_retryable)
from .msgs import mk_msg, mk_msgs
from .fmt import fmt2hist, hist2fmt
from .display import display_stream, adisplay_stream
from .usage import Use
from .chat import Chat, AsyncChat
from .templates import Template
from .tasks import run_task, arun_task
from .resilience import RateLimit
from .embed import embed, aembed
from .batch import batch, abatch
from .ask import ask, aask
from .models import models, model_info  # lexi.models is then this function; import the module as lexi.models too

# What help(lexi) documents; the errors and Use are importable from here too (help(lexi.errors), help(lexi.Use)).
__all__ = ['__version__', 'Chat', 'AsyncChat', 'ask', 'aask', 'run_task', 'arun_task', 'Template',
           'mk_msg', 'mk_msgs', 'fmt2hist', 'hist2fmt', 'display_stream', 'adisplay_stream',
           'batch', 'abatch', 'RateLimit', 'embed', 'aembed', 'models', 'model_info', 'is_retryable']
_ALSO = ['Use', 'LexiError', 'UsageError', 'StructuredOutputError', 'IncompleteResponseError', 'EmptyResponseError']

# Names lexi's top level had before it was trimmed to the list above: each still imports from here, from the
# module that holds it.
_MOVED = {
    'errors': ['ToolError', 'UnknownToolError', 'ToolArgumentsError', 'ToolExecutionError'],
    'msgs': ['remove_cache_ckpts', 'add_cache_ckpt', 'count_cache_ckpts', 'limit_cache_ckpts'],
    'tools': ['lite_mk_func', 'ToolResponse', 'mk_ns', 'call_tool', 'acall_tool', 'random_tool_id', 'mk_tc',
              'mk_tc_req', 'mk_tc_result', 'mk_tc_results'],
    'stream': ['stream_with_complete', 'astream_with_complete', 'build_response', 'delta_text'],
    'cite': ['citations', 'cite_footnote', 'cite_footnotes'],
    'fmt': ['re_tools', 'mk_tr_details', 'StreamFormatter', 'AsyncStreamFormatter'],
    'display': ['render_response', 'register_notebook_display'],
    'chat': ['Results', 'FINAL_PROMPT', 'ChatStream', 'AsyncChatStream'],
    '_continue': ['CONTINUE_PROMPT'],
    '_settings': ['Settings'],
    'templates': ['render'],
    'tasks': ['TaskResult', 'IssueVerdict', 'Review'],
    'embed': ['Vector', 'Vectors'],
    'models': ['ModelInfo', 'Models'],
    '_litellm': ['patch_litellm', 'unpatch_litellm'],
}
_HOME = {name: mod for mod, names in _MOVED.items() for name in names}


def __getattr__(name: str):
    "A name from before the top level was trimmed, from the module that holds it (see _MOVED)."
    if name in _HOME: return getattr(importlib.import_module(f'.{_HOME[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list:
    "What a user needs from the top level, and the public modules."
    public = ['errors', 'msgs', 'tools', 'stream', 'cite', 'fmt', 'display', 'usage', 'chat', 'structured',
              'templates', 'tasks', 'resilience', 'batch', 'embed', 'ask', 'saved', 'transcript', 'testing']
    return sorted(set(__all__) | set(_ALSO) | set(public))
