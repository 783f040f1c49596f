"""Prompt templates: jinja2, rendered in its sandbox, with every variable required.

    t = Template('Write a haiku about {{ topic }}')
    t.render(topic='mountains')                      # 'Write a haiku about mountains'
    chat(template='Summarize: {{ text }}', tvars={'text': article})
    Chat(model, sp=Template(Path('system.md')), tvars={'tone': 'brief'})   # rendered once

A variable the template uses but is not given is a UsageError naming it, never an empty string.
Templates render in jinja2's SandboxedEnvironment, so one from an untrusted source cannot reach
Python internals (`{{ ''.__class__ }}` is refused); a template file may `{% include %}` files
beside it.
"""
from __future__ import annotations
import re
from pathlib import Path
from typing import Any, Mapping

from .errors import UsageError

__all__ = ['Template', 'render']


def _env(folder: Path | None):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    loader = FileSystemLoader(str(folder)) if folder is not None else None
    return SandboxedEnvironment(undefined=StrictUndefined, loader=loader, keep_trailing_newline=True, autoescape=False)


class Template:
    "A jinja2 prompt template from a string or a file (`Path`); `.render(**vars)` gives the text."

    def __init__(self, source: str | Path  # template text, or the Path of a template file
                 ):
        if isinstance(source, Template): source = source.source
        if isinstance(source, Path):
            try: text, folder = source.read_text(), source.parent
            except OSError as e: raise UsageError(f'cannot read template {str(source)!r} ({e.strerror}).') from e
        elif isinstance(source, str): text, folder = source, None
        else: raise UsageError(f'a Template is made from a str or a Path, not {type(source).__name__}.')
        from jinja2 import TemplateSyntaxError
        self.source, self.path = source, source if isinstance(source, Path) else None
        try: self._t = _env(folder).from_string(text)
        except TemplateSyntaxError as e:
            raise UsageError(f'template syntax error{self._where} at line {e.lineno}: {e.message}') from None

    @property
    def _where(self) -> str: return f' in {str(self.path)!r}' if self.path else ''

    def render(self, **vars: Any) -> str:
        "The template filled with `vars`; UsageError for a missing variable or an unsafe access."
        from jinja2 import UndefinedError
        from jinja2.exceptions import SecurityError
        try: return self._t.render(**vars)
        except UndefinedError as e:
            name = re.match(r"'([^']+)' is undefined", str(e))
            what = f'variable {name.group(1)!r}' if name else f'a value ({e})'
            raise UsageError(f'template{self._where} uses {what}, which was not given: pass it in tvars '
                             f'(given: {", ".join(sorted(vars)) or "none"}).') from None
        except SecurityError as e:
            raise UsageError(f'template{self._where} was refused by the sandbox: {e}') from None

    def __repr__(self):
        src = str(self.path) if self.path else self.source
        return f'Template({src[:60] + "..." if len(src) > 60 else src!r})'


def render(template: str | Path | Template,   # a template (text, file or Template)
           tvars: Mapping | None = None       # its variables
           ) -> str:
    "Render `template` with `tvars` (a str is template text, a Path a template file)."
    if tvars is not None and not isinstance(tvars, Mapping):
        raise UsageError(f'tvars must be a dict of template variables, not {type(tvars).__name__}.')
    return Template(template).render(**(tvars or {}))
