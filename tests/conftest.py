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


# -- a real Redis server, for the limits shared across processes (tests/test_redis_limit.py)
import shutil
import socket
import subprocess
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _start_redis(exe: str, folder) -> tuple:
    "A redis-server process on 127.0.0.1 at a free port (tried again if another program took the port first)."
    import redis
    for _ in range(5):
        port = _free_port()
        proc = subprocess.Popen([exe, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                                 '--dir', str(folder), '--logfile', str(folder / 'redis.log')],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client, deadline = redis.Redis(port=port), time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if client.ping(): return proc, port
            except redis.ConnectionError: time.sleep(0.05)
        proc.kill()
        proc.wait()
    log = (folder / 'redis.log').read_text() if (folder / 'redis.log').exists() else ''
    pytest.fail(f'redis-server did not start on 127.0.0.1; its log:\n{log[-2000:]}', pytrace=False)


@pytest.fixture(scope='session')
def redis_url(tmp_path_factory):
    """The URL of a Redis server run for this test session (Debian's `redis-server`, which `make test` installs
    as root) on 127.0.0.1 at a free port, with no persistence. A machine without it fails the test saying what
    to install: a test that needs Redis never skips."""
    exe = shutil.which('redis-server')
    if exe is None:
        pytest.fail("This test needs a Redis server: install Debian's redis-server (make test does so as root), "
                    "or your system's redis package, so that `redis-server` is on PATH.", pytrace=False)
    try: import redis  # noqa: F401
    except ImportError: pytest.fail("This test needs the redis package: pip install -e '.[test]'.", pytrace=False)
    proc, port = _start_redis(exe, tmp_path_factory.mktemp('redis'))
    yield f'redis://127.0.0.1:{port}/0'
    proc.terminate()
    try: proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- LiteLLM's HTTP clients of an async test's event loop are closed before pytest-asyncio closes that loop. LiteLLM
# closes them only at interpreter exit, when a closed loop's aiohttp sessions can no longer be closed: on LiteLLM
# 1.106 the run then ended with a "ClientSession.__del__ ... sys.meta_path is None" traceback after the summary.
@pytest.fixture
async def _litellm_clients_closed():
    yield
    from lexi._litellm import aclose_loop_clients
    await aclose_loop_clients()


def pytest_collection_modifyitems(items):
    import inspect
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, 'function', None)): item.fixturenames.append('_litellm_clients_closed')
