"""The apps are layered, and each imports only downward through the public modules of the one below.

``supportbot`` → ``reporting`` → ``conversations`` → ``routing`` → ``helpcentre`` (docs/architecture.md).
Read from the source (every import statement, including those inside functions), not from what
happens to be loaded, so an import on a rarely taken path counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("supportbot", "reporting", "conversations", "routing", "helpcentre")
# What another app may import: writes, reads, the typed facade and the tables (for queries and keys).
PUBLIC_MODULES = frozenset({"services", "selectors", "types", "models"})
# The project wiring mounts the apps' pages and sockets.
WIRING_MODULES = frozenset({"urls", "ws_urls"})
FORBIDDEN_TOP_LEVEL = frozenset({"bench", "tests"})


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "conversations.answering"
    target: str  # the imported module or name, e.g. "routing.services.gateway_get"
    line: int

    @property
    def where(self) -> str:
        return f"{self.source.replace('.', '/')}.py:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports_in(tree: ast.AST, source: str) -> list[Import]:
    found: list[Import] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            continue  # annotations only: never executed
        if isinstance(node, ast.Import):
            found.extend(Import(source, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend(Import(source, f"{node.module}.{alias.name}", node.lineno) for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def product_imports() -> list[Import]:
    imports = []
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            imports.extend(_imports_in(ast.parse(path.read_text(), filename=str(path)), _module_name(path)))
    return imports


def _app(module: str) -> str:
    return module.split(".", 1)[0]


def _target_module(target: str) -> str:
    """The second part of an app-qualified name: ``routing.services.x`` -> ``services``."""
    parts = target.split(".")
    return parts[1] if len(parts) > 1 else ""


def layering_violations(imports: list[Import]) -> list[str]:
    problems = []
    for item in imports:
        source_app, target_app = _app(item.source), _app(item.target)
        if target_app in FORBIDDEN_TOP_LEVEL:
            problems.append(f"{item.where}: product code never imports {target_app}/")
        if target_app not in LAYERS or target_app == source_app:
            continue
        if LAYERS.index(target_app) < LAYERS.index(source_app):
            problems.append(f"{item.where}: {source_app} is below {target_app}, so it may not import it")
            continue
        module = _target_module(item.target)
        allowed = PUBLIC_MODULES | (WIRING_MODULES if source_app == "supportbot" else frozenset())
        admin_to_admin = module == "admin" and item.source.endswith(".admin")
        if module and module not in allowed and not admin_to_admin:
            problems.append(f"{item.where}: other apps use {target_app} only through {sorted(allowed)}")
    return problems


def app_cycles(imports: list[Import]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        source_app, target_app = _app(item.source), _app(item.target)
        if target_app in LAYERS and target_app != source_app:
            graph[source_app].add(target_app)
    return _cycles(graph)


def module_cycles(imports: list[Import]) -> list[list[str]]:
    modules = {item.source for item in imports}
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        target = item.target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != item.source:
            graph[item.source].add(target)
    return _cycles(graph)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_import_goes_down_a_layer_through_a_public_module():
    imports = product_imports()
    assert len(imports) > 500  # the source was read
    assert layering_violations(imports) == []


def test_no_cycle_between_apps_nor_between_modules():
    imports = product_imports()
    assert app_cycles(imports) == []
    assert module_cycles(imports) == []


def test_settings_import_no_app_code():
    tree = ast.parse((ROOT / "supportbot" / "settings.py").read_text())
    imported = {_app(item.target) for item in _imports_in(tree, "supportbot.settings")}
    assert imported.isdisjoint(set(LAYERS) - {"supportbot"})


@pytest.mark.parametrize(
    ("source", "target", "complaint"),
    [
        ("routing.gateway", "conversations.models.Message", "may not import"),
        ("helpcentre.retrieval", "routing.services.gateway_get", "may not import"),
        ("conversations.answering", "routing.gateway.Gateway", "only through"),
        ("conversations.consumers", "supportbot.asgi", "may not import"),
        ("reporting.metrics", "bench.report", "never imports bench"),
        ("routing.cache", "tests.conftest", "never imports tests"),
        ("reporting.views", "conversations.urls", "only through"),
    ],
)
def test_the_check_catches_each_kind_of_wrong_import(source, target, complaint):
    (problem,) = layering_violations([Import(source, target, 1)])
    assert complaint in problem


def test_the_check_allows_what_the_layers_allow():
    allowed = [
        Import("conversations.answering", "routing.services.gateway_get", 1),
        Import("conversations.turns", "routing.types.TierName", 1),
        Import("reporting.dashboard", "conversations.models.Conversation", 1),
        Import("routing.services", "helpcentre.selectors.passages_for_prompt", 1),
        Import("conversations.admin", "routing.admin.TotalsChangeListMixin", 1),
        Import("supportbot.asgi", "conversations.ws_urls.websocket_urlpatterns", 1),
        Import("conversations.answering", "conversations.turns.TurnPlan", 1),
    ]
    assert layering_violations(allowed) == []


def test_the_cycle_finder_finds_a_cycle_and_nothing_else():
    imports = [
        Import("conversations.handoff", "conversations.tasks.summary_make", 1),
        Import("conversations.tasks", "conversations.summaries.summary_run", 1),
        Import("conversations.summaries", "conversations.handoff.consoles_ring", 1),
        Import("conversations.turns", "conversations.handoff", 1),
    ]
    assert module_cycles(imports) == [["conversations.handoff", "conversations.summaries", "conversations.tasks"]]
    assert app_cycles([Import("routing.a", "conversations.b", 1), Import("conversations.b", "routing.a", 1)]) == [
        ["conversations", "routing"]
    ]
