"""Validated tasks: a worker answers, a judge checks the answer against plain-language issues, and the
worker tries again with the judge's reasons until every issue passes (or attempts run out).

    r = run_task(chat, template='Extract the key points from: {{ article }}', tvars={'article': text},
                 output_type=Summary, issues=['All main points are captured', 'No point is invented'])
    r.passed, r.output, r.attempts, r.report, r.use

The judge works in a chat of its own (the worker's model unless `judge=` names another model or
gives a Chat), fresh for each review, so the worker's history holds only the task, its answers and
the judge's feedback. `passed=False` after the last attempt is a result, not an exception;
provider errors raise as always.
"""
from __future__ import annotations
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ._inert import inert, inline
from .errors import UsageError
from .templates import render
from .usage import Use

__all__ = ['run_task', 'arun_task', 'TaskResult', 'IssueVerdict', 'Review']

JUDGE_SP = ('You check answers. For each numbered issue, decide whether the answer satisfies it, and when it does '
            'not, say briefly why. Judge only the issues given.')


@dataclass
class IssueVerdict:
    "The judge's verdict on one issue."
    issue: str          # the issue, as given
    passed: bool        # whether the answer satisfies it
    why: str = ''       # why not (empty when passed)


@dataclass
class Review:
    "The judge's answer: one verdict per issue, in the order given."
    verdicts: list[IssueVerdict]


@dataclass
class TaskResult:
    "What run_task produced: the last answer, whether it passed, the attempts made and the last report."
    output: Any                                     # the last answer: text, or an instance of output_type
    passed: bool                                    # every issue passed
    attempts: int                                   # answers the worker gave
    report: list = field(default_factory=list)      # the judge's last verdicts (IssueVerdict), one per issue
    use: Use = field(default_factory=Use)           # tokens and cost of the worker's and the judge's requests

    @property
    def failed(self) -> list:
        "The issues that did not pass in the last review."
        return [v for v in self.report if not v.passed]

    def _repr_markdown_(self) -> str:
        head = f"**{'Passed' if self.passed else 'Not passed'}** after {self.attempts} attempt(s) · `{self.use}`"
        cell = lambda s: inline(s).replace('|', '\\|')   # the judge's words: no live HTML, no broken table
        rows = [f"| {'✅' if v.passed else '❌'} | {cell(v.issue)} | {cell(v.why)} |" for v in self.report]
        table = '\n\n| | issue | why not |\n|---|---|---|\n' + '\n'.join(rows) if rows else ''
        shown = _shown(self.output)
        return f'{head}\n\n{shown if shown.startswith("```json") else inert(shown)}{table}'


def _shown(output) -> str:
    if hasattr(output, 'model_dump_json'): return f'```json\n{output.model_dump_json(indent=2)}\n```'
    if dataclasses.is_dataclass(output): return f'```json\n{json.dumps(dataclasses.asdict(output), indent=2)}\n```'
    return str(output)


def _judge_prompt(task: str, answer, issues: list) -> str:
    listed = '\n'.join(f'{i}. {x}' for i, x in enumerate(issues, 1))
    return f'The task:\n\n{task}\n\nThe answer:\n\n{_shown(answer)}\n\nThe issues to check, one verdict each:\n{listed}'


def _feedback(failed: list) -> str:
    reasons = '\n'.join(f'- {v.issue}: {v.why or "not satisfied"}' for v in failed)
    return f'Your answer does not pass these checks:\n{reasons}\nAnswer the task again, fixing them.'


def _verdicts(review: Review, issues: list) -> list:
    "One verdict per issue, in order; an issue the judge skipped counts as not passed."
    given = list(review.verdicts)
    out = []
    for i, issue in enumerate(issues):
        v = next((g for g in given if g.issue.strip() == issue.strip()), given[i] if i < len(given) else None)
        out.append(IssueVerdict(issue=issue, passed=bool(v and v.passed), why=(v.why if v else 'the judge gave no verdict')))
    return out


def _steps(task: str, issues: list, max_attempts: int):
    "The attempt loop, with no I/O: yields ('work', msg) and ('judge', prompt); returns (output, passed, attempts, report)."
    msg, report, answer = task, [], None
    for attempt in range(1, max_attempts + 1):
        answer = yield 'work', msg
        if not issues: return answer, True, attempt, []
        report = _verdicts((yield 'judge', _judge_prompt(task, answer, issues)), issues)
        failed = [v for v in report if not v.passed]
        if not failed: return answer, True, attempt, report
        msg = _feedback(failed)
    return answer, False, max_attempts, report


