"""The demo (`make demo`) runs its whole tour offline and says that it does."""
from lexi import demo


def test_demo_runs_offline_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv('LEXI_MODEL', raising=False)
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert 'OFFLINE' in out
    assert 'tool simple_add -> 8' in out and 'tool simple_add -> 9' in out and 'tool multiply -> 72' in out
    assert '> 1, 2, 3, 4, 5' in out


def test_demo_with_a_model_but_no_key_falls_back_to_offline(monkeypatch, capsys):
    monkeypatch.setenv('LEXI_MODEL', 'anthropic/claude-sonnet-4-5')
    monkeypatch.delenv('ANTHROPIC_API_KEY', raising=False)
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert 'ANTHROPIC_API_KEY' in out and 'OFFLINE' in out


def test_a_configured_provider_that_cannot_be_reached_is_reported_in_a_few_lines(tmp_path):
    import os, socket, subprocess, sys
    with socket.socket() as s:          # a port on 127.0.0.1 that nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OPENAI_', 'LEXI_'))}
    env.update(LEXI_MODEL='openai/gpt-4.1', OPENAI_API_KEY='sk-test', OPENAI_API_BASE=f'http://127.0.0.1:{port}/v1',
               LITELLM_LOCAL_MODEL_COST_MAP='True')
    out = subprocess.run([sys.executable, '-m', 'lexi.demo'], capture_output=True, text=True, env=env, timeout=120,
                         cwd=tmp_path)
    assert out.returncode == 1 and 'Traceback' not in out.stderr
    assert 'talking to openai/gpt-4.1' in out.stdout
    err = out.stderr.strip().splitlines()
    assert len(err) == 3, out.stderr
    assert err[0].startswith('lexi demo: the request to openai/gpt-4.1 failed: InternalServerError:') and 'Connection' in err[0]
    assert 'unset LEXI_MODEL' in err[2]
