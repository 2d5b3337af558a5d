"""tf.data input for training and evaluation, per resolution (docs/design.md#real-image-pipeline,
docs/design.md#dataset-format).

Reads a dataset folder in the official PGAN format — `OUT/train` or `OUT/val` written by
`pgan-prepare`, or a folder made by official `dataset_tool.py` (with or without
labels) — and yields `(images, labels)`: images float32 [B, res, res, C] in [-1, 1] (x·2/255 − 1),
labels float32 [B, K] (K = 0 without a labels file).

Determinism (exact resume): element i of the repeated stream is a pure function of
(seed, resolution, i). Epoch e = i // N is a permutation of the N records drawn statelessly from
(seed, e); the mirror flip of element i is a stateless draw from (seed, i). `start_index` starts the
stream at element i without reading the skipped epochs.

The permutation is exact (uniform over all N records) when the records fit the shuffle memory
budget — official PGAN's shuffle buffer is 4096 MB worth of records
(docs/design.md#dataset-format: 21,846 records at 256x256x3), i.e. all of ISIC 2018. Larger datasets
are shuffled in blocks of that many records: a seeded random block order, then a seeded permutation
inside each block (the record files are already shuffled once at creation, as official
dataset_tool does).

Memory: a shuffle normally holds its records in memory (one resolution's file, or one block).
Above `cache_mb` (`--data_cache_mb`) the same permutation draws give record numbers that are read
from the file through an index of offsets (`record_index.py`): the same stream, bounded memory.
"""
import json
import os

import numpy as np
import tensorflow as tf

from pgan_tf import fileio
from pgan_tf.data import balanced, integrity, record_index, tfrecords
from pgan_tf.data.draws import RNG_ALG, stateless_key
from pgan_tf.errors import UserError

DATASET_JSON = tfrecords.DATASET_JSON
# Official reader: shuffle buffer = 4096 MB worth of records (docs/design.md#dataset-format).
SHUFFLE_BUDGET_BYTES = 4096 << 20
# Second halves of the stateless seeds [seed, salt]: keep the shuffle and mirror streams apart.
_SHUFFLE_SALT = 0x5348  # "SH"
_MIRROR_SALT = 0x4D49   # "MI"
_NEVER = np.iinfo(np.int64).max  # "repeat forever" bound for Dataset.range
_PARSE_BATCH = 256  # records parsed per call when streaming in file order
# Permuted records gathered per call: one gather + a native unbatch instead of one function call
# per record (which capped the reader at 30-60k img/s whatever the image size).
_GATHER_CHUNK = 256
# Mirror draws come in blocks of this many stream positions, one stateless draw per block, so a
# batch's flips are one or two vectorised draws and still a function of the position alone.
_FLIP_BLOCK = 1024


def read_dataset_info(data_dir):
    """dataset.json of a prepared dataset (`data_dir` = OUT or OUT/<split>); None for an
    official-dataset_tool folder."""
    path = os.path.join(data_dir, DATASET_JSON)
    if fileio.isfile(path):
        return _load_json(path)
    parent = os.path.dirname(fileio.abspath(data_dir).rstrip("/"))  # normpath breaks "ram://"
    path = os.path.join(parent, DATASET_JSON)
    if fileio.isfile(path):
        info = _load_json(path)
        if os.path.basename(os.path.normpath(data_dir)) in info.get("splits", {}):
            return info
    return None


def _load_json(path):
    try:
        return json.loads(fileio.read_text(path))
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is not readable JSON ({err}); re-run pgan-prepare")


def _level_files(data_dir):
    """{log2: path}, checking that every level from 4x4 to the largest is present."""
    if not os.path.isdir(data_dir):
        raise UserError(f"dataset folder {data_dir} does not exist")
    try:
        files = tfrecords.find_level_files(data_dir)
    except ValueError as err:
        raise UserError(str(err))
    if not files:
        raise UserError(f"{data_dir} holds no <name>-rNN.tfrecords files; point at a dataset "
                        "folder written by pgan-prepare (OUT/train) or dataset_tool.py")
    top = max(files)
    missing = [2 ** k for k in range(tfrecords.MIN_LOG2_RESOLUTION, top + 1) if k not in files]
    if missing:
        raise UserError(f"{data_dir} lacks the level(s) {missing} (every level from 4x4 to "
                        f"{2 ** top} must be present); re-create the dataset")
    return files


