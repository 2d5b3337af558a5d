"""pgan_tf.model"""
