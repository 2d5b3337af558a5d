"""pgan_tf.data"""