def list_resolutions(data_dir):
    """Resolutions present in `data_dir`, ascending (from the rNN file names)."""
    return [2 ** k for k in sorted(_level_files(data_dir))]


def read_labels(data_dir):
    """float32 [N, K] from `<name>-rxx.labels` (any single `*.labels` file), or None."""
    if not os.path.isdir(data_dir):
        raise UserError(f"dataset folder {data_dir} does not exist")
    found = sorted(f for f in os.listdir(data_dir) if f.endswith(".labels"))
    if len(found) > 1:
        raise UserError(f"{data_dir} holds several .labels files ({', '.join(found)}); keep one")
    if not found:
        return None
    path = os.path.join(data_dir, found[0])
    try:
        with open(path, "rb") as f:
            labels = np.load(f, allow_pickle=False)  # never unpickle a user's file
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is not a NumPy array file ({err})")
    if labels.ndim != 2:
        raise UserError(f"{path} holds an array of shape {labels.shape}; expected "
                        "[images, classes]")
    return labels.astype(np.float32)


def dataset_size(data_dir):
    """Number of records (= label rows; records of the 4x4 file are counted without labels)."""
    labels = read_labels(data_dir)
    if labels is not None:
        return len(labels)
    return _count_records(_level_files(data_dir)[tfrecords.MIN_LOG2_RESOLUTION])


def _count_records(path):
    with integrity.read_errors(path):
        return int(tf.data.TFRecordDataset(path).reduce(np.int64(0), lambda n, _: n + 1))


def level_file(data_dir, resolution):
    """The TFRecord file of `resolution` in `data_dir` (for error messages)."""
    return _level_files(data_dir).get(int(resolution).bit_length() - 1, data_dir)


def _parse_batch(resolution, channels):
    """Serialized official records [m] → uint8 [m, C, res, res]. Parsed as a batch (much faster than
    record by record); kept CHW until the minibatch is cast to float, because transposing uint8
    makes oneDNN log an error on CPUs without AVX-512."""
    features = {"data": tf.io.FixedLenFeature([], tf.string)}

    def parse(records):
        data = tf.io.decode_raw(tf.io.parse_example(records, features)["data"], tf.uint8)
        return tf.reshape(data, [-1, channels, resolution, resolution])  # [m, C, res, res]
    return parse


def _channels(path, resolution):
    """C of the first record (the same for the whole file)."""
    for record in tf.data.TFRecordDataset(path).take(1):
        shape = tf.train.Example.FromString(record.numpy()).features.feature["shape"]
        c, h, w = shape.int64_list.value
        if (h, w) != (resolution, resolution):
            raise UserError(f"{path} holds {h}x{w} images, expected {resolution}x{resolution}")
        return int(c)
    raise UserError(f"{path} holds no records")


def to_unit_range(images):
    """uint8 images (any layout) → float32 in [-1, 1]: x·2/255 − 1
    (docs/design.md#real-image-pipeline step 2)."""
    return tf.cast(images, tf.float32) * (2 / 255) - 1


def _to_nhwc_float(images, labels):
    """uint8 [B, C, H, W] → float32 [B, H, W, C] in [-1, 1] (`to_unit_range`)."""
    # Scale before transposing: Grappler would move a transpose that directly follows the cast
    # back onto the uint8 tensor.
    return tf.transpose(to_unit_range(images), [0, 2, 3, 1]), labels  # [B,C,H,W] → [B,H,W,C]


