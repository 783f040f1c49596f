"""lexi.models / lexi.model_info, checked against LiteLLM's bundled model map (no network, any supported LiteLLM)."""
import json, os, subprocess, sys

import litellm
import pytest

from lexi.errors import UsageError
from lexi.models import CAPABILITIES, ModelInfo, Models, model_info, models

SONNET = 'anthropic/claude-sonnet-4-5'
EMBED = 'openai/text-embedding-3-small'
# lexi's capability name -> the flag in LiteLLM's entry
FLAGS = {'tools': 'supports_function_calling', 'vision': 'supports_vision', 'audio': 'supports_audio_input',
         'reasoning': 'supports_reasoning', 'web_search': 'supports_web_search',
         'response_schema': 'supports_response_schema', 'prompt_caching': 'supports_prompt_caching'}


def caps(m: ModelInfo) -> set:
    return {c for c in CAPABILITIES if getattr(m, c)}


def per_million(cost): return None if cost is None else cost * 1_000_000


# ---------------------------------------------------------------- one model

def test_claude_sonnet_4_5_matches_litellm():
    m, info = model_info(SONNET), litellm.get_model_info(SONNET)
    assert (m.name, m.provider, m.mode) == (SONNET, 'anthropic', 'chat')
    assert {'tools', 'vision', 'reasoning', 'prompt_caching', 'response_schema'} <= caps(m)
    # 200k in LiteLLM 1.110's table; 1.106's lists the 1M beta window
    assert m.context_window == info['max_input_tokens'] >= 200_000
    assert m.max_output == info['max_output_tokens']
    assert m.input_price == pytest.approx(per_million(info['input_cost_per_token']))
    assert m.output_price == pytest.approx(per_million(info['output_cost_per_token']))
    assert m.output_price > m.input_price > 0


def test_flags_read_from_litellm():
    m, info = model_info(SONNET), litellm.get_model_info(SONNET)
    for cap, flag in FLAGS.items():
        if cap != 'web_search': assert getattr(m, cap) == bool(info.get(flag)), cap
    # Claude's entry prices searches (search_context_cost_per_query) without a supports_web_search flag
    assert m.web_search == bool(info.get('supports_web_search') or info.get('search_context_cost_per_query'))


def test_a_bare_name_gets_its_provider_prefix_once():
    assert model_info('claude-sonnet-4-5').name == SONNET
    assert model_info(SONNET).name == SONNET
    assert model_info('gpt-4.1').name == 'openai/gpt-4.1' == model_info('openai/gpt-4.1').name
    assert model_info('text-embedding-3-small').mode == 'embedding'


def test_supports_method():
    m = model_info(SONNET)
    assert m.supports('tools', 'vision') and m.supports(['tools', 'reasoning']) and m.supports()
    assert not model_info(EMBED).supports('tools')
    with pytest.raises(UsageError, match='tools'): m.supports('tool')


def test_model_info_is_frozen():
    with pytest.raises(Exception): model_info(SONNET).name = 'x'


# ---------------------------------------------------------------- listing

def test_models_default_to_chat_sorted_unique():
    ms = models()
    assert isinstance(ms, Models) and len(ms) > 500
    assert all(isinstance(m, ModelInfo) and m.mode == 'chat' for m in ms)
    assert ms.names == sorted(ms.names) == [m.name for m in ms]
    assert SONNET in ms.names and EMBED not in ms.names


def test_names_are_unique_over_every_mode():
    names = models(mode=None).names
    assert len(names) == len(set(names))


def test_a_model_under_two_keys_is_listed_once_from_the_prefixed_key():
    table, names = litellm.model_cost, models(mode=None).names
    pairs = [(k, f'{v["litellm_provider"]}/{k}') for k, v in table.items() if isinstance(v, dict) and '/' not in k
             and isinstance(table.get(f'{v.get("litellm_provider")}/{k}'), dict)
             and table[f'{v["litellm_provider"]}/{k}'].get('litellm_provider') == v['litellm_provider']]
    assert pairs, 'the table lists some model both bare and prefixed'
    listed = {m.name: m for m in models(mode=None)}
    for bare, prefixed in pairs:
        assert prefixed in names and bare not in names
        assert listed[prefixed].context_window == table[prefixed].get('max_input_tokens'), prefixed


@pytest.mark.parametrize('provider', ['anthropic', 'openai', 'gemini'])
def test_provider_filter_returns_only_that_provider(provider):
    ms = models(provider)
    assert ms and all(m.provider == provider and m.name.startswith(provider + '/') for m in ms)
    table = {k for k, v in litellm.model_cost.items() if isinstance(v, dict) and v.get('litellm_provider') == provider
             and v.get('mode') == 'chat'}
    expected = {k if k.startswith(provider + '/') else f'{provider}/{k}' for k in table}
    assert set(ms.names) == expected


def test_provider_filter_takes_what_users_type():
    assert models('Anthropic/').names == models('anthropic').names
    vertex, claude_on_vertex = models('vertex_ai'), models('vertex_ai-anthropic_models')
    assert claude_on_vertex and set(claude_on_vertex.names) < set(vertex.names)
    assert all(m.name.startswith('vertex_ai/') and m.provider == 'vertex_ai' for m in vertex)
    assert all('claude' in m.name for m in claude_on_vertex)


def test_supports_filter():
    both, tools = models(supports=['tools', 'vision']), models(supports='tools')
    assert both and all(m.tools and m.vision for m in both)
    assert all(m.tools for m in tools) and set(both.names) < set(tools.names)
    left_out = set(models().names) - set(tools.names)
    assert left_out and not any(m.tools for m in models() if m.name in left_out)
    assert SONNET in both.names and SONNET in models(supports='web_search').names
    assert models(supports=[]).names == models().names


