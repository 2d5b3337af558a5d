"""pgan_tf: APGAN+TTUR (progressive conditional GAN with SNL attention) in TensorFlow 2 / Keras 3."""
__version__ = "0.1.0"
