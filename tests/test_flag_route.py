"""Every binary's flags come from its config dataclass (`pgan_tf/cli/flagconfig.py`): every number
is finite and in range before TensorFlow loads, absl's own errors are one line and exit 2, and
`--helpshort` lists the binary's flags.

The property test feeds nan, inf, -inf, a negative value and zero to every numeric flag of every
binary, in-process through the binary's own flags-to-config route on a fresh `flags.FlagValues`;
one subprocess per binary checks the exit code and the one-line stderr end to end.
"""
import dataclasses
import importlib
import json
import math
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from pgan_tf import cli
from pgan_tf import flagconfig
from pgan_tf.config import TrainConfig
from pgan_tf.config_fields import field, field_errors, range_text
from pgan_tf.errors import UserError
from tests.train_helpers import REPO, train_env

# console script -> binary module (setup.py's entry points)
BINARIES = {
    "pgan-train": "train", "pgan-prepare": "prepare", "pgan-export": "export",
    "pgan-evaluate": "evaluate", "pgan-experiment": "experiment", "pgan-benchmark": "benchmark",
    "pgan-synthetic": "synthetic", "pgan-convert-weights": "convert_weights",
    "pgan-gpu-plan": "gpu_plan", "pgan-reproduce": "reproduce",
}
VALUES = ("nan", "inf", "-inf", "-1", "0")
DICT_FLAGS = ("minibatch_dict", "max_minibatch_per_replica", "g_lr_dict", "d_lr_dict")


def _binary(script):
    """(module, fresh FlagValues with its flags, the names of its flags)."""
    module = importlib.import_module(f"pgan_tf.cli.{BINARIES[script]}")
    fv = flags.FlagValues()
    names = cli.define_binary_flags(module.define_flags, fv, module.__name__, main_module=script)
    return module, fv, names


def _required_args(fv, names):
    return [f"--{n}=x" for n in names if fv[n].default is None and _is_required(fv, n)]


def _is_required(fv, name):
    """absl keeps a required flag's check as a validator on it."""
    return any("must have a value other than None" in str(getattr(v, "message", ""))
               for v in fv[name].validators)


def _numeric(fv, names):
    return [n for n in names if isinstance(fv[n].parser, (flags.IntegerParser, flags.FloatParser))
            or n in DICT_FLAGS]


def _config(module, fv, argv):
    """The binary's config of `argv`: parse, then its own flags-to-config function."""
    fv.unparse_flags()
    flagconfig.parse(fv, argv)
    return module.config_from_flags(fv)


def _as_json(config):
    """config.json's text (allow_nan=False: a bare NaN or Infinity raises)."""
    configs = config if isinstance(config, tuple) else (config,)
    return json.dumps([dataclasses.asdict(c) for c in configs], allow_nan=False, default=str)


@pytest.mark.parametrize("script", sorted(BINARIES))
def test_every_numeric_flag_is_finite_and_in_range(script):
    module, fv, names = _binary(script)
    required = _required_args(fv, names)
    numeric = _numeric(fv, names)
    assert numeric or script == "pgan-convert-weights"
    accepted = []
    for name in numeric:
        for value in VALUES:
            text = f"4:{value}" if name in DICT_FLAGS else value
            try:
                config = _config(module, fv, [script, *required, f"--{name}={text}"])
            except UserError as err:
                message = str(err)
                assert len(message.splitlines()) == 1, (name, value, message)
                assert f"--{name}" in message, (name, value, message)
                continue
            _as_json(config)  # never a non-finite number in a config
            assert value in ("0", "-1") and name not in DICT_FLAGS, (name, value)
            if value == "-1":  # only a documented 'automatic' sentinel may be negative
                assert re.search(r"(^|\W)-1 = ", fv[name].help), f"--{name}={value} accepted"
                continue
            # an accepted zero is documented in the help: its range holds 0, or "0 = ..."
            assert re.search(r"\b0 =|0/1|>= 0\b|in \[(0|-1)\b", fv[name].help), (name, fv[name].help)
            accepted.append(name)
    if script == "pgan-train":  # the documented zeros of the brief, and the refused ones
        assert {"seed", "swd_every_kimg", "tick_kimg", "g_smoothing"} <= set(accepted)
        assert not {"total_kimg", "g_lr", "d_lr", "adam_epsilon"} & set(accepted)


