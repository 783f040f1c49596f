"""Token usage and cost, per response and added up over a chat; and the tool calls refused for their arguments."""
from __future__ import annotations
from dataclasses import dataclass, field, fields

from ._litellm import hidden_params, lm

__all__ = ['Use', 'response_cost']


def _get(o, *names, default=0):
    "First non-None attribute (or key) along `names`, e.g. _get(usage, 'prompt_tokens_details', 'cached_tokens')."
    for n in names:
        if o is None: return default
        o = o.get(n) if isinstance(o, dict) else getattr(o, n, None)
    return default if o is None else o


def response_cost(resp, model: str | None = None) -> float:
    "Cost in USD of one response from LiteLLM's price table; 0.0 when the model has no known price."
    hidden = hidden_params(resp)
    if hidden.get('response_cost') is not None: return float(hidden['response_cost'])
    try: return float(lm().completion_cost(completion_response=resp, model=model or getattr(resp, 'model', None)) or 0)
    except Exception: return 0.0  # unpriced or unknown model: LiteLLM raises; cost is then unknown, counted as 0


@dataclass
class Use:
    "Token counts and cost; `Use.of(resp)` for one response, `a + b` to add them up."
    input: int = 0        # prompt tokens, cached ones included
    output: int = 0       # completion tokens, reasoning included
    cached: int = 0       # prompt tokens read from the provider's cache
    cache_write: int = 0  # prompt tokens written to the provider's cache
    reasoning: int = 0    # completion tokens spent thinking
    search: int = 0       # server-side web search requests
    cost: float = 0.0     # USD, from LiteLLM's price table
    calls: int = 0        # responses counted
    tool_arg_errors: int = 0  # tool calls refused for their arguments (not JSON, not fitting, wrong types): the tool did not run
    by_model: dict = field(default_factory=dict, repr=False, compare=False)  # model that answered -> its Use

    @classmethod
    def of(cls, resp, model: str | None = None) -> 'Use':
        "Usage of one ModelResponse (streamed or not)."
        u = getattr(resp, 'usage', None)
        cached = _get(u, 'prompt_tokens_details', 'cached_tokens') or _get(u, 'cache_read_input_tokens')
        # Anthropic reports searches as server_tool_use; LiteLLM puts Gemini's grounding searches in prompt details
        search = _get(u, 'server_tool_use', 'web_search_requests') or _get(u, 'prompt_tokens_details', 'web_search_requests')
        one = cls(input=_get(u, 'prompt_tokens'), output=_get(u, 'completion_tokens'), cached=cached,
                  cache_write=_get(u, 'cache_creation_input_tokens'),
                  reasoning=_get(u, 'completion_tokens_details', 'reasoning_tokens'), search=search,
                  cost=response_cost(resp, model), calls=1)
        if model: one.by_model[model] = cls(**{n: getattr(one, n) for n in _NAMES})
        return one

    @classmethod
    def refused(cls, n: int, model: str | None = None) -> 'Use':
        "A Use counting `n` tool calls refused for their arguments, made by `model` (also under by_model, when given)."
        one = cls(tool_arg_errors=n)
        if model: one.by_model[model] = cls(tool_arg_errors=n)
        return one

    def __add__(self, other: 'Use') -> 'Use':
        return Use(**{n: getattr(self, n) + getattr(other, n) for n in _NAMES}).add_models(self).add_models(other)

    def add(self, other: 'Use') -> 'Use':
        "Add `other` into this Use in place (a chat's running total); returns self."
        for n in _NAMES: setattr(self, n, getattr(self, n) + getattr(other, n))
        return self.add_models(other)

    def add_models(self, other: 'Use') -> 'Use':
        "Add `other`'s per-model breakdown into this one's (in place); returns self."
        for m, u in other.by_model.items():
            self.by_model[m] = self.by_model[m] + u if m in self.by_model else Use(**{n: getattr(u, n) for n in _NAMES})
        return self

    @property
    def total(self) -> int: return self.input + self.output

    def __str__(self):
        s = f'In: {self.input}; Out: {self.output}; Total: {self.total}'
        if self.cached or self.cache_write: s += f'; Cache read: {self.cached}; Cache write: {self.cache_write}'
        if self.reasoning: s += f'; Reasoning: {self.reasoning}'
        if self.search: s += f'; Searches: {self.search}'
        if self.tool_arg_errors: s += f'; Tool argument errors: {self.tool_arg_errors}'
        return s + f'; Cost: ${self.cost:.6f}'

    def _repr_markdown_(self): return f'`{self}`'


_NAMES = tuple(f.name for f in fields(Use) if f.name != 'by_model')
