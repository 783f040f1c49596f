"""Every README example runs as written: each section's python blocks in order, in a fresh namespace,
offline (the sections' own offline lines point LiteLLM at a stand-in through environment variables)."""
import os, re, textwrap
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / 'README.md').read_text()


def _sections() -> dict[str, list[str]]:
    out = {}
    for part in re.split(r'\n## ', README)[1:]:
        title, body = part.split('\n', 1)
        blocks = [textwrap.dedent(b) for b in re.findall(r'```python\n(.*?)```', body, re.S)]
        if blocks: out[title.strip()] = blocks
    return out


SECTIONS = _sections()


def test_readme_quickstart_has_exactly_two_commands():
    quick = README.split('## Quickstart', 1)[1].split('\n## ', 1)[0]
    sh = re.findall(r'```sh\n(.*?)```', quick, re.S)
    cmds = [l.split('#')[0].strip() for b in sh for l in b.splitlines() if l.split('#')[0].strip()]
    assert cmds == ['make demo', 'make test']


def test_the_readme_examples_are_all_found():
    assert len(SECTIONS) >= 6 and sum(map(len, SECTIONS.values())) >= 12


@pytest.mark.parametrize('title', SECTIONS)
def test_every_readme_block_runs_as_written(title, monkeypatch, capsys):
    monkeypatch.setattr(os, 'environ', os.environ.copy())   # a section's offline lines set provider variables
    ns: dict = {'__name__': 'readme'}
    try:
        for block in SECTIONS[title]:
            exec(compile(block, f'README.md: {title}', 'exec'), ns)
        for name, fn in list(ns.items()):
            if name.startswith('test_') and callable(fn): fn()   # a test the README shows must pass too
    finally:
        srv = ns.get('srv')
        if srv is not None: srv.close()
    if srv is not None: assert srv.unscripted == [] and srv.violations == []
