"""Reading a configuration file's YAML with a line number for every value (errors name the line), bounded in size
and in alias expansion (a "billion laughs" is refused before it is expanded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.config_base import ConfigError


def _line_index(node: yaml.Node, prefix: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*prefix, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*prefix, i), out)


def describe(error: dict[str, Any], lines: dict[tuple[Any, ...], int]) -> str:
    loc = tuple(error["loc"])
    line = None
    probe = loc
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    field = ".".join(str(p) for p in loc if p != "[key]") or "(top level)"  # a mapping key's own error
    where = f"line {line}" if line else "file"
    kind = error["type"]
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        fix = f"add '{loc[-1]}'"
    elif kind == "extra_forbidden":
        fix = f"remove '{loc[-1]}' or check its spelling"
    else:
        fix = "correct the value"
    return f"{field} ({where}): {msg} — {fix}"


MAX_CONFIG_BYTES = 2 * 1024 * 1024
# Values that aliases (*name, and << merges) may add to a document beyond those written in it. Sharing a block
# between a few marketplaces or products adds hundreds; a "billion laughs" of 414 bytes would add 10^9.
MAX_ALIAS_EXPANSION = 50_000


class AliasExpansionError(yaml.YAMLError):
    """Aliases that would expand the document past MAX_ALIAS_EXPANSION values."""

    def __init__(self, alias: str, mark: yaml.Mark, *, recursive: bool = False):
        self.problem_mark = mark
        self.problem = (
            f"alias *{alias} refers to a value that contains it, which never ends; refer to a finished value"
            if recursive else
            f"alias *{alias} makes the document's aliases repeat more than {MAX_ALIAS_EXPANSION:,} values "
            "(nested aliases multiply: a 'billion laughs'); write the repeated values out, or use fewer nested "
            "aliases"
        )
        super().__init__(self.problem)


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts, while composing, what each alias would add once expanded, and stops at the bound.

    The size of each composed node (itself plus everything under it, aliases expanded) is kept by node identity,
    so the count costs one addition per node and per alias, however deep the aliases nest; the sum over aliases
    of their targets' sizes is exactly what expansion adds to the written document.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._expanded_size: dict[int, int] = {}
        self._repeated = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = super().compose_node(parent, index)
            if id(target) not in self._expanded_size:  # its anchor is still open: the value would contain itself
                raise AliasExpansionError(str(event.anchor), event.start_mark, recursive=True)
            self._repeated += self._expanded_size[id(target)]
            if self._repeated > MAX_ALIAS_EXPANSION:
                raise AliasExpansionError(str(event.anchor), event.start_mark)
            return target
        node = super().compose_node(parent, index)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        self._expanded_size[id(node)] = 1 + sum(self._expanded_size.get(id(c), 1) for c in children)
        return node


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node graph (for line numbers) and its data, parsed once with aliases bounded."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def compose(text: str, source: Path | str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise ConfigError(source, [f"file is larger than {MAX_CONFIG_BYTES} bytes; split or trim it"])
    try:
        node, data = _compose_and_construct(text)
    except AliasExpansionError as exc:
        raise ConfigError(source, [f"line {exc.problem_mark.line + 1}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, [f"YAML syntax error at {where}: {problem} — fix the indentation or quoting"]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["the file must be a mapping with at least 'brand' and 'products'"])
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return data, lines
