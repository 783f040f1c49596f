"""The notebooks in nbs/ are documentation that runs: each is executed offline, top to bottom, and its
outputs show what a reader must see."""
import os
from pathlib import Path

import pytest

NBS = sorted((Path(__file__).parent.parent / 'nbs').glob('*.ipynb'))

# What each notebook's outputs must show (rendered markdown, printed text or reprs)
MUST_SHOW = {
    '01_tour.ipynb': ['🔧 simple_add'],
    '02_structured.ipynb': ["Analysis(sentiment='positive', confidence=0.93)", 'confidence must be between 0 and 1',
                            "cities=[City(name='Oslo', population=709000), City(name='Bergen', population=None)]",
                            'You write haikus.', "template uses variable 'name'", '**Passed** after 2 attempt(s)'],
}


def _shown(nb) -> str:
    "Everything the notebook's code cells displayed or printed, as text."
    out = []
    for c in nb.cells:
        for o in c.get('outputs', []) if c.cell_type == 'code' else []:
            out.append(o.get('text', ''))
            data = o.get('data', {})
            out += [data.get('text/markdown', ''), data.get('text/plain', '')]
    return '\n'.join(out)


def test_every_notebook_says_what_it_must_show():
    assert {p.name for p in NBS} == set(MUST_SHOW)


@pytest.mark.parametrize('path', NBS, ids=[p.name for p in NBS])
def test_notebook_runs_without_error_and_shows_what_it_must(path):
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.read(path, as_version=4)
    assert os.environ.get('LITELLM_LOCAL_MODEL_COST_MAP'), 'conftest sets LITELLM_LOCAL_MODEL_COST_MAP; the kernel inherits it'
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert errors == []
    shown = _shown(nb)
    missing = [s for s in MUST_SHOW[path.name] if s not in shown]
    assert missing == []