def test_known_bad_training_flags_each_get_one_line():
    module, fv, _ = _binary("pgan-train")
    bad = ["--total_kimg=inf", "--g_lr=nan", "--lod_training_kimg=nan", "--d_lr_dict=4:nan",
           "--swd_every_kimg=nan", "--seed=-1", "--g_smoothing=nan", "--wgan_lambda=nan",
           "--adam_beta1=nan", "--cond_weight=nan", "--adam_beta2=1.0", "--seed=4294967296"]
    with pytest.raises(UserError) as err:
        _config(module, fv, ["pgan-train", *bad])
    lines = str(err.value).splitlines()
    # one line per bad flag (--seed twice: the later value wins, as absl parses)
    assert len(lines) == len(bad) - 1, lines
    for flag in ("total_kimg", "g_lr", "lod_training_kimg", "d_lr_dict", "swd_every_kimg", "seed",
                 "g_smoothing", "wgan_lambda", "adam_beta1", "cond_weight", "adam_beta2"):
        assert sum(line.startswith(f"--{flag}") for line in lines) == 1, (flag, lines)
    ok = _config(module, fv, ["pgan-train", "--seed=4294967295", "--adam_beta2=0.999999",
                              "--g_smoothing=0", "--swd_every_kimg=0"])
    assert (ok.seed, ok.g_smoothing, ok.swd_every_kimg) == (2 ** 32 - 1, 0.0, 0.0)


def test_shared_check_against_hand_written_bounds():
    """`field_errors` against the bounds written out by hand, boundary values included."""
    @dataclasses.dataclass(frozen=True)
    class Demo:
        beta: float = field(0.5, "A beta.", lo=0.0, below=1.0)
        rate: float = field(0.1, "A rate.", above=0.0, hi=2.0)
        count: int = field(1, "A count.", lo=1)
        free: float = field(0.0, "Unbounded, but finite.")

    cases = {("beta", 0.0): True, ("beta", 1.0): False, ("beta", 0.999): True,
             ("rate", 0.0): False, ("rate", 2.0): True, ("rate", 2.5): False,
             ("count", 0): False, ("count", 1): True, ("free", -1e300): True,
             ("free", math.inf): False, ("beta", math.nan): False, ("count", True): True}
    for (name, value), ok in cases.items():
        errors = field_errors(Demo, {name: value})
        assert (not errors) == ok, (name, value, errors)
        assert all(re.match(rf"--{name}[= ]", e) for e in errors), errors
    assert range_text(dataclasses.fields(Demo)[0].metadata) == "in [0, 1)"
    assert range_text(dataclasses.fields(Demo)[1].metadata) == "in (0, 2]"
    assert range_text(dataclasses.fields(Demo)[2].metadata) == ">= 1"
    assert range_text(dataclasses.fields(Demo)[3].metadata) == ""


def test_saved_config_with_a_bare_nan_is_refused():
    data = TrainConfig().to_dict()
    data["g_smoothing"] = float("nan")
    with pytest.raises(UserError, match="--g_smoothing=nan"):
        TrainConfig.from_dict(data)


