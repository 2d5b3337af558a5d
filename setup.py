"""Installs the pgan_tf package (APGAN+TTUR in TensorFlow 2 / Keras 3).

TensorFlow comes in several distributions that all install the same ``tensorflow/`` folder
(``tensorflow``, ``tensorflow-cpu``, ...). Two of them in one environment overwrite each other's
files, so we require exactly one: ``PGAN_TF_PACKAGE`` names it (the Makefile sets it to
``tensorflow-cpu`` on machines without an NVIDIA GPU); without the variable we keep whichever
distribution is already installed and otherwise ask for ``tensorflow``.
"""
import importlib.metadata
import os

from setuptools import find_packages, setup

_TF_RANGE = ">=2.16,<3"
_TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu")


def _tensorflow_requirement():
    """One TensorFlow distribution: $PGAN_TF_PACKAGE, else the installed one, else `tensorflow`."""
    name = os.environ.get("PGAN_TF_PACKAGE", "").strip()
    if not name:
        for candidate in _TF_DISTRIBUTIONS:
            try:
                importlib.metadata.version(candidate)
            except importlib.metadata.PackageNotFoundError:
                continue
            name = candidate
            break
    return (name or "tensorflow") + _TF_RANGE


def _version():
    scope = {}
    with open(os.path.join(os.path.dirname(__file__), "pgan_tf", "__init__.py")) as f:
        exec(f.read(), scope)  # __init__ holds only __version__
    return scope["__version__"]


setup(
    name="pgan_tf",
    version=_version(),
    description="APGAN+TTUR: class-conditional progressive GAN with SNL attention (TF2/Keras 3)",
    python_requires=">=3.10",
    packages=find_packages(include=["pgan_tf", "pgan_tf.*"]),
    install_requires=[
        _tensorflow_requirement(),
        "numpy",
        "scikit-image",
        "scipy",
        "Augmentor",
        "absl-py",
        "tensorboard",
        "Pillow",
        "tqdm",
        "matplotlib",
    ],
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [
        "pgan-train=pgan_tf.cli.train:entry",
        "pgan-prepare=pgan_tf.cli.prepare:entry",
        "pgan-export=pgan_tf.cli.export:entry",
        "pgan-evaluate=pgan_tf.cli.evaluate:entry",
        "pgan-experiment=pgan_tf.cli.experiment:entry",
        "pgan-benchmark=pgan_tf.cli.benchmark:entry",
        "pgan-synthetic=pgan_tf.cli.synthetic:entry",
        "pgan-reproduce=pgan_tf.cli.reproduce:entry",
    ]},
)
