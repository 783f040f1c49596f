"""What a chat has recorded: its history (always valid to send), what requests derive per message of it (see
lexi/_prepared.py), its usage, the last response it received, and what the latest call spent. The engine
(lexi/_engine.py) records into a Log; a Chat holds one.
"""
from __future__ import annotations

from ._litellm import answered_model
from ._prepared import Prepared
from ._request import check_message
from .usage import Use

__all__ = ['Log']


class Log:
    """What a chat has recorded: its history (always valid to send), its usage, the last response it
    received, and what the latest call spent. Responses are priced when usage is first read, not
    while a call runs (pricing right after each reply would compete with LiteLLM's own post-call work).

    Messages are checked once (see `_request.check_message`): a whole history when it is set, then at each
    call every message that is new or changed since the last call (its entry in `prepared`, see
    lexi/_prepared.py: the call's own replies, what the caller appended, replaced or set a field of)."""
    def __init__(self, hist: list | None = None):
        self.prepared = Prepared()   # what requests derive per message, reused while a message is unchanged
        self.hist, self.last_response = hist if hist is not None else [], None
        self._use, self._last_use, self._unpriced = Use(), Use(), []

    @property
    def hist(self) -> list: return self._hist

    @hist.setter
    def hist(self, value: list):
        for i, m in enumerate(value): check_message(m, f'hist[{i}]')
        self._hist = value
        for e in self.prepared.entries(value): e.checked = True

    def entries(self, new: list = ()) -> list:
        "The prepared entry of each message of the history and then of `new`, each message checked once."
        es = self.prepared.entries(self._hist + list(new))
        for i, e in enumerate(es):
            if not e.checked:
                check_message(e.msg, f'hist[{i}]' if i < len(self._hist) else 'msg')
                e.checked = True
        return es

    def count(self, use: Use):
        "Add `use` (no response of its own: e.g. tool calls refused for their arguments) to the chat's and the call's usage."
        self._price()
        self._use.add(use)
        self._last_use.add(use)

    def record(self, msgs: list, resp, model: str):
        "Add `msgs` to the history, and `resp` to the usage (priced as the model that answered it)."
        self.hist.extend(msgs)
        self._unpriced.append((resp, model))
        self.last_response = resp

    def _price(self):
        while self._unpriced:
            resp, model = self._unpriced.pop(0)
            use = Use.of(resp, answered_model(resp) or model)
            self._use.add(use)
            self._last_use.add(use)

    @property
    def use(self) -> Use:
        self._price()
        return self._use

    @use.setter
    def use(self, value: Use):
        self._price()
        self._use = value

    @property
    def last_use(self) -> Use:
        self._price()
        return self._last_use

    def begin_call(self):
        "A new call starts: what it spends is counted apart as well."
        self._price()
        self._last_use = Use()
