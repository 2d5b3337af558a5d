"""The trained EMA generator of a run: restore it from a checkpoint, save/load a SavedModel.

`load_generator(run_dir)` is the public entry point (also `pgan_tf.load_generator`): it returns an
`ExportedGenerator` (`training/exported.py`), callable `(latents [N, latent_size], labels [N, K]
one-hot) -> images [N, R, R, C]` in [-1, 1] at the run's final resolution, with `generate(labels,
n, seed)` -> uint8 images and the class names. A run stopped before reaching it is sampled at its current stage and
nearest-upsampled to R, as official PGAN's networks always output R x R
(docs/design.md#growing-and-fade-in).
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from pgan_tf import dirlock, disk, fileio, model_card
from pgan_tf.config import TrainConfig
from pgan_tf.errors import UserError
from pgan_tf.training import checkpoint_index
from pgan_tf.training.builders import model_factories, schedule_params
from pgan_tf.training.checkpoint_index import list_checkpoints  # noqa: F401  (public here too)
from pgan_tf.training.exported import ExportedGenerator
from pgan_tf.training.run_dir import read_run_config
from pgan_tf.training.schedule import stage_at

EXPORT_DIR = os.path.join("export", "generator")


@dataclasses.dataclass
class RunGenerator:
    """G_ema of a run at one checkpoint, with what a manifest needs to say about it."""

    model: object
    config: TrainConfig
    class_names: list
    checkpoint: str
    images_seen: int
    stage_resolution: int
    alpha: float
    run_dir: str = ""    # where it was restored from (its config.json feeds the model card)

    @property
    def upsampled(self):
        return self.stage_resolution < self.config.resolution

    def __call__(self, latents, labels, batch_size=64):
        """Images in [-1, 1], [N, R, R, C] float32 NumPy, generated in batches."""
        out = []
        fading = self.alpha < 1.0
        for i in range(0, len(latents), batch_size):
            images = self.model(tf.constant(latents[i:i + batch_size]),
                                tf.constant(labels[i:i + batch_size], tf.float32),
                                res=self.stage_resolution, alpha=self.alpha if fading else None,
                                training=False)
            factor = self.config.resolution // self.stage_resolution
            # nearest upsampling to R, as official (docs/design.md#growing-and-fade-in)
            if factor > 1:
                images = tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)
            out.append(np.asarray(images, np.float32))
        return np.concatenate(out) if out else np.zeros((0,), np.float32)


def restore_run_generator(run_dir, checkpoint="latest"):
    """G_ema of `run_dir` at `checkpoint` ('latest' or a kimg number); UserError if absent."""
    saved = read_run_config(run_dir)
    if saved is None:
        raise UserError(f"--run_dir={run_dir} is not a pgan_tf run (no config.json)")
    config = TrainConfig.from_dict(saved["config"])
    make_g, _ = model_factories(config)
    model = make_g(name="generator_ema")
    move = readers_may_move(run_dir)
    if checkpoint == "latest":
        # The one meaning of "latest": newest readable by images seen (checkpoint_index); one
        # that does not restore into this run's generator counts as unreadable.
        found = checkpoint_index.newest_readable(
            run_dir, move=move, accept=lambda path: restore_weights(model, path))
        if found is None:
            raise UserError(f"--run_dir={run_dir} has no checkpoint yet")
        images_seen, path = found
    else:
        images_seen, path = _at_kimg(run_dir, checkpoint, move)
        problem = restore_weights(model, path)
        if problem:
            raise UserError(f"--checkpoint={checkpoint}: {path} does not restore into this "
                            f"run's generator ({problem}); choose another --checkpoint")
    stage = stage_at(max(images_seen - 1, 0), schedule_params(config))
    return RunGenerator(model=model, config=config, class_names=list(saved.get("classes", [])),
                        checkpoint=path, images_seen=images_seen,
                        stage_resolution=stage.resolution, alpha=stage.alpha, run_dir=run_dir)


def restore_weights(model, path):
    """Restore the EMA generator `model` from checkpoint `path`: None when every weight of the
    model was restored and the checkpoint holds no other generator weight; else why not (a
    checkpoint of another architecture, or files removed meanwhile). The model is then not usable
    until a later call succeeds."""
    try:
        status = tf.train.Checkpoint(G_ema=model).restore(path)
        status.expect_partial()  # the discriminator and the optimizers are not needed here
        status.assert_existing_objects_matched()
        stored = tf.compat.v1.train.NewCheckpointReader(path).get_variable_to_shape_map()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        return f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:200]}"
    own = [n for n in stored if n.startswith("G_ema/") and n.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
           and "OPTIMIZER_SLOT" not in n]
    if len(own) != len(model.variables):
        return (f"it holds {len(own)} generator weights, this run's generator has "
                f"{len(model.variables)}: another architecture")
    return None


def readers_may_move(run_dir):
    """False while a trainer holds the run dir's lock: a reader (export, evaluate) then only skips
    an unreadable checkpoint. Moving it aside rewrites the state file the live trainer rewrites
    too (one of the two updates would be lost); the trainer quarantines it itself at its next
    start."""
    return not dirlock.in_use(os.path.join(run_dir, dirlock.LOCK_FILE))


def _at_kimg(run_dir, checkpoint, move=True):
    """(images seen, prefix) of the checkpoint at kimg `checkpoint`, checked readable."""
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise UserError(f"--run_dir={run_dir} has no checkpoint yet")
    try:
        wanted = int(round(float(checkpoint) * 1000))
    except ValueError:
        raise UserError(f"--checkpoint={checkpoint}: expected 'latest' or a kimg number") from None
    # Exact image count first (fractional kimg of short runs), else the whole kimg.
    matches = [n for n in checkpoints if n == wanted] or \
        [n for n in checkpoints if n // 1000 == wanted // 1000]
    if not matches:
        kimgs = ", ".join(f"{n / 1000:g}" for n in checkpoints)
        raise UserError(f"--checkpoint={checkpoint}: no checkpoint at that kimg (have {kimgs})")
    images_seen = max(matches)
    return images_seen, checkpoint_index.checked(checkpoints[images_seen], move)


def _export_module(run_generator):
    """The SavedModel's object: the generator, the signature `serving_default` (latents=, labels=)
    -> {"images"}, the endpoint `serve` ({"latents", "labels"} -> images, what
    `keras.layers.TFSMLayer(path)` calls by default) and, as variables, the class names, latent
    size and resolution (so the folder alone says how to call it)."""
    cfg = run_generator.config
    module = tf.Module()
    module.model = run_generator.model
    module.class_names = tf.Variable(list(run_generator.class_names), dtype=tf.string,
                                     trainable=False, shape=[len(run_generator.class_names)])
    module.latent_size = tf.Variable(cfg.latent_size, dtype=tf.int64, trainable=False)
    module.resolution = tf.Variable(cfg.resolution, dtype=tf.int64, trainable=False)
    latents_spec = tf.TensorSpec([None, cfg.latent_size], tf.float32, name="latents")
    labels_spec = tf.TensorSpec([None, cfg.num_classes], tf.float32, name="labels")

    @tf.function(input_signature=[latents_spec, labels_spec])
    def generate(latents, labels):
        fading = run_generator.alpha < 1.0
        images = run_generator.model(latents, labels, res=run_generator.stage_resolution,
                                     alpha=run_generator.alpha if fading else None, training=False)
        factor = cfg.resolution // run_generator.stage_resolution
        if factor > 1:
            images = tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)
        # G's last layer is linear (official PGAN): a few values leave [-1, 1] (the demo's reach
        # -1.14 ... 1.47). Clipped here so the export keeps the range its card states; uint8
        # conversion (sampling.to_uint8) saturates the same values, so no pixel changes.
        return {"images": tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)}

    @tf.function(input_signature=[{"latents": latents_spec, "labels": labels_spec}])
    def serve(inputs):
        return generate(inputs["latents"], inputs["labels"])["images"]

    module.generate = generate
    module.serve = serve
    return module, generate


def save_generator(run_generator, export_dir):
    """SavedModel usable without pgan_tf (`_export_module`), with its MODEL_CARD.md
    (`pgan_tf.model_card`) when the run dir is known."""
    if not fileio.is_remote(export_dir) and os.path.islink(export_dir):
        # The swap below replaces a folder; a link would leave the finished export under a
        # temporary name. The user decides where the export lives: no link is followed.
        raise UserError(f"{export_dir} is a symlink ({os.readlink(export_dir)}); remove the link "
                        "and rerun to write the export there (the checkpoints are kept)")
    module, generate = _export_module(run_generator)
    # Write beside, then swap in: a reader never loads half a SavedModel (on object stores the
    # folder rename is a copy, so there only the window shrinks).
    tmp = fileio.temp_name(export_dir)
    fileio.rmtree(tmp)
    with disk.writing("the generator export", export_dir, point="export",
                      kept="an earlier export there is intact"):
        try:
            tf.saved_model.save(module, tmp, signatures={"serving_default": generate})
            if run_generator.run_dir:
                model_card.write_model_card(tmp, run_generator.run_dir, run_generator.images_seen,
                                            stage_resolution=run_generator.stage_resolution)
        except BaseException:
            fileio.rmtree(tmp)
            raise
    fileio.rmtree(export_dir)
    fileio.rename(tmp, export_dir)
    return export_dir


def export_done(run_dir):
    """True when `run_dir/export/generator` is a complete SavedModel (its graph and its variables'
    index are there: the folder appears only by a rename once complete, `save_generator`)."""
    path = os.path.join(run_dir, EXPORT_DIR)
    return (fileio.isfile(os.path.join(path, "saved_model.pb"))
            and fileio.isfile(os.path.join(path, "variables", "variables.index")))


def remove_stale_export_temps(export_dir):
    """Remove the temporary folders (`fileio.temp_name`) of exports to `export_dir` that were
    killed midway. Only for a writer holding the folder's lock: a live export's folder looks alike."""
    parent, name = os.path.split(str(export_dir).rstrip("/"))
    for path in fileio.glob(parent, fileio.literal(f".{name}.tmp") + "*"):
        fileio.rmtree(path)


def load_generator(run_dir):
    """The `ExportedGenerator` of `run_dir/export/generator` (SavedModel): `class_names`,
    `latent_size`, `resolution`, `generate(labels, n, seed)` -> uint8 images, and callable as
    `(latents, one-hot labels) -> float images in [-1, 1]`.

    Only TensorFlow is needed to use it; other tools can also load the folder directly with
    `tf.saved_model.load(path).signatures['serving_default']` or `keras.layers.TFSMLayer(path)`.
    """
    path = os.path.join(run_dir, EXPORT_DIR)
    if not fileio.isdir(path):
        # A SIGTERM stop skips the export (loop._export_or_defer): say how to get one.
        raise UserError(f"{path} does not exist: it is written when the run ends (a run stopped "
                        "by SIGTERM writes it once resumed to its end); to sample the latest "
                        f"checkpoint now, run pgan-export --run_dir {run_dir}")
    return ExportedGenerator.load(path, fallback=read_run_config(run_dir))
