"""`report.md` and `report.html` of `pgan-evaluate`: one file a person opens and reads at once.

Both are rendered from the results dict (the JSON's content) and the PNGs the evaluation wrote
beside it: the headline table (support n and whether the judge was ImageNet-pretrained), the
per-class metrics, the confusion matrices, the sample sheet (`samples.png`), the memorization pairs
when that metric ran, and the run's model card when there is one. `report.html` is self-contained:
images are embedded as base64 PNG data URIs, no stylesheet or script is fetched. `report.md`
refers to the PNGs by their names (they sit in the same folder). Files are written atomically
(`fileio`); a PNG that is missing is left out with a line saying so.
"""
import base64
import html
import io
import os

from pgan_tf import fileio
from pgan_tf.eval import reports

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
SAMPLES_PNG = "samples.png"    # the evaluation's sample sheet: one row per class
MEMORIZATION_PNG = "memorization.png"
CLASSIFIERS = (("real", "real train → real val (reference)"), ("gan_train", "GAN-train"),
               ("gan_test", "GAN-test"))
INCEPTION = (("fid", "FID (2015-12-05 Inception graph)"), ("kid", "KID ×1e3"),
             ("fid_keras", "FID (Keras InceptionV3, not comparable)"))
KID_SCALE = 1e3                # KID is shown ×1e3, as torch-fidelity and clean-fid print it
PERCENT = 100.0
CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;"
       "padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}"
       "img{max-width:100%;image-rendering:pixelated}pre{background:#f6f6f6;padding:1em;"
       "white-space:pre-wrap}")


def save_sample_sheet(grid, png_dir, prefix=""):
    """Write the uint8 sample grid [H, W, C] as `<png_dir>/<prefix>samples.png`; returns it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(buffer, format="PNG")
    path = os.path.join(png_dir, prefix + SAMPLES_PNG)
    fileio.write_atomic(path, buffer.getvalue())
    return path


def _mean(value):
    return value["mean"] if isinstance(value, dict) else value


def _pct(value):
    """`reports.percent` with its unit, and a dash for a missing value."""
    return f"{reports.percent(value)} %" if value is not None else "–"


def _num(value, digits=3, scale=1.0):
    return "–" if value is None else f"{scale * value:.{digits}f}"


def _classifier(entry, results, key):
    """The classification entry `key` of a checkpoint; "real" is one for the whole evaluation."""
    return results.get(key) if key == "real" else entry.get(key)


def _first_run(metric, key):
    """`metric[key]`, or that of its first seed's run (repeats > 1 keep it per run)."""
    return metric.get(key, (metric.get("runs") or [{}])[0].get(key))


def headline_rows(entry, results):
    """[metric, value, n] rows of one checkpoint's (or image sets') headline numbers."""
    rows = []
    for key, label in CLASSIFIERS:
        metric = _classifier(entry, results, key)
        if metric:
            n = _first_run(metric, "num_test")
            rows.append([f"{label} accuracy", _pct(metric["accuracy"]), f"{n} test images"])
            rows.append([f"{label} balanced accuracy", _pct(metric["balanced_accuracy"]), ""])
    if "avg" in entry.get("swd", {}):
        rows.append(["SWD ×1e3 (average over levels)", _num(entry["swd"]["avg"]), ""])
    for key in ("ms_ssim", "ms_ssim_reals"):
        if key in entry:
            rows.append([key.replace("ms_ssim", "MS-SSIM").replace("_reals", " of reals"),
                         _num(entry[key], 4), ""])
    for key, label in INCEPTION:
        if key in entry:
            e = entry[key]
            scale = KID_SCALE if key == "kid" else 1.0
            value = _num(e["value"], 3, scale)
            if key == "kid":
                value += f" ± {_num(e['std'], 3, scale)} ({e['num_subsets']} subsets of " \
                         f"{e['subset_size']})"
            rows.append([label, value, f"{e['num_fakes']} fakes vs {e['num_reals']} reals"])
    if "memorization" in entry:
        pixel = entry["memorization"]["pixel"]
        rows.append([f"memorization: samples below {pixel['threshold']:g} RMS",
                     f"{pixel['num_below_threshold']} ({_pct(pixel['fraction_below_threshold'])})",
                     f"{entry['memorization']['num_samples']} samples"])
    return rows


