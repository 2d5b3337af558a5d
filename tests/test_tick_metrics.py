"""Device-side tick metrics and NaN guard: what the loop reads once per tick."""
import numpy as np
import pytest

from pgan_tf import cli

tf = cli.import_tensorflow()

from tests.test_step import _batch, _trainer  # noqa: E402


def _steps(trainer, images):
    """One step per (images_seen, poisoned) pair at 4x4; returns the outputs as Python values."""
    reals, labels = _batch()
    x = tf.image.resize(reals, [4, 4], "area")
    bad = tf.tensor_scatter_nd_update(x, [[0, 0, 0, 0]], [np.nan])
    outs = []
    for seen, poisoned in images:
        out = trainer.step(bad if poisoned else x, labels, 4, 1.0, False, seen)
        outs.append({k: v.numpy() for k, v in out.items()})
    return outs


def test_tick_sums_count_finite_steps_and_reset():
    trainer = _trainer(max_nonfinite_steps=2)
    outs = _steps(trainer, [(0, False), (4, True), (8, False)])  # one bad step: not a halt
    reading = trainer.tick_metrics.read_and_reset()
    assert (reading.finite_steps, reading.skipped, reading.halted) == (2, 1, False)
    good = [outs[0], outs[2]]
    assert set(reading.means) == set(outs[0]) - {"finite"}
    for key, value in reading.means.items():  # float64 sums of the float32 step outputs
        assert value == pytest.approx(np.mean([float(o[key]) for o in good]), rel=1e-12), key
    outs = _steps(trainer, [(12, False)])
    reading = trainer.tick_metrics.read_and_reset()  # the previous tick's sums were zeroed
    assert reading.finite_steps == 1 and reading.skipped == 0
    assert reading.means["loss_d"] == pytest.approx(float(outs[0]["loss_d"]), rel=1e-12)


def test_consecutive_non_finite_steps_halt_and_later_steps_are_no_ops():
    trainer = _trainer(max_nonfinite_steps=2)
    _steps(trainer, [(0, False), (4, True), (8, False), (12, True)])  # the good step resets
    reading = trainer.tick_metrics.read_and_reset()
    assert not reading.halted and reading.skipped == 2
    _steps(trainer, [(16, True)])  # second in a row: the limit, reached after image 20
    before = [v.numpy().copy() for v in trainer.D.weights + trainer.G.weights]
    iterations = int(trainer.d_opt.iterations.numpy())
    outs = _steps(trainer, [(20, False), (24, False)])  # finite input, but halted: no-ops
    assert not any(bool(o["finite"]) for o in outs)
    for b, v in zip(before, trainer.D.weights + trainer.G.weights):
        np.testing.assert_array_equal(b, v.numpy())
    assert int(trainer.d_opt.iterations.numpy()) == iterations
    reading = trainer.tick_metrics.read_and_reset()
    assert (reading.halted, reading.halted_from, reading.halted_at) == (True, 16, 20)
    assert reading.skipped == 1 and reading.finite_steps == 0 and reading.means == {}
