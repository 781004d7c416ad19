"""Sphinx configuration: Markdown pages (MyST) and an API reference from the docstrings."""

import symhess

project = "symhess"
author = "The symhess developers"
copyright = "2026, The symhess developers"
release = version = symhess.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",       # Google-style docstrings
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
default_role = "code"            # `name` in a docstring is code, as in the Markdown pages

html_theme = "alabaster"
html_title = f"symhess {release}"
