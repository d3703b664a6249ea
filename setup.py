"""Packaging that pyproject.toml cannot say: the folder ``model/`` is the package ``svcplan``.

Every subpackage is found automatically (``find_packages``), so a new stage folder needs no
packaging edit and cannot vanish from the wheel while an editable install still imports it.
A folder of modules without ``__init__.py`` would not be found: tests/test_layout.py refuses
one, and CI installs the built wheel into a fresh environment and imports every module.
Everything else about the distribution is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    package_dir={"svcplan": "model"},
    packages=["svcplan", *(f"svcplan.{name}" for name in find_packages("model"))],
)
