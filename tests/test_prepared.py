"""A call's work grows with what is new: what lexi derives per message is kept between requests, and a request
built from those kept entries is exactly the request built from scratch, whatever the history went through."""
import copy

from hypothesis import given, settings, strategies as st
from litellm.types.utils import Message

from lexi import Chat
from lexi._caps import wants_ckpts
from lexi._prepared import Prepared
from lexi._request import build_request
from lexi._settings import Settings
from lexi.testing import Scripted

MODELS = ['openai/gpt-4.1', 'anthropic/claude-sonnet-4-5', 'gemini/gemini-2.5-flash']
CC = {'type': 'ephemeral'}
TEXT = st.sampled_from(['hi', 'What next?', '', ' ', 'a <b> & c', 'Use `x`'])


@st.composite
def message(draw):
    kind = draw(st.sampled_from(['user', 'user-parts', 'user-marked', 'assistant', 'assistant-obj', 'tool-round']))
    text = draw(TEXT) or 'x'
    if kind == 'user': return [{'role': 'user', 'content': text}]
    if kind == 'user-parts': return [{'role': 'user', 'content': [{'type': 'text', 'text': text}, {'type': 'text', 'text': 'more'}]}]
    if kind == 'user-marked': return [{'role': 'user', 'content': [{'type': 'text', 'text': text, 'cache_control': CC}]}]
    if kind == 'assistant': return [{'role': 'assistant', 'content': text}]
    if kind == 'assistant-obj': return [Message(role='assistant', content=text)]
    tcid = f'call_{draw(st.integers(0, 10**6))}' + draw(st.sampled_from(['', '.with.dots', 'x' * 45]))
    call = {'id': tcid, 'type': 'function', 'function': {'name': 'add', 'arguments': draw(st.sampled_from(['{"a":1}', '{"a": 1, "b', '']))}}
    asst = draw(st.sampled_from([lambda: Message(role='assistant', content='Adding.', tool_calls=[call]),
                                 lambda: {'role': 'assistant', 'content': None, 'tool_calls': [call]}]))()
    return [asst, {'role': 'tool', 'tool_call_id': tcid, 'name': 'add', 'content': '2'}]


OPS = st.sampled_from(['append', 'append', 'delete', 'replace', 'set-field', 'model', 'cache', 'sp', 'truncate'])


def request(s: Settings, hist: list, prepared: Prepared | None) -> dict:
    if prepared is not None: prepared.entries(hist)   # the engine verifies the entries as a call begins
    return build_request(s, hist, prefill=None, final=False, ckpts=s.cache and wants_ckpts([s.model]), reach=[s.model],
                         prepared=prepared)


@settings(max_examples=150, deadline=None)
@given(st.lists(message(), min_size=1, max_size=6), st.lists(st.tuples(OPS, message(), st.integers(0, 50)), max_size=12),
       st.sampled_from(MODELS))
def test_requests_built_from_kept_entries_equal_requests_built_from_scratch(start, ops, model):
    hist = [m for group in start for m in group]
    s, kept = Settings(model='-').merge(model=model, cache=True, sp='Be brief.'), Prepared()
    assert request(s, hist, kept) == request(s, hist, None)
    for op, new, k in ops:
        i = k % len(hist) if hist else 0
        if op == 'append': hist += new
        elif op == 'delete' and hist: del hist[i]
        elif op == 'replace' and hist: hist[i] = new[0]
        elif op == 'truncate': del hist[i:]
        elif op == 'set-field' and hist:   # a top-level field set in place, on a dict or a Message
            m = hist[i]
            if isinstance(m, dict): m['content'] = 'edited in place'
            else: m.content = 'edited in place'
        elif op == 'model': s = s.replace(model=MODELS[k % 3])
        elif op == 'cache': s = s.replace(cache=not s.cache)
        elif op == 'sp': s = s.replace(sp='' if s.sp else 'Be brief.')
        assert request(s, hist, kept) == request(s, copy.deepcopy(hist), None), op


def test_a_call_reuses_what_it_derived_for_unchanged_messages():
    chat = Chat('anthropic/claude-sonnet-4-5', cache=True, backend=Scripted('one', 'two', 'three'))
    chat('first')
    first = {id(e.msg): e for e in chat._log.prepared.entries(chat.hist)}
    chat('second')
    after = chat._log.prepared.entries(chat.hist)
    assert [e for e in after[:2] if first.get(id(e.msg)) is e] == after[:2]   # the same entries, not derived again
    chat.hist = []
    chat('third')
    assert len(chat._log.prepared.entries(chat.hist, verify=False)) == len(chat.hist) == 2   # what left hist is let go


def test_a_copied_chat_keeps_its_own_entries():
    chat = Chat('openai/gpt-4.1', backend=Scripted('one', repeat=True))
    chat('hi')
    other = chat.copy()
    other.hist[0]['content'] = 'changed in the copy'
    chat('again'); other('again')
    assert chat.hist[0]['content'] == 'hi' and chat._log.prepared is not other._log.prepared


def test_a_rate_limits_token_estimate_counts_each_history_message_once_and_matches_litellms_count(monkeypatch):
    import litellm
    from lexi import RateLimit
    from lexi import _litellm
    hist = [{'role': 'user', 'content': f'question {i} ' * 5} if i % 2 == 0 else Message(role='assistant', content=f'answer {i}')
            for i in range(40)]
    counted = []
    real = _litellm.count_tokens
    monkeypatch.setattr('lexi._prepared.count_tokens', lambda model, msgs: counted.append(len(msgs)) or real(model, msgs))
    lim = RateLimit(tpm=10**9)
    reserved = []
    monkeypatch.setattr(lim, 'reserve', lambda tokens=0: reserved.append(tokens) or 0.0)
    chat = Chat('openai/gpt-4.1', hist=hist, sp='Be brief.', rate_limit=lim, max_tokens=100, backend=Scripted('ok', repeat=True))
    chat('one')
    first = sum(counted)
    chat('two')
    assert sum(counted) - first <= 3                    # the second call counts only what is new
    sent = [{'role': 'system', 'content': 'Be brief.'}] + [m if isinstance(m, dict) else {'role': 'assistant', 'content': m.content}
                                                           for m in chat.hist[:-1]]
    assert abs(reserved[-1] - (litellm.token_counter(model='openai/gpt-4.1', messages=sent) + 100)) <= 2
