"""Random access to the records of an uncompressed TFRecord file, through an index of offsets.

A TFRecord record is `[uint64 length][uint32 masked crc32c of length][data][uint32 masked crc32c
of data]` (little-endian). `record_offsets` walks the 8-byte length fields only (one seek per
record, no data read), so indexing a multi-GB file is cheap; `RecordFile.read` then fetches any
records by number with TensorFlow's random-access reader, which checks both CRCs in C++ — a flipped
byte or a cut-short record raises `DataLossError`, as the sequential `TFRecordDataset` does.

Used by the reader (`pipeline.py`) when a resolution's records do not fit `--data_cache_mb`: the
records are then read from the file in the exact order the in-memory path would gather them.
"""
import os
import struct
import threading

import numpy as np
import tensorflow as tf
# The random-access reader is public TF API in all but name (documented in tf_record.py, used by
# tf.data's own tests); it is the only C++ reader that takes an offset. TF is pinned (setup.py).
from tensorflow.python.lib.io import tf_record as _tf_record

from pgan_tf.errors import UserError

_LENGTH = struct.Struct("<Q")
_FRAMING_BYTES = 8 + 4 + 4  # length, crc of length, crc of data


def record_offsets(path):
    """int64 [N]: byte offset of each record of `path`, in file order.

    Raises UserError naming the file when the last record runs past the end (a truncated tail).
    """
    size = os.path.getsize(path)
    offsets = []
    position = 0
    with open(path, "rb") as f:
        while position < size:
            f.seek(position)
            header = f.read(_LENGTH.size)
            end = (position + _FRAMING_BYTES + _LENGTH.unpack(header)[0]
                   if len(header) == _LENGTH.size else size + 1)
            if end > size:
                raise UserError(f"{path}: record {len(offsets)} at byte {position} runs past the "
                                f"end of the file ({size} bytes): the file is truncated; "
                                "re-create the dataset (pgan-prepare)")
            offsets.append(position)
            position = end
    return np.asarray(offsets, np.int64)


class RecordFile:
    """The records of one TFRecord file, readable by number (see module docstring)."""

    def __init__(self, path):
        self.path = path
        self.offsets = record_offsets(path)
        self._local = threading.local()  # one reader per tf.data thread (maps may run parallel)

    def read(self, indices):
        """Serialized records of `indices` (int64 [m]) → object array of bytes [m], same order.

        Reads in ascending file position (sequential I/O for sorted chunks); a damaged record
        raises DataLossError naming the file and the record.
        """
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = _tf_record.tf_record_random_reader(self.path)
        out = np.empty(len(indices), object)
        for i in np.argsort(indices, kind="stable"):
            index = int(indices[i])
            try:
                out[i] = reader.read(int(self.offsets[index]))[0]
            except (tf.errors.DataLossError, IndexError) as err:
                raise tf.errors.DataLossError(
                    None, None, f"{self.path}: record {index} at byte {self.offsets[index]} is "
                    f"damaged ({str(err).splitlines()[0]})") from None
        return out

    def read_op(self, indices):
        """Graph op: int64 [m] record numbers → tf.string [m] serialized records."""
        records = tf.numpy_function(self.read, [indices], tf.string, stateful=False)
        records.set_shape([None])
        return records
