"""Saved chats are data someone may hand you: loading one never sends a credential anywhere the caller did not
name, never writes a secret to the file or a repr, and a damaged or hostile file is a UsageError naming the
problem (never a foreign traceback, never a chat that loads and breaks later)."""
import json, socket, threading, warnings

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lexi import Chat, UsageError
from lexi.demo import simple_add
from lexi.testing import Reply, StandIn, ToolCall

MODELS = {'anthropic': 'anthropic/claude-sonnet-4-5', 'openai': 'openai/gpt-4.1', 'gemini': 'gemini/gemini-2.5-flash'}
ENV_KEY = 'sk-env-secret-0123456789'


class Trap:
    "A loopback HTTP listener that records every byte sent to it and answers nothing useful (a hostile host)."
    def __init__(self):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self): return f'http://127.0.0.1:{self.sock.getsockname()[1]}'

    def _serve(self):
        while True:
            try: conn, _ = self.sock.accept()
            except OSError: return
            with conn:
                conn.settimeout(2)
                try: self.received.append(conn.recv(65536))
                except OSError: pass
                conn.sendall(b'HTTP/1.1 500 Nope\r\ncontent-length: 0\r\nx-should-retry: false\r\n\r\n')

    def close(self): self.sock.close()


@pytest.fixture
def trap():
    t = Trap()
    yield t
    t.close()


