"""Results of `pgan-evaluate`: confusion-matrix PNGs, TensorBoard scalars, the best checkpoint
per metric, the JSON file and the Markdown summary (split out of `evaluate.py`)."""
import io
import os

import numpy as np

from pgan_tf import disk, fileio, model_card
from pgan_tf.eval import reports

CLASSIFIER_METRICS = ("gan_train", "gan_test")
INCEPTION_METRICS = ("fid", "kid", "fid_keras")   # entries with a "value", lower is better


def _confusion_path(png_dir, prefix, name):
    return os.path.join(png_dir, f"{prefix}confusion_{name}.png")


def save_confusion_pngs(metrics, class_names, png_dir, prefix=""):
    """`<png_dir>/<prefix>confusion_<metric>.png` for every classification entry of `metrics`."""
    for name, value in metrics.items():
        if isinstance(value, dict) and "confusion_matrix" in value:
            reports.save_confusion_png(value["confusion_matrix"], class_names,
                                       _confusion_path(png_dir, prefix, name),
                                       f"{name} {prefix.rstrip('_')}".strip())


def confusion_images(entry, png_dir, prefix=""):
    """{TensorBoard tag: uint8 [H, W, 3]} of the confusion-matrix PNGs saved for `entry`."""
    from PIL import Image

    out = {}
    for name in CLASSIFIER_METRICS:
        path = _confusion_path(png_dir, prefix, name)
        if name in entry and fileio.exists(path):
            with Image.open(io.BytesIO(fileio.read_bytes(path))) as image:
                out[f"eval/confusion_{name}"] = np.asarray(image.convert("RGB"))
    return out


def _mean(value):
    """A number, or the mean of a {"mean", "std"} entry."""
    return value["mean"] if isinstance(value, dict) else value


def scalars(entry):
    """{tag: number} of an evaluation entry, for TensorBoard."""
    out = {}
    for name in CLASSIFIER_METRICS + ("real",):
        if name in entry:
            for key in ("accuracy", "balanced_accuracy"):
                out[f"{name}/{key}"] = _mean(entry[name][key])
    if "levels" in entry.get("swd", {}):
        out.update({f"swd/{res}": v for res, v in entry["swd"]["levels"].items()})
        out["swd/avg"] = entry["swd"]["avg"]
    for name in ("ms_ssim", "ms_ssim_reals"):
        if name in entry:
            out[name] = entry[name]
    for name in INCEPTION_METRICS:
        if name in entry:
            out[name] = entry[name]["value"]
    if "memorization" in entry:
        out["memorization/fraction_below_threshold"] = \
            entry["memorization"]["pixel"]["fraction_below_threshold"]
        out["memorization/pixel_p50"] = entry["memorization"]["pixel"]["p50"]
    return out


def write_tensorboard(run_dir, entry, step, images=None):
    """Scalars of one checkpoint's entry, and `images` ({tag: uint8 [H, W, C]}: confusion matrices,
    sample grid), into `run_dir/tensorboard/eval` at step = images seen. The scalars are the
    metrics of the run's HParams table, in the folder that holds its session
    (`training/hparams.py` says why)."""
    import tensorflow as tf

    from pgan_tf.training.hparams import SESSION_DIR

    writer = tf.summary.create_file_writer(os.path.join(run_dir, SESSION_DIR))
    with writer.as_default():
        for tag, value in scalars(entry).items():
            tf.summary.scalar(f"eval/{tag}", float(value), step=step)
        for tag, image in (images or {}).items():
            tf.summary.image(tag, image[np.newaxis], step=step)
    writer.close()


def record_in_run(run_dir, results, output, memorization_threshold):
    """Headline numbers of every evaluated checkpoint into the run's evaluation record (read by
    model cards), then the SavedModel's card (RUN/export/generator) rewritten with them."""
    from pgan_tf.training.generator import EXPORT_DIR

    entries = results.get("checkpoints") or {"latest": results}
    for entry in entries.values():
        model_card.record_evaluation(run_dir, entry["images_seen"], scalars(entry),
                                     fileio.abspath(output), memorization_threshold)
    model_card.refresh_card(os.path.join(run_dir, EXPORT_DIR), run_dir)


