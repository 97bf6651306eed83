"""The rollback decision tree as a navigable Tree, the pre-flight strip above it, and the recommendation below.

The widget shows ``cockpit.decide.Evaluation`` results: every question with its answer, how sure, and the facts
behind it with their source; the recommended path and leaf stand out.  ``y``/``n`` answer or override the node
under the cursor, ``x`` clears the person's answer, ``?`` explains the node, Enter on a leaf opens its runbook.
The widget never decides anything itself; it reports the person's input upwards as messages.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from cockpit.decide import LEAVES, NODES, ROOT, Answer, Evaluation, Leaf, pre_flight
from cockpit.textsafe import clean, safe_text

ANSWER_STYLE = {Answer.YES: "bold green", Answer.NO: "bold cyan", Answer.UNKNOWN: "bold yellow"}
STALE_TAG = " STALE"


class DecisionTree(Tree[tuple[str, str]]):
    """Diagram A: questions, their evidence, and the leaves; data = (kind, id) with kind node | leaf | fact."""

    BINDINGS = [
        Binding("y", "answer('yes')", "Yes"),
        Binding("n", "answer('no')", "No"),
        Binding("x", "answer('')", "Clear answer"),
        Binding("question_mark", "explain", "Explain", key_display="?"),
    ]

    DEFAULT_CSS = """
    DecisionTree { height: 1fr; padding: 0; background: $surface; }
    """

    class Answered(Message):
        def __init__(self, node_id: str, answer: str) -> None:
            super().__init__()
            self.node_id = node_id
            self.answer = answer  # "yes" | "no" | "" (clear)

    class Explained(Message):
        def __init__(self, node_id: str) -> None:
            super().__init__()
            self.node_id = node_id

    class LeafOpened(Message):
        def __init__(self, slot: str) -> None:
            super().__init__()
            self.slot = slot

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("Symptom: customer-visible regression", style="bold"), data=("root", ""), **kwargs)
        self.show_root = True
        self.guide_depth = 2
        self.evaluation: Evaluation | None = None
        self.stale_runbooks: set[str] = set()
        self.premortem: Any = None  # the recommended leaf's pre-mortem (its verdict is shown on the leaf)
        self.forecasts: dict[str, Any] = {}  # runbook id -> cockpit.forecast.Forecast

    # -- building --------------------------------------------------------------------------------------------

    def show(self, evaluation: Evaluation, *, leaf_for: Any = None) -> None:
        """Rebuild the tree for ``evaluation``; keep the cursor on the same node when it still exists."""
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.evaluation = evaluation
        self._leaf_for = leaf_for
        self.clear()
        self.root.expand()
        self._build_question(self.root, ROOT, on_path=True, edge="")
        if selected is None or selected == ("root", ""):
            # first sight: the cursor on what to do next (the recommended leaf, or the question to answer)
            if evaluation.leaf is not None and evaluation.leaf_slot:
                selected = ("leaf", evaluation.leaf_slot)
            elif evaluation.blocked_at:
                selected = ("node", evaluation.blocked_at)
        if selected is not None:
            self._move_to(selected)

    def _build_question(self, parent: TreeNode, node_id: str, *, on_path: bool, edge: str) -> None:
        evaluation = self.evaluation
        assert evaluation is not None
        result = evaluation.results[node_id]
        spec = NODES[node_id]
        on_path = on_path and node_id in evaluation.path
        label = Text()
        if edge:
            label.append(f"{clean(edge, limit=40)} → ", style="dim")
        label.append(result.answer.value.upper(), style=ANSWER_STYLE[result.answer] if on_path else "dim")
        if result.overridden:
            label.append(" (you)", style="magenta")
        label.append(" ")
        label.append_text(safe_text(result.question, "bold" if on_path else "dim", limit=200))
        if on_path and result.answer is not Answer.UNKNOWN:
            label.append(f"  {result.confidence.value}", style="dim italic")
        if evaluation.blocked_at == node_id:
            label.append("  ◀ answer this", style="bold yellow reverse")
        node = parent.add(label, data=("node", node_id), expand=on_path)
        for evidence in result.evidence:
            fact = Text("• ", style="dim")
            fact.append_text(safe_text(evidence.fact, limit=300))
            fact.append_text(safe_text(f"  ({evidence.source})", "dim italic", limit=120))
            node.add_leaf(fact, data=("fact", node_id))
        if not result.evidence and result.explain:
            node.add_leaf(safe_text(f"• {result.explain}", "dim", limit=300), data=("fact", node_id))
        taken = None
        if on_path and result.answer is not Answer.UNKNOWN:
            taken = spec.yes if result.answer is Answer.YES else spec.no
        for edge_label, target in ((spec.yes_label, spec.yes), (spec.no_label, spec.no)):
            follows = on_path and target == taken
            if target in NODES:
                self._build_question(node, target, on_path=follows, edge=edge_label)
            else:
                self._build_leaf(node, target, recommended=follows, edge=edge_label)

    def _build_leaf(self, parent: TreeNode, slot: str, *, recommended: bool, edge: str) -> None:
        evaluation = self.evaluation
        assert evaluation is not None
        leaf: Leaf = evaluation.leaf if recommended and evaluation.leaf is not None else LEAVES[slot]
        label = Text()
        label.append(f"{clean(edge, limit=40)} → ", style="dim")
        if recommended:
            label.append("★ ", style="bold green")
        label.append_text(safe_text(leaf.title, "bold reverse green" if recommended else "dim", limit=200))
        if leaf.rto:
            label.append(f"  RTO {clean(leaf.rto, limit=40)}", style="dim")
        if leaf.runbook and leaf.runbook in self.stale_runbooks:
            label.append(STALE_TAG, style="bold yellow")
        if recommended and self.premortem is not None:
            from cockpit.widgets.premortem import verdict_badge

            label.append("  ")
            label.append_text(verdict_badge(self.premortem))
        forecast = self.forecasts.get(leaf.runbook) if leaf.runbook else None
        if forecast is not None:
            label.append_text(safe_text(f"  {forecast.text}", "dim", limit=120))
        # the recommended leaf opens what the evaluation recommends there (after a data rollback: the code runbook)
        node = parent.add(label, data=("leaf", slot), expand=recommended, allow_expand=recommended)
        if recommended:
            for evidence in evaluation.leaf_evidence:
                node.add_leaf(safe_text(f"• {evidence.fact}", "dim", limit=300), data=("fact", slot))

    def _move_to(self, data: tuple[str, str]) -> None:
        def walk(node: TreeNode) -> TreeNode | None:
            if node.data == data:
                return node
            for child in node.children:
                found = walk(child)
                if found is not None:
                    return found
            return None

        found = walk(self.root)
        if found is not None:
            parent = found.parent
            while parent is not None:
                parent.expand()
                parent = parent.parent
            # line numbers exist only after the tree has laid its lines out again
            self.call_after_refresh(self.move_cursor, found)

    # -- keys ------------------------------------------------------------------------------------------------

    def _current(self) -> tuple[str, str] | None:
        node = self.cursor_node
        while node is not None and node.data is not None and node.data[0] == "fact":
            node = node.parent
        return node.data if node is not None else None

    def action_answer(self, answer: str) -> None:
        current = self._current()
        if current is None or current[0] != "node":
            self.notify("Put the cursor on a question to answer it (y / n).", timeout=3)
            return
        self.post_message(self.Answered(current[1], answer))

    def action_explain(self) -> None:
        current = self._current()
        if current is not None and current[0] in ("node", "leaf"):
            self.post_message(self.Explained(current[1]))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if data is not None and data[0] == "leaf":
            event.stop()
            self.post_message(self.LeafOpened(data[1]))


class PreflightStrip(Static):
    """The seed's three checks before every rollback: flag flip? forward-only migration? blast radius?"""

    DEFAULT_CSS = """
    PreflightStrip { height: auto; max-height: 10; padding: 0 1; background: $boost; }
    """

    def show(self, evaluation: Evaluation) -> None:
        limit = 240 if (self.app.size.width if self.is_attached else 200) >= 120 else 90
        text = Text("PRE-FLIGHT", style="bold")
        for line in pre_flight(evaluation):
            style = {"yes": "bold red" if line.check.startswith("Forward") else "bold green",
                     "no": "green" if line.check.startswith("Forward") else "cyan",
                     "unknown": "bold yellow"}.get(line.answer, "bold")
            text.append("\n")
            text.append(clean(line.check, limit=60) + " ", style="bold")
            text.append(clean(line.answer, limit=60), style=style)
            if line.detail:
                text.append(" — ")
                text.append_text(safe_text(line.detail, limit=limit))
        self.update(text)


