"""Leaf image metrics (SWD, MS-SSIM, FID, KID, the Inception graph's features): NumPy/TensorFlow
only, no run directories, no flags."""
