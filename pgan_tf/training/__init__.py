"""pgan_tf.training"""
