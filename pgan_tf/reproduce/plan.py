"""An experiment as an ordered list of steps, each one subprocess command with the file it makes.

    table1: train + evaluate PGAN and APGAN with SNL at R/4, R/2, R (paper: 32, 64, 128 at 128x128)
    table2: train + evaluate PGAN, APGAN, APGAN+TTUR (pgan.cfg, apgan.cfg, apgan_ttur.cfg)
    fig8:   table2's training and evaluation steps (in WORK/table2: the same commands, shared with
            table2 and skipped when done), then the augmentation experiment on its runs, each at
            its best GAN-test checkpoint (`FIG8_BEST`), sampled with another seed

Every model is trained once per GAN seed (`Options.gan_seeds`; `pgan-train --seed`): the default
seed's run keeps WORK/<experiment>/runs/<model>, another seed's is runs/<model>-s<seed>, so adding
seeds to a work dir trains and evaluates only the new runs.

Every training run is `pgan-train --flagfile=<package>/flags/<model>.cfg <scale flags> <experiment
flags>` (the flagfiles ship inside the package: `flagfiles.PACKAGE_DIR`);
its config is built by the train binary's own parser (`config_from_args`), so the plan shows what
the run will train. Evaluations are `pgan-evaluate --checkpoints all` (GAN-train and GAN-test at
every kept snapshot; the best are reported, paper Table 1 caption); they share one real classifier
(`--judge_cache WORK/judges`): the first trains it, the others read it.
"""
import dataclasses
import functools
import os
import sys
from typing import Optional

from pgan_tf import fileio
from pgan_tf.config_fields import SEED_RANGE, field
from pgan_tf.errors import UserError
from pgan_tf.reproduce import data as data_lib
from pgan_tf.reproduce import scales
from pgan_tf.sampling import MAX_SEED

EXPERIMENTS = ("table1", "table2", "fig8")
RUNS_DIR, EVALS_DIR, FIG8_DIR = "runs", "evals", "experiment"
# WORK/judges: the real classifier of GAN-test / the real reference, trained by the first
# evaluation and read by the others on the same data and recipe (`eval/judge_cache.py`).
JUDGES_DIR = "judges"
EVAL_JSON = "results.json"
EVAL_METRICS = "gan_train,gan_test"   # the paper's Tables 1 and 2
# Table 2's models: (run name = paper role, flagfile, label, has attention).
TABLE2_MODELS = (("pgan", "pgan.cfg", "PGAN", False), ("apgan", "apgan.cfg", "APGAN", True),
                 ("apgan_ttur", "apgan_ttur.cfg", "APGAN+TTUR", True))
# Which "best" checkpoint of a Table 2 run Fig. 8 samples. The paper reports its best models (Table
# 1/2 captions) and Fig. 8 uses Table 2's models, but Fig. 8 reports accuracy on the val images:
# GAN-train's best is chosen on those very images (and with the same fakes), which would let the
# choice fit the reported numbers. GAN-test's judge is trained on the train split and scores
# fakes: the choice never sees val, and Fig. 8 trains on fakes drawn with `FIG8_SAMPLE_SEED_OFFSET`
# added to --seed, never those the choice was made with (docs/reproduce.md).
FIG8_BEST = "gan_test"
FIG8_SAMPLE_SEED_OFFSET = 1
# The seed every run trains with when --gan_seeds is not given (TrainConfig.seed, official
# random_seed): its runs keep the folder runs/<model>.
DEFAULT_GAN_SEED = 1000


@dataclasses.dataclass(frozen=True)
class Options:
    """What the user chose (binary flags)."""

    # (the experiment is checked by `build_plan`, which names the valid ones)
    experiment: str = field(dataclasses.MISSING, f"One of {', '.join(EXPERIMENTS)}.")
    data_dir: str = field(dataclasses.MISSING, "Prepared dataset (dataset.json), or a raw ISIC 2018 "
                          "download to prepare into WORK/data with the scale's recipe.")
    work_dir: str = field(dataclasses.MISSING, "Where runs, evaluations, state and results go.")
    scale: str = field("paper", f"One of {', '.join(scales.SCALES)}: paper = the paper's runs; "
                       "demo = 32x32 demo widths on 2 CPU cores; test = seconds.")
    # None: the scale's default; "none": from scratch
    classifier_weights: Optional[str] = field(
        None, "GAN-train/GAN-test classifier start, passed to pgan-evaluate/pgan-experiment "
        "unchanged: imagenet or a .weights.h5 PATH; none = from scratch. Default: imagenet at "
        "--scale=paper, none otherwise.")
    repeats: int = field(1, "Classifier seeds per evaluation (> 1: mean ± std).", lo=1)
    seed: int = field(0, "Seed of the fakes' latents, real picks and classifiers.", **SEED_RANGE)
    gan_seeds: tuple = field((DEFAULT_GAN_SEED,), "pgan-train --seed of each model's runs: every "
                             "model is trained once per seed (1000's runs keep runs/<model>, others "
                             "go to runs/<model>-s<seed>); several seeds give mean ± std and a "
                             "t-interval over seeds.")


