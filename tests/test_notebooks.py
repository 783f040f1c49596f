"""The notebooks in nbs/ are documentation that runs: each is executed offline, top to bottom, and its
outputs show what a reader must see."""
import os
from pathlib import Path

import pytest

NBS = sorted((Path(__file__).parent.parent / 'nbs').glob('*.ipynb'))

# What each notebook's outputs must show (rendered markdown, printed text or reprs)
MUST_SHOW = {
    '01_tour.ipynb': ['🔧 simple_add', '5 + 7 = 12', "('async_add', '12')"],
    '02_structured.ipynb': ["Analysis(sentiment='positive', confidence=0.93)", 'confidence must be between 0 and 1',
                            "cities=[City(name='Oslo', population=709000), City(name='Bergen', population=None)]",
                            'You write haikus.', "template uses variable 'name'", '**Passed** after 2 attempt(s)'],
    '03_resilience.ipynb': ['requests the stand-in received: 2', 'is_retryable: True | requests: 1', "answered by: ['openai/gpt-4.1-mini']",
                            'each result answers its own prompt: True', 'cancelled: True',
                            "in hist: {'role': 'assistant', 'content': 'w0 w1 w2 w3 w4'}", 'tokens: 12, requests: 1'],
    '04_continue_and_save.ipynb': ['anthropic/claude-opus-4-6 does not take an assistant prefill', 'requests: 2',
                                   'Your previous reply was cut off by the length limit',
                                   "('assistant', 'The quick brown fox jumps over the lazy dog.')",
                                   ".text = 'Alpha beta gamma delta'", "'api_key' in the file: False",
                                   'a: 10 * 2 = 20. | b: 10 - 2 = 8.'],
    '05_messages_and_media.ipynb': ["'image_url': 'data:image/jpeg;base64,", "'type': 'input_audio'",
                                    "{'audio', 'file', 'image'}", "'cache_control': {'type': 'ephemeral', 'ttl': '1h'}",
                                    "['text', 'image']", 'anthropic/claude-sonnet-4-5 does not take audio input',
                                    "'mime_type': 'audio/wav'"],
    '06_streaming_and_display.ipynb': ['One, |two, |three', "'ModelResponse': 2, 'dict': 1", '🔧 simple_add({"a": 10, "b": 5})',
                                       '"result": "15"', "('assistant', ['text', 'tool_use']), ('user', ['tool_result'])",
                                       'Otters are [*](https://en.wikipedia.org/wiki/Otter "Otter - Wikipedia") carnivorous mammals',
                                       '5 +| 7 |= 1|2.|', '"result": "42"', "(['user', 'assistant', 'tool', 'assistant'], '40 + 2 = 42.')"],
    '07_caching_and_cost.ipynb': ["7 messages: [(0, 'user', 'text'), (4, 'user', 'tool_result'), (6, 'user', 'tool_result')]",
                                  'cache_control blocks in the last request: 3', 'every step after the first read from the cache: True',
                                  'requests counted: 1 of 5', "'cache_control': {'type': 'ephemeral', 'ttl': '1h'}",
                                  'cache_control sent to OpenAI: False', 'Cache read: 1536'],
}


def _shown(nb) -> str:
    "Everything the notebook's code cells displayed or printed, as text."
    out = []
    for c in nb.cells:
        outputs = c.get('outputs', []) if c.cell_type == 'code' else []
        out.append(''.join(o.get('text', '') for o in outputs))   # printed text, however the kernel split it
        for o in outputs:
            data = o.get('data', {})
            out += [data.get('text/markdown', ''), data.get('text/plain', '')]
    return '\n'.join(out)


def test_every_notebook_says_what_it_must_show():
    assert {p.name for p in NBS} == set(MUST_SHOW)


@pytest.mark.parametrize('path', NBS, ids=[p.name for p in NBS])
def test_notebook_runs_without_error_and_shows_what_it_must(path):
    import nbclient, nbformat   # the docs extra, which make test installs: missing, this fails rather than skip
    nb = nbformat.read(path, as_version=4)
    assert os.environ.get('LITELLM_LOCAL_MODEL_COST_MAP'), 'conftest sets LITELLM_LOCAL_MODEL_COST_MAP; the kernel inherits it'
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert errors == []
    shown = _shown(nb)
    missing = [s for s in MUST_SHOW[path.name] if s not in shown]
    assert missing == []
