"""chat.save / Chat.load / chat.copy: lossless, credential-free, atomic, clear about damaged files."""
import json, os

import pytest

from lexi import AsyncChat, Chat, UsageError, mk_tc, mk_tc_req, mk_tc_result
from lexi._litellm import sendable
from lexi.demo import simple_add
from lexi.testing import Reply, ToolCall

MODELS = {'anthropic': 'anthropic/claude-sonnet-4-5', 'openai': 'openai/gpt-4.1', 'gemini': 'gemini/gemini-2.5-flash'}


def _loop(standin, provider, **kw):
    "A chat that ran a tool loop (with thinking and search where the provider has them)."
    rich = provider == 'anthropic'
    standin.queue(Reply(text='Adding.', tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})],
                        **(dict(thinking='Add them.', signature='sig-1', search=['otters']) if rich else {})),
                  Reply(text='It is 3.'))
    chat = Chat(MODELS[provider], sp='Be brief.', tools=[simple_add], cache=provider == 'anthropic', temp=0.3,
                max_tokens=500, **standin.kwargs(provider), **kw)
    chat('1 + 2? And otters?', **(dict(think='l', search='l') if rich else {}))
    return chat


@pytest.mark.parametrize('provider', MODELS)
def test_a_loaded_chat_sends_exactly_what_the_saved_one_would(standin, provider, tmp_path):
    chat = _loop(standin, provider)
    path = chat.save(tmp_path / 'chat.json')
    loaded = Chat.load(path, tools=[simple_add], **standin.kwargs(provider))
    assert loaded.use == chat.use and loaded.model == chat.model and loaded.sp == 'Be brief.'
    standin.queue(Reply(text='Sure.'), Reply(text='Sure.'))
    loaded('And 3 + 4?')
    chat('And 3 + 4?')
    assert standin.requests[-2].body == standin.requests[-1].body and not standin.violations


def test_no_credentials_are_written(standin, tmp_path, monkeypatch):
    monkeypatch.setenv('MY_SERVICE_TOKEN', 'env-secret-value-42')
    chat = Chat('openai/gpt-4.1', api_key='sk-live-secret', api_base='http://127.0.0.1:9/v1',
                extra_headers={'Authorization': 'Bearer hdr-secret', 'X-Api-Key': 'hdr-key', 'X-Trace': 'trace-1',
                               'X-Forwarded': 'env-secret-value-42'})
    text = chat.save(tmp_path / 'c.json').read_text()
    for secret in ('sk-live-secret', 'hdr-secret', 'hdr-key', 'env-secret-value-42', 'api_key', 'Authorization'):
        assert secret not in text
    saved = json.loads(text)['settings']['completion_kwargs']
    assert saved == {'api_base': 'http://127.0.0.1:9/v1', 'extra_headers': {'X-Trace': 'trace-1'}}


def test_a_crash_mid_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / 'c.json'
    Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(path)
    before = path.read_bytes()
    def crash(fd): raise OSError('disk full')
    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='disk full'): Chat('openai/gpt-4.1', hist=['Other', 'Talk', 'More', 'Text']).save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ['c.json']   # no temporary file left either
    assert len(Chat.load(path).hist) == 2


@pytest.mark.parametrize('content, match', [
    ('{"format": "lexi.chat", "version": 1, "model": "openai/gpt-4.1", "hist": [{"role": "us', 'not valid JSON'),
    ('{"messages": []}', 'not a saved lexi chat'),
    ('[1, 2]', 'not a saved lexi chat'),
    ('{"format": "lexi.chat", "version": 99, "model": "x", "settings": {}, "hist": []}', 'newer lexi'),
    ('{"format": "lexi.chat", "version": 1, "model": "openai/gpt-4.1", "settings": {}, "hist": [3]}', '"hist" holds'),
    ('{"format": "lexi.chat", "version": 1, "model": "openai/gpt-4.1", "settings": {"max_steps": 0}, "hist": []}', 'max_steps'),
])
def test_a_damaged_or_foreign_file_is_a_usage_error_saying_what_is_wrong(tmp_path, content, match):
    path = tmp_path / 'c.json'
    path.write_text(content)
    with pytest.raises(UsageError, match=match) as ei: Chat.load(path)
    assert 'c.json' in str(ei.value)


def test_copy_gives_two_independent_follow_ups(standin):
    chat = _loop(standin, 'openai')
    other = chat.copy()
    standin.queue(Reply(text='Four.'), Reply(text='Five.'))
    chat('Add 1 more')
    other('Add 2 more')
    assert chat.hist[-1].content == 'Four.' and other.hist[-1].content == 'Five.'
    assert chat.hist[:-2] == other.hist[:-2] and len(chat.hist) == len(other.hist)
    assert other.settings == chat.settings