def make_dataset(data_dir, resolution, batch_size, *, seed=0, start_index=0, mirror=False,
                 shuffle=True, repeat=True, shuffle_buffer=None, cache_mb=None,
                 balance_classes=False, exclude=None):
    """Batches (images float32 [B, res, res, C] in [-1, 1], labels float32 [B, K]).

    `shuffle=False, repeat=False` gives one ordered pass (last partial batch kept) for evaluation;
    with `repeat` every batch is full, even for a dataset smaller than one batch. `shuffle_buffer`
    caps the records held for shuffling (default: SHUFFLE_BUDGET_BYTES worth). When the records
    one shuffle holds exceed `cache_mb` MB (None = no limit), they are read from the file by
    record number instead of being held in memory: the same elements in the same order.
    `exclude`: record numbers never to yield (a run's held-out reals, data/heldout.py); the others
    then form the epochs (a different stream from the one without it, which stays as it was).
    """
    if batch_size < 1 or start_index < 0:
        raise ValueError(f"batch_size {batch_size} must be ≥ 1 and start_index {start_index} ≥ 0")
    if balance_classes and not (shuffle and repeat):
        raise ValueError("balance_classes is a training stream: it needs shuffle and repeat")
    files = _level_files(data_dir)
    log2 = int(resolution).bit_length() - 1
    if 2 ** log2 != resolution or log2 not in files:
        raise UserError(f"resolution {resolution} is not in {data_dir} (it holds "
                        f"{', '.join(map(str, list_resolutions(data_dir)))})")
    path = files[log2]
    n = _count_records(files[tfrecords.MIN_LOG2_RESOLUTION])  # every level holds the same records
    labels = read_labels(data_dir)
    labels = np.zeros((n, 0), np.float32) if labels is None else labels
    if len(labels) != n:
        raise UserError(f"{data_dir}: the labels file has {len(labels)} rows but {path} holds {n} "
                        "records; re-create the dataset")
    if n == 0:
        raise UserError(f"{path} holds no records")
    with integrity.read_errors(path):
        channels = _channels(path, resolution)
    budget = shuffle_buffer or max(1, SHUFFLE_BUDGET_BYTES // (resolution * resolution * channels))
    reader = _Reader(path, labels, _parse_batch(resolution, channels))
    if exclude is not None and len(exclude):
        if not (shuffle and repeat):
            raise ValueError("exclude is a training stream: it needs shuffle and repeat")
        fits = cache_mb is None or n * resolution * resolution * channels <= cache_mb * (1 << 20)
        indices = _kept_indices(labels, np.setdiff1d(np.arange(n), exclude), seed, start_index,
                                balance_classes)
        stream = _gathered(reader, indices, n if fits else None)
        return _finish(stream, batch_size, repeat, mirror, seed, start_index)
    first_epoch, skip = divmod(int(start_index), n)
    epochs = tf.data.Dataset.range(first_epoch, _NEVER if repeat else first_epoch + 1)
    block = min(n, int(budget))
    record_bytes = resolution * resolution * channels
    fits_memory = cache_mb is None or block * record_bytes <= cache_mb * (1 << 20)
    if balance_classes:
        indices = balanced.record_indices(labels, seed, start_index)
        stream = _gathered(reader, indices, n if block >= n and fits_memory else None)
    elif shuffle and not fits_memory:
        stream = _file_epochs(reader, epochs, n, block, seed, skip)
    elif shuffle:
        stream = _shuffled_epochs(reader, epochs, n, block, seed).skip(skip)
    else:
        stream = epochs.flat_map(lambda e: reader.stream()).skip(skip)
    return _finish(stream, batch_size, repeat, mirror, seed, start_index)


def _finish(stream, batch_size, repeat, mirror, seed, start_index):
    """Batch, mirror (stateless per stream position), to float NHWC, prefetch."""
    stream = stream.batch(batch_size, drop_remainder=repeat)
    if mirror:
        starts = tf.data.Dataset.range(int(start_index), _NEVER, batch_size)  # first position
        stream = tf.data.Dataset.zip((starts, stream)).map(_mirror(seed))
    stream = stream.map(_to_nhwc_float)
    return stream.prefetch(tf.data.AUTOTUNE)


def _kept_indices(labels, kept, seed, start_index, balance_classes):
    """Record numbers (int64 dataset) of a stream over the `kept` records only: epochs of seeded
    permutations of them (or the balanced draw over their labels), from `start_index` on."""
    kept_t = tf.constant(kept.astype(np.int64))
    if balance_classes:
        return balanced.record_indices(labels[kept], seed, start_index).map(
            lambda i: tf.gather(kept_t, i))
    m = len(kept)
    first_epoch, skip = divmod(int(start_index), m)

    def epoch(e):
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(m, dtype=tf.int64), stateless_key(seed, _SHUFFLE_SALT, e, 1), alg=RNG_ALG)
        return tf.data.Dataset.from_tensor_slices(tf.gather(kept_t, perm))
    return tf.data.Dataset.range(first_epoch, _NEVER).flat_map(epoch).skip(skip)


