"""mkdocs hook: the docstrings name things the reStructuredText way
(:class:`Tensor`, :func:`tensor`); markdown renders the role as text before the
code. Drop the role and keep the name in code type."""
import re

ROLE = re.compile(r":(?:class|func|meth|mod|attr|obj|data|exc):(<code>)")


def on_page_content(html, **kwargs):
    return ROLE.sub(r"\1", html)