def test_a_saved_anthropic_loop_with_odd_ids_continues_on_openai(standin, tmp_path):
    odd = 'fc_' + 'ab.cd|ef' * 7   # 59 characters with '|' and '.': refused by OpenAI and Anthropic alike
    call = mk_tc('simple_add', {'a': 1, 'b': 2}, tcid=odd)
    chat = _loop(standin, 'anthropic', hist=['Earlier', mk_tc_req('Adding.', [call]), mk_tc_result(call, '3'), 'Done.'])
    path = chat.save(tmp_path / 'c.json')
    standin.queue(Reply(text='On OpenAI now.'))
    moved = Chat.load(path, tools=[simple_add], model='openai/gpt-4.1', **standin.kwargs('openai'))
    assert moved('Go on').choices[0].message.content == 'On OpenAI now.' and not standin.violations
    body = json.dumps(standin.requests[-1].body)
    assert 'thinking_blocks' not in body and odd not in body
    assert odd in json.dumps(moved.hist, default=str)   # stored as it was, mapped only in the request


async def test_async_chat_loads_and_saves_too(standin, tmp_path):
    chat = _loop(standin, 'gemini')
    path = chat.save(tmp_path / 'c.json')
    achat = AsyncChat.load(path, tools=[simple_add], **standin.kwargs('gemini'))
    standin.queue(Reply(text='Async.'))
    assert (await achat('Next')).choices[0].message.content == 'Async.'
    again = AsyncChat.load(achat.save(tmp_path / 'd.json'))
    plain = lambda h: json.loads(json.dumps([sendable(m) for m in h], default=lambda v: v.model_dump(exclude_none=True)))
    assert plain(again.hist) == plain(achat.hist) and len(again.hist) == 6


def test_what_is_not_data_is_listed_and_taken_again_at_load(tmp_path):
    from lexi import RateLimit
    from lexi.testing import Scripted
    lim = RateLimit(rpm=100)
    chat = Chat('openai/gpt-4.1', backend=Scripted('x'), rate_limit=lim)
    data = json.loads(chat.save(tmp_path / 'c.json').read_text())
    assert set(data['not_saved']) == {'backend', 'rate_limit'}
    backend = Scripted('y')
    assert Chat.load(tmp_path / 'c.json', backend=backend)('hi').choices[0].message.content == 'y'


def test_loaded_replies_are_messages_as_in_a_live_chat(tmp_path):
    from lexi.testing import Scripted
    chat = Chat('openai/gpt-4.1', backend=Scripted('Hi!'))
    chat('Hello')
    loaded = Chat.load(chat.save(tmp_path / 'c.json'), backend=Scripted('x'))
    assert loaded.hist[-1].content == chat.hist[-1].content == 'Hi!' and loaded.hist[0]['content'] == 'Hello'


# ---------------------------------------------------------------- writing the file

def test_any_legal_file_name_saves(tmp_path):
    "The temporary file has a short name of its own, so a 250-character name (255 is the usual limit) works."
    path = tmp_path / ('c' * 245 + '.json')
    Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(path)
    assert len(Chat.load(path).hist) == 2 and os.listdir(tmp_path) == [path.name]


def test_overwriting_keeps_the_files_mode_and_a_new_file_is_private(tmp_path):
    shared, new = tmp_path / 'shared.json', tmp_path / 'new.json'
    shared.write_text('{}')
    shared.chmod(0o644)
    chat = Chat('openai/gpt-4.1', hist=['Hi', 'Hello'])
    chat.save(shared), chat.save(new)
    assert (shared.stat().st_mode & 0o777, new.stat().st_mode & 0o777) == (0o644, 0o600)
    assert len(Chat.load(shared).hist) == 2


def test_saving_through_a_symlink_keeps_the_link(tmp_path):
    (tmp_path / 'real').mkdir()
    link = tmp_path / 'link.json'
    link.symlink_to(tmp_path / 'real' / 'c.json')
    Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(link)
    assert link.is_symlink() and len(Chat.load(tmp_path / 'real' / 'c.json').hist) == 2


def test_an_interrupted_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / 'c.json'
    def interrupt(fd): raise KeyboardInterrupt
    monkeypatch.setattr(os, 'fsync', interrupt)
    with pytest.raises(KeyboardInterrupt): Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(path)
    assert os.listdir(tmp_path) == []


def test_a_killed_saves_leftover_is_removed_by_a_later_save_once_stale(tmp_path):
    "SIGKILL runs no cleanup: the next save to the folder removes '.lexi-*.tmp' files over an hour old (only those)."
    import signal, subprocess, sys, time
    script = ('import os, signal, sys; from lexi import Chat\n'
              'os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n'
              'Chat("openai/gpt-4.1", hist=["x" * 100_000, "y"]).save(sys.argv[1])\n')
    run = subprocess.run([sys.executable, '-c', script, str(tmp_path / 'c.json')], env={**os.environ}, timeout=120)
    assert run.returncode == -signal.SIGKILL
    (left,) = os.listdir(tmp_path)
    assert left.startswith('.lexi-') and left.endswith('.tmp')
    fresh = tmp_path / '.lexi-abcd1234.tmp'   # as if another process were saving right now
    fresh.write_text('in progress')
    Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(tmp_path / 'c.json')
    assert sorted(os.listdir(tmp_path)) == sorted([left, fresh.name, 'c.json'])   # an hour not yet passed
    hour_ago = time.time() - 3700
    os.utime(tmp_path / left, (hour_ago, hour_ago))
    Chat('openai/gpt-4.1', hist=['Hi', 'Hello']).save(tmp_path / 'other.json')
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, 'c.json', 'other.json'])
