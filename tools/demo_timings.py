"""`make demo`'s own wall time per step: print a table and add it to results.json as `timings`.

    python tools/demo_timings.py demo_out/results.json install=0 data=12.3 train=650.1 \
        export=4.2 evaluate=61.0

Called by tools/demo.sh after its last step. Seconds per step (install is 0 when `.venv` already
existed); `total` is their sum. The other keys of results.json are kept as pgan-evaluate wrote
them; the file is rewritten through a temp file and a rename, so it is never half-written.
"""
import json
import os
import sys

# Run from a clone without installing: the package is the folder above tools/.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pgan_tf import fileio  # noqa: E402
from pgan_tf.errors import UserError  # noqa: E402

STEPS = ("install", "data", "train", "export", "evaluate")


def parse_timings(items):
    """['install=0', 'data=12.3', ...] -> {step: seconds} in STEPS order, plus `total`."""
    timings = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or name not in STEPS:
                raise ValueError
            timings[name] = round(float(value), 1)
        except ValueError:
            raise UserError(f"demo_timings: {item!r} is not STEP=SECONDS with STEP one of "
                            f"{', '.join(STEPS)}") from None
    missing = [s for s in STEPS if s not in timings]
    if missing:
        raise UserError(f"demo_timings: no seconds for {', '.join(missing)}")
    ordered = {s: timings[s] for s in STEPS}
    return {**ordered, "total": round(sum(ordered.values()), 1)}


def merge_timings(results_path, timings):
    """Add `timings` (seconds) to the JSON object in `results_path`; returns the merged object."""
    try:
        results = json.loads(fileio.read_text(results_path))
    except (OSError, ValueError) as err:
        raise UserError(f"demo_timings: cannot read {results_path} ({err}); run the demo's "
                        "evaluation first") from None
    results["timings"] = {**timings, "unit": "seconds"}
    fileio.write_atomic(results_path, json.dumps(results, indent=2) + "\n")
    return results


def format_table(timings):
    """Lines of the wall-time table printed at the end of the demo."""
    return ["Wall time per step (s):"] + [f"  {name:9s}{seconds:8.1f}"
                                          for name, seconds in timings.items()]


def main(argv):
    if len(argv) < 2:
        raise UserError("usage: demo_timings.py RESULTS_JSON STEP=SECONDS ...")
    timings = parse_timings(argv[1:])
    merge_timings(argv[0], timings)
    print("\n".join(format_table(timings)))
    print(f"(also in {argv[0]} as `timings`)")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except UserError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
