"""Split README.rst into its sections at build time, for the pages that show them.

README.rst is the front door: the tour, the resources and relations, the benchmarks and the
development notes live there, and the tutorial and development pages include them; the rest of
the prose lives in the pages themselves.  Each of README's level-2 sections (titles underlined
with ``-``) is written, without its title, to ``docs/_generated/readme-<slug>.inc`` (``A
five-minute tour`` -> ``readme-a-five-minute-tour``), which a page pulls in with ``.. include::
/_generated/readme-<slug>.inc``.  Each starts with a ``readme-<slug>`` label; README's references
to its own sections become ``:ref:`` links to those labels, and its links to documentation
sources (```querying <docs/tutorial.rst>`_``) become ``:doc:`` links, so they work on the site
(one to a section no page includes, or to a page that does not exist, fails the build).  A page
that includes a section README no longer has fails the build (a missing include is an error).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def split_sections(text: str) -> dict[str, tuple[str, str]]:
    """Level-2 sections of a reST document by slug: (title, body without the title lines)."""
    lines = text.splitlines()
    starts: list[tuple[int, str]] = []
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if (
            title.strip()
            and not title.startswith(" ")
            and re.fullmatch(r"-{3,}", under)
            and len(under) >= len(title.rstrip())
        ):
            starts.append((i, title.strip()))
    sections = {}
    for n, (start, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        sections[slug(title)] = (title, "\n".join(lines[start + 2 : end]).strip("\n") + "\n")
    return sections


def link_docs(body: str) -> str:
    """README's links to documentation sources become ``:doc:`` links on the site."""
    return re.sub(
        r"`([^`<]+?)\s*<docs/([^>#]+?)\.(?:rst|md)>`_",
        lambda m: f":doc:`{m.group(1)} </{m.group(2)}>`",
        body,
    )


def link_sections(body: str, titles: dict[str, str]) -> str:
    """README's references to its own sections (``Querying_``, ```Batch fixes`_``) become
    ``:ref:`` links to the ``readme-<slug>`` label of the page that includes that section."""
    for name, title in titles.items():
        target = f":ref:`{title} <readme-{name}>`"
        body = body.replace(f"`{title}`_", target)
        if " " not in title:
            body = re.sub(rf"(?<![\w`<]){re.escape(title)}_(?!\w)", target, body)
    return body


def write_sections(app: Sphinx) -> None:
    source = Path(app.srcdir)
    readme = (source.parent / "README.rst").read_text(encoding="utf-8")
    out = source / "_generated"
    out.mkdir(exist_ok=True)
    sections = split_sections(readme)
    titles = {name: title for name, (title, _) in sections.items()}
    for name, (_, text) in sections.items():
        body = f".. _readme-{name}:\n\n" + link_docs(link_sections(text, titles))
        target = out / f"readme-{name}.inc"
        if not target.exists() or target.read_text(encoding="utf-8") != body:
            target.write_text(body, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", write_sections)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
