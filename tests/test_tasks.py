"""run_task: a worker answers, a judge checks each issue, the worker retries with the judge's reasons."""
import json

import pytest
from pydantic import BaseModel

from lexi import AsyncChat, Chat, TaskResult, UsageError, arun_task, run_task
from lexi.tasks import JUDGE_SP
from lexi.testing import Reply, Scripted

MODEL = 'openai/gpt-4.1'
ISSUES = ['All main points are captured', 'No point is invented']


def verdicts(*passed, why='misses the budget'):
    return json.dumps({'verdicts': [{'issue': i, 'passed': p, 'why': '' if p else why} for i, p in zip(ISSUES, passed)]})


class Summary(BaseModel):
    points: list[str]


def test_a_failing_verdict_then_a_passing_one_takes_two_worker_and_two_judge_requests():
    backend = Scripted(Reply(text='Points: a', usage={'input': 10, 'output': 2}), verdicts(False, True),
                       Reply(text='Points: a, budget', usage={'input': 30, 'output': 3}), verdicts(True, True))
    worker = Chat(MODEL, backend=backend)
    r = run_task(worker, 'Summarize the memo.', issues=ISSUES)
    assert isinstance(r, TaskResult) and r.passed and r.attempts == 2 and r.output == 'Points: a, budget'
    assert len(backend.requests) == 4 and [m.passed for m in r.report] == [True, True]
    judge_req, retry_req = backend.requests[1], backend.requests[2]
    assert judge_req['messages'][0] == {'role': 'system', 'content': JUDGE_SP} and 'Points: a' in judge_req['messages'][1]['content']
    assert 'misses the budget' in retry_req['messages'][-1]['content']       # the worker is told which and why
    assert [m['role'] for m in worker.hist] == ['user', 'assistant', 'user', 'assistant']   # no judge messages in it
    assert r.use.calls == 4 and r.use.input >= 40


def test_a_task_that_never_passes_is_a_result_naming_the_issue():
    backend = Scripted(*(['answer', verdicts(True, False, why='invents a date')] * 2))
    r = run_task(Chat(MODEL, backend=backend), 'Summarize.', issues=ISSUES, max_attempts=2)
    assert not r.passed and r.attempts == 2 and [v.issue for v in r.failed] == ['No point is invented']
    assert r.failed[0].why == 'invents a date' and 'No point is invented' in r._repr_markdown_()


def test_structured_worker_with_a_template_and_a_judge_of_its_own():
    work = Scripted('{"points": ["x"]}')
    judge = Scripted(verdicts(True, True))
    r = run_task(Chat(MODEL, backend=work), template='Key points of: {{ text }}', tvars={'text': 'the memo'},
                 output_type=Summary, issues=ISSUES, judge=Chat('anthropic/claude-sonnet-4-5', backend=judge))
    assert r.passed and r.output == Summary(points=['x'])
    assert work.requests[0]['messages'][-1]['content'] == 'Key points of: the memo'
    assert judge.requests[0]['model'] == 'anthropic/claude-sonnet-4-5' and '"x"' in judge.requests[0]['messages'][-1]['content']


def test_no_issues_means_one_answer_and_no_judge():
    backend = Scripted('done')
    r = run_task(Chat(MODEL, backend=backend), 'Do it.')
    assert r.passed and r.attempts == 1 and len(backend.requests) == 1


def test_a_judge_that_skips_an_issue_fails_it():
    backend = Scripted('answer', json.dumps({'verdicts': [{'issue': ISSUES[0], 'passed': True}]}))
    r = run_task(Chat(MODEL, backend=backend), 'x', issues=ISSUES, max_attempts=1)
    assert not r.passed and r.failed[0].why == 'the judge gave no verdict'


def test_provider_errors_raise():
    with pytest.raises(ConnectionError): run_task(Chat(MODEL, backend=Scripted(ConnectionError('down')), retries=0), 'x', issues=ISSUES)


@pytest.mark.parametrize('bad, match', [(dict(), 'msg or as template'), (dict(msg='x', template='y'), 'msg or as template'),
                                        (dict(msg='x', issues='one string'), 'list'), (dict(msg='x', max_attempts=0), 'max_attempts'),
                                        (dict(msg='x', judge=3), 'judge')])
def test_bad_arguments_are_usage_errors(bad, match):
    with pytest.raises(UsageError, match=match): run_task(Chat(MODEL, backend=Scripted()), **bad)


async def test_arun_task():
    backend = Scripted('first', verdicts(False, False), 'second', verdicts(True, True))
    r = await arun_task(AsyncChat(MODEL, backend=backend), 'Summarize.', issues=ISSUES)
    assert r.passed and r.attempts == 2 and r.output == 'second'
