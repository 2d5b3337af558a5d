"""The paper's reported numbers, to print beside ours (percent; paper §3.4–3.7).

Table 1 (128x128, 6M images, best GAN-train / GAN-test over checkpoints, SNL at stage 32/64/128),
Table 2 (256x256, 8M images, best models; ResNet-18 fine-tuned from ImageNet) and Fig. 8
(validation accuracy, 100 real images per class plus 1k per class from each source, 501 val images).
"""

# Paper Table 1. Keys are the roles of `scales.table1_stages` (and pgan); "real" = real train -> val.
TABLE1 = {
    "real": {"gan_train": 78.2},
    "pgan": {"gan_train": 67.7, "gan_test": 60.8},
    "apgan_quarter": {"gan_train": 63.3, "gan_test": 56.0},   # stage 32 = R/4
    "apgan_half": {"gan_train": 70.1, "gan_test": 62.2},      # stage 64 = R/2
    "apgan_full": {"gan_train": 64.7, "gan_test": 58.1},      # stage 128 = R
}

# Paper Table 2.
TABLE2 = {
    "real": {"gan_train": 84.6},
    "pgan": {"gan_train": 62.5, "gan_test": 56.2},
    "apgan": {"gan_train": 66.3, "gan_test": 55.6},
    "apgan_ttur": {"gan_train": 69.5, "gan_test": 60.0},
}

# Paper Fig. 8 and §3.7 text: validation accuracy of each training set.
FIG8 = {"real": 67.3, "standard": 68.7, "pgan": 67.1, "apgan": 67.7, "apgan_ttur": 70.1}
