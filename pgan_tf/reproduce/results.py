"""The experiment's table with the paper's numbers beside ours: WORK/<experiment>/results.json,
results.md and results.png.

Tables 1 and 2: per model the best GAN-train and the best GAN-test accuracy over the eligible
checkpoints (final resolution, alpha = 1; each at its own best checkpoint, as the paper reports
them; `pgan-evaluate`'s "best"), and the real-train -> real-val reference. Fig. 8: validation
accuracy per training set, the paired difference of each arm to the real arm (overall and per
class), and the kimg each GAN arm was sampled at (its run's best GAN-test checkpoint).

Accuracies are in percent. Every model is summarised over its GAN seeds (`summarise`): with one
seed, the value with its bootstrap interval over the evaluation images (and ± std over classifier
seeds with --repeats > 1, which has no bootstrap interval); with several, mean ± sample std over
the seeds, each seed's value, and the 95 % t-interval over seeds (`metrics/intervals.py`).
"""
from pgan_tf import fileio
from pgan_tf.data import augment
from pgan_tf.metrics import intervals
from pgan_tf.reproduce import data as data_lib, paper, plan as plan_lib

PAPER_NUMBERS = {"table1": paper.TABLE1, "table2": paper.TABLE2, "fig8": paper.FIG8}
METRIC_LABELS = {"gan_train": "GAN-train", "gan_test": "GAN-test"}


def _percent(value):
    """{"mean", "std"} in percent of an accuracy (a fraction or a {"mean", "std"} of fractions)."""
    if isinstance(value, dict):
        return {"mean": 100 * value["mean"], "std": 100 * value["std"]}
    return {"mean": 100 * value, "std": 0.0}


def _seed_value(value, interval=None):
    """One seed's number in percent: {"value", "std" (classifier seeds), "low", "high"}."""
    number = _percent(value)
    low = high = None
    if interval:
        low, high = 100 * interval["low"], 100 * interval["high"]
    return {"value": number["mean"], "std": number["std"], "low": low, "high": high}


# The range of a percentage and of a difference of two percentages: a t-interval over 3 seeds
# reaches past them (e.g. 71.6 ± 21.0 % gives [19.3, 123.8]) and is clipped to them.
PERCENT = (0.0, 100.0)
POINTS = (-100.0, 100.0)


def summarise(per_seed, bounds=PERCENT):
    """{"mean", "std", "low", "high", "values", "n", "interval"} of one number per GAN seed
    (`_seed_value` dicts): one seed keeps its bootstrap interval and classifier std; several get
    mean ± sample std and the t-interval over seeds, clipped to `bounds`."""
    if len(per_seed) == 1:
        (one,) = per_seed
        return {"mean": one["value"], "std": one["std"], "low": one["low"], "high": one["high"],
                "values": [one["value"]], "n": 1,
                "interval": "bootstrap over the evaluation images" if one["low"] is not None
                else None}
    summary = intervals.over_seeds([s["value"] for s in per_seed], bounds=bounds)
    return {**summary, "interval": "t over GAN seeds"}


def _by_model(steps, kind):
    """{model: [steps of `kind`, one per GAN seed]} in plan order."""
    out = {}
    for step in steps:
        if step.kind == kind:
            out.setdefault(step.model, []).append(step)
    return out


def _metric_of_seed(best):
    """A metric's best entry of one evaluation -> per-seed record (percent)."""
    interval = best.get("interval") or {}
    recall = {name: None if value is None else _percent(value)["mean"]
              for name, value in (best.get("per_class_recall") or {}).items()}
    return {"kimg": best["kimg"], "accuracy": _seed_value(best["accuracy"],
                                                          interval.get("accuracy")),
            "balanced_accuracy": _seed_value(best["balanced_accuracy"],
                                             interval.get("balanced_accuracy")),
            "per_class_recall": recall, "support": best.get("support") or {}}


def _metric_summary(seeds, metric):
    """The row's `ours[metric]` over the seeds that have it."""
    records = [s[metric] for s in seeds if metric in s]
    if not records:
        return None
    recall = {}
    for name, n in records[0]["support"].items():
        values = [r["per_class_recall"].get(name) for r in records]
        values = [v for v in values if v is not None]
        recall[name] = {"mean": sum(values) / len(values) if values else None, "n": n}
    return {**summarise([r["accuracy"] for r in records]),
            "kimg": ", ".join(str(r["kimg"]) for r in records),  # one per GAN seed
            "balanced_accuracy": summarise([r["balanced_accuracy"] for r in records]),
            "per_class_recall": recall}


