"""Which of a cell's cases a pytest `-k` expression passed through to it leaves, as far as the plan can tell.

`nox -s regressions -- -k greedy` passes `-k` to the pytest of every cell, the cells an incident's required
packages add included (`... albumentations=1.3.1`). Building such a cell's environment only for pytest to
deselect its every case wastes minutes, so the plan asks first, without importing the regression (its imports
need that very environment): it reads the names pytest matches `-k` against from the file's syntax tree (the
directories below the root, the module, its classes, the function, the marks written on them) and evaluates the
expression with pytest's own grammar (`_pytest.mark.expression`, as `pytest -k` does).

A name the plan cannot see may make a case match: a parametrized case's ids, a mark that a conftest or the
incidentkb plugin adds while collecting (`timeout`, `skip`), an attribute a decorator sets. An identifier of the
expression that no name the plan sees contains is then *unknown*, and every truth value of the unknowns is
tried: the plan says "deselected" only when no choice selects the case. Anything it cannot read (arguments
besides `-k` and flags, an expression pytest would refuse, a file it cannot parse) means "cannot tell": the cell
runs as before, and pytest decides.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from incidentkb.matrix.planning import Target

__all__ = ["keyword_expression", "case_names", "may_select", "every_case_deselected"]

#: An identifier of a `-k` expression, as pytest's scanner reads one.
_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")
_OPERATORS = {"and", "or", "not"}
#: Marks added while collecting, whatever the file says: pytest-timeout's (regressions/conftest.py) and the
#: plugin's skip. Names that may or may not be there are unknown, never "absent".
_ADDED_MARKS = ("timeout", "skip", "pytestmark")
#: More unknowns than this are not tried one by one (2**10 evaluations): the plan cannot tell.
_MAX_UNKNOWN = 10


def keyword_expression(posargs: Sequence[str]) -> str | None:
    """The `-k` expression when it is what decides which cases run: the other arguments are flags alone (`-x`,
    `-rA`, `--strict`), none naming a file or a node that could add cases. None: no `-k`, or it cannot tell."""
    expression, rest = None, list(posargs)
    while rest:
        arg = rest.pop(0)
        if arg == "-k" and rest:
            expression = rest.pop(0)
        elif arg.startswith("-k") and len(arg) > 2:
            expression = arg[2:].lstrip("=")
        elif not arg.startswith("-") or "=" in arg:
            return None  # a path, a node id or an option's value: what it adds is pytest's to say
    return expression


def _mark_name(node: ast.expr) -> str | None:
    """`NAME` of `pytest.mark.NAME` or `pytest.mark.NAME(...)`, else None."""
    node = node.func if isinstance(node, ast.Call) else node
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
        return node.attr
    return None


def _marks(decorators: Iterable[ast.expr]) -> tuple[set[str], bool]:
    """The mark names of decorators, and whether some decorator is no mark (it may set attributes pytest matches)."""
    names = [_mark_name(d) for d in decorators]
    return {n for n in names if n}, any(n is None for n in names)


def case_names(root: Path, path: str, function: str) -> tuple[set[str], bool] | None:
    """The names pytest surely matches `-k` against for a case, and whether it may have others the plan cannot
    see (ids, attributes); None when the file cannot be read or holds no such function."""
    try:
        text = (root / path).read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        return None
    parts = Path(path).parts
    names = {*parts[:-1], parts[-1], "incident"}  # every case a record lists carries the incident mark
    open_ended = "parametrize" in text or "params=" in text
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            names |= _marks(values)[0]

    def find(body: list[ast.stmt], outer: set[str], unknown: bool) -> tuple[set[str], bool] | None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                marks, other = _marks(node.decorator_list)
                found = find(node.body, outer | marks | {node.name}, unknown or other)
                if found:
                    return found
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
                marks, other = _marks(node.decorator_list)
                return outer | marks | {function}, unknown or other
        return None

    return find(tree.body, names, open_ended)


def may_select(expression: str, names: Iterable[str], open_ended: bool) -> bool | None:
    """Whether some truth of what the plan cannot see lets `expression` select a case of these names; None: the
    expression is not one pytest reads, or has too many unknowns to try."""
    try:
        from _pytest.mark.expression import Expression

        compiled = Expression.compile(expression)
    except Exception:  # noqa: BLE001 - pytest 8 raises ParseError, pytest 9 SyntaxError; either way pytest refuses it
        return None
    lowered = [name.lower() for name in names]
    idents = {i for i in _IDENT.findall(expression) if i not in _OPERATORS}
    known = {i: True for i in idents if any(i.lower() in name for name in lowered)}
    maybe = [i for i in idents if i not in known and (open_ended or any(i.lower() in m for m in _ADDED_MARKS))]
    if len(maybe) > _MAX_UNKNOWN:
        return None
    for truth in itertools.product((False, True), repeat=len(maybe)):
        values = {**known, **dict(zip(maybe, truth))}
        if compiled.evaluate(lambda name, /, **_: values.get(name, False)):
            return True
    return False


def every_case_deselected(targets: Sequence[Target], posargs: Sequence[str], root: Path) -> bool:
    """True when the plan can tell that `-k` deselects every case of `targets`: their cell needs no environment."""
    expression = keyword_expression(posargs)
    if expression is None or not targets:
        return False
    for target in targets:
        for function, _ in target.cases:
            seen = case_names(root, target.path, function)
            if seen is None or may_select(expression, *seen) is not False:
                return False
    return True
