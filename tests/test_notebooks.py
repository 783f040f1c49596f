"""The notebooks in nbs/ are documentation that runs: each is executed offline, top to bottom."""
import os
from pathlib import Path

import pytest

NBS = sorted((Path(__file__).parent.parent / 'nbs').glob('*.ipynb'))


@pytest.mark.parametrize('path', NBS, ids=[p.name for p in NBS])
def test_notebook_runs_without_error(path):
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.read(path, as_version=4)
    env_ok = os.environ.get('LITELLM_LOCAL_MODEL_COST_MAP')
    assert env_ok, 'conftest sets LITELLM_LOCAL_MODEL_COST_MAP; the kernel inherits it'
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert errors == []
    # the tool-loop cell displayed each response as markdown through lexi's notebook rendering
    shown = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'display_data']
    assert any('🔧 simple_add' in o['data'].get('text/markdown', '') for o in shown)