def per_class_table(entry, results):
    """(header, rows) per class: real support, recalls, FID / KID of the class (None if none)."""
    names = results.get("classes") or _class_names(entry, results)
    columns = [(k, label) for k, label in CLASSIFIERS if _classifier(entry, results, k)]
    inception = [(k, label) for k, label in INCEPTION if "per_class" in entry.get(k, {})]
    if not names or not (columns or inception):
        return None
    support = None
    for key, _ in columns:
        metric = _classifier(entry, results, key)
        support = support or (_first_run(metric, "support") if key != "gan_test" else None)
    header = ["class"] + (["support (real test)"] if support else [])
    header += [f"{label} recall" for _, label in columns] + [label for _, label in inception]
    rows = []
    for name in names:
        row = [name] + ([str(support.get(name, "–"))] if support else [])
        for key, _ in columns:
            metric = _classifier(entry, results, key)
            row.append(_pct((metric.get("per_class_recall") or {}).get(name)))
        for key, _ in inception:
            cell = entry[key]["per_class"].get(name, {})
            scale = KID_SCALE if key == "kid" else 1.0
            row.append(_num(cell.get("value"), 3, scale) + f" (n={cell.get('num_fakes', 0)})")
        rows.append(row)
    return header, rows


def _class_names(entry, results):
    for key in ("gan_train", "gan_test", "fid", "kid", "fid_keras"):
        metric = entry.get(key) or {}
        names = metric.get("per_class_recall") or metric.get("per_class")
        if names:
            return list(names)
    return []


def document(results, model_card=None):
    """The report as blocks: ("h", level, text), ("p", text), ("table", header, rows),
    ("img", file name, caption), ("pre", text); both renderers read it."""
    what = results.get("run_dir") or f"{results.get('fakes')} vs {results.get('reals')}"
    judge = results.get("classifier", {})
    pretrained = "yes (ImageNet ResNet-18, fine-tuned)" if results.get("pretrained") else \
        "no (trained from scratch: not comparable with the paper)"
    blocks = [("h", 1, f"Evaluation of {what}"),
              ("p", f"Judge: ResNet-18 width {judge.get('width')}, {judge.get('epochs')} epochs; "
                    f"ImageNet-pretrained: {pretrained}; repeats {results.get('repeats')}; "
                    f"seed {results.get('seed')}.")]
    if results.get("mode") == "run":
        blocks.append(("p", f"Fakes: {results.get('num_per_class')} per class "
                            f"({results.get('fake_labels')}), checkpoint(s) of the EMA generator."))
    blocks += [("p", f"Note: {note}") for note in results.get("notes", [])]
    entries = results.get("checkpoints") or {None: results}
    for key, entry in entries.items():
        prefix = "" if key is None else f"kimg{key}_"
        blocks += _entry_blocks(entry, results, prefix, "" if key is None else f" (kimg {key})")
    if results.get("best"):
        blocks += [("h", 2, "Best checkpoints"),
                   ("table", ["metric", "kimg"], [[m, str(b["kimg"])]
                                                   for m, b in results["best"].items()])]
    if model_card:
        blocks += [("h", 2, "Model card"), ("pre", model_card)]
    return blocks


def _entry_blocks(entry, results, prefix, suffix):
    """Blocks of one checkpoint (or of the image sets)."""
    blocks = [("h", 2, f"Headline{suffix}"), ("table", ["metric", "value", "n"],
                                              headline_rows(entry, results))]
    blocks += [("p", _network_line(key, entry[key])) for key, _ in INCEPTION if key in entry]
    table = per_class_table(entry, results)
    if table:
        blocks += [("h", 2, f"Per class{suffix}"), ("table", *table)]
    shown = [(k, label) for k, label in CLASSIFIERS if _classifier(entry, results, k)]
    if shown:  # the real reference's PNG is written once, without a checkpoint prefix
        blocks.append(("h", 2, f"Confusion matrices{suffix}"))
        blocks += [("img", f"{'' if k == 'real' else prefix}confusion_{k}.png", label)
                   for k, label in shown]
    if results.get("mode") == "run":
        blocks += [("h", 2, f"Sample sheet{suffix}"),
                   ("img", prefix + SAMPLES_PNG, "one row per class, in the order of the table")]
    if "memorization" in entry:
        blocks += _memorization_blocks(entry["memorization"], prefix, suffix)
    return blocks


