"""`python -m pgan_tf.train` = `pgan-train` (the binary lives in `pgan_tf/cli/train.py`)."""
from pgan_tf.cli.train import entry

if __name__ == "__main__":
    entry()
