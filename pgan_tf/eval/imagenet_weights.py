"""`--classifier_weights=imagenet`: torchvision's ImageNet ResNet-18, downloaded once and converted.

The paper fine-tunes an ImageNet ResNet-18 for GAN-train / GAN-test (§3.3, Table 2 caption). Its
weights here are timm's `resnet18.tv_in1k` (torchvision's `IMAGENET1K_V1`, repackaged as
safetensors) from the Hugging Face hub, pinned to one commit of the repository (not a branch) and
checked against the file's sha256. They are fetched with `keras.utils.get_file` into the Keras cache
(`$KERAS_HOME` or `~/.keras`, sub-folder `models`), converted with `torch_weights` and the
converted `.weights.h5` is cached next to them: later runs use it without the network.

Pins (`IMAGENET_URL`, `IMAGENET_SHA256`): the machines this was written on cannot reach the hub, so
they were cross-checked instead of downloaded: independent public projects pin exactly this triple
(revision bbd144b3e5565108aad885f145491d11bc6ce807 of timm/resnet18.tv_in1k, model.safetensors of
46,807,446 bytes, sha256 694f673d…), another pins the same sha256 at the repository's first
commit a987fd6…, and one states it compared these bytes value for value with torchvision's
IMAGENET1K_V1 weights. (An earlier pin, revision 590dfdd…, was seen in no other source.) If the
download ever reports another sha256, check the hub's LFS "SHA256" of the file and update
`IMAGENET_SHA256`; tests never use these constants.

Offline: the download fails at once (connection errors are not retried; a stalled socket times out
after `SOCKET_TIMEOUT_S`) with one line naming the URL and the manual route: download the file
elsewhere, convert it with `pgan-convert-weights`, pass the `.weights.h5` path instead.
"""
import contextlib
import dataclasses
import io
import os
import sys

from pgan_tf import fileio
from pgan_tf.errors import UserError
from pgan_tf.eval import torch_weights

IMAGENET = "imagenet"  # the --classifier_weights value
HUB_REPOSITORY = "timm/resnet18.tv_in1k"
HUB_REVISION = "bbd144b3e5565108aad885f145491d11bc6ce807"  # a commit, not a branch (docstring)
IMAGENET_URL = (f"https://huggingface.co/{HUB_REPOSITORY}/resolve/{HUB_REVISION}/"
                "model.safetensors")
IMAGENET_SHA256 = "694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81"  # cross-checked
CACHE_SUBDIR = "models"       # keras.utils.get_file's sub-folder for weights (Keras convention)
FILE_STEM = "resnet18_tv_in1k"
SOCKET_TIMEOUT_S = 30.0       # per connect / read: a dead network fails, a slow one still works
MANUAL_ROUTE = ("download it on a machine with internet access, convert it with `pgan-convert-weights "
                "--input model.safetensors --output resnet18_imagenet.weights.h5` and pass "
                "--classifier_weights=resnet18_imagenet.weights.h5")


def keras_cache_dir():
    """Keras' cache root: $KERAS_HOME, else ~/.keras (the rule of `keras.utils.get_file`)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def check_weights_flag(value, flag="--classifier_weights"):
    """Cheap check (no TensorFlow, no network): None, "imagenet" or an existing file."""
    if value and value != IMAGENET and not os.path.isfile(value):
        raise UserError(f"{flag}={value}: no such file; give a .weights.h5 (docs/evaluation.md) or "
                        f"{IMAGENET} to download torchvision's ImageNet ResNet-18")


def fetch_imagenet_weights(url=IMAGENET_URL, sha256=IMAGENET_SHA256, cache_dir=None,
                           progress=True):
    """Path of the converted ImageNet `.weights.h5` in the Keras cache; downloads, checks the
    sha256 and converts on first use. `url` may be a file:// URL (tests)."""
    folder = os.path.join(cache_dir or keras_cache_dir(), CACHE_SUBDIR)
    # get_file silently falls back to a cache in the temp folder when this folder does not exist.
    os.makedirs(folder, exist_ok=True)
    converted = os.path.join(folder, f"{FILE_STEM}-{sha256[:16]}{torch_weights.KERAS_SUFFIX}")
    if os.path.isfile(converted):
        return converted
    source = _download(url, sha256, folder, progress)
    state = torch_weights.read_state_dict(source, flag=f"--classifier_weights={IMAGENET} ({url})")
    torch_weights.convert_state_dict(state, converted, flag=f"--classifier_weights={IMAGENET}")
    return converted


def _download(url, sha256, folder, progress):
    """`keras.utils.get_file` into `folder` (kept in the cache), then the sha256 check."""
    import keras

    # get_file prints "Downloading data from ..." and a progress bar on stdout, which belongs to
    # the binaries' results: send them to stderr (or nowhere without progress).
    out = sys.stderr if progress else io.StringIO()
    try:
        with contextlib.redirect_stdout(out), fileio.socket_timeout(SOCKET_TIMEOUT_S):
            path = keras.utils.get_file(fname=f"{FILE_STEM}-{sha256[:16]}.safetensors",
                                        origin=url, cache_dir=os.path.dirname(folder),
                                        cache_subdir=os.path.basename(folder))
    except Exception as err:  # get_file wraps URL errors in a bare Exception
        reason = " ".join(str(err).split())
        raise UserError(f"--classifier_weights={IMAGENET}: cannot download {url} ({reason}); "
                        f"offline? {MANUAL_ROUTE}") from None
    got = torch_weights.file_sha256(path)
    if got != sha256:
        os.remove(path)
        raise UserError(f"--classifier_weights={IMAGENET}: {url} has sha256 {got}, expected "
                        f"{sha256}; nothing was cached (a corrupted or changed file)")
    return path



def resolve_classifier_weights(config, progress=True, **fetch_kwargs):
    """`ClassifierConfig` whose `weights_path` is a local `.weights.h5`, with `weights_sha256`
    (of the downloaded safetensors for "imagenet", else of the given file) and `weights_source`.

    Idempotent (a resolved config is returned as is); `fetch_kwargs` go to
    `fetch_imagenet_weights` (url, sha256, cache_dir: tests).
    """
    if config.weights_path is None or config.weights_sha256 is not None:
        return config
    if config.weights_path == IMAGENET:
        if config.width != torch_weights.WIDTH:
            raise UserError(f"--classifier_weights={IMAGENET} is ResNet-18 with stem width "
                            f"{torch_weights.WIDTH}; drop --classifier_width={config.width}")
        path = fetch_imagenet_weights(progress=progress, **fetch_kwargs)
        sha256 = fetch_kwargs.get("sha256", IMAGENET_SHA256)
        source = f"{IMAGENET}: {fetch_kwargs.get('url', IMAGENET_URL)}"
        return dataclasses.replace(config, weights_path=path, weights_sha256=sha256,
                                   weights_source=source)
    check_weights_flag(config.weights_path)
    return dataclasses.replace(config, weights_sha256=torch_weights.file_sha256(config.weights_path),
                               weights_source=os.path.abspath(config.weights_path))
