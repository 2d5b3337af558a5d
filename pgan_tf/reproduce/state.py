"""Which steps of an experiment are finished, and with which settings: WORK/<experiment>/state.json.

A step is recorded after its command exits 0 (the file is replaced atomically), and counts as done
while its output exists; an evaluation only while its flags are the plan's too (another judge
recipe, e.g. from a newer pgan_tf, redoes the evaluation and keeps the runs). The settings (scale,
dataset, classifier) are recorded with the steps: a work dir whose runs were made with other
settings is refused before anything runs, and so is a run dir whose config.json names other data
or another architecture (runs made by hand included).
"""
import datetime
import os

from pgan_tf import fileio
from pgan_tf.config import TrainConfig, diff_architecture
from pgan_tf.errors import UserError
from pgan_tf.reproduce import data as data_lib
from pgan_tf.training.run_dir import checkpoint_numbers, read_run_config
from pgan_tf.training.schedule import kimg_to_images

STATE_JSON = "state.json"
# What an evaluation's results.json holds, by version: 2 = "best" only among checkpoints at the
# final resolution with alpha = 1, and bootstrap intervals. An evaluation recorded with another
# version (or none: an older pgan_tf) is redone with the same flags; its run is kept.
EVALUATION_FORMAT = 2
# Config fields that never change what a run learns (paths, memory, cadence of logs, checkpoints
# kept, monitoring): a run may differ from the plan in these and still be reused. Every other field
# is the recipe: a finished run made with another one (an older pgan_tf's flagfiles, a run made by
# hand) must not be skipped as done, nor an unfinished one resumed under a new recipe.
_RESULT_NEUTRAL_FIELDS = frozenset({
    "run_dir", "data_dir", "data_cache_mb", "tick_kimg", "snapshot_ticks", "image_snapshot_ticks",
    "keep_checkpoints", "swd_every_kimg", "swd_images", "max_nonfinite_steps", "strategy",
    "allow_dataset_change"})


def read_state(folder):
    """The state dict of an experiment folder ({"settings", "done"}), empty when there is none."""
    path = os.path.join(folder, STATE_JSON)
    if not os.path.isfile(path):
        return {"settings": {}, "done": {}}
    return fileio.read_json(path, "restore or remove it")


def settings(plan, folder):
    """The settings recorded in `folder`: training ones everywhere, classifier ones in the
    experiment's own folder and wherever the plan evaluates (fig8 runs table2's evaluations in
    WORK/table2: they are shared with table2 only when made with the same classifier)."""
    info = data_lib.read_info(plan.data.path)
    sha = data_lib.Data(plan.data.path, plan.data.raw, info).sha256
    out = {"scale": plan.scale.name, "data_dir": plan.data.path, "dataset_sha256": sha}
    if folder == plan.folder or any(s.kind == "evaluate" and s.folder == folder
                                    for s in plan.steps):
        out.update(classifier_weights=plan.classifier_weights, repeats=plan.options.repeats,
                   seed=plan.options.seed)
    return out


def check_plan(plan):
    """UserError (one line) when the work dir holds runs or results made with other settings.

    The dataset is identified by its sha256, not its path: the same dataset moved elsewhere is
    accepted, and its new path is recorded (`_record_moved_data`) once every check passed."""
    moved = []
    for folder in sorted({step.folder for step in plan.steps} | {plan.folder}):
        saved = read_state(folder)["settings"]
        wanted = settings(plan, folder)
        for key, value in wanted.items():
            old = saved.get(key, value)
            if key == "data_dir" and old != value and _same_data(saved, wanted):
                moved.append(folder)
            elif old != value and value is not None:
                raise UserError(f"--work_dir: {folder} holds runs made with other settings ({key} "
                                f"{old!r}, not {value!r}); use another --work_dir")
    for step in plan.steps:
        if step.kind == "train":
            _check_run(step, plan.data.sha256)
    _record_moved_data(plan, moved)


