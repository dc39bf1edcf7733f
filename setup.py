"""Build the bundle for pip from bundle_info.xml, so the XML stays the one source of truth.

ChimeraX's own bundle builder reads the same file (``devel build .``); pip and
``toolshed install`` of the wheel built here get the same name, version, dependencies,
ChimeraX classifiers and data files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from setuptools import setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).parent
INFO = ET.parse(HERE / "bundle_info.xml").getroot()
PACKAGE = INFO.get("package")


def _text(tag: str) -> str:
    node = INFO.find(tag)
    return " ".join(node.text.split()) if node is not None and node.text else ""


def _packages() -> dict[str, str]:
    """Map every folder under src/ holding an __init__.py to its dotted package name."""
    found = {}
    for init in sorted((HERE / "src").rglob("__init__.py")):
        rel = init.parent.relative_to(HERE / "src")
        name = ".".join((PACKAGE, *rel.parts)) if rel.parts else PACKAGE
        found[name] = str(init.parent.relative_to(HERE))
    return found


def _package_data() -> list[str]:
    patterns = [e.text.strip() for e in INFO.iter("DataFile")]
    for d in INFO.iter("DataDir"):
        root = HERE / "src" / d.text.strip()
        patterns += [str(p.relative_to(HERE / "src")) for p in root.rglob("*") if p.is_file()]
    return patterns


def _bundle_classifier() -> str:
    """The ``ChimeraX :: Bundle`` line, from the XML's attributes as ChimeraX's builder makes it."""
    categories = ",".join(c.get("name") for c in INFO.iter("Category"))
    sessions = f"{INFO.get('minSessionVersion', '1')},{INFO.get('maxSessionVersion', '1')}"
    return (f"ChimeraX :: Bundle :: {categories} :: {sessions} :: {PACKAGE} :: "
            f"{INFO.get('supersedes', '')} :: {INFO.get('customInit', '')}")


# Fields newer than metadata 2.1: pkginfo 1.9.6, which ChimeraX 1.6 and 1.7 pin and their
# toolshed reads bundles with, returns no name and no classifiers for a Metadata-Version it does
# not know (2.3, 2.4: setuptools >= 77 writes 2.4), so ``toolshed install`` would not see the
# bundle. None of these fields is one the bundle needs.
METADATA_VERSION = "2.1"
NEWER_FIELDS = ("dynamic", "license-expression", "license-file", "import-name",
                "import-namespace")


def readable_metadata(text: str) -> str:
    """``METADATA`` as Metadata-Version 2.1: the version line set, newer fields dropped.

    Only the header block changes; the description after the first blank line is kept as is.
    """
    head, sep, body = text.partition("\n\n")
    lines, skipping = [], False
    for line in head.splitlines():
        if line[:1] in (" ", "\t"):  # continuation of the previous field
            if not skipping:
                lines.append(line)
            continue
        field = line.split(":", 1)[0].strip().lower()
        skipping = field in NEWER_FIELDS
        if field == "metadata-version":
            line = f"Metadata-Version: {METADATA_VERSION}"
        if not skipping:
            lines.append(line)
    return "\n".join(lines) + (sep + body if sep else "\n")


class ChimeraXWheel(bdist_wheel):
    """Build the wheel as ChimeraX 1.6 to current take it, and only from the sources.

    - Named as ChimeraX's bundle builder names it, ``ChimeraX_DeepSSETracer-0.1.0-py3-none-
      any.whl``: recent setuptools lower-case the wheel's and the .dist-info's names
      (``chimerax_deepssetracer``), and ChimeraX's toolshed takes the bundle's name from them
      (``toolshed install`` matches the installed bundle by the wheel name's first field).
    - ``METADATA`` is Metadata-Version 2.1 (`readable_metadata`), whatever setuptools built it.
    - ``build/lib`` and the staging folder are emptied first: files left there by an earlier
      build (a module since deleted or renamed) would otherwise go into the wheel.
    """

    def run(self):
        import shutil
        import sys

        module = sys.modules[bdist_wheel.__module__]
        stale = [self.bdist_dir]
        if not self.skip_build:  # else build/lib is what was just built for it
            stale.append(self.get_finalized_command("build").build_lib)
        for folder in stale:
            if folder and Path(folder).is_dir():
                shutil.rmtree(folder)
        lowering = getattr(module, "safer_name", None)
        if lowering is not None:  # setuptools >= 70.1; older ones kept the case
            module.safer_name = lambda name: name.replace("-", "_")
        try:
            super().run()
        finally:
            if lowering is not None:
                module.safer_name = lowering

    def write_wheelfile(self, wheelfile_base, *args, **kwargs):
        # called once the .dist-info folder is complete, whether setuptools converted it from
        # the .egg-info or copied the one pip prepared; RECORD is written later, when zipping
        metadata = Path(wheelfile_base) / "METADATA"
        metadata.write_text(readable_metadata(metadata.read_text(encoding="utf-8")),
                            encoding="utf-8")
        return super().write_wheelfile(wheelfile_base, *args, **kwargs)


dependencies = [
    d.get("name") + d.get("version", "")
    for d in INFO.iter("Dependency")
    if not d.get("name").startswith("ChimeraX-")
]
packages = _packages()

# What each subcommand needs beyond the runtime dependencies above (numpy, mrcfile,
# onnxruntime: all that predict and the ChimeraX bundle use). "eval" is what `evaluate`
# imports (src/cli/extras.py EXTRA_MODULES names its modules, for the message when one is
# missing); "train" is "eval" plus PyTorch and the rest of training and `data`.
EVAL = ["scipy>=1.10", "gemmi>=0.6", "mdtraj>=1.9.9"]
EXTRAS = {
    "eval": EVAL,
    "train": ["torch==2.13.0", "onnx>=1.15", *EVAL, "matplotlib>=3.7", "tqdm>=4.60"],
    "test": ["pytest>=7", "onnx>=1.15"],
    "model": ["gemmi>=0.6"],  # predict --model (reading PDB/mmCIF files)
}

if __name__ == "__main__":  # pip and "python setup.py" run it so; tests import it
    setup(
        name=INFO.get("name"),
        version=INFO.get("version"),
        description=_text("Synopsis"),
        long_description=_text("Description"),
        author=_text("Author"),
        author_email=_text("Email") or None,  # empty: no Author-email / Home-page field at all
        url=_text("URL") or None,
        license="MIT",
        python_requires=">=3.9",
        packages=list(packages),
        package_dir=packages,
        package_data={PACKAGE: _package_data()},
        install_requires=dependencies,
        extras_require=EXTRAS,
        classifiers=[e.text.strip() for e in INFO.iter("PythonClassifier")]
        + [_bundle_classifier()]
        + [e.text.strip() for e in INFO.iter("ChimeraXClassifier")],
        cmdclass={"bdist_wheel": ChimeraXWheel},
        entry_points={"console_scripts": ["deepssetracer = chimerax.deepssetracer.cli:main"]},
        zip_safe=False,
    )