@dataclasses.dataclass(frozen=True)
class Step:
    """One command. `folder`: the experiment folder whose state.json records it; `output`: what it
    makes; `model`/`role`/`label`: the run it trains or evaluates (paper role keys paper.py)."""

    key: str
    kind: str                  # prepare | train | evaluate | experiment
    command: tuple
    folder: str
    output: str
    model: str = ""
    role: str = ""
    label: str = ""
    config: object = None      # TrainConfig of a train step
    gan_seed: Optional[int] = None   # train/evaluate: the run's pgan-train --seed
    run: str = ""              # train/evaluate: the run's folder name (`run_name`)
    # () -> command, made again when the step runs: fig8's arms name checkpoints that earlier
    # steps (the evaluations) choose, so `command` may hold placeholders until they have run.
    command_at_run: object = None

    def final_command(self):
        """The command to execute now (earlier steps finished)."""
        return self.command_at_run() if self.command_at_run else self.command

    def args(self):
        """The command's flags, without the binary (`_binary`: python -m module), which moves
        with the environment."""
        return self.command[len(_binary(self.kind)):]

    def final_args(self):
        """`args` of `final_command` (fig8's arms with the checkpoints chosen by then)."""
        return self.final_command()[len(_binary(self.kind)):]


@dataclasses.dataclass(frozen=True)
class Plan:
    options: Options
    scale: scales.Scale
    data: data_lib.Data
    classifier_weights: Optional[str]
    steps: tuple

    @property
    def folder(self):
        """WORK/<experiment>: state.json, evals, results."""
        return os.path.join(os.path.abspath(self.options.work_dir), self.options.experiment)


def _binary(name):
    """argv prefix of a pgan_tf binary in this Python (works from a clone and when installed)."""
    return (sys.executable, "-m", f"pgan_tf.cli.{name}")


def model_specs(experiment, scale):
    """[(run name, role, flagfile, label, experiment flags)] of the runs an experiment trains."""
    if experiment == "table1":
        res = scale.resolution["table1"]
        specs = [("pgan", "pgan", "pgan.cfg", "PGAN", ("--attention_stages=",))]
        specs += [(f"apgan_stage{stage}", role, "apgan.cfg", f"APGAN stage {stage}",
                   (f"--attention_stages={stage}",)) for role, stage in scales.table1_stages(res)]
        return specs, "table1"
    specs = []
    for name, flagfile, label, attention in TABLE2_MODELS:
        extra = ()
        if attention and scale.explicit_stages:  # the flagfiles' stage is a 256x256 block
            extra = (f"--attention_stages={scales.table2_stage(scale.resolution['table2'])}",)
        specs.append((name, name, flagfile, label, extra))
    return specs, "table2"


def run_name(model, gan_seed):
    """Folder (and step) name of a model's run with `gan_seed`: the default seed keeps the
    model's own name, so work dirs made before --gan_seeds are extended, not retrained."""
    return model if gan_seed == DEFAULT_GAN_SEED else f"{model}-s{gan_seed}"


def parse_gan_seeds(values):
    """--gan_seeds as a tuple of ints: distinct non-negative integers, at least one."""
    texts = [str(v).strip() for v in values]
    if not texts or not all(t.isdigit() for t in texts) or len(set(map(int, texts))) != len(texts):
        raise UserError(f"--gan_seeds={','.join(texts)}: give distinct non-negative integers "
                        "separated by commas, e.g. --gan_seeds=1000,1001,1002")
    return tuple(int(t) for t in texts)


def _train_steps(options, scale, data, make_config, flags_dir):
    """Training steps of table1/table2 (fig8 trains table2's), in WORK/<their experiment>: every
    model once per GAN seed, the default seed's runs first."""
    specs, trained_in = model_specs(options.experiment, scale)
    folder = os.path.join(os.path.abspath(options.work_dir), trained_in)
    total = scale.total_kimg[trained_in]
    steps = []
    for seed in options.gan_seeds:
        for name, role, flagfile, label, extra in specs:
            run = run_name(name, seed)
            run_dir = os.path.join(folder, RUNS_DIR, run)
            args = (f"--flagfile={os.path.join(flags_dir, flagfile)}", *scale.train_args,
                    f"--resolution={scale.resolution[trained_in]}",
                    *((f"--total_kimg={total:g}",) if total is not None else ()), *extra,
                    f"--seed={seed}", f"--data_dir={data.path}", f"--run_dir={run_dir}")
            steps.append(Step(f"train/{run}", "train", _binary("train") + args, folder, run_dir,
                              name, role, label, make_config(list(args)), seed, run))
    return steps


def _evaluate_step(train, plan_options, scale, data, weights):
    output = os.path.join(train.folder, EVALS_DIR, train.run, EVAL_JSON)
    args = (f"--run_dir={train.output}", f"--data_dir={data.path}", f"--metrics={EVAL_METRICS}",
            "--checkpoints=all", *scale.judge_args,
            f"--classifier_width={scale.classifier_width}",
            f"--judge_cache={os.path.join(os.path.dirname(train.folder), JUDGES_DIR)}",
            f"--repeats={plan_options.repeats}", f"--seed={plan_options.seed}",
            *((f"--classifier_weights={weights}",) if weights else ()), f"--output={output}")
    return Step(f"evaluate/{train.run}", "evaluate", _binary("evaluate") + args, train.folder,
                output, train.model, train.role, train.label, gan_seed=train.gan_seed,
                run=train.run)


