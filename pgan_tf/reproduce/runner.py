"""Run a plan: each unfinished step as a subprocess, in order; then the results table.

Why subprocesses: one run that crashes or is killed (out of memory, a node reboot) stops only
itself and leaves its checkpoints for the rerun; memory and TensorFlow's process-wide state (the
mixed-precision policy, a distribution strategy) are released between runs; and each step is the
exact command a user could type, which `--dry_run` prints. A rerun of the same `pgan-reproduce`
command skips recorded steps (`state.py`); an interrupted training run is simply started again on
its run dir, which resumes from its last checkpoint.
"""
import shlex
import subprocess

from pgan_tf.errors import UserError
from pgan_tf.reproduce import estimate, report, results, state
from pgan_tf.training.schedule import kimg_to_images


def _hours(seconds):
    """'12.5 min', '3.2 h' or '85.3 days'."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _train_line(step, bench):
    """'2,000,000 images to 128x128, attention [64][, ~3.1 h]' and (images, seconds, extrapolated)."""
    config = step.config
    images = kimg_to_images(config.total_kimg)
    text = (f"{images:,} images to {config.resolution}x{config.resolution}, attention stages "
            f"{list(config.attention_stages) or 'none'}, D/G lr {config.d_lr:g}/{config.g_lr:g}")
    seconds, guessed = (0.0, [])
    if bench is not None:
        seconds, guessed = estimate.run_seconds(config, bench)
        text += f", about {_hours(seconds)}"
    return text, images, seconds, guessed


def describe(plan, bench=None, out=print):
    """Print every step (done or to run) with its command, the images to train and, with a
    benchmark table, the estimated training time. Writes nothing."""
    out(f"{plan.options.experiment} at --scale={plan.scale.name}: {len(plan.steps)} steps, "
        f"results in {plan.folder}")
    images, seconds, guessed = 0, 0.0, set()
    for step in plan.steps:
        done = state.is_done(step)
        line = f"[{'done' if done else 'to run'}] {step.key}"
        if step.kind == "train":
            text, n, s, g = _train_line(step, bench)
            line += f": {text}"
            if not done:
                images, seconds, guessed = images + n, seconds + s, guessed | set(g)
        out(line)
        out("    " + shlex.join(step.command))
    total = f"total to train: {images:,} images"
    if bench is not None:
        total += f", about {_hours(seconds)} of training (evaluation not included)"
        if guessed:
            total += (f"; {', '.join(map(str, sorted(guessed)))}x: not in the benchmark, "
                      "extrapolated by FLOPs")
    out(total)


def run_plan(plan, command, execute=None, out=print):
    """Run the unfinished steps in order, recording each; then write the results. Returns them.

    `execute(argv) -> exit code` defaults to a subprocess sharing this terminal (progress shows).
    """
    execute = execute or (lambda argv: subprocess.call(list(argv)))
    for step in plan.steps:
        if state.is_done(step):
            out(f"[skip] {step.key}: done ({step.output})")
            continue
        argv = step.final_command()
        out(f"[run] {step.key}: {shlex.join(argv)}")
        code = execute(argv)
        if code != 0:
            raise UserError(f"{step.key} stopped with exit code {code}; rerun the same command to "
                            "continue from there")
        if step.kind == "train" and not state.train_finished(step):
            raise UserError(f"{step.key} stopped at {state.images_trained(step.output):,} of "
                            f"{kimg_to_images(step.config.total_kimg):,} images (interrupted?); "
                            "rerun the same command to resume it")
        state.mark_done(step, plan)
    gathered = results.gather(plan, command)
    report.write_report(gathered, plan.folder)
    out(report.markdown(gathered))
    return gathered
