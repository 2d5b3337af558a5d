"""`MODEL_CARD.md`: what a trained generator is, what it was trained on and what it may be used for.

Written into every sample export (`pgan-export` OUT folder) and every SavedModel folder
(`RUN/export/generator`). The card is built from the run's `config.json` (config, classes,
dataset hash) and from the run's evaluation record `RUN/evaluations.json`, which `pgan-evaluate
--run_dir` fills: one entry per evaluated checkpoint (images seen) with its headline numbers and
the path of the full results JSON. A card shows the numbers of exactly its checkpoint, or says
that it has not been evaluated. Evaluating a run also rewrites the SavedModel's card when the
SavedModel holds an evaluated checkpoint (its first line records the images seen).

Pure Python (no TensorFlow). Files are written atomically (temp file + rename); paths with a URL
scheme (gs://...) go through `tf.io.gfile`, imported only then.
"""
import json
import os
import re

from pgan_tf import fileio

MODEL_CARD = "MODEL_CARD.md"
EVALUATIONS = "evaluations.json"
RUN_CONFIG = "config.json"
DATA_LICENCE = ("ISIC 2018 images are licensed CC BY-NC 4.0 (ISIC Archive terms); a model trained "
                "on them and the images it generates are derived from that data: non-commercial "
                "use only, with attribution to the ISIC challenge datasets.")
SYNTHETIC_LICENCE = ("the synthetic images were drawn by pgan_tf itself (Apache-2.0 code, no "
                     "patient data): no dataset licence applies.")
FOLDERS_LICENCE = ("that of the image folders used (pgan_tf does not record it); ISIC images "
                   "are CC BY-NC 4.0.")
DATASET_JSON = "dataset.json"
# What the SavedModel returns: the generator's last layer is linear (official PGAN), so values a
# little outside [-1, 1] occur (the demo's generator: -1.14 ... 1.47); the export clips them.
OUTPUT_RANGE = ("images in [-1, 1]: the generator's linear output clipped to that range "
                "(unclipped values reach e.g. -1.14 ... 1.47 in the demo); uint8 = "
                "rint(127.5 x + 127.5)")
# First line of every card: the checkpoint it describes, so evaluation can refresh it exactly.
_STAMP = "<!-- pgan_tf model card: images_seen={} stage_resolution={} -->"
_STAMP_RE = re.compile(r"<!-- pgan_tf model card: images_seen=(\d+) stage_resolution=(\d+) -->")
# Config fields a reader needs to tell the paper's models apart (the rest: the run's config.json).
KEY_FIELDS = ("resolution", "num_classes", "latent_size", "fmap_base", "fmap_max",
              "attention_stages", "attention_type", "g_lr", "d_lr", "precision", "total_kimg",
              "lod_training_kimg", "lod_transition_kimg", "mirror_augment", "d_augment",
              "label_sampling", "real_sampling", "seed")
# Headline numbers (tags of `eval_results.scalars`) in the order the card lists them.
HEADLINE = (("gan_train/accuracy", "GAN-train accuracy"),
            ("gan_train/balanced_accuracy", "GAN-train balanced accuracy"),
            ("gan_test/accuracy", "GAN-test accuracy"),
            ("gan_test/balanced_accuracy", "GAN-test balanced accuracy"),
            ("real/accuracy", "real train -> val accuracy (reference)"),
            ("swd/avg", "SWD x 1e3 (average over levels)"),
            ("ms_ssim", "MS-SSIM of samples"), ("ms_ssim_reals", "MS-SSIM of reals"),
            ("fid", "FID (2015-12-05 Inception graph)"), ("kid", "KID"),
            ("fid_keras", "FID on Keras InceptionV3 (not comparable with papers)"))


def model_name(config):
    """'pgan' (no attention), 'apgan' (attention, equal learning rates) or 'apgan_ttur' (paper
    Table 2: attention with D:G learning rates 4:1)."""
    if not config.get("attention_stages"):
        return "pgan"
    return "apgan" if config.get("g_lr") == config.get("d_lr") else "apgan_ttur"


def read_evaluations(run_dir):
    """{images_seen (int): entry} of the run's evaluation record ({} when none)."""
    text = _read_text(os.path.join(run_dir, EVALUATIONS))
    if text is None:
        return {}
    try:
        return {int(k): v for k, v in json.loads(text).get("checkpoints", {}).items()}
    except (ValueError, AttributeError):
        return {}  # a damaged record only loses the numbers on cards, never the evaluation