def test_nested_classifier_flags_build_the_classifier_config():
    module, fv, names = _binary("pgan-evaluate")
    assert {"epochs", "classifier_width", "classifier_batch_size", "classifier_learning_rate",
            "classifier_weights", "classifier_balanced"} <= set(names)
    config = _config(module, fv, ["pgan-evaluate", "--output=r.json", "--epochs=3", "--seed=9",
                                  "--classifier_width=8", "--classifier_learning_rate=0.5",
                                  "--classifier_balanced", "--metrics=swd,fid"])
    c = config.classifier
    assert (c.epochs, c.width, c.learning_rate, c.seed, c.balanced) == (3, 8, 0.5, 9, True)
    assert config.metrics == ("swd", "fid") and config.seed == 9
    module, fv, names = _binary("pgan-experiment")
    assert "classifier_balanced" not in names and "epochs" in names
    with pytest.raises(UserError, match="--classifier_learning_rate=nan"):
        _config(module, fv, ["pgan-experiment", "--data_dir=d", "--output_dir=o",
                             "--classifier_learning_rate=nan"])


def test_absl_errors_become_one_line():
    module, fv, _ = _binary("pgan-export")
    for argv, fragment in ((["--fmt=png"], "fmt"), (["--format=gif"], "--format"),
                           (["--num_per_class=x"], "--num_per_class"), ([], "--run_dir")):
        fv.unparse_flags()
        with pytest.raises(UserError) as err:
            flagconfig.parse(fv, ["pgan-export", "--output_dir=o", *argv])
        assert len(str(err.value).splitlines()) == 1 and fragment in str(err.value), err.value


@pytest.mark.parametrize("script", sorted(BINARIES))
def test_helpshort_lists_the_binary_flags(script, monkeypatch):
    """What absl's --helpshort prints: the key flags of the main module (sys.argv[0])."""
    _, fv, names = _binary(script)
    monkeypatch.setattr(sys, "argv", [script])
    text = fv.main_module_help()
    for name in names:
        assert re.search(rf"--(\[no\])?{name}:", text), (script, name)
    assert "Valid:" in text or script == "pgan-convert-weights"


# One subprocess per binary: bad numbers (and an out-of-range seed where it has one), exit 2,
# one "error:" line per bad flag, no traceback, nothing written.
END_TO_END = {
    "pgan-train": ["--run_dir={tmp}/run", "--data_dir={tmp}", "--total_kimg=nan", "--seed=-1"],
    "pgan-prepare": ["--input_dir={tmp}", "--output_dir={tmp}/run", "--seed=-1"],
    "pgan-export": ["--run_dir={tmp}", "--output_dir={tmp}/run", "--num_per_class=0"],
    "pgan-evaluate": ["--output={tmp}/run", "--memorization_threshold=nan",
                      "--classifier_learning_rate=-inf"],
    "pgan-experiment": ["--data_dir={tmp}", "--output_dir={tmp}/run", "--seed=-1"],
    "pgan-benchmark": ["--output={tmp}/run", "--g_lr=nan", "--steps=0"],
    "pgan-synthetic": ["--output_dir={tmp}/run", "--seed=4294967296"],
    "pgan-convert-weights": ["--input={tmp}/none", "--output={tmp}/run", "--bogus=1"],
    "pgan-gpu-plan": ["--output={tmp}/run", "--adam_beta2=1", "--d_lr_dict=8:inf"],
    "pgan-reproduce": ["--experiment=table2", "--data_dir={tmp}", "--work_dir={tmp}/run",
                       "--repeats=0", "--seed=-5"],
}


@pytest.mark.parametrize("script", sorted(BINARIES))
def test_bad_numbers_end_to_end(script, tmp_path):
    args = [a.format(tmp=tmp_path) for a in END_TO_END[script]]
    bad = [a for a in args if not a.startswith(("--run_dir", "--data_dir", "--input", "--output",
                                                "--experiment", "--work_dir"))]
    module = f"pgan_tf.cli.{BINARIES[script]}"
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=train_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == len(bad) and all(line.startswith("error: ") for line in lines), lines
    for arg in bad:
        assert any(arg.split("=")[0].lstrip("-") in line for line in lines), (arg, lines)
    assert not os.path.exists(tmp_path / "run")