def _same_data(saved, wanted):
    """True when the recorded dataset and the planned one have the same (known) sha256."""
    return wanted.get("dataset_sha256") is not None and \
        saved.get("dataset_sha256") == wanted["dataset_sha256"]


def _record_moved_data(plan, folders):
    """Record the dataset's new path in the state of `folders` (same sha256, another path)."""
    for folder in folders:
        state = read_state(folder)
        old = state["settings"].get("data_dir")
        state["settings"]["data_dir"] = plan.data.path
        fileio.write_json(os.path.join(folder, STATE_JSON), state)
        print(f"note: {folder} was made with the dataset at {old}; it moved to "
              f"{plan.data.path} (same sha256), recorded")


def _check_run(step, sha):
    saved = read_run_config(step.output)
    if saved is None:
        if os.path.isdir(step.output) and os.listdir(step.output):
            raise UserError(f"--work_dir: {step.output} is not empty and holds no run; use another "
                            "--work_dir")
        return
    if sha is not None and saved.get("dataset_sha256") != sha:
        raise UserError(f"--work_dir: {step.output} was trained on other data (dataset sha256 "
                        f"{saved.get('dataset_sha256')}, not {sha}); use another --work_dir")
    changed = diff_architecture(saved.get("config", {}), step.config.to_dict())
    if changed:
        name, old, new = changed[0]
        raise UserError(f"--work_dir: {step.output} was trained with other settings ({name} "
                        f"{old!r}, not {new!r}: another --scale?); use another --work_dir")
    changed = recipe_changes(saved.get("config", {}), step.config)
    if changed:
        name, old, new = changed[0]
        raise UserError(f"--work_dir: {step.output} was trained with another recipe ({name} "
                        f"{old!r}, not {new!r}: an older pgan_tf or a run made by hand); use "
                        "another --work_dir")


def recipe_changes(saved, planned):
    """(field, saved value, planned value) of the result-changing fields that differ between a run's
    saved config dict and the planned TrainConfig. A field an older run's config lacks counts as
    its default (the value that run trained with: fields are added with the official default)."""
    # to_dict is the form config.json holds (lists, str keys), so values compare as saved.
    defaults, planned = TrainConfig().to_dict(), planned.to_dict()
    return [(name, saved.get(name, defaults[name]), value) for name, value in planned.items()
            if name not in _RESULT_NEUTRAL_FIELDS and saved.get(name, defaults[name]) != value]


def images_trained(run_dir):
    """Images seen at the newest checkpoint of `run_dir` (0 without one)."""
    return max(checkpoint_numbers(run_dir), default=0)


def train_finished(step):
    """True when a train step's run has a checkpoint at its total_kimg: pgan-train also exits 0
    when a signal stops it early (it saves a checkpoint to resume from)."""
    return images_trained(step.output) >= kimg_to_images(step.config.total_kimg)


def is_done(step):
    """True when `step` is recorded as finished and its output still exists (a run: complete; an
    evaluation: made with the same flags and `EVALUATION_FORMAT`, which an older state.json did
    not record; fig8's experiment: made with the arms and seeds it would be given now)."""
    record = read_state(step.folder)["done"].get(step.key)
    if record is None or not os.path.exists(step.output):
        return False
    if step.kind == "train":
        return train_finished(step)
    if step.kind == "evaluate":
        return (record.get("args") == list(step.args())
                and record.get("format") == EVALUATION_FORMAT)
    if step.kind == "experiment":
        try:
            return record.get("args") == list(step.final_args())
        except UserError:  # an evaluation names no checkpoint (yet): the step has to run
            return False
    return True


def mark_done(step, plan):
    """Record `step` as finished in its folder's state.json (atomically)."""
    state = read_state(step.folder)
    state["settings"] = {**state["settings"], **settings(plan, step.folder)}
    state["done"][step.key] = {
        "output": step.output, "args": list(step.final_args()),
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **({"format": EVALUATION_FORMAT} if step.kind == "evaluate" else {})}
    os.makedirs(step.folder, exist_ok=True)
    fileio.write_json(os.path.join(step.folder, STATE_JSON), state)
