"""Parse policy text while remembering where every value sits, so errors can name their line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from gateway.routing.problems import Loc, PolicyError, format_path


@dataclass
class ParsedSource:
    """The plain data of a document, the line of each path in it, and problems found while parsing."""

    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[PolicyError] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor that the document contains (e.g. a missing key)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


# Far beyond any real policy; stops alias bombs ("billion laughs") and self-referencing anchors.
MAX_NODES = 50_000
MAX_DEPTH = 40
TOO_LARGE = "the document is too large or nested too deeply"


class DocumentTooLarge(Exception):
    """The document expands to more nodes, or nests deeper, than any policy needs."""


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[PolicyError]) -> None:
    if len(lines) > MAX_NODES or len(loc) > MAX_DEPTH:
        raise DocumentTooLarge(format_path(loc))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            key_line = key_node.start_mark.line + 1
            child = (*loc, key)
            if key in seen:
                problems.append(
                    PolicyError(
                        format_path(child),
                        f"duplicate key {key!r} (first defined on line {seen[key]})",
                        line=key_line,
                    )
                )
                continue
            seen[key] = key_line
            # A key's own line reads better in messages than the line where a block value starts.
            lines[child] = key_line
            _walk(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*loc, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, problems)


def parse_yaml(text: str) -> ParsedSource:
    """YAML text to data plus a path -> line map; duplicate keys are reported, not silently merged."""
    parsed = ParsedSource()
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        parsed.problems.append(PolicyError("", f"invalid YAML: {exc}", line=line))
        return parsed
    try:
        node = loader.get_single_node()
        if node is None:
            parsed.problems.append(PolicyError("", "the document is empty", line=1))
            return parsed
        parsed.lines[()] = node.start_mark.line + 1
        _walk(node, (), parsed.lines, parsed.problems)
        parsed.data = loader.construct_document(node)
    except DocumentTooLarge as exc:
        message = f"{TOO_LARGE} (more than {MAX_NODES} values or {MAX_DEPTH} levels)"
        parsed.problems.append(PolicyError(str(exc), message))
        parsed.data = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        parsed.problems.append(PolicyError("", f"invalid YAML: {exc.problem or exc}", line=line))
    except yaml.YAMLError as exc:
        parsed.problems.append(PolicyError("", f"invalid YAML: {exc}"))
    finally:
        loader.dispose()
    return parsed


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(text: str) -> ParsedSource:
    """JSON text to data; lines come from reading it as YAML (JSON is nearly a subset) where that works."""
    parsed = ParsedSource()
    try:
        parsed.data = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        parsed.problems.append(PolicyError("", f"invalid JSON: {exc.msg}", line=exc.lineno))
        return parsed
    except ValueError as exc:
        # Fall through to the YAML walk, which names the duplicate's path and line.
        as_yaml = parse_yaml(text)
        found = [p for p in as_yaml.problems if p.message.startswith("duplicate key")]
        parsed.problems.extend(found or [PolicyError("", str(exc))])
        return parsed
    as_yaml = parse_yaml(text)
    if not as_yaml.problems:
        parsed.lines = as_yaml.lines
    parsed.problems.extend(p for p in as_yaml.problems if p.message.startswith(TOO_LARGE))
    return parsed