class _Reader:
    """Records of one level file with their label rows, as a stream or as blocks."""

    def __init__(self, path, labels, parse):
        self.path, self.labels, self.parse = path, tf.constant(labels), parse

    def _parsed(self, raw):
        # Parse in batches of _PARSE_BATCH, then back to single records (one huge parse_example
        # is several times slower than these chunks).
        return raw.batch(_PARSE_BATCH).map(self.parse).unbatch()

    def stream(self):
        """Elements (uint8 [C, res, res], float32 [K]) in file order."""
        return tf.data.Dataset.zip((self._parsed(tf.data.TFRecordDataset(self.path)),
                                    tf.data.Dataset.from_tensor_slices(self.labels)))

    def block(self, start, size):
        """One element: records [start, start + size) → (uint8 [m, C, res, res], float32 [m, K])."""
        raw = tf.data.TFRecordDataset(self.path).skip(start).take(size)
        labels = tf.data.Dataset.from_tensor_slices(self.labels).skip(start).take(size)
        return tf.data.Dataset.zip((self._parsed(raw), labels)).batch(size)


def _shuffled_epochs(reader, epochs, n, block, seed):
    """Each epoch e as a permutation of the n records drawn from (seed, e).

    One block (n ≤ block, the usual case): the records are read once, cached in memory and only
    re-permuted each epoch. Otherwise blocks of `block` records are read in a seeded order each
    epoch and permuted inside.
    """
    def permuted(images, labels, *key):
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(tf.shape(images)[0]), stateless_key(seed, _SHUFFLE_SALT, *key), alg=RNG_ALG)
        chunks = tf.data.Dataset.from_tensor_slices(perm).batch(_GATHER_CHUNK)
        if labels.shape[-1] == 0:  # no labels: TF 2.21 segfaults unbatching a [m, 0] tensor
            no_label = tf.data.Dataset.from_tensors(tf.zeros([0], labels.dtype)).repeat()
            return tf.data.Dataset.zip(
                (chunks.map(lambda js: tf.gather(images, js)).unbatch(), no_label))
        return chunks.map(lambda js: (tf.gather(images, js), tf.gather(labels, js))).unbatch()

    if block >= n:
        whole = reader.block(0, n).cache()
        return epochs.flat_map(lambda e: whole.flat_map(lambda x, y: permuted(x, y, e, 1)))
    num_blocks = -(-n // block)

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_blocks, dtype=tf.int64), stateless_key(seed, _SHUFFLE_SALT, e, 0),
            alg=RNG_ALG)
        return tf.data.Dataset.from_tensor_slices(order).flat_map(
            lambda b: reader.block(b * block, block).flat_map(
                lambda x, y: permuted(x, y, e, b + 1)))
    return epochs.flat_map(epoch)


def _file_epochs(reader, epochs, n, block, seed, skip):
    """The elements of `_shuffled_epochs`, in the same order, read from the file by record number
    (bounded memory): the same permutation draws give global record indices, which are skipped
    (cheap) before any record is read, then fetched `_GATHER_CHUNK` at a time."""
    num_blocks = -(-n // block)

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_blocks, dtype=tf.int64), stateless_key(seed, _SHUFFLE_SALT, e, 0),
            alg=RNG_ALG)

        def block_indices(b):
            size = tf.cast(tf.minimum(tf.constant(block, tf.int64), n - b * block), tf.int32)
            # int32 like `permuted`'s tf.range over the block: the same draws, the same order.
            perm = tf.random.experimental.stateless_shuffle(
                tf.range(size), stateless_key(seed, _SHUFFLE_SALT, e, b + 1), alg=RNG_ALG)
            return tf.data.Dataset.from_tensor_slices(b * block + tf.cast(perm, tf.int64))
        return tf.data.Dataset.from_tensor_slices(order).flat_map(block_indices)

    records = record_index.RecordFile(reader.path)
    chunks = epochs.flat_map(epoch).skip(skip).batch(_GATHER_CHUNK)
    images = chunks.map(lambda js: reader.parse(records.read_op(js))).unbatch()
    if reader.labels.shape[-1] == 0:  # TF 2.21 segfaults unbatching a [m, 0] tensor
        labels = tf.data.Dataset.from_tensors(tf.zeros([0], reader.labels.dtype)).repeat()
    else:
        labels = chunks.map(lambda js: tf.gather(reader.labels, js)).unbatch()
    return tf.data.Dataset.zip((images, labels))


