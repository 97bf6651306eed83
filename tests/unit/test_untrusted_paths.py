"""One untrusted-text path: a scan of the source (AST) that fails on a direct unclean use.

Every string from a cluster, server, file, recording or subprocess reaches the screen only through
``cockpit.textsafe`` (``clean``, ``safe_text``, ``middle_ellipsis``, ``MiddleText``) and every notification through
``cockpit.screens.base.notify_untrusted``.  This test reads the shipped source (cockpit/, screens/, widgets/) and
looks at every place text becomes something drawn:

* ``Text(x)``, ``Static(x)``, ``Label(x)``, ``Button(x)``, ``Content(x)``, ``TabPane(x)``, ``Text.assemble(parts)``,
  ``text.append(x, style)``, ``table.add_row(cells)``, ``widget.update(x)``, ``border_title = x``,
  ``border_subtitle = x``;
* ``self.notify(x)`` / ``app.notify(x)``: only ``notify_untrusted`` may call it (or a call whose text is a string
  literal written right there).

``x`` passes when it is built from literals, numbers, times and the cleaners: a string literal, an f-string whose
parts pass (a part with a format spec is a number or a time), ``clean(...)``/``safe_text(...)``, ``Text.assemble``
of passing parts, a local name whose every assignment in the function passes, a parameter annotated as a number or
a renderable, an attribute that every model dataclass declares as a number, a time or a bool, or a call of the
project's own helpers that return renderables (their insides are scanned where they are built).  Anything else (an
attribute that may hold a server's string, ``str(err)``, ``payload.get(...)``) fails with its file and line.

A line that is trusted on purpose says so: ``# trusted: WHY`` on the line (the reason is required).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "cockpit", ROOT / "screens", ROOT / "widgets"]
SKIPPED_DIRS = {"demo"}  # the demo platform's servers draw nothing

# constructors whose first positional argument is drawn
DRAWN_FIRST_ARG = {"Text", "Static", "Label", "Button", "Content", "TabPane", "Markdown"}
# calls whose result is clean whatever their arguments are
CLEANERS = {"clean", "safe_text", "middle_ellipsis", "MiddleText", "notify_untrusted"}
CLEAN_STR = {"clean", "middle_ellipsis"}  # cleaned, but a str: still markup where markup is parsed
RENDERABLES = {"safe_text", "MiddleText", "Text", "Content", "assemble", "from_text"}
# builtins and project helpers whose result is a number, a bool, or a string made of numbers/times only
NUMERIC_CALLS = {"len", "int", "float", "round", "abs", "min", "max", "sum", "bool", "age", "ago", "size_words",
                 "seconds_words", "_pct", "percent", "count", "isoformat", "total_seconds", "strftime",
                 "format_seconds",
                 "timestamp", "fmt_seconds", "duration", "_ms", "ms", "seconds"}
# calls whose result is text of any origin: never clean by themselves
RAW_CALLS = {"str", "repr", "format", "join", "get", "getattr", "replace", "strip", "lower", "upper", "title",
             "decode", "read_text", "pop", "setdefault", "text", "rstrip", "lstrip", "removeprefix",
             "removesuffix", "message", "describe", "name"}
STRING_METHODS = {"join", "get", "replace", "strip", "lower", "upper", "title", "rstrip", "lstrip", "removeprefix",
                  "removesuffix", "ljust", "rjust", "center", "capitalize", "copy", "stylize", "append",
                  "append_text", "truncate", "format", "split", "partition", "rpartition", "zfill"}
SAFE_ANNOTATIONS = {"int", "float", "bool", "datetime", "timedelta", "Text", "RenderableType", "Table", "Group",
                    "Content", "Renderable"}
TRUSTED = re.compile(r"#\s*trusted:\s*\S")


def python_files() -> list[Path]:
    files = []
    for base in SCANNED:
        for path in sorted(base.rglob("*.py")):
            if SKIPPED_DIRS.intersection(path.relative_to(base).parts[:-1]):
                continue
            files.append(path)
    return files


def _annotation_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            names |= set(re.findall(r"\w+", sub.value))
    return names


def _enum_names(trees: list[ast.Module]) -> set[str]:
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(base, ast.Name) and base.id.endswith("Enum"))
                    or (isinstance(base, ast.Attribute) and base.attr.endswith("Enum")) for base in node.bases):
                names.add(node.name)
    return names


def model_field_types() -> dict[str, bool]:
    """attribute name -> True when every class in the scanned source declaring it (a dataclass field, a class
    annotation, a property's return annotation) gives it a non-text type (a number, a time, a bool, an enum of
    ours, a renderable)."""
    paths = python_files()
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in paths]
    safe_types = SAFE_ANNOTATIONS | {"Decimal", "date", "timezone"} | _enum_names(trees)
    verdict: dict[str, bool] = {}

    def declare(field: str, annotation: ast.expr | None) -> None:
        names = _annotation_names(annotation) - {"None", "Optional"}
        verdict[field] = verdict.get(field, True) and bool(names) and names <= safe_types

    # the panes draw cockpit/models.py's types: a field declared there means what models.py says (``id`` is a
    # history entry's number there, a string elsewhere); other names must be non-text wherever declared
    models = ROOT / "cockpit" / "models.py"
    ordered = sorted(zip(paths, trees), key=lambda pair: pair[0] == models)
    in_models: set[str] = set()
    for path, tree in ordered:
        if path == models:
            saved = dict(verdict)
            verdict.clear()
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    declare(item.target.id, item.annotation)
                elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                        isinstance(d, ast.Name) and d.id in ("property", "cached_property")
                        for d in item.decorator_list):
                    declare(item.name, item.returns)
        if path == models:
            in_models = set(verdict)
            verdict = {**saved, **verdict}
    del in_models
    return verdict


NON_TEXT_FIELDS = model_field_types()


@dataclass
class Finding:
    path: Path
    line: int
    what: str
    source: str

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {self.what}: {self.source}"


class Scope:
    """What is known in one function: its parameters' annotations and every assignment to a local name."""

    def __init__(self, func: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        self.params: dict[str, ast.expr | None] = {}
        self.assigned: dict[str, list[ast.expr | None]] = {}
        if func is None:
            return
        args = func.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            self.params[arg.arg] = arg.annotation
        for node in ast.walk(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.assigned.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                self.assigned.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind(node.target, ast.Subscript(value=node.iter, slice=ast.Constant(0)), element=True)
            elif isinstance(node, ast.NamedExpr):
                self._bind(node.target, node.value)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, None)

    def _bind(self, target: ast.expr, value: ast.expr | None, *, element: bool = False) -> None:
        """``element``: ``value`` stands for an element of an iterable (a loop's target): the element of a
        constant table, of enumerate(...)/zip(...) of safe values, is safe."""
        if isinstance(target, ast.Name):
            self.assigned.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for part in target.elts:
                self._bind(part, value, element=True)  # unpacked: as safe as the whole


class Checker:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self.lines = self.source.splitlines()
        self.tree = ast.parse(self.source)
        self.findings: list[Finding] = []
        self.markup = False  # checking an argument that Textual/Rich parse as markup when it is a str
        self.module_consts = {
            target.id for node in self.tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name) and target.id.isupper()
        }

    def self_assignments(self) -> dict[str, list[tuple[ast.expr, Scope]]]:
        """``self.X = value`` in every method of the module, with the method's scope."""
        if getattr(self, "_self_assigned", None) is None:
            found: dict[str, list[tuple[ast.expr, Scope]]] = {}
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    scope = Scope(node)
                    for sub in ast.walk(node):
                        if isinstance(sub, ast.Assign):
                            for target in sub.targets:
                                if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                        and target.value.id == "self"):
                                    found.setdefault(target.attr, []).append((sub.value, scope))
            self._self_assigned = found
        return self._self_assigned

    def safe_self_attr(self, attr: str, depth: int) -> bool:
        values = self.self_assignments().get(attr)
        if not values:
            return False
        return all(self.safe(value, scope, depth + 1) for value, scope in values)

    # -- safety of an expression --------------------------------------------------------------------------

    def safe(self, node: ast.expr | None, scope: Scope, depth: int = 0) -> bool:
        if node is None or depth > 12:
            return node is None
        recurse = lambda sub: self.safe(sub, scope, depth + 1)  # noqa: E731
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return all(recurse(value) for value in node.values)
        if isinstance(node, ast.FormattedValue):
            return node.format_spec is not None or recurse(node.value)
        if isinstance(node, ast.BinOp):
            return recurse(node.left) and recurse(node.right)
        if isinstance(node, ast.BoolOp):
            return all(recurse(value) for value in node.values)
        if isinstance(node, (ast.Compare, ast.UnaryOp)):
            return True if isinstance(node, ast.Compare) else recurse(node.operand)
        if isinstance(node, ast.IfExp):
            return recurse(node.body) and recurse(node.orelse)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(recurse(element) for element in node.elts)
        if isinstance(node, ast.Starred):
            return recurse(node.value)
        if isinstance(node, ast.Subscript):
            # CONSTANT_TABLE[key], {literal: table}[key], an element of a safe sequence
            return recurse(node.value)
        if isinstance(node, (ast.Dict,)):
            return all(recurse(value) for value in node.values)
        if isinstance(node, (ast.Set, ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return all(recurse(e) for e in getattr(node, "elts", [])) if isinstance(node, ast.Set) else recurse(
                node.elt)
        if isinstance(node, ast.Name):
            if node.id in self.module_consts or node.id.isupper():
                return True
            if node.id in scope.params and node.id not in scope.assigned:
                return bool(_annotation_names(scope.params[node.id]) & SAFE_ANNOTATIONS) and not (
                    _annotation_names(scope.params[node.id]) & {"str", "object", "Any"})
            values = scope.assigned.get(node.id)
            if not values:
                return False
            if node.id in scope.params:
                names = _annotation_names(scope.params[node.id])
                if not (names & SAFE_ANNOTATIONS) or names & {"str", "object", "Any"}:
                    return False
            # assignments may refer to the name itself (text = text + …): guard the recursion by depth
            return all(value is not None and recurse(value) for value in values)
        if isinstance(node, ast.Attribute):
            if NON_TEXT_FIELDS.get(node.attr, False) or node.attr.isupper():
                return True
            if node.attr in ("value", "name") and isinstance(node.value, ast.Attribute):
                return NON_TEXT_FIELDS.get(node.value.attr, False)  # an enum field's value
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return self.safe_self_attr(node.attr, depth)
            return False
        if isinstance(node, ast.Call):
            return self.safe_call(node, scope, depth)
        return False

    def safe_call(self, node: ast.Call, scope: Scope, depth: int) -> bool:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        recurse = lambda sub: self.safe(sub, scope, depth + 1)  # noqa: E731
        if self.markup:
            # a str here is parsed as markup: a cleaned str still carries "[@click=…]"; a renderable (Text,
            # Content, safe_text(...)) is drawn literally (its own argument is checked where it is built)
            if name in CLEAN_STR:
                return False
            if name in RENDERABLES:
                return True
        if name in CLEANERS:
            return True
        if name == "assemble":
            return all(self.safe_part(arg, scope, depth + 1) for arg in node.args)
        if name in DRAWN_FIRST_ARG:
            return not node.args or recurse(node.args[0])
        if name in NUMERIC_CALLS:
            return True
        if name in {"Group", "Table", "grid", "Padding", "Panel", "Columns", "Align"}:
            return True  # containers: their cells are checked where they are added
        if name == "str" and isinstance(func, ast.Name):
            return len(node.args) == 1 and recurse(node.args[0])
        if isinstance(func, ast.Attribute) and name == "get":
            # TABLE.get(key, default): the table's values or the default, never the key
            return recurse(func.value) and all(recurse(arg) for arg in node.args[1:])
        if isinstance(func, ast.Attribute) and name in STRING_METHODS:
            # "…".join(parts), TABLE.get(key, default), safe.upper(): as safe as the receiver and arguments
            return recurse(func.value) and all(recurse(arg) for arg in node.args)
        if name in RAW_CALLS:
            return False
        # the project's own helpers return renderables built (and scanned) where they are defined
        return True

    def safe_part(self, node: ast.expr, scope: Scope, depth: int) -> bool:
        """A part of Text.assemble: a safe expression, or a (text, style) tuple whose text is safe."""
        if isinstance(node, ast.Tuple) and node.elts:
            return self.safe(node.elts[0], scope, depth)
        return self.safe(node, scope, depth)

    # -- the places text is drawn --------------------------------------------------------------------------

    def report(self, node: ast.AST, what: str) -> None:
        line = node.lineno
        end = getattr(node, "end_lineno", line) or line
        span = self.lines[line - 1:end]
        if any(TRUSTED.search(text) for text in span):
            return
        self.findings.append(Finding(self.path, line, what, " ".join(s.strip() for s in span)[:160]))

    def run(self) -> list[Finding]:
        self._visit(self.tree, Scope(None), in_notify_untrusted=False)
        return self.findings

    def _visit(self, node: ast.AST, scope: Scope, *, in_notify_untrusted: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._visit(child, Scope(child), in_notify_untrusted=child.name == "notify_untrusted")
                continue
            if isinstance(child, ast.Call):
                self.check_call(child, scope, in_notify_untrusted)
            elif isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Attribute) and target.attr in ("border_title", "border_subtitle"):
                        if not self.safe_markup(child.value, scope):
                            self.report(child, f"{target.attr} from a value not cleaned")
            self._visit(child, scope, in_notify_untrusted=in_notify_untrusted)

    def safe_markup(self, node: ast.expr | None, scope: Scope) -> bool:
        """Safe where a str is parsed as markup (Static, Label, Button, a table cell, a border title)."""
        self.markup = True
        try:
            return self.safe(node, scope)
        finally:
            self.markup = False

    def check_call(self, node: ast.Call, scope: Scope, in_notify_untrusted: bool) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "notify" and isinstance(func, ast.Attribute) and not in_notify_untrusted:
            if self._is_condition_notify(func):
                return
            if node.args and isinstance(node.args[0], ast.Constant) and all(
                    keyword.arg != "title" or isinstance(keyword.value, ast.Constant) for keyword in node.keywords):
                return  # our own words, written here
            self.report(node, "notify() outside notify_untrusted (use notify_untrusted)")
            return
        if name in DRAWN_FIRST_ARG and isinstance(func, ast.Name) and node.args:
            check = self.safe if name in ("Text", "Content") else self.safe_markup
            if not check(node.args[0], scope):
                self.report(node, f"{name}() of a value not cleaned")
            for keyword in node.keywords:
                if keyword.arg == "markup" and not (isinstance(keyword.value, ast.Constant)
                                                    and keyword.value.value is False):
                    self.report(node, f"{name}(markup=…) not False")
        elif name == "assemble":
            for arg in node.args:
                if not self.safe_part(arg, scope, 0):
                    self.report(node, "Text.assemble() part not cleaned")
                    break
        elif name == "append" and isinstance(func, ast.Attribute) and (len(node.args) >= 2 or any(
                keyword.arg == "style" for keyword in node.keywords)):
            if node.args and not self.safe(node.args[0], scope):
                self.report(node, "Text.append() of a value not cleaned")
        elif name == "add_row" and isinstance(func, ast.Attribute):
            if not all(self.safe_markup(arg, scope) for arg in node.args):
                self.report(node, "table cell not cleaned (a str cell is parsed as markup: use safe_text)")
        elif name == "update" and isinstance(func, ast.Attribute) and self._is_widget(func.value) and node.args:
            if not self.safe_markup(node.args[0], scope):
                self.report(node, "widget.update() of a value not cleaned (a str is parsed as markup)")

    @staticmethod
    def _is_condition_notify(func: ast.Attribute) -> bool:
        """threading.Condition.notify (self._cond.notify())."""
        value = func.value
        return isinstance(value, ast.Attribute) and "cond" in value.attr or (
            isinstance(value, ast.Name) and "cond" in value.id)

    @staticmethod
    def _is_widget(node: ast.expr) -> bool:
        """``self.query_one(...)``, ``self`` in a widget, or a local named like a widget."""
        if isinstance(node, ast.Call):
            func = node.func
            return isinstance(func, ast.Attribute) and func.attr in ("query_one", "get_child_by_id", "get_widget_by_id")
        if isinstance(node, ast.Name):
            return node.id in ("self", "strip", "bar", "answer", "label", "static", "widget", "body", "panel")
        return False


def scan() -> list[Finding]:
    findings: list[Finding] = []
    for path in python_files():
        findings.extend(Checker(path).run())
    return findings


def test_no_untrusted_text_reaches_the_screen_uncleaned():
    findings = scan()
    assert not findings, "text drawn without cleaning:\n" + "\n".join(map(str, findings))


# -- the scanner itself catches what it is meant to -------------------------------------------------------------


HOLES = {
    "text_of_attr": "def f(step):\n    return Text(step.title)\n",
    "static_of_param": "def f(message: str):\n    return Static(message)\n",
    "label_of_fstring": "def f(err):\n    return Label(f'failed: {err}')\n",
    "notify_direct": "def f(self, err):\n    self.notify(str(err))\n",
    "update_str": "def f(self, payload):\n    self.query_one('#x').update(payload.get('problem'))\n",
    "assemble_raw": "def f(marker):\n    return Text.assemble(('at ', 'dim'), (marker.label, 'bold'))\n",
    "append_raw": "def f(text, leaf):\n    text.append(leaf.text, style='bold')\n",
    "row_raw": "def f(table, event):\n    table.add_row(event.kind, event.summary)\n",
    "title_raw": "def f(self, app):\n    self.border_title = app.name\n",
    "local_raw": "def f(err):\n    shown = f'cannot: {err}'\n    return Text(shown)\n",
    "static_of_clean": "def f(m):\n    return Static(clean(m.name))\n",
    "cell_of_clean": "def f(table, m):\n    table.add_row(clean(m.name), 'x')\n",
    "title_of_clean": "def f(self, m):\n    self.border_title = f'1 {clean(m.name)}'\n",
}
CLEAN = {
    "notify_literal": "def f(self):\n    self.notify('only one context', timeout=2)\n",
    "literal": "def f():\n    return Text('Runbook done.', style='bold')\n",
    "cleaned": "def f(step):\n    return Text(clean(step.title))\n",
    "safe_text": "def f(step):\n    return Static(safe_text(step.title, 'bold'))\n",
    "number": "def f(count: int):\n    return Text(f'{count} pods')\n",
    "format_spec": "def f(at):\n    return Text(f'{at:%H:%M:%S}')\n",
    "assemble": "def f(m):\n    return Text.assemble(('at ', 'dim'), safe_text(m.label))\n",
    "local": "def f(m):\n    shown = clean(m)\n    return Text(f'[{shown}]')\n",
    "label_of_safe_text": "def f(m):\n    shown = safe_text(m)\n    return Label(shown)\n",
    "content": "def f(m):\n    return TabPane(Content(clean(m.name)))\n",
    "trusted": "def f(m):\n    return Text(m.kind)  # trusted: one of our own enum's values\n",
    "untrusted_notify": "def f(self, err):\n    notify_untrusted(self, str(err))\n",
}


@pytest.mark.parametrize("name", sorted(HOLES))
def test_scanner_finds_the_hole(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(HOLES[name], encoding="utf-8")
    assert Checker(path).run(), f"the scanner missed: {HOLES[name]}"


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_scanner_passes_clean_code(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(CLEAN[name], encoding="utf-8")
    assert not Checker(path).run(), f"the scanner refused: {CLEAN[name]}"