# Why only these compete for "best" (paper §3.5: training "resumed for an additional 3 network
# checkpoints" at the final resolution, and the best is reported): a snapshot from before the final
# resolution (its samples upsampled) or in mid-fade-in is another model than the one the table
# names, and every extra noisy candidate inflates a maximum.
BEST_RULE = "checkpoints at the run's final resolution with the fade-in finished (alpha = 1)"


def is_eligible(entry):
    """True when a checkpoint's entry may be "best" (`BEST_RULE`); an entry written before the
    rule existed counts by its `upsampled` and `alpha` fields."""
    if "eligible" in entry:
        return bool(entry["eligible"])
    return not entry.get("upsampled", False) and entry.get("alpha", 1.0) >= 1.0


def best_checkpoints(per_checkpoint):
    """Best kimg per metric over the eligible checkpoints (`is_eligible`): highest GAN-train /
    GAN-test accuracy (paper Table 1 reports the best), lowest SWD average, lowest FID, KID and
    Keras FID. A classifier metric's best carries its interval, per-class recall and support."""
    eligible = {k: e for k, e in per_checkpoint.items() if is_eligible(e)}
    best = {}
    for name in CLASSIFIER_METRICS:
        found = {k: e[name] for k, e in eligible.items() if name in e}
        if found:
            k = max(found, key=lambda kimg: _mean(found[kimg]["accuracy"]))
            best[name] = {"kimg": k, **{key: found[k][key] for key in (
                "accuracy", "balanced_accuracy", "per_class_recall", "support", "interval")
                if key in found[k]}}
    swd = {k: e["swd"]["avg"] for k, e in eligible.items() if "avg" in e.get("swd", {})}
    if swd:
        k = min(swd, key=swd.get)
        best["swd"] = {"kimg": k, "avg": swd[k]}
    for name in INCEPTION_METRICS:
        values = {k: e[name]["value"] for k, e in eligible.items() if name in e}
        if values:
            k = min(values, key=values.get)
            best[name] = {"kimg": k, "value": values[k]}
    return best


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(results, path):
    """Write `results` to `path` atomically (temp file + rename; any `fileio` path); a full disk
    or read-only folder is one `disk.WriteError` line, earlier results stay intact."""
    path = fileio.abspath(path)
    with disk.writing("results", path, point="evaluate",
                      kept="earlier results there are intact" if fileio.exists(path) else ""):
        fileio.write_json(path, results, default=_json_default)


def _summary_entries(entry, results):
    """The entries of one checkpoint (or set) that the Markdown tables show."""
    out = {"real": results["real"]} if "real" in results else {}
    out.update({k: entry[k] for k in ("gan_train", "gan_test", "swd", "ms_ssim", "ms_ssim_reals")
                if k in entry})
    for name in INCEPTION_METRICS:  # a plain number in the `metric | value` table
        if name in entry:
            e = entry[name]
            out[f"{name} ({e['num_fakes']} fakes vs {e['num_reals']} reals)"] = e["value"]
    if "memorization" in entry:
        pixel = entry["memorization"]["pixel"]
        out[f"memorization: fraction < {pixel['threshold']:g} RMS"] = \
            pixel["fraction_below_threshold"]
        out["memorization: median RMS to nearest real"] = pixel["p50"]
    return out


def summary_markdown(results):
    """Markdown summary (accuracies in %, SWD x 1e3) of an evaluation's results."""
    what = results.get("run_dir") or f"{results.get('fakes')} vs {results.get('reals')}"
    cfg = results["classifier"]
    start = ("pretrained on ImageNet" if results["pretrained"] else
             "from scratch: not comparable with the paper, which fine-tunes an ImageNet model")
    lines = [f"## Evaluation of {what}", "",
             f"Classifier: ResNet-18 width {cfg['width']}, {cfg['epochs']} epochs, {start}; "
             f"repeats {results['repeats']}."]
    if results["mode"] == "run":
        lines.append(f"Fakes: {results['num_per_class']} per class ({results['fake_labels']}).")
    lines += [f"Note: {n}" for n in results.get("notes", [])] + [""]
    entries = results.get("checkpoints") or {None: results}
    for key, entry in entries.items():
        if key is not None:
            lines += [f"### kimg {key}", ""]
        lines.append(reports.metrics_markdown(_summary_entries(entry, results)))
    if "best" in results:
        lines += ["### best", ""] + [f"- {m}: kimg {b['kimg']}" for m, b in results["best"].items()]
    return "\n".join(lines).rstrip() + "\n"