def table_rows(plan):
    """Rows of Table 1/2 from the evaluation JSONs: [{"model", "label", ..., "seeds", "ours",
    "paper"}], the real reference first."""
    numbers = PAPER_NUMBERS[plan.options.experiment]
    runs = {s.key.split("/", 1)[1]: s.output for s in plan.steps if s.kind == "train"}
    rows, real, pretrained = [], None, None
    for model, evals in _by_model(plan.steps, "evaluate").items():
        seeds = []
        for step in evals:
            result = fileio.read_json(step.output, "remove it and rerun to redo that step")
            pretrained = result.get("pretrained")
            record = {"gan_seed": step.gan_seed, "run_dir": runs[step.run],
                      "evaluation": step.output, "candidates": result.get("candidates")}
            record.update({m: _metric_of_seed(b) for m, b in result.get("best", {}).items()
                           if m in METRIC_LABELS})
            seeds.append(record)
            if real is None and "real" in result:
                real = _seed_value(result["real"]["accuracy"],
                                   (result["real"].get("interval") or {}).get("accuracy"))
        first = evals[0]
        ours = {m: s for m in METRIC_LABELS if (s := _metric_summary(seeds, m)) is not None}
        rows.append({"model": model, "label": first.label, "role": first.role,
                     "run_dir": seeds[0]["run_dir"], "evaluation": seeds[0]["evaluation"],
                     "seeds": seeds, "ours": ours, "paper": numbers.get(first.role, {})})
    real_row = {"model": "real", "label": "Real images", "role": "real",
                "ours": {"gan_train": summarise([real])} if real else {},
                "paper": numbers["real"]}
    return [real_row] + rows, pretrained


def _difference(entry):
    """A paired-bootstrap entry (fractions) in points: {"value", "std", "low", "high"}."""
    return {"value": 100 * entry["value"], "std": 0.0, "low": 100 * entry["low"],
            "high": 100 * entry["high"]}


def _vs_real_summary(arms):
    """Over the arms of one model (one per GAN seed): the paired difference to real, overall
    and per class (with the class's val support n)."""
    if not all("vs_real" in a for a in arms):
        return None
    out = {key: summarise([_difference(a["vs_real"][key]) for a in arms], POINTS)
           for key in ("accuracy", "balanced_accuracy")}
    out["per_class_recall"] = {}
    for name, first in arms[0]["vs_real"]["per_class_recall"].items():
        entries = [a["vs_real"]["per_class_recall"][name] for a in arms]
        out["per_class_recall"][name] = None if first is None or None in entries else {
            **summarise([_difference(e) for e in entries], POINTS), "n": first["n"]}
    return out


def _fig8_row(model, label, arms, numbers):
    """One training set of Fig. 8 over its arms (a GAN model: one arm per GAN seed)."""
    def value(arm, key):
        return _seed_value(arm[key], (arm.get("interval") or {}).get(key))

    kimgs = [a["images_seen"] / 1000 for a in arms if "images_seen" in a]
    return {"model": model, "label": label, "role": model, "num_train": arms[0]["num_train"],
            "checkpoint": arms[0].get("checkpoint"),
            "kimg": (kimgs[0] if len(kimgs) == 1 else kimgs) if kimgs else None,
            "seeds": [{"gan_seed": a.get("gan_seed"), "checkpoint": a.get("checkpoint"),
                       "kimg": a["images_seen"] / 1000 if "images_seen" in a else None,
                       "accuracy": value(a, "accuracy")} for a in arms],
            "ours": {"accuracy": summarise([value(a, "accuracy") for a in arms]),
                     "balanced_accuracy": summarise([value(a, "balanced_accuracy")
                                                     for a in arms]),
                     "vs_real": _vs_real_summary(arms)},
            "paper": {"accuracy": numbers.get(model)}}


def fig8_rows(plan):
    """Rows of Fig. 8 from the experiment's results.json: real, standard, then each GAN model
    over its GAN seeds."""
    step = plan.steps[-1]
    result = fileio.read_json(step.output, "remove it and rerun to redo that step")
    runs = {t.output: t for t in plan.steps if t.kind == "train"}
    fixed = {"real": ("real", "Real images"), "standard": ("standard", "Standard augmentation 1k")}
    groups = {}
    for name, arm in result["arms"].items():
        train = runs.get(arm.get("run_dir"))
        if name in fixed:
            key = fixed[name]
        elif train is not None:
            key = (train.model, f"{train.label} augmentation 1k")
            arm = {**arm, "gan_seed": train.gan_seed}
        else:
            key = (name, name)
        groups.setdefault(key, []).append(arm)
    rows = [_fig8_row(model, label, arms, paper.FIG8) for (model, label), arms in groups.items()]
    return rows, result.get("pretrained")


def gather(plan, command):
    """The results dict of a finished plan."""
    fig8 = plan.options.experiment == "fig8"
    rows, pretrained = fig8_rows(plan) if fig8 else table_rows(plan)
    info = data_lib.read_info(plan.data.path)  # prepared by now, also from a raw download
    out = {"experiment": plan.options.experiment, "scale": plan.scale.name,
           "data_dir": plan.data.path, "rotation_rule": augment.rotation_rule(info),
           "classifier_weights": plan.classifier_weights,
           "pretrained": pretrained, "repeats": plan.options.repeats,
           "gan_seeds": list(plan.options.gan_seeds), "rows": rows, "command": command,
           "steps": [list(s.final_command()) for s in plan.steps]}
    if fig8:
        out["fig8_selection"] = {
            "rule": f"best {plan_lib.FIG8_BEST} among the checkpoints at the final resolution "
                    "with alpha = 1",
            "data": "GAN-test's judge is trained on the train split's real originals and scores "
                    "fakes: the val images Fig. 8 reports on are never used to choose",
            "selection_fakes_seed": plan.options.seed,
            "fig8_fakes_seed": plan_lib.fig8_sample_seed(plan.options.seed)}
    return out