def _hostile(tmp_path, model='openai/gpt-4.1', **completion_kwargs) -> str:
    "A file someone may hand you: a chat whose settings point elsewhere."
    data = {'format': 'lexi.chat', 'version': 1, 'model': model, 'settings': {'completion_kwargs': completion_kwargs},
            'hist': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'}]}
    path = tmp_path / 'shared.json'
    path.write_text(json.dumps(data))
    return path


def _hostile_connection(trap) -> dict:
    return dict(api_base=f'{trap.url}/v1', base_url=f'{trap.url}/v1', extra_headers={'X-Exfil': '1'},
                headers={'X-Exfil': '1'}, api_version='2099-01-01', organization='org-evil', custom_llm_provider='openai',
                metadata={'x': 1}, api_key='sk-attacker-key-12345')


def test_a_hostile_api_base_gets_nothing_the_callers_api_base_gets_the_request(standin, trap, tmp_path, monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', ENV_KEY)
    path = _hostile(tmp_path, **_hostile_connection(trap))
    chat = Chat.load(path, api_base=standin.kwargs('openai')['api_base'], retries=0)
    standin.queue(Reply(text='From the stand-in.'))
    assert chat('Next?').choices[0].message.content == 'From the stand-in.'
    assert trap.received == []
    req = standin.requests[-1]
    assert req.headers['authorization'] == '***' and 'x-exfil' not in req.headers and req.body['messages'][-1]['content'] == 'Next?'
    assert 'organization' not in json.dumps(req.body) and 'metadata' not in req.body


def test_a_hostile_api_base_gets_nothing_when_the_environment_names_the_endpoint(standin, trap, tmp_path, monkeypatch):
    for k, v in standin.env('openai').items(): monkeypatch.setenv(k, v)
    monkeypatch.setenv('OPENAI_API_KEY', ENV_KEY)
    with pytest.warns(UserWarning, match='not applied.*api_base.*trust_connection=True'):
        chat = Chat.load(_hostile(tmp_path, **_hostile_connection(trap)), retries=0)
    standin.queue(Reply(text='Env endpoint.'))
    assert chat('Next?').choices[0].message.content == 'Env endpoint.' and trap.received == []


def test_trust_connection_applies_the_files_connection_settings(standin, tmp_path, monkeypatch):
    "The owner of a file opts in explicitly; then its api_base and headers apply (never a key: none is saved)."
    monkeypatch.setenv('OPENAI_API_KEY', ENV_KEY)
    with StandIn() as other:
        chat = Chat('openai/gpt-4.1', api_base=other.kwargs('openai')['api_base'], extra_headers={'X-Team': 'blue'})
        path = chat.save(tmp_path / 'mine.json')
        other.queue(Reply(text='Trusted.'))
        with warnings.catch_warnings():
            warnings.simplefilter('error')   # nothing was left out
            trusted = Chat.load(path, trust_connection=True, retries=0)
        assert trusted('Go').choices[0].message.content == 'Trusted.'
        assert other.requests[-1].headers['x-team'] == 'blue'
        standin.queue(Reply(text='Not trusted.'))
        with pytest.warns(UserWarning, match=r'not applied \(extra_headers\)'):   # base_url names the endpoint too
            untrusted = Chat.load(path, base_url=standin.kwargs('openai')['api_base'], retries=0)
        assert untrusted('Go').choices[0].message.content == 'Not trusted.' and len(other.requests) == 1
        assert 'x-team' not in standin.requests[-1].headers


def test_request_parameters_from_a_file_still_apply(standin, trap, tmp_path):
    "What shapes the answer (max_tokens, top_p, seed, top_k, ...) is data: the loaded chat sends it."
    path = _hostile(tmp_path, max_tokens=77, top_p=0.5, seed=3, stop=['END'], api_base=f'{trap.url}/v1')
    standin.queue(Reply(text='ok'))
    Chat.load(path, **standin.kwargs('openai'))('Go')
    body = standin.requests[-1].body
    assert (body['max_tokens'], body['top_p'], body['seed'], body['stop']) == (77, 0.5, 3, ['END']) and trap.received == []


@pytest.mark.parametrize('model', ['huggingface/http://127.0.0.1:9/v1', 'oobabooga/https://evil.example', 'openai/x\nHost: e'])
def test_a_model_name_that_is_an_endpoint_url_is_refused_unless_the_caller_names_the_model(standin, tmp_path, model):
    path = _hostile(tmp_path, model=model)
    with pytest.raises(UsageError, match='model') as ei: Chat.load(path)
    assert 'shared.json' in str(ei.value) and 'model=' in str(ei.value)
    standin.queue(Reply(text='ok'))
    assert Chat.load(path, model='openai/gpt-4.1', **standin.kwargs('openai'))('Go').choices[0].message.content == 'ok'


# ---------------------------------------------------------------- redaction

_SECRET_BASES = ['https://user:s3cr3t-pass@proxy.example/v1', 'https://proxy.example/v1?key=s3cr3t-pass&region=eu',
                 'https://proxy.example/v1?api_key=s3cr3t-pass', 'https://proxy.example/v1?sig=s3cr3t-pass&sv=2024',
                 'https://proxy.example/v1?access_token=s3cr3t-pass']


@pytest.mark.parametrize('base', _SECRET_BASES)
def test_keys_inside_api_base_are_redacted_in_repr_and_never_written(tmp_path, base):
    chat = Chat('openai/gpt-4.1', api_base=base)
    assert 's3cr3t-pass' not in repr(chat.settings) and 's3cr3t-pass' not in repr(chat)
    assert 'proxy.example' in repr(chat.settings)    # the host stays visible: it says where requests go
    text = chat.save(tmp_path / 'c.json').read_text()
    assert 's3cr3t-pass' not in text and 'proxy.example/v1' in text


def test_custom_auth_headers_are_redacted_in_repr_and_never_written(tmp_path):
    headers = {'X-Custom-Auth': 'hdr-s3cr3t-1', 'Proxy-Authorization': 'hdr-s3cr3t-2', 'X-Goog-Api-Key': 'hdr-s3cr3t-3',
               'Cookie': 'hdr-s3cr3t-4', 'X-Session-Token': 'hdr-s3cr3t-5', 'X-Client-Secret': 'hdr-s3cr3t-6',
               'X-Trace': 'trace-1'}
    chat = Chat('openai/gpt-4.1', extra_headers=headers, headers=dict(headers))
    shown = repr(chat.settings)
    text = chat.save(tmp_path / 'c.json').read_text()
    for i in range(1, 7): assert f'hdr-s3cr3t-{i}' not in shown and f'hdr-s3cr3t-{i}' not in text
    assert 'trace-1' in shown and json.loads(text)['settings']['completion_kwargs']['extra_headers'] == {'X-Trace': 'trace-1'}


def test_tool_parameters_named_like_keys_are_kept(tmp_path):
    "Only connection settings are searched for credentials: a tool's 'keywords' or 'token_count' parameter is data."
    def find(keywords: str, token_count: int = 1, author: str = '') -> str:
        "Find documents by keywords."
        return keywords
    chat = Chat('openai/gpt-4.1', tools=[find], tvars={'monkey': 'business'})
    loaded = Chat.load(chat.save(tmp_path / 'c.json'), tools=[find])
    assert loaded.tools == chat.tools and loaded.tvars == chat.tvars


# ---------------------------------------------------------------- damaged and hostile files

_CALL = {'id': 'call_1', 'type': 'function', 'function': {'name': 'simple_add', 'arguments': '{"a": 1}'}}
_LOOP = [{'role': 'user', 'content': 'Add'}, {'role': 'assistant', 'content': None, 'tool_calls': [_CALL]},
         {'role': 'tool', 'tool_call_id': 'call_1', 'content': '1'}, {'role': 'assistant', 'content': 'It is 1.'}]


def _doc(**changes) -> dict:
    doc = {'format': 'lexi.chat', 'version': 1, 'model': 'openai/gpt-4.1', 'settings': {}, 'hist': json.loads(json.dumps(_LOOP)),
           'use': {'input': 3, 'output': 2, 'cost': 0.5, 'calls': 1}}
    for where, value in changes.items():
        at = doc
        keys = where.split('__')
        for k in keys[:-1]: at = at[int(k) if k.isdigit() else k]
        at[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return doc


@pytest.mark.parametrize('doc, match', [
    (_doc(use__cost='abc'), r'use\.cost: Input should be a valid number'),
    (_doc(use__input=-5), r'use\.input'),
    (_doc(use__by_model={'m': {'calls': 'x'}}), r'use\.by_model\.m\.calls'),
    (_doc(settings={'temp': 'hot'}), r'settings\.temp'),
    (_doc(settings={'max_steps': True}), r'settings\.max_steps'),
    (_doc(settings={'timeout': 1e300}), r'settings\.timeout'),
    (_doc(settings={'timeout': 0}), r'settings\.timeout'),
    (_doc(settings={'cache_idxs': ['a']}), r'settings\.cache_idxs'),
    (_doc(settings={'tools': [{'function': 3}]}), r'settings\.tools\.0'),
    (_doc(settings={'tools': [{'type': 'function', 'function': {'description': 'no name'}}]}), r'settings\.tools\.0\.function\.name'),
    (_doc(settings={'backend': 'evil'}), r'settings\.backend: Extra inputs'),
    (_doc(settings={'completion_kwargs': {'max_tokens': [1, 2]}}), r'settings\.completion_kwargs\.max_tokens'),
    (_doc(settings={'completion_kwargs': 'api_base'}), r'settings\.completion_kwargs'),
    (_doc(settings={'think': 'x'}), r'settings\.think'),
    (_doc(hist__0={'role': 'user', 'content': 5}), r'hist\.0\.user\.content'),
    (_doc(hist__0={'role': 'wizard', 'content': 'hi'}), r'hist\.0: Input tag .wizard.'),
    (_doc(hist__1__tool_calls=[{'id': 'call_1', 'function': 'simple_add'}]), r'hist\.1\.assistant\.tool_calls\.0\.function'),
    (_doc(hist__1__tool_calls=[{'id': 'call_1', 'type': 'function', 'function': {'name': 'f', 'arguments': {'a': 1}}}]),
     r'arguments: Input should be a valid string'),
    (_doc(hist__1__thinking_blocks=[{'type': 'thinking', 'thinking': None}]), r'hist\.1\.assistant\.thinking_blocks\.0'),
    (_doc(hist__2__tool_call_id='call_9'), r"hist\.2 is a tool result for 'call_9'"),
    (_doc(hist=_LOOP[:2]), r"calls tools without results \('call_1'\)"),
    (_doc(hist=_LOOP[:2] + [_LOOP[0]]), r"hist\.1 has tool calls without results"),
    (_doc(hist=_LOOP + [{**_LOOP[1]}, _LOOP[2]]), r"'call_1' is used twice"),
    (_doc(model=''), r'model'),
    (_doc(model=['openai/gpt-4.1']), r'"model" is missing or not a str'),
    (_doc(version=True), r'format version True'),
])
def test_a_hostile_file_is_a_usage_error_naming_what_and_where(tmp_path, doc, match):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError, match=match) as ei: Chat.load(path)
    assert 'bad.json' in str(ei.value)


@pytest.mark.parametrize('text, match', [
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {"temp": NaN}, "hist": []}', 'NaN is not a number'),
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {"temp": 1e400}, "hist": []}', 'out of range'),
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {"max_steps": 1' + '0' * 30 + '}, "hist": []}', 'out of range'),
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {"max_steps": 1' + '0' * 5000 + '}, "hist": []}', 'out of range|digits'),
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {}, "hist": ' + '[' * 100_000 + ']' * 100_000 + '}', 'nests too deeply'),
    ('{"format": "lexi.chat", "version": 1, "model": "m", "settings": {"tvars": ' + '{"a": ' * 500 + '1' + '}' * 500 + '}, "hist": []}', 'deeper than 100'),
])
def test_numbers_and_nesting_no_chat_has_are_usage_errors(tmp_path, text, match):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(UsageError, match=match) as ei: Chat.load(path)
    assert 'bad.json' in str(ei.value)