def record_evaluation(run_dir, images_seen, metrics, results_path, memorization_threshold=None):
    """Add (or replace) the entry of checkpoint `images_seen` in `RUN/evaluations.json`.

    metrics: {tag: number} (`eval_results.scalars` of the checkpoint's entry).
    """
    record = read_evaluations(run_dir)
    entry = {"kimg": images_seen / 1000, "results": results_path,
             "metrics": {k: float(v) for k, v in metrics.items()}}
    if memorization_threshold is not None and "memorization/fraction_below_threshold" in metrics:
        entry["memorization_threshold"] = float(memorization_threshold)
    record[int(images_seen)] = entry
    data = {"checkpoints": {str(k): record[k] for k in sorted(record)}}
    fileio.write_json(os.path.join(run_dir, EVALUATIONS), data)


def model_card_markdown(saved, images_seen, *, stage_resolution=None, evaluation=None,
                        what="SavedModel", dataset=None):
    """Markdown of the card. saved: the run's config.json dict; evaluation: the checkpoint's entry
    of the evaluation record or None; what: the folder it describes ('SavedModel', 'samples');
    dataset: the training data's dataset.json dict (None when it could not be read)."""
    config, classes = saved.get("config", {}), list(saved.get("classes", []))
    data = dataset if dataset is not None else {}
    res = config.get("resolution")
    lines = [_STAMP.format(int(images_seen), int(stage_resolution or res or 0)),
             f"# Model card: {model_name(config)} generator at kimg {images_seen / 1000:g}", "",
             f"This folder holds {_WHAT.get(what, what)} of a class-conditional progressive GAN "
             f"(pgan_tf, an APGAN+TTUR reimplementation) trained on {_trained_on(data)}.",
             "", "## Model", "",
             f"- model: **{model_name(config)}** (pgan = no attention, apgan = attention, "
             "apgan_ttur = attention + D:G learning rates 4:1; paper Table 2)",
             "- generator: G_ema (exponential moving average of G); inputs: latents, one-hot "
             "labels",
             f"- classes: {', '.join(classes) or '(unlabelled)'}",
             f"- resolution: {res}x{res}, images seen: {int(images_seen)} (kimg "
             f"{images_seen / 1000:g})"]
    if stage_resolution and res and stage_resolution < res:
        lines.append(f"- stopped early: trained up to {stage_resolution}x{stage_resolution}, "
                     f"nearest-upsampled to {res}x{res}")
    lines += ["", "Key configuration (all fields: the run's `config.json`):", "",
              "| field | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(config[k])} |" for k in KEY_FIELDS if k in config]
    lines += ["", "## Training data", "",
              f"- dataset: `{config.get('data_dir', '?')}`",
              f"- dataset sha256: `{saved.get('dataset_sha256') or 'unknown'}`"]
    lines += _data_lines(data) + [""]
    lines += _evaluation_lines(evaluation) + [""] + _memorization_lines(evaluation) + [""]
    lines += _use_lines(data)
    return "\n".join(lines) + "\n"


_WHAT = {"SavedModel": "a TensorFlow SavedModel of the generator (signature serving_default: "
                       "latents, labels -> images; " + OUTPUT_RANGE + ")",
         "samples": "synthetic images exported from the generator described below"}
def _trained_on(data):
    if data.get("synthetic"):
        return "synthetic lesion-like images (pgan-synthetic: drawn shapes, not dermoscopy)"
    return "dermoscopic skin-lesion images"


def _data_lines(data):
    """Source, whether synthetic, and licence of the training data (from its dataset.json)."""
    if data.get("synthetic"):
        return ["- images: **synthetic** (`pgan-synthetic`: lesion-like shapes drawn per class in "
                "the ISIC 2018 file layout; no patient image). Numbers measured on it test the "
                "pipeline, not skin-lesion synthesis.", f"- licence: {SYNTHETIC_LICENCE}"]
    if not data:
        return ["- images: unknown (no dataset.json found beside the data_dir); if ISIC 2018:",
                f"- licence: {DATA_LICENCE}"]
    if data.get("source") == "folders":
        return ["- images: class folders (`--source folders`)", f"- licence: {FOLDERS_LICENCE}"]
    return ["- images: ISIC 2018 Task 3 / HAM10000 dermoscopy", f"- licence: {DATA_LICENCE}"]