class DecisionPanel(Vertical):
    """Pre-flight strip, the tree, and the recommendation line: the layer decision at a glance."""

    DEFAULT_CSS = """
    DecisionPanel { border: round $panel-lighten-2; height: 1fr; padding: 0; }
    DecisionPanel:focus-within { border: round $accent; }
    DecisionPanel > #recommendation { height: auto; max-height: 4; padding: 0 1; }
    DecisionPanel > #problems { height: auto; max-height: 3; padding: 0 1; color: $warning; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "t Decision tree"

    def compose(self) -> ComposeResult:
        yield PreflightStrip(Text("PRE-FLIGHT: gathering evidence…", style="dim"), id="preflight")
        yield DecisionTree(id="tree")
        yield Static(id="recommendation")
        yield Static(id="problems")

    def show(self, view: Any) -> None:
        """Draw a ``cockpit.session.DecisionView`` (evaluation, problems, STALE runbooks)."""
        evaluation: Evaluation = view.evaluation
        problems: tuple[str, ...] = view.problems
        tree = self.query_one(DecisionTree)
        premortem = getattr(view, "premortem", None)
        forecasts = dict(getattr(view, "forecasts", None) or {})
        drawn = (evaluation, problems, frozenset(view.stale_runbooks), premortem,
                 tuple(sorted((k, f.text) for k, f in forecasts.items())))
        if drawn == getattr(self, "_drawn", None):
            return  # nothing new: the tree is not rebuilt under the person's cursor
        self._drawn = drawn
        tree.stale_runbooks = set(view.stale_runbooks)
        tree.premortem = premortem
        tree.forecasts = forecasts
        tree.show(evaluation)
        self.query_one(PreflightStrip).show(evaluation)
        line = Text()
        outcome = getattr(evaluation, "outcome", "")
        if outcome:
            style = {"MITIGATED": "bold reverse green", "VERIFYING": "bold reverse cyan"}.get(outcome,
                                                                                            "bold reverse red")
            line.append(f" {clean(outcome, limit=40)} ", style=style)
            line.append(" ")
            line.append_text(safe_text(evaluation.outcome_detail, limit=300))
            line.append("\n")
        if evaluation.leaf is not None and outcome == "MITIGATED":
            line.append("NEXT ", style="bold green")
            line.append_text(safe_text(evaluation.leaf.title.removeprefix("MITIGATED: "), "bold", limit=200))
        elif evaluation.leaf is not None:
            line.append("RECOMMENDED ", style="bold green")
            line.append_text(safe_text(evaluation.leaf.title, "bold", limit=200))
            if evaluation.leaf.runbook:
                line.append(f"  (Enter on ★ opens {clean(evaluation.leaf.runbook, limit=80)})", style="dim")
            if tree.premortem is not None:
                from cockpit.widgets.premortem import verdict_line

                line.append("\n")
                line.append_text(verdict_line(tree.premortem, more="in the confirmation"))
        else:
            line.append("ASK ", style="bold yellow")
            line.append_text(safe_text(evaluation.ask, limit=400))
            line.append("  (y / n on the marked question)", style="dim")
        self.query_one("#recommendation", Static).update(line)
        shown = Text()
        for index, problem in enumerate(problems):
            if index:
                shown.append("\n")
            shown.append_text(safe_text(f"! {problem}", limit=600))
        self.query_one("#problems", Static).update(shown)
        self.border_subtitle = "the cockpit never acts on its own: you decide"
