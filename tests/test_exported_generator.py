"""`pgan_tf.load_generator`: an object with the class names, latent size and resolution the
SavedModel stores, `generate(labels, n, seed)` -> uint8 images (names or indices; a wrong one is
named), still callable as `(latents, labels)`, and the export loads in `keras.layers.TFSMLayer`."""
import os

import numpy as np
import pytest
import tensorflow as tf

import pgan_tf
from pgan_tf import sampling
from pgan_tf.training.exported import ExportedGenerator
from tests.eval_fixtures import CLASSES, TINY_RUN, tiny_run


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    run_dir, _, _ = tiny_run(tmp_path_factory)
    return run_dir, os.path.join(run_dir, "export", "generator")


def _signature_images(path, latents, labels):
    """Float images straight from the SavedModel's serving signature (no pgan_tf code)."""
    out = tf.saved_model.load(path).signatures["serving_default"](
        latents=tf.constant(latents), labels=tf.constant(labels))
    return out["images"].numpy()


def test_the_savedmodel_stores_its_metadata(export):
    loaded = tf.saved_model.load(export[1])
    assert [n.decode() for n in loaded.class_names.numpy()] == list(CLASSES)
    assert int(loaded.latent_size.numpy()) == TINY_RUN["latent_size"]
    assert int(loaded.resolution.numpy()) == TINY_RUN["resolution"]


def test_generate_gives_uint8_images_of_the_asked_classes(export):
    gen = pgan_tf.load_generator(export[0])
    assert (gen.class_names, gen.latent_size, gen.resolution) == (list(CLASSES), 8, 16)
    images = gen.generate(["DF", "MEL"], n=2, seed=3)
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.uint8
    # Independently: RandomState(3) latents, one-hot rows DF, DF, MEL, MEL, the signature, uint8.
    latents = np.random.RandomState(3).standard_normal([4, 8]).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[2, 2, 0, 0]]
    np.testing.assert_array_equal(images, sampling.to_uint8(
        _signature_images(export[1], latents, labels)))
    np.testing.assert_array_equal(gen.generate([2, 0], n=2, seed=3), images)   # indices alike
    np.testing.assert_array_equal(gen.generate("DF", n=2, seed=3), images[:2])
    assert not np.array_equal(gen.generate("DF", n=2, seed=4), images[:2])


@pytest.mark.parametrize("label, message", [
    ("XYZ", "unknown class 'XYZ': this generator's classes are MEL, NV, DF"),
    (3, "class index 3 is out of range: this generator has 3 classes"),
    (-1, "class index -1 is out of range"), (1.5, "class label 1.5 is neither")])
def test_a_wrong_label_is_named(export, label, message):
    gen = pgan_tf.load_generator(export[0])
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        gen.generate(["MEL", label])


def test_still_callable_with_latents_and_one_hot_labels(export):
    gen = pgan_tf.load_generator(export[0])
    latents = np.random.RandomState(0).standard_normal([3, 8]).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)
    images = gen(latents, labels)                 # README's line: load_generator(RUN)(z, y)
    np.testing.assert_array_equal(images, _signature_images(export[1], latents, labels))
    assert images.min() >= -1.0 and images.max() <= 1.0      # the export clips (model card)
    with pytest.raises(ValueError, match=r"labels must be one-hot \[3, 3\]"):
        gen(latents, labels[:, :2])


def test_the_export_loads_as_a_keras_layer(export):
    import keras

    layer = keras.layers.TFSMLayer(export[1])     # Keras's default endpoint "serve"
    latents = np.random.RandomState(1).standard_normal([2, 8]).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[1, 2]]
    out = np.asarray(layer({"latents": latents, "labels": labels}))
    np.testing.assert_array_equal(out, _signature_images(export[1], latents, labels))
    z = keras.Input((8,), name="latents")
    y = keras.Input((3,), name="labels")
    model = keras.Model([z, y], layer({"latents": z, "labels": y}))   # inside a Keras model
    np.testing.assert_array_equal(np.asarray(model([latents, labels])), out)


def test_an_export_without_stored_metadata_takes_it_from_the_run(tmp_path):
    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="latents"),
                                  tf.TensorSpec([None, 2], tf.float32, name="labels")])
    def generate(latents, labels):
        images = tf.tanh(tf.reshape(tf.tile(latents[:, :1] + labels[:, :1], [1, 16]),
                                    [-1, 4, 4, 1]))
        return {"images": images}

    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": generate})
    gen = ExportedGenerator.load(str(tmp_path), fallback={"classes": ["a", "b"],
                                                          "config": {"resolution": 4}})
    assert (gen.class_names, gen.latent_size, gen.resolution) == (["a", "b"], 4, 4)
    assert gen.generate("b", n=2).shape == (2, 4, 4, 1)
