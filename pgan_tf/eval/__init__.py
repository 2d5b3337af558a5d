"""pgan_tf.eval"""