def best_checkpoint(evaluation):
    """Images seen of the `FIG8_BEST` checkpoint of a `pgan-evaluate --checkpoints all` JSON."""
    result = fileio.read_json(evaluation, "remove it and rerun to redo that evaluation")
    try:
        kimg = result["best"][FIG8_BEST]["kimg"]
        return int(result["checkpoints"][kimg]["images_seen"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{evaluation} names no best {FIG8_BEST} checkpoint; remove it and rerun "
                        "to redo that evaluation") from None


def _gan_arm(train, evaluation, ready):
    """`gan:RUN@ckpt-N`: a train step's run at the best checkpoint of its evaluation; before the
    evaluation has run (a dry run; `ready` False) a placeholder naming where N will come from."""
    if ready or os.path.isfile(evaluation.output):
        return f"gan:{train.output}@ckpt-{best_checkpoint(evaluation.output)}"
    return f"gan:{train.output}@ckpt-<best {FIG8_BEST} of {evaluation.output}>"


def fig8_sample_seed(seed):
    """Seed of Fig. 8's GAN samples: never the evaluations' --seed, whose fakes chose the
    checkpoints (`FIG8_BEST`)."""
    return seed + FIG8_SAMPLE_SEED_OFFSET if seed + FIG8_SAMPLE_SEED_OFFSET <= MAX_SEED else (
        seed - FIG8_SAMPLE_SEED_OFFSET)


def _fig8_command(trains, evals, options, scale, data, weights, folder, ready):
    """pgan-experiment's command of Fig. 8's arms (`ready`: the evaluations have run)."""
    arms = ["real", "standard"] + [_gan_arm(t, e, ready) for t, e in zip(trains, evals)]
    args = (f"--data_dir={data.path}", f"--arms={','.join(arms)}",
            f"--per_class_real={scale.per_class_real}",
            f"--per_class_extra={scale.per_class_extra}", f"--epochs={scale.epochs}",
            f"--classifier_width={scale.classifier_width}", f"--repeats={options.repeats}",
            f"--seed={options.seed}", f"--gan_sample_seed={fig8_sample_seed(options.seed)}",
            *((f"--classifier_weights={weights}",) if weights else ()),
            f"--output_dir={os.path.join(folder, FIG8_DIR)}",
            "--overwrite")  # only ever our own unfinished output
    return _binary("experiment") + args


def _fig8_step(trains, evals, options, scale, data, weights):
    folder = os.path.join(os.path.abspath(options.work_dir), "fig8")
    command = functools.partial(_fig8_command, trains, evals, options, scale, data, weights,
                                folder)
    return Step("experiment/fig8", "experiment", command(ready=False), folder,
                os.path.join(folder, FIG8_DIR, EVAL_JSON),
                command_at_run=functools.partial(command, ready=True))


def _prepare_step(options, scale, data):
    folder = os.path.join(os.path.abspath(options.work_dir), options.experiment)
    args = (f"--input_dir={data.raw}", f"--output_dir={data.path}", *scale.prepare_args)
    return Step("prepare", "prepare", _binary("prepare") + args, folder,
                os.path.join(data.path, data_lib.DATASET_JSON))


def build_plan(options, make_config, flags_dir=scales.FLAGS_DIR):
    """The `Plan` of `options`; `make_config(train args) -> TrainConfig` is the train binary's
    parser. Reads only; UserError for an unknown experiment or scale and for unusable data."""
    if options.experiment not in EXPERIMENTS:
        raise UserError(f"--experiment={options.experiment}: use one of {', '.join(EXPERIMENTS)}")
    if options.repeats < 1:
        raise UserError(f"--repeats={options.repeats}: must be >= 1")
    parse_gan_seeds(options.gan_seeds)
    scale = scales.get_scale(options.scale, flags_dir)
    trained_in = "table1" if options.experiment == "table1" else "table2"
    data = data_lib.resolve_data(options.data_dir, options.work_dir,
                                 scale.resolution[trained_in], scale.classes)
    weights = options.classifier_weights or scale.classifier_weights
    weights = None if weights == "none" else weights
    # pgan-prepare installs WORK/data whole (temp folder, rename): present means finished.
    steps = [_prepare_step(options, scale, data)] if data.raw and data.info is None else []
    trains = _train_steps(options, scale, data, make_config, flags_dir)
    # fig8's evaluations are table2's own steps (WORK/table2/evals): they choose its checkpoints.
    evals = [_evaluate_step(t, options, scale, data, weights) for t in trains]
    steps += trains + evals
    if options.experiment == "fig8":
        steps.append(_fig8_step(trains, evals, options, scale, data, weights))
    return Plan(options, scale, data, weights, tuple(steps))
