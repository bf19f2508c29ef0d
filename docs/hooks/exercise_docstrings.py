"""mkdocs hook: docs/learn.md shows the docstrings of the exercise files, read from
the templates in microattn/learn/templates/ (so the page and the files cannot
differ), each function's math as a code block, where the marker line stands."""
import ast
from pathlib import Path

MARKER = "<!-- exercise docstrings -->"
TEMPLATES = Path(__file__).resolve().parents[2] / "microattn" / "learn" / "templates"


def _documented(tree):
    """(qualified name, docstring) of every function and class, methods included."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            yield node.name, ast.get_docstring(node)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and ast.get_docstring(item):
                    yield f"{node.name}.{item.name}", ast.get_docstring(item)


def exercise_docstrings():
    """The markdown that replaces the marker: one section per exercise file."""
    parts = []
    for path in sorted(TEMPLATES.glob("ex*.py")):
        documented = list(_documented(ast.parse(path.read_text(encoding="utf-8"))))
        if not documented:
            continue
        parts.append(f"**`{path.name}`**\n")
        for name, doc in documented:
            parts.append(f"`{name}`\n\n```text\n{doc}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown, page, **kwargs):
    if page.file.src_path == "learn.md":
        return markdown.replace(MARKER, exercise_docstrings())
    return markdown
