"""fmt2hist and mk_msgs on large formatted output: time against input size, so the curve shows whether the work is
linear. Inputs: real tool blocks with text between them, and text full of unclosed tool-block tags (the case a
regex scan made quadratic). Run with `python bench/fmt_curve.py` (also part of `make bench`)."""
from __future__ import annotations
import json, os, statistics, sys, time

os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from lexi.fmt import TOOL_DETAILS_TAG, Formatted, fmt2hist   # noqa: E402
from lexi.msgs import mk_msgs                                 # noqa: E402

SIZES_KB = (59, 118, 236, 472)


def blocks(kb: int) -> str:
    "Formatted output of about `kb` KB: text, then a real tool block, repeated."
    one = ('Some text with `code` and <b>tags</b> & more.\n\n' + f'{TOOL_DETAILS_TAG}\n\n```json\n'
           + json.dumps({'id': 'toolu_1', 'call': {'function': 'add', 'arguments': {'a': 1}}, 'result': 'x' * 200}, indent=2)
           + '\n```\n\n</details>\n\n')
    return one * (kb * 1024 // len(one))


def unclosed(kb: int) -> str:
    "About `kb` KB of tool-block tags that never close (text, as far as fmt2hist is concerned)."
    one = f'{TOOL_DETAILS_TAG}\n\n```json\n{{"id": "a"\n\n'
    return one * (kb * 1024 // len(one))


def seconds(fn, text: str, runs: int = 3) -> float:
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); fn(text); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    print('fmt2hist / mk_msgs time against input size (median of 3; linear work keeps s/MB flat)')
    cases = [('fmt2hist, tool blocks', fmt2hist, blocks), ('fmt2hist, unclosed tags', fmt2hist, unclosed),
             ('mk_msgs(Formatted), unclosed tags', lambda t: mk_msgs(['q', Formatted(t)]), unclosed)]
    for name, fn, make in cases:
        row = []
        for kb in SIZES_KB:
            s = seconds(fn, make(kb))
            row.append(f'{kb} KB {s:.3f} s ({s / (kb / 1024):.2f} s/MB)')
        print(f'  {name}: ' + '; '.join(row))


if __name__ == '__main__':
    main()
