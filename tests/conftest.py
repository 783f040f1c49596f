"""Test setup shared by every test file.

LiteLLM fetches its price table from the internet at import unless LITELLM_LOCAL_MODEL_COST_MAP is
set, so it is set here, before any test module imports LiteLLM. Every address but loopback is
blocked by pytest-socket (`--allow-hosts` in pyproject.toml).
"""
import os

os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'
# ... and its table of Anthropic beta headers (fetched the first time a request needs one).
os.environ['LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS'] = 'True'
# No test may depend on a real key: remove any the developer's shell carries.
for _k in [k for k in os.environ if k.endswith('_API_KEY') or k.endswith('_API_BASE')]:
    del os.environ[_k]


import pytest   # noqa: E402  (after the environment is set: nothing above may import LiteLLM first)


@pytest.fixture
def shell():
    "A running IPython shell (as in a notebook), removed afterwards."
    from IPython.core.interactiveshell import InteractiveShell
    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()
