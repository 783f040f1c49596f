"""Model output in a notebook as a reader meets it: a notebook whose cells show hostile replies (a response, a live
stream, a formatted tool loop, a chat) is executed, exported with nbconvert's defaults, and loaded in headless
Chromium (Debian's `chromium`, which `make test` installs). No handler or script from the replies may run, and
lexi's own tool blocks must be there. A control cell shows the same payload as raw HTML on purpose, to prove the
browser does run such handlers here."""
import shutil
import subprocess
from pathlib import Path

import pytest

import nbclient    # the docs extra, which make test installs: missing, the suite fails here rather than skip
import nbconvert
import nbformat


def payload(mark: str) -> str:
    "HTML that, when live, leaves `mark` as an attribute of the page's body."
    return (f'<img src="x" onerror="document.body.setAttribute(\'data-{mark}\', 1)">'
            f'<script>document.body.setAttribute(\'data-{mark}-script\', 1)</script>')


SETUP = '''
import os
from lexi import Chat, display_stream, hist2fmt
from lexi.testing import StandIn, Reply, ToolCall
from IPython.display import HTML, Markdown
srv = StandIn().start(); os.environ.update(srv.env('anthropic'))
def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b
'''
CELLS = [
    SETUP,
    f"srv.queue(Reply(text={'Plain answer ' + payload('response')!r}, thinking={'I think ' + payload('thinking')!r}))\n"
    "chat = Chat('anthropic/claude-sonnet-4-5', tools=[add])\nchat('Hi', think='l')",
    f"srv.queue(Reply(text={'Streaming ' + payload('stream')!r}, tool_calls=[ToolCall('add', {{'a': 1, 'b': 2}})]),\n"
    f"          Reply(text={'Done ' + payload('stream-final')!r}))\n"
    "fmt = display_stream(chat('Add', stream=True))",
    "Markdown(hist2fmt(chat.hist[chat.hist.index(next(m for m in chat.hist if getattr(m, 'tool_calls', None))):]))",
    "chat",
    f"HTML({payload('control')!r})",
]
MARKS = ['response', 'thinking', 'stream', 'stream-final']


def chromium() -> str:
    found = next((p for p in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if p), None)
    if found is None:
        pytest.fail("headless Chromium is needed for this check: install Debian's `chromium` (make test does, as root).")
    return found


def rendered_dom(html_path: Path) -> str:
    "The page's DOM after Chromium loaded it and ran its scripts; no host name resolves, so nothing leaves the machine."
    cmd = [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--host-resolver-rules=MAP * ~NOTFOUND', '--virtual-time-budget=5000', '--dump-dom', html_path.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_hostile_replies_run_no_script_in_an_exported_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert errors == []
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)       # nbconvert's defaults
    page = tmp_path / 'out.html'
    page.write_text(body)
    dom = rendered_dom(page)
    assert 'data-control="1"' in dom                                # the browser runs a live handler here
    ran = [m for m in MARKS if f'data-{m}=' in dom or f'data-{m}-script=' in dom]
    assert ran == []
    assert dom.count("class=\"tool-usage-details\"") >= 2            # lexi's blocks: the live stream and hist2fmt
    assert 'Plain answer' in dom and 'Done' in dom