def _network_line(key, entry):
    """'fid: <network>; graph sha256 <hex> (computed, not pinned).' and the like."""
    if entry.get("graph_sha256"):
        pin = "pinned" if entry.get("sha256_pinned") else "computed, not pinned"
        source = f"; graph sha256 {entry['graph_sha256']} ({pin})"
    else:
        source = f"; weights file {entry['weights']}" if entry.get("weights") else ""
    return f"{key}: {entry.get('network', 'unknown network')}{source}."


def _memorization_blocks(report, prefix, suffix):
    pairs = report.get("closest_pairs", [])
    rows = [[str(p["sample_index"]), str(p["training_index"]), _num(p["pixel_rms"], 2),
             _num(p.get("feature_distance"), 4)] for p in pairs]
    return [("h", 2, f"Memorization{suffix}"),
            ("p", "Closest samples to the training set (top row) and their nearest training "
                  "images (bottom row), closest first."),
            ("img", prefix + MEMORIZATION_PNG, "closest pairs"),
            ("table", ["sample", "nearest training image", "pixel RMS", "feature distance"], rows)]


def render_markdown(blocks, images):
    """Markdown of `blocks`; images by file name (they sit beside the report)."""
    lines = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            lines += ["#" * block[1] + " " + block[2], ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "table":
            header, rows = block[1], block[2]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows] + [""]
        elif kind == "img":
            lines += ([f"![{block[2]}]({block[1]})", ""] if block[1] in images
                      else [f"({block[1]} was not written)", ""])
        elif kind == "pre":
            lines += ["```", block[1].rstrip("\n"), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_html(blocks, images):
    """Self-contained HTML of `blocks`: `images` ({file name: PNG bytes}) as data URIs."""
    e = html.escape
    body = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            body.append(f"<h{block[1]}>{e(block[2])}</h{block[1]}>")
        elif kind == "p":
            body.append(f"<p>{e(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                           for row in block[2])
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif kind == "img" and block[1] in images:
            data = base64.b64encode(images[block[1]]).decode("ascii")
            body.append(f'<figure><img alt="{e(block[2])}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{e(block[2])}</figcaption></figure>")
        elif kind == "img":
            body.append(f"<p>({e(block[1])} was not written)</p>")
        elif kind == "pre":
            body.append(f"<pre>{e(block[1])}</pre>")
    title = e(blocks[0][2]) if blocks and blocks[0][0] == "h" else "Evaluation"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _read_images(blocks, folder):
    """{file name: PNG bytes} of the images the blocks show that exist in `folder`."""
    out = {}
    for block in blocks:
        if block[0] == "img":
            path = os.path.join(folder, block[1])
            if fileio.exists(path):
                out[block[1]] = fileio.read_bytes(path)
    return out


def _model_card(results):
    """Text of the run's SavedModel card (refreshed with this evaluation), or None."""
    if not results.get("run_dir"):
        return None
    from pgan_tf.model_card import MODEL_CARD
    from pgan_tf.training.generator import EXPORT_DIR

    path = os.path.join(results["run_dir"], EXPORT_DIR, MODEL_CARD)
    return fileio.read_text(path) if fileio.exists(path) else None


def report_paths(output):
    """(report.md, report.html) paths beside the results JSON `output`."""
    folder = os.path.dirname(fileio.abspath(output))
    return os.path.join(folder, REPORT_MD), os.path.join(folder, REPORT_HTML)


def write_report(results, output):
    """Write `report.md` and `report.html` beside the results JSON `output`; returns both paths."""
    blocks = document(results, _model_card(results))
    images = _read_images(blocks, os.path.dirname(fileio.abspath(output)))
    paths = report_paths(output)
    fileio.write_atomic(paths[0], render_markdown(blocks, images).encode("utf-8"))
    fileio.write_atomic(paths[1], render_html(blocks, images).encode("utf-8"))
    return paths
