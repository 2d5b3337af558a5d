"""The one frozen training configuration: every field is a flag of `pgan-train` (same name).

Defaults are official PGAN's (docs/design.md#losses, docs/design.md#schedule) unless the paper
overrides them (docs/design.md#paper-versus-official-pgan:
TTUR rates, the minibatch table, 8M images at 256x256); the flagfiles under `flags/` set the paper's
runs. The binary builds a `TrainConfig` by keyword from parsed flags (`pgan_tf/flagconfig.py`),
`validate()` runs in `__post_init__`, and the config is saved as `run_dir/config.json` (keys =
flag names). Each field declares its help text and range once (`config_fields.field`); one check
(`config_fields.field_errors`) refuses non-finite and out-of-range numbers.

Imports nothing heavy: flags are validated before TensorFlow is loaded.
"""
import dataclasses
import json
import types
from typing import Mapping

from pgan_tf.config_fields import SEED_RANGE, field, raise_field_errors
from pgan_tf.errors import UserError

# Paper §3.5 minibatch per resolution (docs/design.md#paper-versus-official-pgan: the paper wins
# over official presets).
PAPER_MINIBATCH = types.MappingProxyType({4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8})

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
ATTENTION_TYPES = ("snl", "sagan")
LABEL_SAMPLING = ("dataset", "uniform")
REAL_SAMPLING = ("dataset", "balanced")
STRATEGIES = ("default", "mirrored", "multi_worker")
D_AUGMENT_MODES = ("none", "fixed", "ada", "diffaug")
# Overfitting statistics (training/ada.py) and each one's own target, as ADA (Karras et al. 2020,
# §3: 0.6 for r_t; the validation heuristic r_v's 0.5 is the middle of its "no overfitting" 0 and
# "D scores held-out reals like fakes" 1).
D_AUGMENT_TARGETS = types.MappingProxyType({"rv": 0.5, "rt": 0.6})
# --heldout_per_class when the chosen statistic needs held-out reals and the flag is not given.
HELDOUT_AUTO = 8
# DiffAugment's ops (Zhao et al. 2020; pgan_tf/training/diffaug.py).
DIFFAUG_OPS = ("translation", "cutout", "color")
# ADA's group names (pgan_tf/training/d_augment.py; kept here so flags validate without TF).
D_AUGMENT_GROUPS = ("blit", "geom", "color", "cutout")
# Fields given on the command line as 'res:value,...'.
DICT_FIELDS = ("minibatch_dict", "max_minibatch_per_replica", "g_lr_dict", "d_lr_dict")
# Fields that define the networks or the data contract: a resume must not change them.
ARCHITECTURE_FIELDS = (
    "resolution", "num_classes", "latent_size", "fmap_base", "fmap_max", "fmap_decay",
    "attention_stages", "attention_type", "mbstd_group_size", "fused_scale", "num_channels",
)

