"""Sphinx configuration for the freshbooks_orm documentation site.

Build it with ``pip install -e '.[docs]'`` then ``sphinx-build -W -b html docs docs/_build``.

Nothing here is written by hand twice: the tutorial and how-to pages include sections of
README.rst (split at build time by ``_ext/readme_sections.py``), the API reference is autodoc of
every public name (``_ext/api_reference.py`` writes the module list and checks that every name of
``freshbooks_orm.__all__`` and of the public modules' ``__all__`` was documented), and the
resource reference is generated from the resource declarations (``_ext/resource_reference.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the checkout, when the package is not installed

import freshbooks_orm  # noqa: E402

project = "freshbooks_orm"
author = "freshbooks_orm contributors"
copyright = "freshbooks_orm contributors"
release = version = freshbooks_orm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_parser",
    "readme_sections",
    "api_reference",
    "resource_reference",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# benchmarks-section.rst is README's copy of the benchmark tables (python -m bench writes it).
exclude_patterns = ["_build", "_generated/*.inc", "benchmarks-section.rst"]
templates_path: list[str] = []

html_theme = "alabaster"
html_title = f"freshbooks_orm {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "A Django-style ORM for the FreshBooks accounting API"}

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = True
autoclass_content = "class"
python_use_unqualified_type_names = True

myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
