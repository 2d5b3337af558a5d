"""Installs the pgan_tf package (APGAN+TTUR in TensorFlow 2 / Keras 3).

Static metadata: nothing here looks at the installed packages, so a wheel built anywhere (pip's
isolated build environment included) asks for the same requirements.

TensorFlow comes in several distributions that all install the same ``tensorflow/`` folder and
overwrite each other's files, so the base requirements name none of them. Choose with an extra:
``pip install '.[cpu]'`` (``tensorflow-cpu``), ``pip install '.[gpu]'`` (``tensorflow[and-cuda]``,
NVIDIA), or plain ``pip install .`` into an environment that already has TensorFlow >=2.16,<3.
"""
import os
import re

from setuptools import find_packages, setup

_TF_RANGE = ">=2.16,<3"   # Keras 3 is TF's Keras from 2.16 on; TF 3 may change the APIs we use


def _version():
    """`__version__` of pgan_tf/__init__.py, read as text (importing would need the package)."""
    with open(os.path.join(os.path.dirname(__file__), "pgan_tf", "__init__.py"),
              encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _readme():
    """README.md: the package page's description (PyPI and `pip show` render it)."""
    with open(os.path.join(os.path.dirname(__file__), "README.md"), encoding="utf-8") as f:
        return f.read()


setup(
    name="pgan_tf",
    version=_version(),
    description="APGAN+TTUR: class-conditional progressive GAN with SNL attention (TF2/Keras 3)",
    long_description=_readme(),
    long_description_content_type="text/markdown",
    # No project URL: the project has no public home yet.
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Intended Audience :: Science/Research",
        "Operating System :: POSIX :: Linux",
        "Environment :: GPU :: NVIDIA CUDA",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Image Processing",
        "Topic :: Scientific/Engineering :: Medical Science Apps.",
    ],
    license="Apache-2.0",
    license_files=["LICENSE"],
    python_requires=">=3.10",
    packages=find_packages(include=["pgan_tf", "pgan_tf.*"]),
    # The paper's flagfiles, read by pgan-reproduce (a clone's flags/*.cfg include these).
    package_data={"pgan_tf": ["flags/*.cfg"]},
    install_requires=[
        "keras>=3",
        "numpy",
        "scikit-image",
        "scipy",
        "Augmentor",
        "absl-py",
        "tensorboard",
        "Pillow",
        "tqdm",
        "matplotlib",
        "safetensors",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu" + _TF_RANGE],
        "gpu": ["tensorflow[and-cuda]" + _TF_RANGE],
        "test": ["pytest"],
    },
    entry_points={"console_scripts": [
        "pgan-train=pgan_tf.cli.train:entry",
        "pgan-prepare=pgan_tf.cli.prepare:entry",
        "pgan-export=pgan_tf.cli.export:entry",
        "pgan-evaluate=pgan_tf.cli.evaluate:entry",
        "pgan-experiment=pgan_tf.cli.experiment:entry",
        "pgan-benchmark=pgan_tf.cli.benchmark:entry",
        "pgan-synthetic=pgan_tf.cli.synthetic:entry",
        "pgan-convert-weights=pgan_tf.cli.convert_weights:entry",
        "pgan-gpu-plan=pgan_tf.cli.gpu_plan:entry",
        "pgan-reproduce=pgan_tf.cli.reproduce:entry",
    ]},
)
