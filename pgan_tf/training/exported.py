"""A run's exported generator (the SavedModel `RUN/export/generator`) as a Python object.

`pgan_tf.load_generator(RUN)` returns an `ExportedGenerator`:

    gen = pgan_tf.load_generator("runs/apgan_ttur")
    gen.class_names, gen.latent_size, gen.resolution
    images = gen.generate(["MEL", "DF"], n=16, seed=0)   # uint8 [32, R, R, C]: 16 MEL then 16 DF
    floats = gen(latents, one_hot_labels)                # [-1, 1], as the SavedModel signature

Labels are class names or indices; an unknown name or an index out of range raises a ValueError
naming it and the generator's classes. The SavedModel stores the class names, latent size and
resolution (`generator._export_module`); an export written before it did takes them from the run's
config.json and the signature.
"""
import numpy as np
import tensorflow as tf

from pgan_tf import sampling


class ExportedGenerator:
    """The exported EMA generator: metadata, `generate` (uint8) and `__call__` (float)."""

    def __init__(self, saved_model, class_names, latent_size, resolution):
        self.saved_model = saved_model
        self.class_names = list(class_names)
        self.latent_size = int(latent_size)
        self.resolution = int(resolution)
        self._signature = saved_model.signatures["serving_default"]

    @classmethod
    def load(cls, path, fallback=None):
        """Load the SavedModel at `path`; `fallback`: the run's config.json dict, used for
        exports that do not store their metadata."""
        loaded = tf.saved_model.load(path)
        saved = fallback or {}
        if hasattr(loaded, "class_names"):
            names = [n.decode("utf-8") for n in loaded.class_names.numpy()]
            return cls(loaded, names, loaded.latent_size.numpy(), loaded.resolution.numpy())
        spec = loaded.signatures["serving_default"].structured_input_signature[1]
        config = saved.get("config", {})
        return cls(loaded, saved.get("classes", []), spec["latents"].shape[1],
                   config.get("resolution", 0))

    @property
    def num_classes(self):
        return len(self.class_names)

    def __call__(self, latents, labels):
        """Float images [N, R, R, C] in [-1, 1] of latents [N, latent_size] and one-hot labels
        [N, num_classes] (the SavedModel's signature)."""
        latents = np.asarray(latents, np.float32)
        labels = np.asarray(labels, np.float32)
        if latents.ndim != 2 or latents.shape[1] != self.latent_size:
            raise ValueError(f"latents must be [N, {self.latent_size}], got {list(latents.shape)}")
        if labels.shape != (latents.shape[0], self.num_classes):
            raise ValueError(f"labels must be one-hot [{latents.shape[0]}, {self.num_classes}] "
                             f"(classes {', '.join(self.class_names)}), got {list(labels.shape)}")
        out = self._signature(latents=tf.constant(latents), labels=tf.constant(labels))
        return out["images"].numpy()

    def class_index(self, label):
        """Index of a class name or index; ValueError naming a wrong one."""
        if isinstance(label, (bytes, str)):
            name = label.decode("utf-8") if isinstance(label, bytes) else label
            if name not in self.class_names:
                raise ValueError(f"unknown class {name!r}: this generator's classes are "
                                 f"{', '.join(self.class_names)}")
            return self.class_names.index(name)
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
            raise ValueError(f"class label {label!r} is neither a class name nor an index")
        if not 0 <= label < self.num_classes:
            raise ValueError(f"class index {label} is out of range: this generator has "
                             f"{self.num_classes} classes (0-{self.num_classes - 1}: "
                             f"{', '.join(self.class_names)})")
        return int(label)

    def generate(self, labels, n=1, seed=0):
        """uint8 images [len(labels) * n, R, R, C]: `n` images of each label in `labels` (a class
        name or index, or a list of them), in that order, from N(0, 1) latents of `seed`
        (np.random.RandomState; the same call gives the same images)."""
        if isinstance(labels, (str, bytes, int, np.integer)):
            labels = [labels]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        indices = np.repeat([self.class_index(label) for label in labels], n)
        latents = sampling.latents_from_seed(seed, len(indices), self.latent_size)
        return sampling.to_uint8(self(latents, sampling.one_hot(indices, self.num_classes)))
