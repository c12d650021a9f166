"""Image-folder datasets: scan, split, decode batches, tf.data pipelines, safe zip import."""
