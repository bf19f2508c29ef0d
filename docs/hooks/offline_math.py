"""mkdocs hook: copy MathJax's single-file TeX-to-SVG renderer into the site, so the
formulas render with no network (SVG output needs no web fonts). The file comes from
the `django-static-mathjax` package (MathJax 3, Apache-2.0; it has no dependencies),
which the `docs` extra installs."""
import shutil
from pathlib import Path

import mathjax


def on_post_build(config, **kwargs):
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
    target = Path(config["site_dir"]) / "js" / "mathjax-tex-svg.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
