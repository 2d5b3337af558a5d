"""Config fields that are also flags: `field` declares a dataclass field with its flag's help text
and range, `field_errors` is the one check every binary's config passes before TensorFlow loads.

Used by every config dataclass (`config.TrainConfig`, the evaluation, export, preparation,
reproduction and benchmark configs) and by `flagconfig`, which turns them into absl flags. Imports
nothing heavy.
"""
import dataclasses
import math
import types
from typing import Mapping

from pgan_tf.errors import UserError

# Seeds feed NumPy's SeedSequence and tf.random (both take unsigned 32-bit seeds without folding).
SEED_RANGE = types.MappingProxyType({"lo": 0, "below": 2 ** 32})


def field(default, help_text, **meta):
    """A config field with its flag help text and checks in the metadata (the binaries' flags are
    generated from it: `pgan_tf/flagconfig.py`). `dataclasses.MISSING` = no default (a required
    flag). Optional metadata: `enum`; bounds `lo`/`hi` (inclusive) and `above`/`below` (exclusive);
    `flag` (the flag's name when it differs from the field's); `kind` ("int", "float", "str",
    "list", "dict") where the default does not show it; `items`/`values` (element types of lists
    and dicts); `flag_default` (the flag's default when it differs); `nested` (a config whose fields
    are flags too); `reads` (filled from another flag of the binary, not defined here)."""
    meta = {"help": help_text, **meta}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _bound_text(number):
    """2 ** 32 as 2^32; other bounds as written."""
    return "2^32" if number == 2 ** 32 else f"{number:g}" if isinstance(number, float) else str(number)


def range_text(meta):
    """The valid range a field's bounds give ('in [0, 1)', '>= 1', '> 0'); '' without bounds.
    Help texts end with it, so every accepted boundary value (a zero, say) is documented."""
    low = ("(", meta["above"]) if "above" in meta else ("[", meta["lo"]) if "lo" in meta else None
    high = (meta["below"], ")") if "below" in meta else (meta["hi"], "]") if "hi" in meta else None
    if low and high:
        return f"in {low[0]}{_bound_text(low[1])}, {_bound_text(high[0])}{high[1]}"
    if low:
        return f"{'>' if low[0] == '(' else '>='} {_bound_text(low[1])}"
    if high:
        return f"{'<' if high[1] == ')' else '<='} {_bound_text(high[0])}"
    return ""


def _number_error(flag, value, meta):
    """The line naming `--flag` when a number breaks its field's bounds, or None. NaN compares
    False with every bound, so non-finite floats are refused first (config.json must never hold a
    bare NaN or Infinity). Wording as the binaries had it: '--x=v: must be >= lo' for inclusive
    bounds, '--x must be > 0, got v' for exclusive lower ones."""
    if isinstance(value, float) and not math.isfinite(value):
        bounds = range_text(meta)
        return f"--{flag}={value}: must be a finite number{' ' + bounds if bounds else ''}"
    if "lo" in meta and value < meta["lo"]:
        return f"--{flag}={value}: must be >= {meta['lo']}"
    if "above" in meta and value <= meta["above"]:
        return f"--{flag} must be > {meta['above']}, got {value}"
    if "hi" in meta and value > meta["hi"]:
        return f"--{flag}={value}: must be <= {meta['hi']}"
    if "below" in meta and value >= meta["below"]:
        return f"--{flag}={value}: must be < {_bound_text(meta['below'])}"
    return None


def field_errors(cls, values):
    """The one shared check of every binary's flags: one line per field of dataclass `cls` whose
    value in `values` (field name -> value; absent names are skipped) is not in its `enum`, is a
    float that is not finite, lies outside its bounds, or (dicts such as --d_lr_dict) holds a
    non-finite value. Nested configs are checked alike. Lines name the flag (`--name=value: ...`)."""
    errors = []
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value, meta = values[f.name], f.metadata
        flag = meta.get("flag", f.name)
        if dataclasses.is_dataclass(value):
            errors += field_errors(type(value), {g.name: getattr(value, g.name)
                                                 for g in dataclasses.fields(value)})
        elif "enum" in meta and value not in meta["enum"]:
            errors.append(f"--{flag}={value!r}: must be one of {', '.join(meta['enum'])}")
        elif isinstance(value, Mapping):
            errors += [f"--{flag}: value {v} for resolution {k} must be a finite number"
                       for k, v in value.items() if isinstance(v, float) and not math.isfinite(v)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            error = _number_error(flag, value, meta)
            if error:
                errors.append(error)
    return errors


def raise_field_errors(cls, values):
    """UserError of `field_errors` (one line per bad flag), if any."""
    errors = field_errors(cls, values)
    if errors:
        raise UserError("\n".join(errors))


