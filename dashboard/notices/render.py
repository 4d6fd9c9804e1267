"""Rendering shipped templates with data: the templates are files in templates/, the values are only values.

Jinja2 never evaluates the text of a value, so a seller called `{{ 7*7 }}` or `{% include ... %}` is printed as
written. The environment is sandboxed anyway (templates cannot reach Python internals), undefined names fail
loudly, and any HTML template would be autoescaped (the shipped notices are plain text).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@functools.cache
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def render_file(name: str, context: Mapping[str, Any]) -> str:
    """Render one shipped template; blank-line runs are folded so optional sections leave no holes."""
    text = environment().get_template(name).render(**context)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"