_field = field  # the spelling TrainConfig's fields use


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Resolved training configuration; construct by keyword only."""

    # --- data ---
    data_dir: str = _field("", "Prepared dataset (output of pgan-prepare) or its train/ folder.")
    run_dir: str = _field("", "Run directory: config, log, checkpoints, grids, TensorBoard events.")
    num_classes: int = _field(7, "Class count when data_dir has no dataset.json (ISIC 2018: 7; 0 = "
                                "unlabelled data, no class conditioning).", lo=0)
    num_channels: int = _field(3, "Image channels (RGB).", lo=1)
    mirror_augment: bool = _field(False, "Random horizontal flips of reals (official default off).")
    data_cache_mb: int = _field(4096, "Memory budget in MB for one resolution's training records "
                                "(default 4096 = official PGAN's shuffle buffer, all of ISIC 2018 "
                                "at 256x256); above it records are read from the TFRecord file by "
                                "record number (0 = always). Never changes results.", lo=0)
    label_sampling: str = _field("dataset", "G labels: rows of the dataset's labels (official) or uniform "
                                 "over classes.", enum=LABEL_SAMPLING)
    real_sampling: str = _field("dataset", "D's reals: every record once per epoch (official) or "
                                "balanced: a uniform class, then one of its records, at every draw "
                                "(beyond the paper; pair with --label_sampling=uniform so reals and "
                                "fakes have the same class mix).", enum=REAL_SAMPLING)
    allow_dataset_change: bool = _field(False, "Resume a run on a dataset whose sha256 differs from "
                                        "the one the run started on (refused otherwise).")
    # --- model (docs/design.md#architecture) ---
    resolution: int = _field(256, "Final resolution R (power of two; paper: 256).")
    latent_size: int = _field(512, "Latent size (official nf(0) = 512).", lo=1)
    fmap_base: int = _field(8192, "Feature maps: min(fmap_base / 2^stage, fmap_max) (official 8192).", lo=1)
    fmap_max: int = _field(512, "Feature-map cap (official 512).", lo=1)
    fmap_decay: float = _field(1.0, "Feature-map decay exponent (official 1.0; 0 = "
                                  "fmap_base maps at every stage, capped by fmap_max).", lo=0.0)
    attention_stages: tuple = _field((), "Resolutions whose G/D blocks get attention: auto = R/2, the "
                                     "second-to-last block (paper §3.4), or a list such as 32,64 "
                                     "(paper Table 1); empty = plain PGAN. config.json holds the "
                                     "resolved list.")
    attention_type: str = _field("snl", "Attention block: snl (paper Eq. 3) or sagan (ablation).",
                                 enum=ATTENTION_TYPES)
    mbstd_group_size: int = _field(4, "Minibatch-stddev group size (official 4; 0/1 disables).", lo=0)
    fused_scale: bool = _field(True, "Fused upscale/downscale convolutions (official default).")
    # --- schedule (docs/design.md#schedule-defaults,
    # docs/design.md#level-of-detail; paper §3.5) ---
    total_kimg: float = _field(8000.0, "Length of training in thousands of real images (paper: 8000).",
                               above=0.0)
    lod_initial_resolution: int = _field(4, "First resolution (official 4).")
    lod_training_kimg: float = _field(600.0, "kimg of each stabilise phase (official 600; 0 = "
                                      "none).", lo=0.0)
    lod_transition_kimg: float = _field(600.0, "kimg of each fade-in phase (official 600; 0 = "
                                        "none, each resolution starts at full strength).", lo=0.0)
    minibatch_base: int = _field(16, "Minibatch for resolutions missing from minibatch_dict.", lo=1)
    minibatch_dict: dict = _field(dict(PAPER_MINIBATCH), "Minibatch per resolution, 'res:n,...' "
                                  "(paper §3.5 table).")
    max_minibatch_per_replica: dict = _field({}, "Per-replica minibatch cap per resolution, 'res:n,...'.")
    g_lr: float = _field(0.001, "Generator Adam learning rate (official 0.001; paper TTUR G 0.001).",
                         lo=0.0, above=0.0)
    d_lr: float = _field(0.001, "Discriminator Adam learning rate (paper TTUR D 0.004).", lo=0.0,
                         above=0.0)
    g_lr_dict: dict = _field({}, "Per-resolution G learning rates overriding g_lr, 'res:lr,...'.",
                           values="float")
    d_lr_dict: dict = _field({}, "Per-resolution D learning rates overriding d_lr, 'res:lr,...'.",
                           values="float")
    tick_kimg: float = _field(0.0, "kimg per tick; 0 = official per-resolution table "
                              "{4:160 ... 256:40}.", lo=0.0)
    snapshot_ticks: int = _field(10, "Checkpoint every N ticks (official network_snapshot_ticks 10).", lo=1)
    image_snapshot_ticks: int = _field(1, "Fake grid every N ticks (official 1).", lo=1)
    swd_every_kimg: float = _field(0.0, "SWD of G_ema vs the training reals at the current resolution "
                                   "every K kimg, into log.txt and TensorBoard (0 = off; >= 16x16 "
                                   "only).", lo=0.0)
    swd_images: int = _field(1024, "Images per set for --swd_every_kimg (fewer than official's final "
                             "16384: a monitor, not the reported metric).", lo=2)
    keep_checkpoints: int = _field(3, "Most recent checkpoints kept (at least 3).", lo=3)
    keep_checkpoint_every_kimg: float = _field(1000.0, "Also keep one checkpoint every K kimg for good "
                                               "(0 = none).", lo=0.0)
    # --- losses (docs/design.md#losses) ---
    wgan_lambda: float = _field(10.0, "Gradient-penalty weight (official 10; 0 = no "
                                "penalty).", lo=0.0)
    wgan_target: float = _field(1.0, "Gradient-penalty target norm (official 1).", lo=1e-12)
    wgan_epsilon: float = _field(0.001, "Drift weight on D(real)^2 (official 0.001; 0 = no "
                                 "drift term).", lo=0.0)
    gp_interval: int = _field(1, "Lazy gradient penalty (beyond the paper; StyleGAN2's lazy "
                              "regularization applied to WGAN-GP): compute the GP on every k-th D "
                              "step only, weighted by k so its expected gradient is unchanged. "
                              "1 = every step (official).", lo=1)
    cond_weight: float = _field(1.0, "AC-GAN cross-entropy weight (official 1; 0 = no "
                                "class loss).", lo=0.0)
    ac_balanced: bool = _field(False, "Weight D's AC-GAN cross-entropy (reals and their fakes) per "
                               "class by N/(K n_c), so rare classes count alike (beyond the paper; "
                               "official weighs every image alike). Pair with --label_sampling=uniform.")
    # --- discriminator augmentation (StyleGAN2-ADA, beyond the paper; docs/limited_data.md) ---
    d_augment: str = _field("none", "Augment every image D sees (reals, fakes, GP interpolates): none "
                            "(the paper), fixed p, ada (p adapted to D's overfitting) or diffaug "
                            "(DiffAugment, always on; --diffaug_policy).", enum=D_AUGMENT_MODES)
    d_augment_p: float = _field(0.0, "Per-op augmentation probability: the value for fixed, the start "
                                "value for ada.", lo=0.0, hi=0.999)
    # ADA (Karras et al. 2020) §2.2 and Fig. 4: an augmentation applied to reals with p < 1 does
    # not leak in theory, and in practice did not leak while executed with p below ~0.8 (rotated
    # or rescaled samples appeared above it). So each op's gate stays <= 0.8 unless a user opts out.
    d_augment_p_max: float = _field(0.8, "Cap on each op's execution probability: fixed refuses a "
                                    "higher --d_augment_p, ada clips p to it (ADA §2.2's safe "
                                    "bound ~0.8; 1 = no cap, e.g. for a leak control).",
                                    lo=0.0, hi=1.0)
    # Default blit,geom: a dermoscopic lesion has no canonical orientation, position or scale, so
    # flips/rotations/shifts/zooms are label-preserving (the paper's Augmentor set rotates, flips
    # and zooms too). Colour is diagnostic (blue-white veil, pigment network, vascular red) and
    # D's class head learns from augmented reals, so colour ops would teach it that hue-shifted
    # lesions keep their class; cutout can hide the (centred) lesion. Both are opt-in.
    d_augment_ops: str = _field("blit,geom", "Comma list of augmentation groups: blit (flip, 90° "
                                "rotations, integer shifts), geom (scale, rotation, anisotropy, "
                                "fractional shifts), color (brightness, contrast, luma flip, hue, "
                                "saturation), cutout.")
    d_augment_heuristic: str = _field("rv", "ada: the overfitting statistic that steers p: rv (ADA's "
                                      "validation heuristic on held-out reals, offset- and scale-"
                                      "free for a WGAN critic) or rt (share of reals above the "
                                      "real/fake midpoint; needs no held-out set).",
                                      enum=tuple(D_AUGMENT_TARGETS))
    d_augment_target: float = _field(-1.0, "ada: target of the statistic; -1 = the heuristic's own "
                                     "(ADA: 0.5 for rv, 0.6 for rt). config.json holds the value.",
                                     lo=-1.0, hi=1.0)
    d_augment_min_res: int = _field(16, "Below this resolution D's images pass unaugmented, p is "
                                    "neither used nor adjusted and no statistic is gathered (4x4 "
                                    "and 8x8 images are too small to shift or rotate).", lo=4)
    heldout_per_class: int = _field(-1, "Real images per class held out of training to measure D's "
                                    "overfitting (r_v, logged every tick in every --d_augment "
                                    f"arm); -1 = {HELDOUT_AUTO} when --d_augment=ada uses rv, "
                                    "else none; 0 = none. Taken from the dataset's spare split "
                                    "(--max_per_class's left-overs) first. config.json holds the "
                                    "value.", lo=-1)
    diffaug_policy: str = _field("translation,cutout", "diffaug: comma list of DiffAugment ops: "
                                 "translation, cutout, color (colour is diagnostic in dermoscopy: "
                                 "opt-in).")
    d_augment_interval: int = _field(4, "ada: adjust p every N D steps (ADA 4).", lo=1)
    d_augment_speed_kimg: float = _field(500.0, "ada: kimg for p to go 0 -> 1 (ADA 500; short runs "
                                         "need far less).", lo=1e-6)
    # --- optimisation (docs/design.md#optimizers, docs/design.md#generator-ema) ---
    adam_beta1: float = _field(0.0, "Adam beta1 (official 0).", lo=0.0, below=1.0)
    adam_beta2: float = _field(0.99, "Adam beta2 (official 0.99).", lo=0.0, below=1.0)
    adam_epsilon: float = _field(1e-8, "Adam epsilon (official 1e-8).", above=0.0)
    g_smoothing: float = _field(0.999, "Generator EMA beta per step (official G_smoothing 0.999; "
                                "0 = no averaging).", lo=0.0, below=1.0)
    reset_opt_for_new_lod: bool = _field(True, "Reset Adam moments at each lod boundary (official).")
    max_nonfinite_steps: int = _field(100, "Stop after this many consecutive NaN/Inf steps.", lo=1)
    loss_scaling_init: float = _field(64.0, "mixed_float16: initial log2 of the loss scale "
                                      "(official 64; overflowing steps are skipped until it fits; "
                                      "2^128 overflows float32).", lo=0.0, hi=127.0)
    loss_scaling_inc: float = _field(0.0005, "mixed_float16: log2 scale increase per finite step "
                                     "(official 0.0005; 0 = the scale never grows).", lo=0.0)
    loss_scaling_dec: float = _field(1.0, "mixed_float16: log2 scale decrease on overflow "
                                     "(official 1.0).", above=0.0)
    # --- execution ---
    seed: int = _field(1000, "Random seed (official random_seed 1000): data order and all draws.",
                       **SEED_RANGE)
    jit_compile: bool = _field(False, "XLA-compile the training step.")
    precision: str = _field("float32", "float32, mixed_float16 (GPU) or mixed_bfloat16.", enum=PRECISIONS)
    strategy: str = _field("default", "Distribution: default, mirrored (GPUs of one machine) or "
                           "multi_worker (TF_CONFIG).", enum=STRATEGIES)
    deterministic: bool = _field(False, "Deterministic TF ops (identical runs for a seed; slower).")

    def __post_init__(self):
        _resolve_defaults(self)
        validate(self)

    def to_dict(self):
        """JSON-ready dict; keys are the flag names."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = {str(k): v for k, v in sorted(value.items())}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data):
        """Inverse of `to_dict` (unknown keys are an error: they mean another version's config)."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise UserError(f"config has unknown fields {unknown}")
        kwargs = {}
        for key, value in data.items():
            if key in DICT_FIELDS:
                value = {int(k): v for k, v in value.items()}
            elif key == "attention_stages":
                value = tuple(int(v) for v in value)
            kwargs[key] = value
        return cls(**kwargs)

    def replace(self, **changes):
        """A copy with `changes`; a target or held-out size that was resolved from 'auto' (-1)
        and is not given is resolved again for the new settings."""
        auto = {}
        if ("d_augment_target" not in changes
                and self.d_augment_target == D_AUGMENT_TARGETS.get(self.d_augment_heuristic)):
            auto["d_augment_target"] = -1.0
        if ("heldout_per_class" not in changes
                and self.heldout_per_class == (HELDOUT_AUTO if needs_heldout(self) else 0)):
            auto["heldout_per_class"] = -1
        return dataclasses.replace(self, **{**auto, **changes})


def is_power_of_two(n):
    return isinstance(n, int) and n >= 1 and (n & (n - 1)) == 0


def validate(cfg):
    """Raise UserError naming the flag for any out-of-range field (one line per bad field)."""
    raise_field_errors(type(cfg), {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})
    for name in ("resolution", "lod_initial_resolution"):
        if not is_power_of_two(getattr(cfg, name)) or getattr(cfg, name) < 4:
            raise UserError(f"--{name}={getattr(cfg, name)}: must be a power of two >= 4")
    if cfg.lod_initial_resolution > cfg.resolution:
        raise UserError(f"--lod_initial_resolution={cfg.lod_initial_resolution} is above "
                        f"--resolution={cfg.resolution}")
    for stage in cfg.attention_stages:
        if not is_power_of_two(stage) or stage < 8 or stage > cfg.resolution:
            raise UserError(f"--attention_stages: {stage} is not a resolution of a G/D block "
                            f"(powers of two from 8 to --resolution={cfg.resolution})")
    _validate_d_augment(cfg)
    for name in DICT_FIELDS:
        for res, value in getattr(cfg, name).items():
            if not is_power_of_two(res) or res < 4:
                raise UserError(f"--{name}: key {res} is not a power-of-two resolution >= 4")
            if value <= 0:
                raise UserError(f"--{name}: value {value} for resolution {res} must be > 0")


def needs_heldout(cfg):
    """Whether the chosen controller reads held-out reals (ada steered by rv)."""
    return cfg.d_augment == "ada" and cfg.d_augment_heuristic == "rv"


def _resolve_defaults(cfg):
    """The 'auto' values (-1) of --d_augment_target and --heldout_per_class become numbers, so
    config.json records what the run used (frozen dataclass: set once, here)."""
    if cfg.d_augment_target == -1.0 and cfg.d_augment_heuristic in D_AUGMENT_TARGETS:
        object.__setattr__(cfg, "d_augment_target",
                           D_AUGMENT_TARGETS[cfg.d_augment_heuristic])
    if cfg.heldout_per_class == -1:
        object.__setattr__(cfg, "heldout_per_class", HELDOUT_AUTO if needs_heldout(cfg) else 0)


def _validate_d_augment(cfg):
    """--d_augment_ops: known groups only (at least one when augmenting); colour needs RGB;
    --d_augment_p (fixed p, ada's start) at most --d_augment_p_max."""
    groups = [g.strip() for g in cfg.d_augment_ops.split(",") if g.strip()]
    valid = ", ".join(D_AUGMENT_GROUPS)
    for group in groups:
        if group not in D_AUGMENT_GROUPS:
            raise UserError(f"--d_augment_ops={cfg.d_augment_ops}: unknown group {group!r}; "
                            f"valid groups: {valid}")
    if cfg.d_augment != "none" and not groups:
        raise UserError(f"--d_augment_ops is empty but --d_augment={cfg.d_augment}; name at least "
                        f"one of {valid}")
    if cfg.d_augment != "none" and cfg.d_augment_p > cfg.d_augment_p_max:
        raise UserError(f"--d_augment_p={cfg.d_augment_p} is above --d_augment_p_max="
                        f"{cfg.d_augment_p_max} (ADA's safe bound against leaks); lower "
                        "--d_augment_p, or raise --d_augment_p_max (at most 1) to allow it")
    if cfg.d_augment != "none" and "color" in groups and cfg.num_channels != 3:
        raise UserError(f"--d_augment_ops=color needs RGB images (--num_channels={cfg.num_channels})")
    if cfg.d_augment_target < 0.0:
        raise UserError(f"--d_augment_target={cfg.d_augment_target}: must be in [0, 1] (or -1: the "
                        "heuristic's own)")
    if not is_power_of_two(cfg.d_augment_min_res):
        raise UserError(f"--d_augment_min_res={cfg.d_augment_min_res}: must be a power of two >= 4")
    if needs_heldout(cfg) and cfg.heldout_per_class < 1:
        raise UserError("--d_augment=ada with --d_augment_heuristic=rv needs held-out reals but "
                        "--heldout_per_class=0; give N >= 1, or use --d_augment_heuristic=rt")
    ops = [o.strip() for o in cfg.diffaug_policy.split(",") if o.strip()]
    for op in ops:
        if op not in DIFFAUG_OPS:
            raise UserError(f"--diffaug_policy={cfg.diffaug_policy}: unknown op {op!r}; valid ops: "
                            f"{', '.join(DIFFAUG_OPS)}")
    if cfg.d_augment == "diffaug" and not ops:
        raise UserError(f"--diffaug_policy is empty but --d_augment=diffaug; name at least one of "
                        f"{', '.join(DIFFAUG_OPS)}")
    if cfg.d_augment == "diffaug" and "color" in ops and cfg.num_channels != 3:
        raise UserError(f"--diffaug_policy=color needs RGB images (--num_channels={cfg.num_channels})")


ATTENTION_AUTO = "auto"  # --attention_stages=auto: the second-to-last block, R/2 (paper §3.4)


def resolve_attention_stages(stages, resolution):
    """The one place where `--attention_stages` becomes the resolutions of attention blocks.

    `stages`: the flag's items (strings or ints): `["auto"]`, explicit resolutions, or empty (no
    attention). "auto" = `resolution // 2`, the block mapping 2^(N-1) to 2^N: paper §3.4, "the
    APGAN models with the self-attention mechanism at the 2^(N-1)-to-2^N level feature maps
    (e.g., stage 64 and stage 128) achieve better performance" (Table 1: stage 64 at 128x128).
    Explicit stages above `resolution` are dropped (so a small demo can reuse the paper's
    flagfile). Returns (stages as a sorted tuple of ints, list of warning strings). A stage that
    is not a power of two from 8 up stays in and is refused by `validate`; junk raises UserError.
    """
    items = [str(s).strip() for s in stages if str(s).strip()]
    if ATTENTION_AUTO in items:
        if items != [ATTENTION_AUTO]:
            raise UserError(f"--attention_stages={','.join(items)}: use auto alone or a list of "
                            "resolutions such as 32,64")
        return (resolution // 2,), []
    try:
        numbers = sorted(set(int(s) for s in items))
    except ValueError:
        raise UserError(f"--attention_stages={','.join(items)}: expected auto (R/2, paper §3.4) "
                        "or resolutions such as 32,64") from None
    kept, warnings = [], []
    for stage in numbers:
        if is_power_of_two(stage) and stage > resolution:
            warnings.append(f"--attention_stages: stage {stage} is above --resolution={resolution}; ignored")
        else:
            kept.append(stage)
    return tuple(kept), warnings


def parse_int_dict(text, name, value_type=int):
    """'4:256,8:128' → {4: 256, 8: 128}; UserError naming the flag on junk."""
    out = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        key, sep, value = item.partition(":")
        try:
            if not sep:
                raise ValueError
            out[int(key)] = value_type(value)
        except ValueError:
            raise UserError(f"--{name}: cannot parse {item!r}; expected 'resolution:value,...'") from None
    return out


def _structure(config_dict):
    """What a checkpoint's structure depends on: ARCHITECTURE_FIELDS, the held-out set's size, and
    whether D's augmentation is on (its p and controller state are saved only then; runs older than --d_augment had none)."""
    values = {k: config_dict.get(k) for k in ARCHITECTURE_FIELDS}
    values["d_augment_on"] = config_dict.get("d_augment", "none") != "none"
    # The held-out reals leave the training stream: a resume must keep the same set (runs from
    # before --heldout_per_class had none).
    values["heldout_per_class"] = config_dict.get("heldout_per_class", 0)
    return values


def diff_architecture(old, new):
    """(field, old, new) of the structure fields that differ between two config dicts."""
    old, new = _structure(old), _structure(new)
    return [(k, old[k], new[k]) for k in old if old[k] != new[k]]

