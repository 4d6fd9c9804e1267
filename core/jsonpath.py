"""JMESPath selectors (`json:...`) and the data sources they read, as the brand config writes them.

Compiled and checked here, below the crawler, so `check-config` refuses an expression that does not compile (naming
the field and line) before any crawl; crawler/extractors/jsondata.py evaluates them over pages.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

JSON_PREFIX = "json:"
DATA_SOURCES = "script:NAME, next_data, jsonld, body or xhr:REGEX"
_SOURCE = re.compile(r"^(?:script:[A-Za-z_$][\w$.]{0,100}|next_data|jsonld|body|xhr:.{1,300})$")


def is_json_selector(expression: str | None) -> bool:
    return bool(expression) and str(expression).startswith(JSON_PREFIX)


@lru_cache(maxsize=512)
def compiled(expression: str) -> ParsedResult:
    """The compiled JMESPath of a `json:` selector; ValueError naming the problem where it does not compile."""
    try:
        return jmespath.compile(expression.removeprefix(JSON_PREFIX).strip())
    except JMESPathError as error:
        problem = str(error).splitlines()[0][:200]
        raise ValueError(f"the JMESPath expression {expression!r} does not compile ({problem}); "
                         "see https://jmespath.org for its syntax") from None


def check_source(source: str) -> str:
    """A `selectors.data` value as written, or ValueError saying which forms there are."""
    if not _SOURCE.match(source):
        raise ValueError(f"'{source[:80]}' names no data source; use {DATA_SOURCES}")
    if source.startswith("xhr:"):
        try:
            re.compile(source.removeprefix("xhr:"))
        except re.error as error:
            raise ValueError(f"'{source[:80]}': what follows xhr: is not a regular expression ({error})") from None
    return source
