"""Leaf image metrics (SWD, MS-SSIM, FID): NumPy/TensorFlow only, no run directories, no flags."""
