"""The one route from flags to a config, for every binary.

A binary's config is a frozen dataclass whose fields are declared once with `pgan_tf.config_fields.field`:
default, help text, and (in the metadata) enum, bounds and, where they differ from the field, the
flag's name or default. From it this module

* defines one absl flag per field that has help text (`define`), the help ending with the valid
  range, so every accepted boundary value is documented; fields of a `nested` config (the
  classifier recipe of pgan-evaluate and pgan-experiment) become flags too;
* reads them back after parsing (`read`) and builds the config by keyword (`construct`), after the
  shared check `config_fields.field_errors` (every number finite and in range, one line per bad flag),
  before TensorFlow is imported.

The binaries (`pgan_tf/cli/`) use it; it lives beside `flagfiles.py`, below them, because the
config dataclasses it reads live on every floor. It never touches absl's global flags: callers
pass their `flags.FlagValues`, so the library still reads no flags.
"""
import dataclasses

from absl import flags

from pgan_tf import config_fields
from pgan_tf.config import parse_int_dict
from pgan_tf.errors import UserError

_SIMPLE_KINDS = (("bool", bool), ("int", int), ("float", float), ("dict", dict),
                 ("list", (tuple, list)), ("str", str))
_DEFINERS = {"bool": flags.DEFINE_bool, "int": flags.DEFINE_integer,
             "float": flags.DEFINE_float, "str": flags.DEFINE_string}
_ITEM_TYPES = {"int": int, "float": float}


def _default(f):
    """A field's default value (None for a required field)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _required(f):
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _kind(f):
    """How the field is spelled on the command line: enum, bool, int, float, dict, list or str."""
    meta = f.metadata
    if "kind" in meta:
        return meta["kind"]
    if "enum" in meta:
        return "enum"
    default = _default(f)
    for kind, types in _SIMPLE_KINDS:
        if isinstance(default, types):
            return kind
    return "str"  # a None default: an optional path or name


def _nested_type(f):
    return type(_default(f))


def _flag_fields(cls, exclude=()):
    """The fields of `cls` that are flags of their own (help text, not `reads`, not excluded)."""
    return [f for f in dataclasses.fields(cls)
            if "help" in f.metadata and "reads" not in f.metadata and f.name not in exclude]


def help_text(f):
    """The flag's help: the field's text and its valid range (`config_fields.range_text`)."""
    bounds = config_fields.range_text(f.metadata)
    return f"{f.metadata['help']} Valid: {bounds}." if bounds else f.metadata["help"]


def define(cls, flag_values, module_name, exclude=()):
    """Define one flag per field of the config dataclass `cls` (nested configs included); fields
    without a default are required flags. `module_name`: the binary's module, for `--help`."""
    for f in _flag_fields(cls, exclude):
        meta = f.metadata
        if meta.get("nested"):
            define(_nested_type(f), flag_values, module_name, meta.get("exclude", ()))
            continue
        name, kind = meta.get("flag", f.name), _kind(f)
        default = meta.get("flag_default", _default(f))
        args = dict(flag_values=flag_values, module_name=module_name, required=_required(f))
        if kind == "enum":
            flags.DEFINE_enum(name, default, meta["enum"], help_text(f), **args)
        elif kind == "list":
            items = None if default is None else [str(v) for v in default]
            flags.DEFINE_list(name, items, help_text(f), **args)
        elif kind == "dict":  # 'res:value,...' (parsed by `read`)
            text = ",".join(f"{k}:{v}" for k, v in sorted(default.items()))
            flags.DEFINE_string(name, text, help_text(f), **args)
        else:
            _DEFINERS[kind](name, default, help_text(f), **args)


def read(cls, flag_values, exclude=()):
    """The keyword arguments of `cls` from parsed flags: lists as tuples, 'res:value' dicts as
    dicts, nested configs as keyword dicts (`construct` builds them). UserError on junk items."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "reads" in meta:  # filled from a flag the enclosing binary defines (the shared --seed)
            if meta["reads"] in flag_values:
                kwargs[f.name] = flag_values[meta["reads"]].value
            continue
        if "help" not in meta or f.name in exclude:
            continue
        if meta.get("nested"):
            kwargs[f.name] = read(_nested_type(f), flag_values, meta.get("exclude", ()))
            continue
        name = meta.get("flag", f.name)
        kwargs[f.name] = _convert(name, flag_values[name].value, _kind(f), meta)
    return kwargs


def _convert(name, value, kind, meta):
    """A parsed flag value as the field holds it."""
    if kind == "dict":
        return parse_int_dict(value, name, _ITEM_TYPES[meta.get("values", "int")])
    if kind == "list" and value is not None:
        item_type = _ITEM_TYPES.get(meta.get("items"), str)
        try:
            return tuple(item_type(v) for v in value)
        except ValueError:
            raise UserError(f"--{name}={','.join(value)}: expected a comma-separated list of "
                            f"{item_type.__name__} values") from None
    return value


def errors(cls, kwargs):
    """`config_fields.field_errors` of keyword arguments whose nested configs are still keyword dicts."""
    nested = {f.name: _nested_type(f) for f in dataclasses.fields(cls) if f.metadata.get("nested")}
    found = config_fields.field_errors(cls, {k: v for k, v in kwargs.items() if k not in nested})
    for name, inner in nested.items():
        if isinstance(kwargs.get(name), dict):
            found += errors(inner, kwargs[name])
    return found


def construct(cls, kwargs):
    """`cls(**kwargs)` after the shared check (UserError: one line per bad flag); nested
    keyword dicts become their configs first."""
    found = errors(cls, kwargs)
    if found:
        raise UserError("\n".join(found))
    kwargs = dict(kwargs)
    for f in dataclasses.fields(cls):
        if f.metadata.get("nested") and isinstance(kwargs.get(f.name), dict):
            kwargs[f.name] = _nested_type(f)(**kwargs[f.name])
    return cls(**kwargs)


def build(cls, flag_values, exclude=(), **overrides):
    """The config `cls` of parsed flags (`read`, then `overrides`, then `construct`)."""
    return construct(cls, {**read(cls, flag_values, exclude), **overrides})


def parse(flag_values, argv):
    """Parse `argv` (program name first) into `flag_values`; absl's errors (unknown flag, bad
    enum, illegal or missing value) become a one-line UserError. Returns the leftover arguments."""
    try:
        return flag_values(argv)
    except flags.Error as err:
        raise UserError(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