def test_supports_and_provider_combine():
    ms = models('anthropic', supports=('reasoning', 'prompt_caching'))
    assert SONNET in ms.names and all(m.provider == 'anthropic' and m.reasoning and m.prompt_caching for m in ms)


def test_mode_none_includes_embedding_models():
    every, embed = models(mode=None), models(mode='embedding')
    assert EMBED in every.names and EMBED in embed.names
    assert all(m.mode == 'embedding' for m in embed) and set(embed.names) < set(every.names)
    m = next(m for m in embed if m.name == EMBED)
    assert m.context_window == litellm.get_model_info(EMBED)['max_input_tokens']


def test_listed_models_round_trip_through_model_info():
    every = models(mode=None)
    sample = list(every[::47]) + list(models('anthropic'))
    for m in sample:
        got = model_info(m.name)
        same = ('name', 'provider', 'mode', 'context_window', 'max_output', 'input_price', 'output_price')
        assert [getattr(got, f) for f in same] == [getattr(m, f) for f in same], m.name
        # get_model_info may add a flag inferred from a base model (Azure's regional gpt-5), never drop one
        assert caps(m) <= caps(got), m.name
    assert all(model_info(m.name) == m for m in models('anthropic'))


def test_router_placeholders_are_left_out_and_registered_models_listed(monkeypatch):
    placeholder = {'input_cost_per_token': 0, 'output_cost_per_token': 0, 'litellm_provider': 'openai'}
    real = {'litellm_provider': 'openai', 'mode': 'chat', 'max_input_tokens': 1000, 'supports_function_calling': True,
            'input_cost_per_token': 1e-06}
    monkeypatch.setitem(litellm.model_cost, 'lexi-test-deployment', placeholder)
    monkeypatch.setitem(litellm.model_cost, 'lexi-test-model', real)
    names = models(mode=None).names
    assert 'openai/lexi-test-deployment' not in names and 'lexi-test-deployment' not in names
    m = next(m for m in models('openai', supports='tools') if m.name == 'openai/lexi-test-model')
    assert (m.context_window, m.input_price, m.output_price, m.tools) == (1000, 1.0, None, True)


# ---------------------------------------------------------------- caller mistakes

def test_unknown_capability_lists_the_valid_ones():
    with pytest.raises(UsageError) as ei: models(supports=['tools', 'vison'])
    msg = str(ei.value)
    assert "'vison'" in msg and "did you mean 'vision'" in msg and all(c in msg for c in CAPABILITIES)
    with pytest.raises(UsageError, match='tools'): models(supports=3)


def test_unknown_model_suggests_close_names():
    with pytest.raises(UsageError) as ei: model_info('openai/gpt-4.1-mnii')
    assert 'openai/gpt-4.1-mini' in str(ei.value) and 'lexi.models' in str(ei.value)
    with pytest.raises(UsageError) as ei: model_info('gemini/gemini-2.5-prp')
    assert 'gemini/gemini-2.5-pro' in str(ei.value)
    with pytest.raises(UsageError) as ei: model_info('gpt-4.1-mnii')  # bare: the provider's own model first
    assert str(ei.value).index('openai/gpt-4.1-mini') < str(ei.value).index('azure/')


def test_unknown_model_without_near_names():
    with pytest.raises(UsageError, match='does not know') as ei: model_info('openai/zzzz')
    assert 'Close names' not in str(ei.value)


@pytest.mark.parametrize('bad', ['', '   ', None, 42])
def test_model_info_needs_a_name(bad):
    with pytest.raises(UsageError, match='model name'): model_info(bad)


def test_unknown_provider_and_mode():
    with pytest.raises(UsageError, match="did you mean 'anthropic'"): models('antropic')
    with pytest.raises(UsageError, match="did you mean 'chat'"): models(mode='chats')
    with pytest.raises(UsageError, match='strings'): models(provider=3)
    with pytest.raises(UsageError): models('')


def test_a_provider_litellm_knows_but_the_table_lacks_gives_no_models():
    assert models('hosted_vllm') == []


# ---------------------------------------------------------------- display

def test_models_markdown_is_a_table():
    ms = models('anthropic', supports='reasoning')
    lines = ms._repr_markdown_().splitlines()
    assert lines[0].startswith('| model | context |') and all(h in lines[0] for h in ('in $/M', 'tools', 'cache'))
    assert set(lines[1]) <= set('|-') and lines[1].count('|') == lines[0].count('|')
    assert len(lines) == 2 + len(ms)
    row = next(line for line in lines if f'`{SONNET}`' in line)
    assert row.count('|') == lines[0].count('|') and '✓' in row and f'${model_info(SONNET).input_price:g}' in row


def test_a_long_list_shows_its_first_rows_and_counts_the_rest():
    ms = models()
    lines = ms._repr_markdown_().splitlines()
    assert len(lines) == 2 + 100 + 2 and f'{len(ms) - 100} more' in lines[-1]
    assert isinstance(ms[:3], Models) and ms[:3].names == ms.names[:3] and isinstance(ms[0], ModelInfo)


def test_model_info_markdown_is_one_row():
    lines = model_info(SONNET)._repr_markdown_().splitlines()
    assert len(lines) == 3 and lines[0].startswith('| model |') and f'`{SONNET}`' in lines[2]


def test_importing_lexi_models_does_not_import_litellm():
    code = 'import json, sys, lexi.models; print(json.dumps("litellm" in sys.modules))'
    env = {**os.environ, 'LITELLM_LOCAL_MODEL_COST_MAP': 'True'}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False
