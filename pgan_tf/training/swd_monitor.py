"""SWD during training (optional): G_ema against the training reals every K kimg.

Official PGAN computes its metrics after training, on snapshots
(docs/design.md#sliced-wasserstein-distance); a monitor during
training shows in TensorBoard when a run stops improving without waiting for that. It compares, at
the stage's current resolution (and fade), `swd_images` reals — the first ones of the training
split in file order, faded like the reals the discriminator sees — with as many G_ema samples
carrying the same labels (so both sets have the same class mix), drawn from latents fixed by the
run's seed. Same sets and draws at every measurement: the curve moves only because G_ema does. It
uses `pgan_tf.metrics.swd.swd` unchanged, so it needs resolution >= 16 and skips smaller stages.
"""
import numpy as np
import tensorflow as tf

from pgan_tf import sampling
from pgan_tf.data import pipeline
from pgan_tf.metrics import swd as swd_lib
from pgan_tf.training.schedule import kimg_to_images

# Images per G_ema call and per reals batch (memory only: results do not depend on it).
_BATCH = 64
# Salt of the monitor's latent draws, apart from every other use of the run's seed.
_LATENT_SALT = 0x535744  # "SWD"


class SwdMonitor:
    """Decides when an SWD is due and measures it; keeps the current resolution's reals."""

    def __init__(self, config, train_dir, images_seen):
        self.config = config
        self.train_dir = train_dir
        self.every = kimg_to_images(config.swd_every_kimg)
        self.last = images_seen  # a resumed run measures at the next multiple, not at once
        self._reals = None  # (resolution, uint8 [N, r, r, C], labels [N, K]): the current stage's

    def due(self, images_seen):
        """True when `images_seen` has passed a multiple of the interval since the last check."""
        return self.every > 0 and images_seen // self.every > self.last // self.every

    def measure(self, generator, stage, images_seen):
        """{"levels": {...}, "avg": ...} (SWD x 1e3), or None below 16x16; marks the check done."""
        self.last = images_seen
        if stage.resolution < swd_lib.MIN_RESOLUTION:
            return None
        reals, labels = self.reals(stage.resolution)
        alpha = stage.alpha if stage.fading else None
        if alpha is not None:
            reals = sampling.to_uint8(pipeline.fade_reals(pipeline.to_unit_range(reals), alpha))
        fakes = self.fakes(generator, labels, stage.resolution, alpha)
        return swd_lib.swd(reals, fakes, seed=self.config.seed)

    def reals(self, resolution):
        """The first `swd_images` training reals (or all, if fewer) at `resolution`: (uint8
        [N, r, r, C], labels [N, K]). Kept as uint8 for the current resolution only (1024 images
        at 256x256: 200 MB)."""
        if self._reals is None or self._reals[0] != resolution:
            images, labels = [], []
            batches = pipeline.make_dataset(self.train_dir, resolution, _BATCH, shuffle=False,
                                            repeat=False)
            for x, y in batches.take(-(-self.config.swd_images // _BATCH)):
                images.append(sampling.to_uint8(x))  # exact: the records are uint8
                labels.append(y.numpy())
            n = self.config.swd_images
            self._reals = (resolution, np.concatenate(images)[:n], np.concatenate(labels)[:n])
        return self._reals[1:]

    def fakes(self, generator, labels, resolution, alpha):
        """G_ema samples for fixed latents and the reals' labels: uint8 [N, r, r, C]."""
        rng = np.random.RandomState([self.config.seed, _LATENT_SALT])
        latents = rng.standard_normal((len(labels), self.config.latent_size)).astype(np.float32)
        out = [sampling.to_uint8(generator(latents[i:i + _BATCH], labels[i:i + _BATCH],
                                           res=resolution, alpha=alpha, training=False))
               for i in range(0, len(labels), _BATCH)]
        return np.concatenate(out)


def swd_scalars(result):
    """TensorBoard/log keys of one measurement: swd_avg and swd_<res> for each pyramid level."""
    return {"swd_avg": result["avg"], **{f"swd_{r}": v for r, v in result["levels"].items()}}
