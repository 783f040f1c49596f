"""`import lexi` touches no network, patches nothing in LiteLLM, and exports what __all__ says."""
import json, os, subprocess, sys, textwrap

import lexi

MODULES = ['lexi', 'lexi.errors', 'lexi.msgs', 'lexi.tools', 'lexi.stream', 'lexi.cite', 'lexi.fmt', 'lexi.display',
           'lexi.chat', 'lexi.usage', 'lexi.testing', 'lexi._caps', 'lexi._litellm']


def run_py(code: str) -> dict:
    "Run `code` in a fresh interpreter (no pytest, no conftest) and return the JSON it prints last."
    env = {**os.environ, 'LITELLM_LOCAL_MODEL_COST_MAP': 'True'}
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


GUARD = '''
import json, socket, sys
tried = []
def refuse(kind):
    def f(*a, **k):
        tried.append([kind, repr(a[1:] if kind == 'connect' else a)[:200]])
        raise OSError('network refused by test')
    return f
socket.socket.connect = refuse('connect')
socket.socket.connect_ex = refuse('connect')
socket.create_connection = refuse('create_connection')
socket.getaddrinfo = refuse('getaddrinfo')
'''


def test_import_lexi_makes_no_network_access_and_loads_no_litellm():
    res = run_py(GUARD + f'''
import importlib
for m in {MODULES!r}: importlib.import_module(m)
print(json.dumps({{'tried': tried, 'litellm': 'litellm' in sys.modules}}))
''')
    assert res == {'tried': [], 'litellm': False}


def test_import_lexi_changes_nothing_in_litellm():
    res = run_py('''
import json, importlib, litellm
from litellm.types import utils
def snap():
    objs = {'litellm': litellm, 'utils': utils, **{n: getattr(utils, n) for n in
            ['ModelResponse', 'ModelResponseStream', 'Message', 'Delta', 'Usage', 'ChatCompletionMessageToolCall']}}
    return {k: {a: id(v) for a, v in vars(o).items()} for k, o in objs.items()}
before = snap()
for m in %r: importlib.import_module(m)
after = snap()
changed = {k: sorted(set(before[k].items()) ^ set(after[k].items())) for k in before}
print(json.dumps({k: [a for a, _ in v] for k, v in changed.items() if v}))
''' % MODULES)
    assert res == {}


def test_all_names_exist_and_are_unique():
    assert len(set(lexi.__all__)) == len(lexi.__all__)
    missing = [n for n in lexi.__all__ if not hasattr(lexi, n)]
    assert missing == []
    assert isinstance(lexi.__version__, str) and lexi.__version__.count('.') == 2


def test_the_top_level_holds_what_a_user_needs_and_help_is_a_short_guide():
    import pydoc
    names = [n for n in dir(lexi) if not n.startswith('_')]
    assert len(names) <= 45 and not [n for n in names if n in ('patch_litellm', 'Settings', 're_tools', 'mk_tc')]
    assert not [n for n in dir(lexi) if n.startswith('_') and not n.startswith('__')]    # no private module listed
    assert len(pydoc.render_doc(lexi, renderer=pydoc.plaintext).splitlines()) < 700
    assert 'Talk to a model' in lexi.__doc__ and 'batch / abatch' in lexi.__doc__


def test_names_the_top_level_used_to_hold_still_import_from_it():
    from lexi import (CONTINUE_PROMPT, FINAL_PROMPT, Settings, StreamFormatter, ToolResponse, mk_tc, patch_litellm,
                      re_tools, stream_with_complete)
    from lexi.tools import mk_tc as home
    assert mk_tc is home and isinstance(CONTINUE_PROMPT, str) and isinstance(FINAL_PROMPT, str)
    assert all(callable(x) for x in (Settings, StreamFormatter, ToolResponse, patch_litellm, stream_with_complete))
    assert hasattr(re_tools, 'split')
