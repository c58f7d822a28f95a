"""axe-core (Deque's accessibility engine, the copy the axe-playwright-python wheel ships) run
in a page: its serious and critical violations, said plainly enough to fix."""

from __future__ import annotations

from pathlib import Path

import axe_playwright_python

AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    """One line per serious or critical violation on ``page`` as it is now (rule, impact, the
    first elements it names). Evaluated over the DevTools protocol, so the hub's CSP, which
    forbids any script but its own files, does not stop the engine."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;true")
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in found if v["impact"] in SERIOUS]


def sideways(page) -> int:
    """How many pixels the page scrolls sideways (0: it fits its width)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