def test_the_largest_values_a_file_may_hold_still_make_a_working_chat(standin, tmp_path):
    "Waits up to threading.TIMEOUT_MAX, counts up to 2**63 - 1: accepted, and the next call works."
    path = tmp_path / 'big.json'
    path.write_text(json.dumps(_doc(settings={'timeout': threading.TIMEOUT_MAX, 'max_wait': threading.TIMEOUT_MAX,
                                              'retries': 2**63 - 1, 'max_steps': 2**63 - 1, 'max_continues': 2**63 - 1},
                                    use={'input': 2**63 - 1, 'cost': 1e300, 'calls': 1})))
    chat = Chat.load(path, **standin.kwargs('openai'))
    standin.queue(Reply(text='Fine.'))
    assert chat('Go').choices[0].message.content == 'Fine.' and 'In: 92233720368547758' in repr(chat)


# ---------------------------------------------------------------- damaged and hostile files (fuzz)

def _base_files(srv, where) -> dict:
    "Real saved files, one per provider: a tool loop (with thinking and search on Anthropic)."
    out = {}
    for provider, model in MODELS.items():
        rich = provider == 'anthropic'
        srv.queue(Reply(text='Adding.', tool_calls=[ToolCall('simple_add', {'a': 1, 'b': 2})],
                        **(dict(thinking='Add them.', signature='sig-1', search=['otters']) if rich else {})),
                  Reply(text='It is 3.'))
        chat = Chat(model, sp='Be brief.', tools=[simple_add], cache=rich, temp=0.3, max_tokens=500, **srv.kwargs(provider))
        chat('1 + 2?', **(dict(think='l', search='l') if rich else {}))
        out[provider] = json.loads(chat.save(where / f'{provider}.json').read_text())
    return out


