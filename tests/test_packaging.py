"""Packaging: the wheel's metadata (static requirements, extras, entry points, licence).

The wheel is built once per module from a clean copy of the working tree (`wheel_helpers`), with
TensorFlow installed in this venv and PGAN_TF_PACKAGE set: a setup.py that probed either would
put a TensorFlow distribution into the base requirements.
"""
import configparser
import importlib
import os
import subprocess

import pytest

from pgan_tf.flagfiles import PACKAGE_DIR
from tests import wheel_helpers

pytestmark = pytest.mark.skipif(not wheel_helpers.is_git_checkout(),
                                reason="needs a git checkout to make a clean copy")
TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly",
                    "tf-nightly-cpu", "tensorflow-intel", "tensorflow-macos")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("PGAN_TF_PACKAGE", "tensorflow")  # the old probe's variable
    return wheel_helpers.build_wheel(str(tmp_path_factory.mktemp("wheel")))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _requires(wheel):
    """[(requirement, marker or '')] of the wheel's Requires-Dist lines."""
    out = []
    for line in wheel_helpers.wheel_file(wheel, ".dist-info/METADATA").splitlines():
        if line.startswith("Requires-Dist:"):
            req, _, marker = line.split(":", 1)[1].strip().partition(";")
            out.append((req.strip(), marker.strip()))
    return out


def _name(requirement):
    """Distribution name of a requirement string, lower case ('tensorflow[and-cuda]<3' -> ...)."""
    for i, ch in enumerate(requirement):
        if ch in "[<>=!~ ;":
            return requirement[:i].lower()
    return requirement.lower()


def test_base_requirements_name_no_tensorflow_and_declare_keras_3(wheel):
    base = [req for req, marker in _requires(wheel) if not marker]
    assert not [r for r in base if _name(r) in TF_DISTRIBUTIONS], base
    assert "keras>=3" in base
    for needed in ("numpy", "scipy", "scikit-image", "augmentor", "absl-py", "tensorboard"):
        assert needed in {_name(r) for r in base}, (needed, base)


def test_extras_choose_the_tensorflow_distribution(wheel):
    extras = {}
    for req, marker in _requires(wheel):
        if marker:
            extras.setdefault(marker.split("==")[1].strip().strip("\"'"), []).append(req)
    assert extras["cpu"] == ["tensorflow-cpu<3,>=2.16"]
    assert extras["gpu"] == ["tensorflow[and-cuda]<3,>=2.16"]
    assert extras["test"] == ["pytest"]


def test_every_binary_is_a_console_script(wheel):
    parser = configparser.ConfigParser()
    parser.read_string(wheel_helpers.wheel_file(wheel, ".dist-info/entry_points.txt"))
    scripts = dict(parser["console_scripts"])
    cli_dir = os.path.join(wheel_helpers.REPO, "pgan_tf", "cli")
    binaries = sorted(f[:-3] for f in os.listdir(cli_dir)
                      if f.endswith(".py") and f != "__init__.py")
    # Script names use dashes: pgan_tf/cli/convert_weights.py is `pgan-convert-weights`.
    assert {f"pgan-{b.replace('_', '-')}": f"pgan_tf.cli.{b}:entry" for b in binaries} == scripts
    for target in scripts.values():
        module, _, func = target.partition(":")
        assert callable(getattr(importlib.import_module(module), func))
    for name in ("train", "prepare", "export", "evaluate", "experiment", "benchmark", "synthetic"):
        assert f"pgan-{name}" in scripts


def test_wheel_holds_the_package_and_the_licence_only(wheel):
    members = wheel_helpers.wheel_members(wheel)
    tops = {m.split("/", 1)[0] for m in members}
    assert tops == {"pgan_tf", "pgan_tf-" + os.path.basename(wheel).split("-")[1] + ".dist-info"}
    assert "pgan_tf/cli/train.py" in members
    licence = wheel_helpers.wheel_file(wheel, ".dist-info/licenses/LICENSE")
    assert "Apache License" in licence and "Version 2.0" in licence
    metadata = wheel_helpers.wheel_file(wheel, ".dist-info/METADATA")
    assert "License: Apache-2.0" in metadata.splitlines()


def test_wheel_holds_the_paper_flagfiles(wheel):
    # pgan-reproduce reads them from the package: an installed wheel has no flags/ folder.
    shipped = sorted(f for f in os.listdir(PACKAGE_DIR) if f.endswith(".cfg"))
    assert {"pgan.cfg", "apgan.cfg", "apgan_ttur.cfg", "demo.cfg", "demo_eval.cfg"} <= set(shipped)
    for name in shipped:
        with open(os.path.join(PACKAGE_DIR, name), encoding="utf-8") as f:
            assert wheel_helpers.wheel_file(wheel, f"/flags/{name}") == f.read(), name


def test_wheel_describes_itself_with_the_readme_and_classifiers(wheel):
    metadata = wheel_helpers.wheel_file(wheel, ".dist-info/METADATA")
    head, _, body = metadata.partition("\n\n")
    assert "Description-Content-Type: text/markdown" in head.splitlines()
    with open(os.path.join(wheel_helpers.REPO, "README.md"), encoding="utf-8") as f:
        assert body.strip() == f.read().strip()
    classifiers = [line.split(": ", 1)[1] for line in head.splitlines()
                   if line.startswith("Classifier: ")]
    assert "Intended Audience :: Science/Research" in classifiers
    assert "Topic :: Scientific/Engineering :: Medical Science Apps." in classifiers
    assert not [line for line in head.splitlines() if line.startswith(("Project-URL", "Home-page"))]


def test_sdist_holds_what_make_test_needs(tmp_path):
    members = wheel_helpers.sdist_members(wheel_helpers.build_sdist(str(tmp_path)))
    tracked = subprocess.run(["git", "ls-files", "tests", "tools", "flags", "pgan_tf"],
                             cwd=wheel_helpers.REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = [path for path in tracked if path not in members]
    assert not missing, missing                       # conftest.py, the helpers, tools, flags
    for path in ("tests/conftest.py", "tests/eval_fixtures.py", "Makefile", "MANIFEST.in",
                 "README.md", "LICENSE", "CITATION.cff", "pgan_tf/flags/apgan_ttur.cfg"):
        assert path in members, path
    assert not [m for m in members if "__pycache__" in m or m.startswith(".git")]
