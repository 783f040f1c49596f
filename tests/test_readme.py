"""The README's offline-testing example runs as written."""
import re, textwrap
from pathlib import Path

README = (Path(__file__).parent.parent / 'README.md').read_text()
BLOCKS = [textwrap.dedent(b) for b in re.findall(r'```python\n(.*?)```', README, re.S)]


def test_readme_quickstart_has_exactly_two_commands():
    quick = README.split('## Quickstart', 1)[1].split('\n## ', 1)[0]
    sh = re.findall(r'```sh\n(.*?)```', quick, re.S)
    cmds = [l.split('#')[0].strip() for b in sh for l in b.splitlines() if l.split('#')[0].strip()]
    assert cmds == ['make demo', 'make test']


def test_readme_offline_testing_example_passes():
    chat_block = next(b for b in BLOCKS if 'def simple_add' in b)
    test_block = next(b for b in BLOCKS if 'def test_my_agent' in b)
    ns = {}
    exec(chat_block.split('chat = Chat(')[0], ns)  # the imports and the tool; the rest needs a real model
    exec(test_block, ns)
    ns['test_my_agent']()


def test_readme_function_backend_example_runs():
    block = next(b for b in BLOCKS if 'Scripted(' in b)
    exec(block, {})
