"""The catalogs: every text a person reads has its Simplified and Traditional Chinese, the
compiled catalogs are those of their sources, and no text is built where it cannot be
translated (an f-string as an error's detail)."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo

from hub.i18n.extract import ERRORS, HUB, METHODS, po_path, read, template
from hub.i18n.languages import LANGUAGES

CHINESE = ["zh_Hans", "zh_Hant"]
PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)s")


@pytest.fixture(scope="module")
def sources() -> dict[str, set[str]]:
    return {domain: {m.id for m in template(domain) if m.id} for domain in METHODS}


@pytest.mark.parametrize("code", CHINESE)
@pytest.mark.parametrize("domain", list(METHODS))
def test_every_text_people_read_has_a_translation(sources, code: str, domain: str) -> None:
    catalog = read(code, domain)
    done = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(sources[domain] - done)
    assert not missing, (f"{len(missing)} texts have no {code} translation in {po_path(code, domain)} "
                         f"(run `gate-hub i18n update`, then translate): {missing[:20]}")


@pytest.mark.parametrize("code", list(LANGUAGES))
@pytest.mark.parametrize("domain", list(METHODS))
def test_the_compiled_catalog_is_its_source(code: str, domain: str) -> None:
    source = read(code, domain)
    with po_path(code, domain).with_suffix(".mo").open("rb") as f:
        shipped = {m.id: m.string for m in read_mo(f) if m.id}
    wanted = {m.id: m.string for m in source if m.id and m.string and not m.fuzzy}
    assert shipped == wanted, f"{domain}.mo of {code} is older than its .po: run `gate-hub i18n update`"
    buf = io.BytesIO()
    write_mo(buf, source)  # and it is what Babel writes for it
    assert buf.getvalue() == po_path(code, domain).with_suffix(".mo").read_bytes()


@pytest.mark.parametrize("code", CHINESE)
@pytest.mark.parametrize("domain", list(METHODS))
def test_a_translation_keeps_the_placeholders_of_its_text(code: str, domain: str) -> None:
    wrong = [(m.id, m.string) for m in read(code, domain) if m.id and m.string
             and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))]
    assert not wrong, wrong[:10]


def _built_texts(tree: ast.AST) -> list[int]:
    """Lines where a domain error, ``_`` or ``N_`` is given a text built at run time."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in (*ERRORS, "_", "N_", "gettext"):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            continue
        if isinstance(first, ast.JoinedStr) or isinstance(first, (ast.IfExp, ast.BinOp)):
            lines.append(node.lineno)
    return lines


def test_no_text_is_built_where_it_cannot_be_translated() -> None:
    found = []
    for path in sorted(HUB.rglob("*.py")):
        for line in _built_texts(ast.parse(path.read_text(), str(path))):
            found.append(f"{path.relative_to(HUB.parent)}:{line}")
    assert not found, ("an error's detail is an f-string or an expression, so it cannot be translated: give a "
                       "template and its values instead, e.g. NotFound(\"no card {uid}\", uid=uid): " + ", ".join(found))
