"""The progressive-growing schedule as a pure function of the number of real images shown to D.

Official PGAN's `TrainingSchedule` (docs/design.md#schedule-defaults,
docs/design.md#minibatch-per-resolution, docs/design.md#level-of-detail), with the
paper's minibatch table (paper §3.5; docs/design.md#paper-versus-official-pgan) as the default.
Everything here is plain Python (no TensorFlow), so the
training loop, resume logic, logging and tests all read the same numbers from `stage_at`.

Phase arithmetic is done in integer image counts (kimg × 1000, rounded) so that boundaries are exact
even for fractional kimg such as 0.3. Per period of (training + transition) images:

    lod = log2(R) - log2(lod_initial_resolution) - phase - max(phase_images - train, 0) / transition

clamped at >= 0 (docs/design.md#level-of-detail). lod is an exact integer at the last image count
of each stabilise phase (phase_images == train), so a fade-in phase, whose `phase_key` differs,
starts one image later; `phase_start_images` and `next_phase_start` report those exact
first image counts.
"""
import dataclasses
import math
import operator
import types
from typing import Mapping, Optional, Tuple

from pgan_tf.config import PAPER_MINIBATCH

# docs/design.md#schedule-defaults: official tick length (kimg) per resolution.
OFFICIAL_TICK_KIMG = types.MappingProxyType(
    {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 20, 1024: 10})
# Images per kimg (official kimg = images shown to D / 1000).
IMAGES_PER_KIMG = 1000
# Smallest resolution of the official networks (the 4x4 block).
MIN_RESOLUTION = 4

_MAPPING_FIELDS = ("minibatch_dict", "max_minibatch_per_replica", "g_lr_dict", "d_lr_dict",
                   "tick_kimg_dict")


def _is_power_of_two(n):
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1 and (n & (n - 1)) == 0


def kimg_to_images(kimg):
    """Integer image count of a (possibly fractional) kimg value, rounded half up to an image."""
    return int(math.floor(float(kimg) * IMAGES_PER_KIMG + 0.5))


@dataclasses.dataclass(frozen=True)
class ScheduleParams:
    """Schedule settings; defaults are official PGAN's (docs/design.md#schedule-defaults) except the
    paper's minibatches.

    Mapping fields take resolution -> value (keys may be ints or int strings, as read from JSON) and
    are stored as read-only copies.
    """

    resolution: int                               # final resolution R (paper: 256)
    lod_initial_resolution: int = 4               # official: start growing at 4x4
    lod_training_kimg: float = 600.0              # official: stabilise phase length
    lod_transition_kimg: float = 600.0            # official: fade-in phase length
    minibatch_base: int = 16                      # official: minibatch for resolutions not in the dict
    minibatch_dict: Mapping[int, int] = dataclasses.field(default_factory=lambda: PAPER_MINIBATCH)
    max_minibatch_per_replica: Mapping[int, int] = dataclasses.field(default_factory=dict)
    num_replicas: int = 1                         # official num_gpus
    g_lr: float = 0.001                           # official G_lrate_base
    d_lr: float = 0.001                           # official D_lrate_base (paper TTUR: 0.004)
    g_lr_dict: Mapping[int, float] = dataclasses.field(default_factory=dict)
    d_lr_dict: Mapping[int, float] = dataclasses.field(default_factory=dict)
    tick_kimg_base: float = 160.0                 # official tick for resolutions not in the dict
    tick_kimg_dict: Mapping[int, float] = dataclasses.field(default_factory=lambda: OFFICIAL_TICK_KIMG)
    tick_kimg: Optional[float] = None             # when set, one tick length for every resolution

    def __post_init__(self):
        for name in _MAPPING_FIELDS:
            object.__setattr__(self, name, _frozen_resolution_map(name, getattr(self, name)))
        _validate(self)

    def __hash__(self):
        values = tuple(tuple(sorted(v.items())) if isinstance(v, Mapping) else v
                       for v in (getattr(self, f.name) for f in dataclasses.fields(self)))
        return hash(values)

    @property
    def initial_lod(self) -> int:
        """lod of the first phase: log2(R) - log2(lod_initial_resolution)."""
        return int(math.log2(self.resolution)) - int(math.log2(self.lod_initial_resolution))

    @property
    def training_images(self) -> int:
        return kimg_to_images(self.lod_training_kimg)

    @property
    def transition_images(self) -> int:
        return kimg_to_images(self.lod_transition_kimg)


