"""Tier-2 test doubles: real LiteLLM ModelResponse objects from a script, through the backend seam (no HTTP)."""
import json

from litellm import ModelResponse, ModelResponseStream

from lexi import AsyncChat, Chat
from lexi.testing import Scripted


def tc(name, args, id):
    "One tool call as a provider returns it (arguments as a JSON string)."
    return {'id': id, 'type': 'function', 'function': {'name': name, 'arguments': json.dumps(args)}}


def resp(text=None, calls=(), finish=None, inp=10, out=5, model='fake-model'):
    "A complete ModelResponse with the given text and tool calls."
    msg = {'role': 'assistant', 'content': text, 'tool_calls': list(calls) or None}
    return ModelResponse(model=model, choices=[{'index': 0, 'message': msg,
                                                 'finish_reason': finish or ('tool_calls' if calls else 'stop')}],
                         usage={'prompt_tokens': inp, 'completion_tokens': out, 'total_tokens': inp + out})


def stream(text=None, calls=(), inp=10, out=5):
    "The chunks a provider streams for that reply: text word by word, tool calls, then finish and usage."
    delta = lambda **d: ModelResponseStream(model='fake-model', choices=[{'index': 0, 'delta': d}])
    words = text.split(' ') if text else []
    chunks = [delta(content=w if i == 0 else ' ' + w) for i, w in enumerate(words)]
    chunks += [delta(tool_calls=[{'index': i, **c}]) for i, c in enumerate(calls)]
    chunks.append(ModelResponseStream(model='fake-model', choices=[{'index': 0, 'delta': {}, 'finish_reason': 'tool_calls' if calls else 'stop'}]))
    chunks.append(ModelResponseStream(model='fake-model', choices=[], usage={'prompt_tokens': inp, 'completion_tokens': out, 'total_tokens': inp + out}))
    return chunks


def _scripted(cls, model, script=(), fail_at=None, **kw):
    """A chat whose backend answers from `script` (lexi.testing.Scripted, no HTTP); `fail_at` {n: exc}
    makes request n raise exc. Every request's keyword arguments are kept in `chat.sent`."""
    items = list(script)
    for n, exc in sorted((fail_at or {}).items()): items.insert(n - 1, exc)
    backend = Scripted(*items)
    chat = cls(model, backend=backend, **kw)
    chat.sent, chat.scripted = backend.requests, backend
    return chat


def FakeChat(model, **kw): return _scripted(Chat, model, **kw)


def FakeAsyncChat(model, **kw): return _scripted(AsyncChat, model, **kw)


def valid_hist(hist):
    """True when every assistant tool call has exactly one tool result after it, before the next assistant turn
    (server-side calls, which LiteLLM before 1.110 lists among tool_calls, carry their own results)."""
    open_ids = []
    for m in hist:
        role = m['role'] if isinstance(m, dict) else m.role
        calls = (m.get('tool_calls') if isinstance(m, dict) else m.tool_calls) or []
        if role == 'tool':
            if m['tool_call_id'] not in open_ids: return False
            open_ids.remove(m['tool_call_id'])
        else:
            if open_ids: return False
            ids = [c['id'] if isinstance(c, dict) else c.id for c in calls]
            open_ids = [i for i in ids if not str(i).startswith('srvtoolu_')]   # the provider ran those itself
    return not open_ids
