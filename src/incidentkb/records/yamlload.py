"""Safe YAML loading that remembers where every value was written.

`yaml.safe_load` gives values but forgets positions, so a validator built on it can only say *what* is wrong.
Here the document is composed into nodes (with libyaml when available: loading a thousand records must stay
well under a second), values are built from the nodes by hand, and `YamlDocument.mark` finds the line and
column of any key or value afterwards, so every message can point at `incidents/x.yaml:14:3`.

Building values by hand is also what keeps loading safe and strict: only plain YAML (text, numbers, booleans,
null, dates, lists and mappings) is accepted, any other tag is reported instead of constructed, and a key
written twice is reported instead of silently keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, Sequence, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Path", "YamlIssue", "YamlSyntaxError", "YamlDocument", "load_yaml", "format_path", "clip", "where"]

#: Where a value sits in a document: mapping keys and list indices from the top, e.g. ``("fix", "alternatives", 0)``.
Path = tuple[Union[str, int], ...]

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader with a quicker tag resolver: records use no path resolvers, so most of its work is moot."""

    _implicit = _BaseLoader.yaml_implicit_resolvers

    def descend_resolver(self, current_node: Node | None, current_index: Any) -> None:
        pass  # only path resolvers need the path, and records have none

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self._implicit.get(value[0] if value else "", ()):
                    if regexp.match(value):
                        return str(tag)
            return "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:seq" if kind is SequenceNode else "tag:yaml.org,2002:map"


_SCALARS = yaml.constructor.SafeConstructor()

_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALARS = {
    _TAG + "null": _SCALARS.construct_yaml_null,
    _TAG + "bool": _SCALARS.construct_yaml_bool,
    _TAG + "int": _SCALARS.construct_yaml_int,
    _TAG + "float": _SCALARS.construct_yaml_float,
}
# What a key written without a tag resolves to; a key is read as its text either way.
_KEY_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}
# Beyond this many nodes, aliases are being used to blow a small file up (the "billion laughs" trick).
_MAX_NODES = 200_000
# A record nests a few levels; libyaml accepts a thousand, which would exhaust Python's stack while building.
_MAX_DEPTH = 50


class YamlIssue(NamedTuple):
    """A problem found while building values; the document is still usable around it."""

    path: Path
    line: int
    col: int
    message: str
    dropped: bool = False
    """The value at `path` was replaced by None, so schema errors about it would only repeat this issue."""


class YamlSyntaxError(Exception):
    """The text is not YAML at all; nothing could be built from it."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.line = line
        self.col = col
        self.message = message


def clip(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters, for quoting a record's text in a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_path(path: Path) -> str:
    """A path as a reader writes it: ``symptom.signatures[0].message`` (each key clipped: messages quote it)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{clip(part)}" if text else clip(part))
    return text


def where(path: Path) -> str:
    """Where in the record, for a message: `'symptom.signatures[0]'`, or `the record` for its top."""
    return f"'{format_path(path)}'" if path else "the record"


def _position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _TooManyValues(Exception):
    """Building passed `_MAX_NODES` values, at `node`."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node


def _distinct_values(root: Node, limit: int) -> int:
    """How many nodes are written in the document (aliases not followed twice), counting up to just past `limit`."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) <= limit:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            stack.extend(value for _, value in node.value)
    return len(seen)