@dataclasses.dataclass(frozen=True)
class Stage:
    """Everything the loop needs at one image count (see `stage_at`)."""

    images_seen: int
    kimg: float
    lod: float                 # official lod (0 = full resolution)
    resolution: int            # R / 2**floor(lod): trained and read (the new one already during a fade-in)
    alpha: float               # weight of the new level = 1 - frac(lod); 1.0 when stable
    fading: bool               # frac(lod) > 0
    minibatch: int
    g_lr: float
    d_lr: float
    tick_kimg: float
    phase_start_images: int    # first image count of the current phase_key
    stream_start_images: int   # first image count at which this resolution was read (0 for the first)
    # (floor(lod), ceil(lod)); Adam moments reset when it changes (docs/design.md#optimizers)
    phase_key: Tuple[int, int]


def _frozen_resolution_map(name, mapping):
    """Read-only {int resolution: value} copy of `mapping`; ValueError on non-integer keys."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{name} must be a mapping resolution -> value, got {mapping!r}")
    out = {}
    for key, value in mapping.items():
        try:
            res = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: key {key!r} is not an integer resolution") from None
        if not _is_power_of_two(res):
            raise ValueError(f"{name}: key {key!r} is not a power of two")
        if not value > 0:
            raise ValueError(f"{name}[{res}] must be > 0, got {value!r}")
        out[res] = value
    return types.MappingProxyType(out)


def _validate(p):
    """ValueError with a clear message for any inconsistent ScheduleParams."""
    if not _is_power_of_two(p.resolution) or p.resolution < MIN_RESOLUTION:
        raise ValueError(f"resolution must be a power of two >= {MIN_RESOLUTION}, got {p.resolution!r}")
    if not _is_power_of_two(p.lod_initial_resolution) or not (
            MIN_RESOLUTION <= p.lod_initial_resolution <= p.resolution):
        raise ValueError(f"lod_initial_resolution must be a power of two in [{MIN_RESOLUTION}, "
                         f"resolution={p.resolution}], got {p.lod_initial_resolution!r}")
    for name in ("lod_training_kimg", "lod_transition_kimg"):
        value = getattr(p, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if p.training_images + p.transition_images == 0 and p.initial_lod > 0:
        raise ValueError("lod_training_kimg and lod_transition_kimg are both 0 but lod_initial_resolution "
                         f"{p.lod_initial_resolution} < resolution {p.resolution}: training would never "
                         "grow; set lod_initial_resolution = resolution to train without growing")
    if not (isinstance(p.num_replicas, int) and p.num_replicas >= 1):
        raise ValueError(f"num_replicas must be an integer >= 1, got {p.num_replicas!r}")
    if not (isinstance(p.minibatch_base, int) and p.minibatch_base >= 1):
        raise ValueError(f"minibatch_base must be an integer >= 1, got {p.minibatch_base!r}")
    for name in ("g_lr", "d_lr", "tick_kimg_base"):
        if not getattr(p, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(p, name)!r}")
    if p.tick_kimg is not None and not p.tick_kimg > 0:
        raise ValueError(f"tick_kimg must be > 0 (or None for the per-resolution table), got {p.tick_kimg!r}")
    res = p.lod_initial_resolution
    while res <= p.resolution:
        if _minibatch(p, res) < 1:
            raise ValueError(f"minibatch at {res}x{res} rounds down to 0 for num_replicas={p.num_replicas}; "
                             "raise minibatch_dict/minibatch_base or max_minibatch_per_replica")
        res *= 2


def _minibatch(p, res):
    """docs/design.md#minibatch-per-resolution: dict or base, rounded down to a multiple of
    replicas, capped per replica."""
    minibatch = int(p.minibatch_dict.get(res, p.minibatch_base))
    minibatch -= minibatch % p.num_replicas
    if res in p.max_minibatch_per_replica:
        minibatch = min(minibatch, int(p.max_minibatch_per_replica[res]) * p.num_replicas)
    return minibatch


def _lod_parts(images_seen, p):
    """(lod_ceil, frac_numerator, frac_denominator): lod = lod_ceil - num/den exactly
    (docs/design.md#level-of-detail).

    The phase period is training + transition images; within a period lod falls linearly by one
    during the transition part. Clamping at 0 gives (0, 0, 1).
    """
    train, trans = p.training_images, p.transition_images
    period = train + trans
    phase = images_seen // period if period > 0 else 0
    phase_images = images_seen - phase * period
    lod_ceil = p.initial_lod - phase
    if lod_ceil <= 0:                                   # clamp: full resolution for good
        return 0, 0, 1
    num = max(phase_images - train, 0) if trans > 0 else 0
    return lod_ceil, num, max(trans, 1)


def full_resolution_images(params: ScheduleParams) -> int:
    """images_seen at which lod first reaches 0 (docs/design.md#level-of-detail: 7,200,000 for R =
    256 with 600/600)."""
    return params.initial_lod * (params.training_images + params.transition_images)


def next_phase_start(images_seen: int, params: ScheduleParams) -> Optional[int]:
    """Smallest image count > images_seen whose phase_key differs; None once lod is 0 for good."""
    images_seen = _check_images(images_seen)
    p = params
    if images_seen >= full_resolution_images(p):
        return None
    train, trans = p.training_images, p.transition_images
    period = train + trans
    phase_begin = (images_seen // period) * period
    _, num, _ = _lod_parts(images_seen, p)
    if num > 0 or trans == 0:
        return phase_begin + period                    # next stabilise phase (integer lod)
    return phase_begin + train + 1                     # fade-in starts right after the integer lod


def _phase_start(images_seen, p):
    """First image count of the current phase_key."""
    full = full_resolution_images(p)
    if images_seen >= full:
        return full
    train, trans = p.training_images, p.transition_images
    period = train + trans
    phase_begin = (images_seen // period) * period
    _, num, _ = _lod_parts(images_seen, p)
    return phase_begin + train + 1 if num > 0 else phase_begin


def _stream_start(images_seen, p, lod_floor):
    """First image count at which resolution R / 2**lod_floor was read (its fade-in start)."""
    steps_grown = p.initial_lod - lod_floor            # resolution doublings since the first one
    if steps_grown == 0:
        return 0
    period = p.training_images + p.transition_images
    # End of the stabilise phase before this resolution's fade-in (where lod is still an integer).
    stabilise_end = (steps_grown - 1) * period + p.training_images
    # With a fade-in the new resolution is read from the next image on; without one lod jumps here.
    return stabilise_end + 1 if p.transition_images > 0 else stabilise_end


def _check_images(images_seen):
    """images_seen as a Python int (NumPy integers welcome); ValueError unless an integer >= 0."""
    try:
        count = operator.index(images_seen)
    except TypeError:
        count = None
    if isinstance(images_seen, bool) or count is None or count < 0:
        raise ValueError(f"images_seen must be an integer >= 0, got {images_seen!r}")
    return count


def stage_at(images_seen: int, params: ScheduleParams) -> Stage:
    """The schedule at `images_seen` real images shown to D (official TrainingSchedule,
    docs/design.md#level-of-detail)."""
    images_seen = _check_images(images_seen)
    p = params
    lod_ceil, num, den = _lod_parts(images_seen, p)
    fading = num > 0
    lod_floor = lod_ceil - 1 if fading else lod_ceil
    progress = num / den                                # fade-in progress: lod = ceil(lod) - progress
    res = p.resolution >> lod_floor                     # R / 2**floor(lod)
    tick = p.tick_kimg if p.tick_kimg is not None else p.tick_kimg_dict.get(res, p.tick_kimg_base)
    return Stage(
        images_seen=images_seen,
        kimg=images_seen / IMAGES_PER_KIMG,
        lod=float(lod_ceil - progress),
        resolution=res,
        # = 1 - frac(lod), docs/design.md#growing-and-fade-in
        alpha=progress if fading else 1.0,
        fading=fading,
        minibatch=_minibatch(p, res),
        g_lr=float(p.g_lr_dict.get(res, p.g_lr)),
        d_lr=float(p.d_lr_dict.get(res, p.d_lr)),
        tick_kimg=float(tick),
        phase_start_images=_phase_start(images_seen, p),
        stream_start_images=_stream_start(images_seen, p, lod_floor),
        phase_key=(lod_floor, lod_ceil),
    )