def _use_lines(data):
    """Intended use and licence; the ISIC wording only for data that is not synthetic."""
    synthetic = bool(data.get("synthetic"))
    bias = ("- Samples show only what the synthetic training set draws: they say nothing about "
            "real lesions." if synthetic else
            "- Samples inherit the biases of the training data (ISIC: mostly light skin types, "
            "dermoscopy from few centres) and may reproduce training images (see the "
            "memorization audit).")
    licence = ("- pgan_tf code and its synthetic training data: Apache-2.0 (LICENSE)."
               if synthetic else
               "- pgan_tf code: Apache-2.0 (LICENSE). Data and data-derived models and images: "
               "see Training data above (CC BY-NC for ISIC).")
    return ["## Intended use", "",
            "- Research on data augmentation for skin-lesion classifiers (e.g. adding synthetic "
            "images of rare classes to a training split), and research on generative models.",
            "- **Not for diagnosis** or any clinical decision; not a medical device. Synthetic "
            "images must not be presented as real patient images, and must never enter a "
            "validation or test split.",
            bias, "", "## Licence", "", licence,
            "- Cite: CITATION.cff of pgan_tf (the APGAN+TTUR paper, Progressive GAN, TTUR)."]


def _evaluation_lines(evaluation):
    lines = ["## Evaluation", ""]
    metrics = (evaluation or {}).get("metrics", {})
    shown = [(label, metrics[tag]) for tag, label in HEADLINE if tag in metrics]
    if not shown:
        return lines + ["Not evaluated at this checkpoint: `pgan-evaluate --run_dir RUN --output "
                        "results.json` adds the numbers here (GAN-train, GAN-test, SWD, MS-SSIM)."]
    lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4g} |" for k, v in shown]
    return lines + ["", f"Full results: `{evaluation.get('results')}`"]


def _memorization_lines(evaluation):
    lines = ["## Memorization audit", ""]
    metrics = (evaluation or {}).get("metrics", {})
    if "memorization/fraction_below_threshold" not in metrics:
        return lines + ["Not run at this checkpoint (`pgan-evaluate --metrics ...,memorization`)."]
    threshold = evaluation.get("memorization_threshold")
    limit = f" < {threshold:g}" if threshold is not None else " below the threshold"
    return lines + [
        f"- fraction of samples with RMS pixel distance{limit} (grey levels) to their nearest "
        f"training image: {metrics['memorization/fraction_below_threshold']:.4g}",
        f"- median RMS distance to the nearest training image: "
        f"{metrics.get('memorization/pixel_p50', float('nan')):.4g}"]


def _cell(value):
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


def write_model_card(folder, run_dir, images_seen, *, stage_resolution=None, what="SavedModel"):
    """Write `folder/MODEL_CARD.md` for checkpoint `images_seen` of `run_dir`; returns its path."""
    saved = json.loads(_read_text(os.path.join(run_dir, RUN_CONFIG)) or "{}")
    evaluation = read_evaluations(run_dir).get(int(images_seen))
    text = model_card_markdown(saved, images_seen, stage_resolution=stage_resolution,
                               evaluation=evaluation, what=what,
                               dataset=read_dataset_info(saved.get("config", {}).get("data_dir")))
    path = os.path.join(folder, MODEL_CARD)
    fileio.write_atomic(path, text)
    return path


def card_checkpoint(folder):
    """(images seen, stage resolution) recorded on the first line of `folder/MODEL_CARD.md`, or
    None when the folder has no pgan_tf card."""
    match = _STAMP_RE.match(_read_text(os.path.join(folder, MODEL_CARD)) or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def refresh_card(folder, run_dir, what="SavedModel"):
    """Rewrite `folder`'s card from the run's current evaluation record; returns its path, or None
    when the folder has no card. The checkpoint comes from the card already there."""
    checkpoint = card_checkpoint(folder)
    if checkpoint is None:
        return None
    images_seen, stage_resolution = checkpoint
    return write_model_card(folder, run_dir, images_seen, what=what,
                            stage_resolution=stage_resolution)


def read_dataset_info(data_dir):
    """dataset.json of a prepared dataset (in `data_dir`, or its parent for a split folder such
    as OUT/train), or None when there is none or it cannot be read."""
    if not data_dir:
        return None
    for folder in (data_dir, os.path.dirname(os.path.normpath(data_dir))):
        try:
            text = _read_text(os.path.join(folder, DATASET_JSON))
            if text is not None:
                return json.loads(text)
        except (OSError, ValueError):
            return None
    return None


def _read_text(path):
    """The file's text, or None when it does not exist (any `fileio` path)."""
    return fileio.read_text(path) if fileio.exists(path) else None
