"""Orientation-leak benchmark of `--d_augment` (results in docs/limited_data.md).

ADA (Karras et al. 2020, §2.2) shows that an augmentation applied to D's reals with probability
p < 1 does not leak into G's samples, while at p = 1 it can: D then sees every orientation equally
often and stops telling G which one is right. This script makes that visible. Run from the repo
root, alone on the machine (it trains two small models):

    .venv/bin/python experiments/limited_data/leak.py --out OUT \\
        --kimg 20 --seeds 1 --json docs/limited_data_leak.json --png docs/limited_data_leak.png

1. Writes `--num_images` 64x64 images in two class folders: skin-toned noise, a dark (class
   `dark`) or red (class `red`) lesion, and a white bar along the TOP edge (the orientation
   marker), then prepares them at 16x16 with `pgan-prepare --source folders`.
2. Trains two models at 16x16 with `flags/demo.cfg` as measured (32 maps: --fmap_base=512)
   under `--d_augment=fixed --d_augment_ops=blit` (x-flip, 90° rotations, integer shifts: the
   rotations can leak the marker's orientation), the same kimg and seeds: p = 0.5 and a control
   at p = 0.999 with `--d_augment_p_max=1` (p must stay below 1).
3. Exports `--num_per_class` samples of each final EMA generator with `pgan-export` and classifies
   each image's marker side (top/bottom/left/right: the brightest border strip of 1/8 of the
   size), or `none` when that strip is not at least `MARKER_CONTRAST` brighter (mean luma, [0, 1])
   than the median of the other three strips; the same measure on the prepared-size reals.
4. Writes the shares per run (and mean ± std over seeds) into `--json` and a PNG: the first seed's
   sample grids side by side and a bar chart of the mean shares (dots: single seeds).

Steps whose output exists under `--out` are skipped (a rerun redoes only what is missing).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

SIDES = ("top", "bottom", "left", "right", "none")
MARKER_CONTRAST = 0.1    # the reals' bar is ~0.3 brighter than the skin; lesions are darker
SOURCE_SIZE = 64         # written images; prepared (center crop + antialiased resize) to 16
ARMS = {  # name -> training flags
    "p0.5": ["--d_augment=fixed", "--d_augment_ops=blit", "--d_augment_p=0.5"],
    "p0.999": ["--d_augment=fixed", "--d_augment_ops=blit", "--d_augment_p=0.999",
               "--d_augment_p_max=1"],
}


def write_images(folder, num_images, seed):
    """`num_images` PNGs in `folder/dark` and `folder/red`: lesion on skin, white bar on top."""
    rng = np.random.RandomState(seed)
    size = SOURCE_SIZE
    yy, xx = np.mgrid[0:size, 0:size] / size                               # [S, S] in [0, 1)
    for i in range(num_images):
        name = ("dark", "red")[i % 2]
        skin = np.array([0.86, 0.66, 0.56]) + rng.normal(0, 0.03, 3)
        image = skin + rng.normal(0, 0.02, (size, size, 3))                 # [S, S, 3]
        cy, cx = rng.uniform(0.4, 0.65), rng.uniform(0.35, 0.65)
        ry, rx = rng.uniform(0.12, 0.22, 2)
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1.0
        colour = [0.30, 0.18, 0.12] if name == "dark" else [0.72, 0.18, 0.22]
        image[inside] = np.array(colour) + rng.normal(0, 0.03, (inside.sum(), 3))
        image[: size // 8] = 0.98                                           # the marker bar
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(
            os.path.join(folder, name, f"{i:04d}.png"))


def marker_sides(images):
    """Index into SIDES of each image's marker: uint8 or [0, 1] float [N, H, W, 3] images."""
    x = np.asarray(images, np.float64)
    x = x / 255.0 if x.max() > 1.5 else x
    luma = x.mean(axis=-1)                                                 # [N, H, W]
    w = max(1, luma.shape[1] // 8)
    strips = np.stack([luma[:, :w].mean((1, 2)), luma[:, -w:].mean((1, 2)),
                       luma[:, :, :w].mean((1, 2)), luma[:, :, -w:].mean((1, 2))], axis=1)
    side = strips.argmax(axis=1)                                           # [N]
    rest = np.sort(strips, axis=1)[:, :3]                                  # the other three
    clear = strips.max(axis=1) - np.median(rest, axis=1) >= MARKER_CONTRAST
    return np.where(clear, side, SIDES.index("none"))


def shares(images):
    """{side: share of images} over SIDES."""
    sides = marker_sides(images)
    return {s: float(np.mean(sides == i)) for i, s in enumerate(SIDES)}


def _run(cmd, log):
    """Run `cmd` with its output into `log`; exit with the log's tail if it fails."""
    print(f"[{time.strftime('%H:%M:%S')}] {' '.join(cmd)}", flush=True)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if code:
        with open(log) as f:
            sys.exit(f"failed ({code}): {' '.join(cmd)}\n{f.read()[-2000:]}")


def train_and_export(args, arm, seed, data):
    """Train one arm at one seed and export its samples; returns (samples dir, train command,
    wall seconds of the training command, kept in runs/<arm>-s<seed>.seconds)."""
    name = f"{arm}-s{seed}"
    run, samples = os.path.join(args.out, "runs", name), os.path.join(args.out, "samples", name)
    train = [sys.executable, "-m", "pgan_tf.train", "--flagfile=flags/demo.cfg",
             f"--data_dir={data}", f"--run_dir={run}", "--resolution=16",
             # demo.cfg as it was when measured (32 maps, dataset-mix reals); the demo changed later
             "--fmap_base=512", "--real_sampling=dataset",
             "--lod_initial_resolution=16", f"--total_kimg={args.kimg}",
             f"--tick_kimg={args.kimg / 4:g}", "--snapshot_ticks=4", f"--seed={seed}",
             *ARMS[arm]]
    if not os.path.isfile(os.path.join(samples, "manifest.json")):
        start = time.time()
        _run(train, run + ".train.log")
        with open(run + ".seconds", "w") as f:
            f.write(f"{time.time() - start:.1f}\n")
        _run([sys.executable, "tools/export_samples.py", f"--run_dir={run}",
              f"--output_dir={samples}", f"--num_per_class={args.num_per_class}", "--seed=0",
              "--overwrite", "--noprogress"], run + ".export.log")
    with open(run + ".seconds") as f:
        return samples, train, float(f.read())


def load_folder(folder, size=None):
    """Images under `folder` (class sub-folders, sorted), uint8 [N, H, W, 3]; with `size`, cropped
    and resized exactly as `pgan-prepare` does."""
    from pgan_tf.data.preprocess import load_square

    out = []
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(f for f in files if f.endswith(".png")):
            path = os.path.join(root, name)
            out.append(load_square(path, size)[0] if size else
                       np.asarray(Image.open(path).convert("RGB")))
    return np.stack(out)


def grid(images, rows=4, columns=8):
    """[rows * H, columns * W, 3] mosaic of rows * columns images taken evenly (so both classes),
    each framed by a 1-pixel grey border (the white marker stays visible)."""
    pick = images[np.linspace(0, len(images) - 1, rows * columns).astype(int)]
    pick = np.pad(pick, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=128)
    n, h, w, c = pick.shape
    return pick.reshape(rows, columns, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, columns * w, c)


def figure(path, panels, results, per_seed):
    """Sample grids side by side (reals, then each arm) and a bar chart of the marker sides:
    `results` {name: {side: mean share}}, `per_seed` {name: [{side: share}, ...]} (dots)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(3.2 * (len(panels) + 1.4), 3.4),
                             gridspec_kw={"width_ratios": [1] * len(panels) + [1.4]})
    for ax, (title, images) in zip(axes, panels):
        ax.imshow(grid(images), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    ax = axes[-1]
    width = 0.8 / len(results)
    for k, (name, share) in enumerate(results.items()):
        x = np.arange(len(SIDES)) + (k - (len(results) - 1) / 2) * width
        ax.bar(x, [share[s] for s in SIDES], width, label=name)
        for seed_share in per_seed.get(name, []) if len(per_seed.get(name, [])) > 1 else []:
            ax.plot(x, [seed_share[s] for s in SIDES], "k.", markersize=3)
    ax.set_xticks(range(len(SIDES)), SIDES)
    ax.set_ylabel("share of images")
    ax.set_title("marker side (reals: top)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="work folder (data, runs, samples)")
    parser.add_argument("--kimg", type=float, default=2.0, help="kimg per run (both runs)")
    parser.add_argument("--seeds", default="1", help="training seeds, comma list (every arm)")
    parser.add_argument("--num_images", type=int, default=400, help="real images written")
    parser.add_argument("--num_per_class", type=int, default=128, help="samples per class")
    parser.add_argument("--json", default="docs/limited_data_leak.json")
    parser.add_argument("--png", default="docs/limited_data_leak.png")
    return parser.parse_args()


def _mean_std(shares_per_seed):
    """{side: [mean, sample std (0 for one seed)]} over a list of {side: share}."""
    out = {}
    for side in SIDES:
        values = np.array([share[side] for share in shares_per_seed])
        out[side] = [float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0]
    return out


def main():
    args = parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    raw, data = os.path.join(args.out, "raw"), os.path.join(args.out, "data")
    if not os.path.isdir(raw):
        write_images(raw, args.num_images, seed=1)
    if not os.path.isfile(os.path.join(data, "dataset.json")):
        _run([sys.executable, "tools/prepare_dataset.py", "--source=folders", f"--input_dir={raw}",
              f"--output_dir={data}", "--resolution=16", "--val_size=20", "--seed=1",
              "--workers=1", "--noprogress"], os.path.join(args.out, "prepare.log"))
    reals = load_folder(raw, size=16)  # as prepared (train and val: the measure needs no split)
    panels, per_seed = [("reals (16x16)", reals)], {"reals": [shares(reals)]}
    report = {"kimg": args.kimg, "seeds": seeds, "num_images": args.num_images,
              "samples_per_class": args.num_per_class, "marker_contrast": MARKER_CONTRAST,
              "runs": {}}
    for seed in seeds:
        for arm in ARMS:
            samples, train, seconds = train_and_export(args, arm, seed, data)
            images = load_folder(samples)
            if seed == seeds[0]:
                panels.append((f"G_ema, {arm} (seed {seed})", images))
            per_seed.setdefault(arm, []).append(shares(images))
            with open(os.path.join(args.out, "runs", f"{arm}-s{seed}", "log.txt")) as f:
                last_tick = [line.strip() for line in f if line.startswith("tick ")][-1]
            report["runs"][f"{arm}-s{seed}"] = {
                "train_command": " ".join(["python", *train[1:]]), "train_seconds": round(seconds, 1),
                "num_samples": len(images), "shares": per_seed[arm][-1], "last_tick": last_tick}
    report["shares_mean_std"] = {name: _mean_std(v) for name, v in per_seed.items()}
    for path in (args.json, args.png):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
    os.replace(args.json + ".tmp", args.json)
    means = {name: {s: v[s][0] for s in SIDES} for name, v in report["shares_mean_std"].items()}
    figure(args.png, panels, means, per_seed)
    for name, share in report["shares_mean_std"].items():
        print(f"{name:8s} " + "  ".join(f"{s} {share[s][0]:.3f}±{share[s][1]:.3f}" for s in SIDES))


if __name__ == "__main__":
    main()
