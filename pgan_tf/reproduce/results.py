"""The experiment's table with the paper's numbers beside ours: WORK/<experiment>/results.json,
results.md and results.png.

Tables 1 and 2: per model the best GAN-train and the best GAN-test accuracy over the evaluated
checkpoints (each at its own best checkpoint, as the paper reports them; `pgan-evaluate`'s
"best"), and the real-train -> real-val reference. Fig. 8: validation accuracy per training set,
and the kimg each GAN arm was sampled at (its run's best GAN-train checkpoint).
Accuracies are in percent; with --repeats > 1 they are mean ± std over classifier seeds.
"""
from pgan_tf import fileio
from pgan_tf.data import augment
from pgan_tf.reproduce import data as data_lib, paper

PAPER_NUMBERS = {"table1": paper.TABLE1, "table2": paper.TABLE2, "fig8": paper.FIG8}
METRIC_LABELS = {"gan_train": "GAN-train", "gan_test": "GAN-test"}


def _percent(value):
    """{"mean", "std"} in percent of an accuracy (a fraction or a {"mean", "std"} of fractions)."""
    if isinstance(value, dict):
        return {"mean": 100 * value["mean"], "std": 100 * value["std"]}
    return {"mean": 100 * value, "std": 0.0}


def table_rows(plan):
    """Rows of Table 1/2 from the evaluation JSONs: [{"model", "label", ..., "ours", "paper"}]."""
    numbers = PAPER_NUMBERS[plan.options.experiment]
    run_dirs = {s.model: s.output for s in plan.steps if s.kind == "train"}
    rows, real, pretrained = [], None, None
    for step in plan.steps:
        if step.kind != "evaluate":
            continue
        result = fileio.read_json(step.output, "remove it and rerun to redo that step")
        pretrained = result.get("pretrained")
        best = result.get("best", {})
        ours = {m: {**_percent(best[m]["accuracy"]), "kimg": best[m]["kimg"],
                    "balanced_accuracy": _percent(best[m]["balanced_accuracy"])}
                for m in METRIC_LABELS if m in best}
        if real is None and "real" in result:
            real = {"gan_train": _percent(result["real"]["accuracy"])}
        rows.append({"model": step.model, "label": step.label, "role": step.role,
                     "run_dir": run_dirs[step.model],
                     "evaluation": step.output, "ours": ours,
                     "paper": numbers.get(step.role, {})})
    real_row = {"model": "real", "label": "Real images", "role": "real", "ours": real or {},
                "paper": numbers["real"]}
    return [real_row] + rows, pretrained


def fig8_rows(plan):
    """Rows of Fig. 8 from the experiment's results.json."""
    step = plan.steps[-1]
    result = fileio.read_json(step.output, "remove it and rerun to redo that step")
    labels = {t.output: (t.model, t.label) for t in plan.steps if t.kind == "train"}
    rows = []
    for name, arm in result["arms"].items():
        model, label = {"real": ("real", "Real images"),
                        "standard": ("standard", "Standard augmentation 1k")}.get(name, (None, None))
        if model is None:
            model, label = labels.get(arm.get("run_dir"), (name, name))
            label = f"{label} augmentation 1k"
        rows.append({"model": model, "label": label, "role": model,
                     "num_train": arm["num_train"], "checkpoint": arm.get("checkpoint"),
                     "kimg": arm["images_seen"] / 1000 if "images_seen" in arm else None,
                     "ours": {"accuracy": _percent(arm["accuracy"]),
                              "balanced_accuracy": _percent(arm["balanced_accuracy"])},
                     "paper": {"accuracy": paper.FIG8.get(model)}})
    return rows, result.get("pretrained")


def gather(plan, command):
    """The results dict of a finished plan."""
    fig8 = plan.options.experiment == "fig8"
    rows, pretrained = fig8_rows(plan) if fig8 else table_rows(plan)
    info = data_lib.read_info(plan.data.path)  # prepared by now, also from a raw download
    return {"experiment": plan.options.experiment, "scale": plan.scale.name,
            "data_dir": plan.data.path, "rotation_rule": augment.rotation_rule(info),
            "classifier_weights": plan.classifier_weights,
            "pretrained": pretrained, "repeats": plan.options.repeats, "rows": rows,
            "command": command, "steps": [list(s.final_command()) for s in plan.steps]}
