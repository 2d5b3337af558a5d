"""pgan_tf: APGAN+TTUR (progressive conditional GAN with SNL attention) in TensorFlow 2 / Keras 3."""
__version__ = "0.1.0"


def load_generator(run_dir):
    """A run's exported EMA generator (SavedModel) as an `ExportedGenerator`: `class_names`,
    `latent_size`, `resolution`, `generate(labels, n, seed)` -> uint8 images; still callable as
    `(latents, one-hot labels) -> images in [-1, 1]`.

    Imported lazily so that `import pgan_tf` stays free of TensorFlow; see
    `pgan_tf.training.generator.load_generator`.
    """
    from pgan_tf.training.generator import load_generator as _load

    return _load(run_dir)
