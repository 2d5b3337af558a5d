"""The Inception graph of the standard FID: TensorFlow's "2015-12-05" Inception-v3 frozen graph
(`inception-2015-12-05.tgz`, member `classify_image_graph_def.pb`), its 2048-d `pool_3` features.

Heusel et al.'s reference FID code (bioinf-jku/TTUR, `fid.py`), official PGAN's
`metrics/frechet_inception_distance.py` (a copy of it) and TensorFlow's own `classify_image.py`
tutorial download this graph from `GRAPH_URL`; papers that report FID use it. TTUR feeds images
of any size with values 0..255 to the tensor `ExpandDims:0` (the graph then resizes them
bilinearly to 299x299 and scales them to [-1, 1] itself) and reads `pool_3:0` ([N, 1, 1, 2048]).
This module does the same: the GraphDef is imported with `ExpandDims:0` mapped to a batch input,
so shapes are inferred for the batch (TTUR patches the batch-1 static shapes instead).

The pin. No public source that pins a sha256 of the tarball or of the .pb was found. The URL is
the one TTUR's `fid.py` and TensorFlow's `classify_image.py` hard-code; published download logs of
`classify_image.py` report the tarball as 88,931,400 bytes (`GRAPH_BYTES`). So: a download from the
default URL must have that size; its sha256 is computed, kept in the cache file name and recorded
in results.json, and a user who knows the hash passes it (`--inception_graph_sha256`), which is then
checked for every file, downloaded or local. A local `.tgz` or `.pb` (`--inception_graph=PATH`)
works without the network. Offline, the download fails at once with one line naming the URL and
the manual route. The file is parsed as a protobuf GraphDef: nothing is unpickled.
"""
import contextlib
import io
import os
import sys
import tarfile

import numpy as np

from pgan_tf import fileio
from pgan_tf.errors import UserError

GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
GRAPH_BYTES = 88_931_400            # size of the tarball at GRAPH_URL (module docstring)
GRAPH_MEMBER = "classify_image_graph_def.pb"
NETWORK = "Inception-v3 TF graph 2015-12-05 (classify_image_graph_def.pb, pool_3)"
INPUT_TENSOR = "ExpandDims:0"       # images [N, H, W, 3], 0..255 float (TTUR's feed)
OUTPUT_TENSOR = "pool_3:0"          # [N, 1, 1, 2048]
FEATURE_DIM = 2048
DEFAULT_BATCH_SIZE = 50             # TTUR's default batch size
CACHE_SUBDIR = "models"             # keras.utils.get_file's sub-folder (Keras convention)
SOCKET_TIMEOUT_S = 30.0             # per connect / read: a dead network fails, a slow one works
URL_SCHEMES = ("http://", "https://", "file://")
MANUAL_ROUTE = (f"download {GRAPH_URL} on a machine with internet access and pass "
                "--inception_graph=inception-2015-12-05.tgz (or its classify_image_graph_def.pb)")


def is_url(source):
    """True for an http(s):// or file:// source (downloaded into the cache)."""
    return str(source).startswith(URL_SCHEMES)



def check_source(source, sha256=None, flag="--inception_graph"):
    """Cheap check (no TensorFlow, no network): a URL or an existing file; a 64-hex sha256."""
    if not source:
        raise UserError(f"{flag} is empty; give {GRAPH_URL} (the default) or a local file")
    if not is_url(source) and not os.path.isfile(source):
        raise UserError(f"{flag}={source}: no such file; give the inception-2015-12-05.tgz "
                        f"tarball, its {GRAPH_MEMBER}, or a URL")
    if sha256 and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower())):
        raise UserError(f"{flag}_sha256={sha256}: give the file's sha256 as 64 hex digits")


