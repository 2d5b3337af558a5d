"""`python tools/reproduce.py` = `pgan-reproduce` (the binary lives in `pgan_tf/cli/reproduce.py`)."""
import os
import sys

# Run from a clone without installing: the package is the folder above tools/.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pgan_tf.cli.reproduce import entry  # noqa: E402

if __name__ == "__main__":
    entry()
