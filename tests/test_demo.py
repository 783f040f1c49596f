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