def _gathered(reader, indices, n=None):
    """Elements (uint8 [C, res, res], float32 [K]) of the records numbered by `indices`: gathered
    from all `n` records held in memory, or (n=None) read from the file by record number."""
    chunks = indices.batch(_GATHER_CHUNK)
    if n is not None:
        whole = reader.block(0, n).cache()
        return whole.flat_map(lambda x, y: chunks.map(
            lambda js: (tf.gather(x, js), tf.gather(y, js))).unbatch())
    records = record_index.RecordFile(reader.path)
    images = chunks.map(lambda js: reader.parse(records.read_op(js))).unbatch()
    labels = chunks.map(lambda js: tf.gather(reader.labels, js)).unbatch()
    return tf.data.Dataset.zip((images, labels))


def _mirror(seed):
    """(first stream position, (images [B, C, H, W], labels)) → the images flipped left-right,
    each with p = 1/2 drawn from (seed, its position) — official mirror augment
    (docs/design.md#real-image-pipeline step 3), made stateless so a resumed stream flips exactly
    the same images."""
    def flip(start, batch):
        images, labels = batch
        u = _flip_draws(seed, start, tf.shape(images, out_type=tf.int64)[0])  # [B]
        flipped = tf.reverse(images, axis=[3])  # [B, C, H, W]: 3 = width
        return tf.where(u[:, None, None, None] < 0.5, flipped, images), labels
    return flip


def _flip_draws(seed, start, n):
    """U[0,1) draws of stream positions start .. start+n-1: position i takes element i mod
    _FLIP_BLOCK of block i // _FLIP_BLOCK's draw from (seed, block) — a function of i alone,
    whatever the batch size."""
    first, last = start // _FLIP_BLOCK, (start + n - 1) // _FLIP_BLOCK
    blocks = tf.map_fn(
        lambda b: tf.random.stateless_uniform([_FLIP_BLOCK], stateless_key(seed, _MIRROR_SALT, b),
                                              alg=RNG_ALG),
        tf.range(first, last + 1), fn_output_signature=tf.float32)  # [blocks, _FLIP_BLOCK]
    offset = start - first * _FLIP_BLOCK
    return tf.reshape(blocks, [-1])[offset:offset + n]


def fade_reals(images, alpha):
    """Official LOD fade of reals (docs/design.md#real-image-pipeline step 4), NHWC.

    lerp(lowres, images, alpha) with lowres = nearest-upsampled 2x2 box average of `images`;
    `alpha` = weight of the full-detail image (1 = no fade; official `1 - (lod - floor(lod))`).
    """
    images = tf.convert_to_tensor(images)
    s = tf.shape(images)
    y = tf.reshape(images, [s[0], s[1] // 2, 2, s[2] // 2, 2, s[3]])  # [B, H/2, 2, W/2, 2, C]
    y = tf.reduce_mean(y, axis=[2, 4], keepdims=True)                  # [B, H/2, 1, W/2, 1, C]
    y = tf.tile(y, [1, 1, 2, 1, 2, 1])                                 # [B, H/2, 2, W/2, 2, C]
    lowres = tf.reshape(y, s)                                          # [B, H, W, C]
    alpha = tf.cast(alpha, images.dtype)
    # = lerp(lowres, images, alpha), written so alpha = 1 returns `images` bit-exactly.
    return images * alpha + lowres * (1 - alpha)