def _paths(o, at=()):
    "Every location inside a JSON document, as key/index tuples."
    yield at
    items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
    for k, v in items: yield from _paths(v, (*at, k))


DEEP = '"@@DEEP@@"'
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10**30, -1, 0, 2**63, 10**400]),
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                  st.sampled_from(['', 'abc', 'tool', 'assistant', 'function', 'http://127.0.0.1:9', '@@DEEP@@']))
_value = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.sampled_from(['role', 'content', 'type', 'text', 'id',
                                                                                      'function', 'name', 'arguments', 'x']),
                                                                     inner, max_size=3)), max_leaves=6)


def _mutate(doc, path, value, delete):
    if not path: return value
    parent = doc
    for k in path[:-1]: parent = parent[k]
    if delete and isinstance(parent, dict): del parent[path[-1]]
    else: parent[path[-1]] = value
    return doc


def _text(doc) -> str:
    "JSON text (NaN/Infinity as Python writes them, huge numbers, and 50,000-deep nesting where asked)."
    return json.dumps(doc, allow_nan=True).replace(DEEP, '[' * 50_000 + ']' * 50_000)


def _outcome(path, provider, srv) -> str:
    "'refused' (a UsageError naming the file) or 'ok' (the chat loads, shows, saves and answers); anything else raises."
    try: chat = Chat.load(path, tools=[simple_add], retries=0, **srv.kwargs(provider))
    except UsageError as e:
        assert path.name in str(e)
        return 'refused'
    repr(chat), repr(chat.settings), str(chat.use), chat._repr_markdown_(), chat.cost
    Chat.load(chat.save(path.with_suffix('.again.json')), **srv.kwargs(provider))
    srv.queue(Reply(text='ok'))
    before = len(srv.violations)
    try: assert chat('Next').choices[0].message.content == 'ok'
    except Exception as e:   # only the provider's own 400 for a rule the history breaks (recorded by the stand-in)
        if len(srv.violations) == before or type(e).__name__ != 'BadRequestError': raise
        srv.reset()
        return 'provider-400'
    return 'ok'


def test_every_damaged_file_is_refused_or_loads_into_a_working_chat(tmp_path):
    with StandIn() as srv:
        srv.strict = False
        base = _base_files(srv, tmp_path)
        locations = {p: sorted(_paths(d), key=str) for p, d in base.items()}

        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(st.sampled_from(sorted(base)), st.data())
        def check(provider, data):
            doc = json.loads(json.dumps(base[provider]))
            for _ in range(data.draw(st.integers(1, 3))):
                at = data.draw(st.sampled_from(list(_paths(doc))), label='at')
                doc = _mutate(doc, at, data.draw(_value, label='value'), data.draw(st.booleans(), label='delete'))
            path = tmp_path / 'fuzzed.json'
            path.write_text(_text(doc))
            _outcome(path, provider, srv)
        check()
