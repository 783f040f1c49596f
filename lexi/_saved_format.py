"""The saved-chat file format (lexi/saved.py), as the types `Chat.load` checks a file against.

Each model says what one part of the file may hold: exact JSON types (strict: no '3' for 3, no true for
1), finite numbers in range, messages of the roles and shapes LiteLLM and the providers take. What
LiteLLM reads from a message (content parts, tool calls, thinking blocks, server-tool results, Gemini's
thought signatures) is typed; other keys that providers add to a reply are kept as plain JSON. Reading
the types is reading the format. `problem(data)` names the first thing that does not fit, or None.
"""
from __future__ import annotations
import threading
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ['problem', 'REQUEST_PARAMS']


class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True)


class _Open(BaseModel):   # known keys checked, other keys (fields providers and LiteLLM add) kept as JSON
    model_config = ConfigDict(extra='allow', strict=True)


_Count = Annotated[int, Field(ge=0)]
_Real = Annotated[float, Field(allow_inf_nan=False)]
_Seconds = Annotated[float, Field(ge=0, le=threading.TIMEOUT_MAX, allow_inf_nan=False)]  # longer waits overflow timers
_Id = Annotated[str, Field(min_length=1)]
_Level = Literal['l', 'm', 'h']
_Json = dict[str, Any]


class _Ckpt(_Strict):
    type: Literal['ephemeral']
    ttl: Optional[Literal['5m', '1h']] = None


class _SignatureFields(_Open):   # Gemini's thought signature rides on a tool call
    thought_signature: Optional[str] = None


class _Fn(_Open):
    name: _Id
    arguments: str
    provider_specific_fields: Optional[_SignatureFields] = None


class _Call(_Open):
    id: _Id
    type: Literal['function'] = 'function'
    function: _Fn
    index: Optional[int] = None
    caller: Optional[_Json] = None
    provider_specific_fields: Optional[_SignatureFields] = None


class _Url(_Open):
    url: str


class _FileRef(_Open):
    file_data: Optional[str] = None
    file_id: Optional[str] = None
    filename: Optional[str] = None
    format: Optional[str] = None


class _AudioData(_Strict):
    data: str
    format: str


class _Text(_Strict):
    type: Literal['text']
    text: str
    cache_control: Optional[_Ckpt] = None


class _Image(_Strict):
    type: Literal['image_url']
    image_url: Union[str, _Url]
    cache_control: Optional[_Ckpt] = None


class _File(_Strict):
    type: Literal['file']
    file: _FileRef
    cache_control: Optional[_Ckpt] = None


class _Audio(_Strict):
    type: Literal['input_audio']
    input_audio: _AudioData
    cache_control: Optional[_Ckpt] = None


_Part = Annotated[Union[_Text, _Image, _File, _Audio], Field(discriminator='type')]


class _Thinking(_Open):
    type: Literal['thinking']
    thinking: str
    signature: Optional[str] = None


class _Redacted(_Open):
    type: Literal['redacted_thinking']
    data: str


_Block = Annotated[Union[_Thinking, _Redacted], Field(discriminator='type')]


class _ToolResult(_Open):   # a server tool's result block (web search), replayed to Anthropic
    type: str
    tool_use_id: str
    content: Union[list[_Json], _Json, str, None] = None


class _ProviderFields(_Open):
    thinking_blocks: Optional[list[_Block]] = None
    server_tool_calls: Optional[list[_Call]] = None
    web_search_results: Optional[list[_ToolResult]] = None
    tool_results: Optional[list[_ToolResult]] = None
    compaction_blocks: Optional[list[_Json]] = None
    thought_signatures: Optional[list[str]] = None
    server_side_tool_invocations: Optional[list[_Json]] = None
    citations: Optional[list] = None


class _User(_Strict):
    role: Literal['user']
    content: Union[str, list[_Part]]
    name: Optional[str] = None


class _System(_Strict):
    role: Literal['system']
    content: Union[str, list[_Text]]


class _Assistant(_Strict):
    role: Literal['assistant']
    content: Optional[str] = None
    tool_calls: Optional[list[_Call]] = None
    function_call: None = None
    reasoning_content: Optional[str] = None
    thinking_blocks: Optional[list[_Block]] = None
    provider_specific_fields: Optional[_ProviderFields] = None
    annotations: Optional[list[_Json]] = None
    images: Optional[list[_Json]] = None
    audio: Optional[_Json] = None
    refusal: Optional[str] = None
    reasoning_items: Optional[list[_Json]] = None


class _Tool(_Strict):
    role: Literal['tool']
    tool_call_id: _Id
    content: Union[str, list[_Part]]
    name: Optional[str] = None