def keras_cache_dir():
    """Keras' cache root: $KERAS_HOME, else ~/.keras (the rule of `keras.utils.get_file`)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def resolve_graph(source=GRAPH_URL, sha256=None, cache_dir=None, progress=True):
    """(local path, sha256) of the graph file: `source` itself when local, else the cached
    download (fetched on first use). The sha256 is checked when given (module docstring)."""
    check_source(source, sha256)
    expected = sha256.lower() if sha256 else None
    if not is_url(source):
        got = fileio.file_sha256(source)
        if expected and got != expected:
            raise UserError(f"--inception_graph={source} has sha256 {got}, expected {expected} "
                            "(--inception_graph_sha256)")
        return os.path.abspath(source), got
    folder = os.path.join(cache_dir or keras_cache_dir(), CACHE_SUBDIR)
    # get_file silently falls back to a cache in the temp folder when this folder does not exist.
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(source.rstrip("/")) or "inception-graph"
    path = _download(source, os.path.join(folder, f"{(expected or 'unpinned')[:16]}-{name}"),
                     progress)
    got = fileio.file_sha256(path)
    if expected and got != expected:
        os.remove(path)
        raise UserError(f"--inception_graph={source} has sha256 {got}, expected {expected}; "
                        "nothing was cached (a corrupted or changed file)")
    if not expected and source == GRAPH_URL and os.path.getsize(path) != GRAPH_BYTES:
        size = os.path.getsize(path)
        os.remove(path)
        raise UserError(f"--inception_graph={source} gave {size} bytes, the published tarball has "
                        f"{GRAPH_BYTES}; nothing was cached (a corrupted or changed file)")
    return path, got


def _download(url, path, progress):
    """`keras.utils.get_file(url)` to `path` (kept: a later call finds it without the network)."""
    if os.path.isfile(path):
        return path
    import keras

    # get_file prints "Downloading data from ..." on stdout, which belongs to the results.
    out = sys.stderr if progress else io.StringIO()
    try:
        with contextlib.redirect_stdout(out), fileio.socket_timeout(SOCKET_TIMEOUT_S):
            return keras.utils.get_file(fname=os.path.basename(path), origin=url,
                                        cache_dir=os.path.dirname(os.path.dirname(path)),
                                        cache_subdir=os.path.basename(os.path.dirname(path)))
    except Exception as err:  # get_file wraps URL errors in a bare Exception
        reason = " ".join(str(err).split())
        raise UserError(f"--inception_graph: cannot download {url} ({reason}); offline? "
                        f"{MANUAL_ROUTE}") from None



def read_graph_def(path):
    """The GraphDef in `path`: a tarball's `classify_image_graph_def.pb` member, or a .pb file."""
    import tensorflow as tf

    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            members = [m for m in archive.getmembers()
                       if m.isfile() and os.path.basename(m.name) == GRAPH_MEMBER]
            if not members:
                raise UserError(f"--inception_graph={path}: the archive has no {GRAPH_MEMBER}")
            data = archive.extractfile(members[0]).read()   # bytes only: nothing is extracted
    else:
        with open(path, "rb") as f:
            data = f.read()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError (and friends) for a file of another kind
        raise UserError(f"--inception_graph={path}: not a TensorFlow GraphDef "
                        f"({type(err).__name__}); {MANUAL_ROUTE}") from None
    for node in graph_def.node:
        # Shapes recorded at export (a batch of 1) would contradict the batch input_map feeds;
        # the importer infers them again from the ops.
        if "_output_shapes" in node.attr:
            del node.attr["_output_shapes"]
    names = {node.name for node in graph_def.node}
    missing = [t for t in (INPUT_TENSOR, OUTPUT_TENSOR) if t.split(":")[0] not in names]
    if missing:
        raise UserError(f"--inception_graph={path}: the graph has no {', '.join(missing)}; it is "
                        f"not the 2015-12-05 Inception graph ({MANUAL_ROUTE})")
    return graph_def


class GraphFeatures:
    """`pool_3` features of uint8 images [N, H, W, 1 or 3] -> float64 [N, D] from a GraphDef."""

    def __init__(self, graph_def, batch_size=DEFAULT_BATCH_SIZE):
        import tensorflow as tf

        if batch_size < 1:
            raise UserError(f"Inception batch size must be >= 1, got {batch_size}")
        self.batch_size = batch_size

        def pool3(images):  # input_map re-infers every shape for the batch (module docstring)
            (out,) = tf.compat.v1.import_graph_def(graph_def, input_map={INPUT_TENSOR: images},
                                                   return_elements=[OUTPUT_TENSOR], name="")
            return tf.reshape(out, [tf.shape(out)[0], -1])

        self._fn = tf.compat.v1.wrap_function(
            pool3, [tf.TensorSpec([None, None, None, 3], tf.float32)])

    def __call__(self, images, progress=False):
        """Features in batches of `batch_size`; grey images are tiled to RGB, values 0..255."""
        from tqdm import tqdm

        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise UserError(f"Inception features: images must be uint8 [N, H, W, 1 or 3], got "
                            f"{images.dtype} {images.shape}")
        out = []
        for i in tqdm(range(0, len(images), self.batch_size), desc="inception graph",
                      unit="batch", disable=not progress, mininterval=0.5):
            batch = images[i:i + self.batch_size].astype(np.float32)
            if batch.shape[-1] == 1:
                batch = np.repeat(batch, 3, axis=-1)
            out.append(np.asarray(self._fn(batch), np.float64))
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))


def load_graph_features(source=GRAPH_URL, sha256=None, batch_size=DEFAULT_BATCH_SIZE,
                        cache_dir=None, progress=True):
    """(GraphFeatures, description dict: network, source, file, sha256, pinned) of `source`."""
    path, got = resolve_graph(source, sha256, cache_dir, progress)
    features = GraphFeatures(read_graph_def(path), batch_size)
    return features, {"network": NETWORK, "graph_source": source, "graph_file": path,
                      "graph_sha256": got, "sha256_pinned": bool(sha256)}
