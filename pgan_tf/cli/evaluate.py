"""Evaluate a run (or two image sets): GAN-train, GAN-test, SWD, MS-SSIM, FID, KID, memorization.

    pgan-evaluate --run_dir RUN [--data_dir DATA]
        --metrics gan_train,gan_test,swd,ms_ssim[,fid][,kid][,fid_keras][,memorization]
        [--inception_graph URL|PATH] [--inception_graph_sha256 HEX] [--inception_weights PATH]
        [--num_per_class 1000] [--checkpoints latest|all] [--epochs 50] [--repeats 1]
        [--classifier_width 64] [--classifier_weights imagenet|PATH] [--judge_cache DIR]
        --output results.json
    pgan-evaluate --fakes DIR --reals DIR --metrics ... --output results.json

Writes the JSON (every number), confusion-matrix PNGs (and memorization.png, samples.png) and
report.md / report.html next to it, and prints a Markdown summary; see docs/evaluation.md. Flags
are checked before TensorFlow is imported.
"""
from absl import flags

from pgan_tf import cli

FLAGS = flags.FLAGS


def define_flags():
    """Flags of this binary (defined here, never at import time); defaults follow the paper."""
    from pgan_tf.eval import evaluate, memorization
    from pgan_tf.metrics import inception_graph, kid

    flags.DEFINE_string("run_dir", None, "Run directory of pgan_tf.train (holds config.json).")
    flags.DEFINE_string("data_dir", None, "Prepared dataset (default: the run's config data_dir).")
    flags.DEFINE_list("metrics", list(evaluate.DEFAULT_METRICS),
                      f"Comma-separated subset of {','.join(evaluate.METRICS)}.")
    flags.DEFINE_integer("num_per_class", evaluate.DEFAULT_NUM_PER_CLASS,
                         "Generated images per class (uniform labels; paper §3.5: 1000).")
    flags.DEFINE_string("checkpoints", "latest", "latest, or all (every snapshot, also written to "
                        "RUN/tensorboard/eval; the JSON adds 'best').")
    flags.DEFINE_integer("repeats", 1, "Classifier seeds; > 1 reports mean ± std.")
    cli.define_classifier_flags(__name__, balanced=True)
    flags.DEFINE_string("inception_weights", None, "Keras InceptionV3 (include_top=False) weights "
                        "file; required by --metrics fid_keras, never downloaded "
                        "(docs/evaluation.md).")
    flags.DEFINE_string("inception_graph", inception_graph.GRAPH_URL, "--metrics fid,kid: the "
                        "2015-12-05 Inception graph: a URL (downloaded once into the Keras cache) "
                        "or a local inception-2015-12-05.tgz / classify_image_graph_def.pb.")
    flags.DEFINE_string("inception_graph_sha256", None, "sha256 the --inception_graph file must "
                        "have; without it the computed sha256 is recorded in the results.")
    flags.DEFINE_integer("kid_subsets", kid.DEFAULT_SUBSETS, "KID: random subsets averaged.")
    flags.DEFINE_integer("kid_subset_size", kid.DEFAULT_SUBSET_SIZE, "KID: images of each set "
                         "per subset (fewer if a set is smaller).")
    flags.DEFINE_string("fakes", None, "Image set to evaluate instead of a run (with --reals).")
    flags.DEFINE_string("reals", None, "Real image set to compare --fakes with.")
    flags.DEFINE_integer("num_images", None, "--fakes/--reals: images of each set (default: "
                         "min(#reals, #fakes)).")
    flags.DEFINE_float("memorization_threshold", memorization.DEFAULT_THRESHOLD,
                       "Flag samples whose RMS pixel difference (grey levels, 0..255, at 64x64) to "
                       "the nearest training image is below this (default: likely copies).")
    flags.DEFINE_integer("seed", 0, "Seed of the fakes' latents, real subsets and SWD draws; the "
                         "classifier seeds are seed .. seed + repeats - 1.")
    flags.DEFINE_string("judge_cache", None, "Folder that keeps the trained real classifier "
                        "(GAN-test's judge, the real reference), so later evaluations on the same "
                        "data and recipe read it instead of training it again; default: none.")
    flags.DEFINE_string("output", None, "Results JSON path; PNGs are written next to it.")
    flags.DEFINE_bool("progress", True, "Print progress lines and classifier epochs on stderr.")
    flags.mark_flags_as_required(["output"])


def main(argv):
    from pgan_tf.errors import UserError
    from pgan_tf.eval import eval_results, evaluate, report_file

    if len(argv) > 1:
        raise UserError(f"unexpected arguments: {' '.join(argv[1:])}")
    classifier = cli.classifier_config(FLAGS)
    config = evaluate.EvalConfig(
        output=FLAGS.output, metrics=tuple(FLAGS.metrics), run_dir=FLAGS.run_dir,
        data_dir=FLAGS.data_dir, fakes=FLAGS.fakes, reals=FLAGS.reals,
        num_per_class=FLAGS.num_per_class, num_images=FLAGS.num_images,
        checkpoints=FLAGS.checkpoints, repeats=FLAGS.repeats, classifier=classifier,
        seed=FLAGS.seed, memorization_threshold=FLAGS.memorization_threshold,
        inception_weights=FLAGS.inception_weights, inception_graph=FLAGS.inception_graph,
        inception_graph_sha256=FLAGS.inception_graph_sha256, kid_subsets=FLAGS.kid_subsets,
        kid_subset_size=FLAGS.kid_subset_size, progress=FLAGS.progress,
        judge_cache=FLAGS.judge_cache)
    evaluate.validate_eval(config)  # JSON and paths only: fails fast, before TensorFlow
    cli.import_tensorflow()
    from pgan_tf import disk
    with disk.writing("evaluation results", FLAGS.output):  # full disk: one line, exit 74
        results = evaluate.run_evaluation(config)
    print(eval_results.summary_markdown(results))
    print(f"results: {FLAGS.output}")
    print(f"report: {report_file.report_paths(FLAGS.output)[1]}")


def entry():
    """Console script `pgan-evaluate` (also `python tools/evaluate.py`)."""
    cli.run_binary(define_flags, main)


if __name__ == "__main__":
    entry()
