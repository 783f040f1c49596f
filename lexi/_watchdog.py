"""A watchdog for blocking reads: when one read waits longer than a time limit, a thread of its own calls `on_stall`
(for a stream: close it, which ends the waiting read). Pure: it knows nothing of LiteLLM or HTTP."""
from __future__ import annotations
import threading
import time

__all__ = ['Watchdog']


class Watchdog:
    "Calls `on_stall()` once when a read marked with `reading(True)` has waited longer than `seconds`."
    def __init__(self, seconds: float, on_stall):
        self.seconds, self.on_stall, self.fired = seconds, on_stall, False
        self._since, self._done = None, threading.Event()
        threading.Thread(target=self._watch, daemon=True, name='lexi-stall-guard').start()

    def reading(self, on: bool): self._since = time.monotonic() if on else None

    def _watch(self):
        while not self._done.wait(self.seconds / 4):
            since = self._since
            if since is not None and time.monotonic() - since > self.seconds:
                self.fired = True
                self.on_stall()
                return

    def stop(self): self._done.set()
