"""`pgan-reproduce`: each of the paper's experiments (Table 1, Table 2, Fig. 8) as one command.

`scales` holds the settings of the paper's scale and of the small CPU scales, `paper` the paper's
numbers, `plan` turns an experiment into the steps (prepare, train, evaluate, experiment) with their
commands, `state` records finished steps under the work dir, `estimate` turns a benchmark JSON into
a training-time estimate, `data` checks the dataset, `results` gathers the tables and `report`
writes them, and `runner` runs the steps in order, skipping finished ones.
"""