class _FnSchema(_Open):
    name: _Id
    description: Optional[str] = None
    parameters: Optional[_Json] = None


class _ToolSchema(_Open):
    type: Literal['function']
    function: _FnSchema
    cache_control: Optional[_Ckpt] = None


class _RequestParams(_Strict):
    """The LiteLLM keywords a file may set without trust_connection: what goes into the request body to shape
    the answer. Everything else says where requests go, how they authenticate or where they are logged, and a
    keyword not listed here may be one of those for some provider (aws_bedrock_runtime_endpoint, vertex_*,
    langfuse_host, ...), so the list names what is safe rather than what is not."""
    max_tokens: Optional[Annotated[int, Field(ge=1)]] = None
    max_completion_tokens: Optional[Annotated[int, Field(ge=1)]] = None
    top_p: Optional[_Real] = None
    top_k: Optional[int] = None
    min_p: Optional[_Real] = None
    n: Optional[Annotated[int, Field(ge=1)]] = None
    stop: Union[str, list[str], None] = None
    seed: Optional[int] = None
    presence_penalty: Optional[_Real] = None
    frequency_penalty: Optional[_Real] = None
    repetition_penalty: Optional[_Real] = None
    logit_bias: Optional[dict[str, _Real]] = None
    logprobs: Optional[bool] = None
    top_logprobs: Optional[_Count] = None
    response_format: Optional[_Json] = None
    parallel_tool_calls: Optional[bool] = None
    reasoning_effort: Optional[str] = None
    thinking: Optional[_Json] = None
    verbosity: Optional[str] = None
    modalities: Optional[list[str]] = None
    audio: Optional[_Json] = None
    prediction: Optional[_Json] = None
    web_search_options: Optional[_Json] = None
    service_tier: Optional[str] = None
    user: Optional[str] = None
    safety_identifier: Optional[str] = None
    safety_settings: Optional[list[_Json]] = None
    stream_options: Optional[_Json] = None


REQUEST_PARAMS = frozenset(_RequestParams.model_fields)


class _Settings(_Strict):
    "Every option a file may hold (null: as a new chat has it); lexi's own checks (Settings.merge) run after these."
    sp: Optional[str] = None
    temp: Optional[_Real] = None
    think: Optional[_Level] = None
    search: Optional[_Level] = None
    tools: Optional[list[_ToolSchema]] = None
    cache: Optional[bool] = None
    cache_idxs: Optional[list[int]] = None
    ttl: Optional[Literal['5m', '1h']] = None
    max_steps: Optional[Annotated[int, Field(ge=1)]] = None
    final_prompt: Optional[str] = None
    tool_choice: Union[str, _Json, None] = None
    parallel_tools: Optional[bool] = None
    prefill: Optional[str] = None
    stream: Optional[bool] = None
    return_all: Optional[bool] = None
    struct_retries: Optional[_Count] = None
    keep_attempts: Optional[bool] = None
    tvars: Optional[_Json] = None
    retries: Optional[_Count] = None
    max_wait: Optional[_Seconds] = None
    timeout: Optional[Annotated[_Seconds, Field(gt=0)]] = None   # 0 would fail every request
    max_continues: Optional[_Count] = None
    continue_prompt: Optional[Annotated[str, Field(min_length=1)]] = None
    ensure_complete: Optional[bool] = None
    completion_kwargs: Optional[_Json] = None


class _Use(_Strict):
    input: _Count = 0
    output: _Count = 0
    cached: _Count = 0
    cache_write: _Count = 0
    reasoning: _Count = 0
    search: _Count = 0
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    calls: _Count = 0
    tool_arg_errors: _Count = 0
    by_model: dict[str, '_Use'] = {}


class _SavedChat(_Open):
    model: Annotated[str, Field(min_length=1)]
    settings: _Settings
    hist: list[Annotated[Union[_User, _System, _Assistant, _Tool], Field(discriminator='role')]]
    use: Optional[_Use] = None


def _first(e: ValidationError, prefix: tuple = ()) -> str:
    err, more = e.errors()[0], e.error_count() - 1
    where = '.'.join(str(p) for p in (*prefix, *err['loc'])) or 'the top level'
    return f'{where}: {err["msg"]}' + (f' (and {more} more problem{"s" if more > 1 else ""})' if more else '')


def problem(data: dict) -> str | None:
    "The first thing in `data` (a parsed file) that does not fit, with where it is; None when all fits."
    try: _SavedChat.model_validate(data)
    except ValidationError as e: return _first(e)
    kwargs = data['settings'].get('completion_kwargs') or {}
    try: _RequestParams.model_validate({k: v for k, v in kwargs.items() if k in REQUEST_PARAMS})
    except ValidationError as e: return _first(e, ('settings', 'completion_kwargs'))
    return None