@dataclass
class _Builder:
    """Turns nodes into plain Python values, collecting what it refuses to build."""

    issues: list[YamlIssue] = field(default_factory=list)
    count: int = 0
    _active: set[int] = field(default_factory=set)

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise _TooManyValues(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if len(path) >= _MAX_DEPTH:
            raise YamlSyntaxError(
                *_position(node), f"values are nested more than {_MAX_DEPTH} levels deep; a record needs a few levels"
            )
        if id(node) in self._active:
            line, col = _position(node)
            self.issues.append(
                YamlIssue(
                    path, line, col, f"{where(path)} refers to itself through an alias; write the value out", True
                )
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _TAG + "seq":
                    return self._unsupported(node, path)
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag != _TAG + "map":
                    return self._unsupported(node, path)
                return self._mapping(node, path)
            return self._unsupported(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            problem = None
            if not isinstance(key_node, ScalarNode):
                problem = f"a key in {where(path)} is a list or mapping; keys must be plain words"
            elif key_node.tag == _TAG + "merge":
                problem = f"merge keys ('<<') are not supported in {where(path)}; write the keys out"
            elif key_node.tag not in _KEY_TAGS:
                problem = (f"unsupported YAML tag '{_short_tag(key_node.tag)}' on the key '{clip(str(key_node.value))}' "
                           f"in {where(path)}; keys are plain words")
            if problem is not None:
                self.issues.append(YamlIssue(path, *_position(key_node), problem))
                continue
            # Keys are names: `yes:` or `3.10:` mean the text as written, not a boolean or a number.
            key = str(key_node.value)
            if key in first:
                earlier = _position(first[key])[0]
                message = f"duplicate key '{clip(key)}' in {where(path)}: it is already set at line {earlier}; "
                message += "keep one of them"
                self.issues.append(YamlIssue(path + (key,), *_position(key_node), message))
                continue
            first[key] = key_node
            result[key] = self.build(value_node, path + (key,))
        return result

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag == _TAG + "str":
            return node.value
        if tag == _TAG + "timestamp":
            try:
                return _SCALARS.construct_yaml_timestamp(node)
            except ValueError:
                # Looks like a date but is not one (2025-13-45): keep the text, the schema says what is wrong.
                return node.value
        construct = _PLAIN_SCALARS.get(tag)
        if construct is not None:
            try:
                return construct(node)
            except ValueError:
                # Python reads no integer of more than 4,300 digits (a guard against quadratic conversion).
                line, col = _position(node)
                message = (
                    f"{where(path)} is a number of {len(node.value)} characters, too long to read; "
                    "write a shorter number, or put it in quotes if it is text"
                )
                self.issues.append(YamlIssue(path, line, col, message, True))
                return None
        return self._unsupported(node, path)

    def _unsupported(self, node: Node, path: Path) -> None:
        line, col = _position(node)
        self.issues.append(
            YamlIssue(
                path,
                line,
                col,
                f"unsupported YAML tag '{_short_tag(node.tag)}' in {where(path)}; records hold only text, numbers, "
                "true/false, dates, lists and mappings",
                True,
            )
        )
        return None


@dataclass(frozen=True)
class YamlDocument:
    """The values of one YAML document, plus what is needed to say where each of them was written."""

    value: Any
    text: str
    issues: Sequence[YamlIssue] = ()
    _keys: dict[int, dict[str, tuple[Node, Node]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The key and value nodes of each mapping looked into, by key text: one problem per key of a mapping of
    thousands of keys must not scan the whole mapping each time."""

    @cached_property
    def root(self) -> Node | None:
        """The document's nodes, composed again only when a position is asked for.

        Keeping the nodes of every record alive makes Python's garbage collector walk them over and over, which
        tripled the time to check a thousand records; most records never need a position.
        """
        return yaml.compose(self.text, Loader=_Loader)

    def node_at(self, path: Path, *, key: bool = False) -> Node | None:
        """The node written at `path` (its key's node with `key=True`), or None when there is none."""
        node = self.root
        key_node: Node | None = None
        for part in path:
            key_node = None
            if isinstance(node, MappingNode):
                keys = self._keys.get(id(node))
                if keys is None:
                    keys = self._keys[id(node)] = {}
                    for k, v in node.value:
                        if isinstance(k, ScalarNode):
                            keys.setdefault(str(k.value), (k, v))  # the first of duplicate keys, as built
                found = keys.get(str(part))
                if found is None:
                    return None
                key_node, node = found
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return None
        return key_node if key and key_node is not None else node

    def mark(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of `path`, or of its nearest ancestor that was written."""
        for end in range(len(path), -1, -1):
            node = self.node_at(path[:end], key=key and end == len(path))
            if node is not None:
                return _position(node)
        return 1, 1

    def text_at(self, path: Path) -> str | None:
        """A scalar exactly as written (without quotes), e.g. ``3.10`` for a value that YAML reads as 3.1."""
        node = self.node_at(path)
        return str(node.value) if isinstance(node, ScalarNode) else None


def load_yaml(text: str) -> YamlDocument:
    """Compose and build one YAML document; raises `YamlSyntaxError` when the text is not YAML."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "not valid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        if exc.context and problem.startswith("but "):  # "expected a single document", "but found another"
            problem, context = f"{exc.context}, {problem}", ""
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
            context += "; indent with spaces, not tabs"
        raise YamlSyntaxError(line, col, f"invalid YAML: {problem}{context}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow anywhere, e.g. NUL or BEL
        # Its position counts bytes with libyaml and characters without; the character itself is unambiguous.
        code = exc.character if isinstance(exc.character, int) else 0
        at = text.find(chr(code)) if isinstance(exc.character, int) else -1
        line, col = (text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)) if at >= 0 else (1, 1)
        raise YamlSyntaxError(line, col, (
            f"invalid YAML: {exc.reason} (U+{code:04X} here); remove it, or write it as "
            f'"\\u{code:04X}" inside double quotes')) from None
    except yaml.YAMLError as exc:  # anything else libyaml will not read
        raise YamlSyntaxError(1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:  # the pure-Python composer (no libyaml) recurses once per level of nesting
        raise YamlSyntaxError(1, 1, "invalid YAML: values are nested too deep to read") from None
    if root is None:
        return YamlDocument(value=None, text=text)
    builder = _Builder()
    try:
        value = builder.build(root, ())
    except _TooManyValues as exc:
        # Both are refused, but a long list written out needs different advice than an alias bomb.
        if _distinct_values(root, _MAX_NODES) > _MAX_NODES:
            message = f"the record holds more than {_MAX_NODES} values; a record describes one incident, keep it short"
        else:
            message = f"the document expands to more than {_MAX_NODES} values through aliases; remove the aliases"
        raise YamlSyntaxError(*_position(exc.node), message) from None
    return YamlDocument(value=value, text=text, issues=tuple(builder.issues))