def _setup(chat, cls, msg, template, tvars, issues, judge, max_attempts):
    "The worker chat, the judge's settings (model, backend, keywords) and the task's text."
    if isinstance(chat, str): chat = cls(chat)
    if not isinstance(chat, cls): raise UsageError(f'run_task needs a {cls.__name__} or a model name as its worker, not {type(chat).__name__}.')
    if isinstance(issues, str) or not all(isinstance(i, str) for i in list(issues)):
        raise UsageError('issues must be a list of plain-language checks, e.g. ["All main points are captured"].')
    if not isinstance(max_attempts, int) or max_attempts < 1: raise UsageError('max_attempts must be a whole number >= 1.')
    if (msg is None) == (template is None): raise UsageError('pass the task as msg or as template= (with tvars=), one of them.')
    task = render(template, {**chat.tvars, **(tvars or {})}) if template is not None else msg
    if not isinstance(task, str): raise UsageError('run_task takes the task as text (or a template).')
    if judge is None: judge = dict(model=chat.model, backend=chat.backend, **chat.settings.completion_kwargs)
    elif isinstance(judge, str): judge = dict(model=judge)
    elif isinstance(judge, cls): judge = dict(model=judge.model, backend=judge.backend, **judge.settings.completion_kwargs)
    else: raise UsageError(f'judge must be a model name or a {cls.__name__}, not {type(judge).__name__}.')
    return chat, judge, task


def _text(resp) -> str: return resp.choices[0].message.content or ''


def _step(step, worker, cls, jk: dict, output_type, kw: dict):
    """What one step of `_steps` asks, made into a call (its result, or an awaitable for AsyncChat):
    (the chat asked, the call, whether the answer is the reply's text)."""
    kind, text = step
    if kind != 'work':
        judge = cls(sp=JUDGE_SP, **jk)   # a fresh judge each time: it never sees earlier reviews
        return judge, judge.struct(text, Review), False
    if output_type: return worker, worker.struct(text, output_type, **kw), False
    return worker, worker(text, **kw), True


def _result(out, use: Use) -> TaskResult:
    output, passed, attempts, report = out
    return TaskResult(output, passed, attempts, report, use)


def run_task(chat,                       # the worker: a Chat, or a model name for a fresh one
             msg: str | None = None,     # the task (or template= with tvars=)
             *, template=None, tvars: dict | None = None,
             output_type=None,           # answer as an instance of this type (see Chat.struct)
             issues=(),                  # plain-language checks the answer must pass
             judge=None,                 # the judge: a model name or a Chat (default: the worker's model)
             max_attempts: int = 3,      # answers the worker may give
             **call_kwargs) -> TaskResult:
    """Run a task until a judge passes every issue, or attempts run out; a TaskResult.

        r = run_task(chat, template='Extract the key points from: {{ article }}', tvars={'article': text},
                     output_type=Summary, issues=['All main points are captured', 'No point is invented'])
        r.passed, r.output, r.attempts, r.report, r.use

    The worker answers; a judge checks the answer against each plain-language issue; the worker tries again
    with the judge's reasons. The judge works in a chat of its own (the worker's model unless `judge=` names
    another model or gives a Chat), fresh for each review, so the worker's history holds only the task, its
    answers and the judge's feedback. `passed=False` after the last attempt is a result, not an exception;
    provider errors raise as always. `arun_task` is the same for async code."""
    from .chat import Chat
    worker, jk, task = _setup(chat, Chat, msg, template, tvars, issues, judge, max_attempts)
    use, steps = Use(), _steps(task, list(issues), max_attempts)
    reply = None
    try:
        while True:
            c, call, as_text = _step(steps.send(reply), worker, Chat, jk, output_type, call_kwargs)
            reply = _text(call) if as_text else call
            use.add(c.last_use)
    except StopIteration as stop: return _result(stop.value, use)


async def arun_task(chat, msg: str | None = None, *, template=None, tvars: dict | None = None, output_type=None,
                    issues=(), judge=None, max_attempts: int = 3, **call_kwargs) -> TaskResult:
    "run_task for async code: the worker is an AsyncChat (or a model name); awaited."
    from .chat import AsyncChat
    worker, jk, task = _setup(chat, AsyncChat, msg, template, tvars, issues, judge, max_attempts)
    use, steps = Use(), _steps(task, list(issues), max_attempts)
    reply = None
    try:
        while True:
            c, call, as_text = _step(steps.send(reply), worker, AsyncChat, jk, output_type, call_kwargs)
            reply = _text(await call) if as_text else await call
            use.add(c.last_use)
    except StopIteration as stop: return _result(stop.value, use)
