"""The one exception type for bad user input (flags, files, datasets, run dirs).

Binaries catch it at the top and print its message as one line on stderr with a non-zero exit
(see `pgan_tf.cli.run`); anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input a user can fix: the message names the file/flag and what to do."""
