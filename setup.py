"""Wheel build step: the MovieLens example project goes into the wheel as package data.

The example's folders (netflix_elt/scaffold.py: EXAMPLE_FOLDERS) live at the top of the
repository, where the CLI and notebooks use them; `netflix-elt new DIR` needs them in an installed
wheel too, so build_py copies them to netflix_elt/example/ in the build folder. The top-level
`transforms` package stays importable in an editable install (notebooks in the checkout) but is
left out of a built wheel: there it would shadow the `transforms` of the user's own project.
Everything else is declared in pyproject.toml.
"""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("_scaffold", HERE / "src" / "netflix_elt" / "scaffold.py")
scaffold = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scaffold)


class BuildWithExample(build_py):
    def finalize_options(self):
        super().finalize_options()
        if not self.editable_mode:
            self.packages = [p for p in self.packages if p.split(".")[0] != "transforms"]

    def run(self):
        super().run()
        if not self.editable_mode:
            scaffold.copy_example(HERE, Path(self.build_lib) / "netflix_elt" / scaffold.EXAMPLE_PACKAGE_DIR)


setup(cmdclass={"build_py": BuildWithExample})
