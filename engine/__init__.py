"""Transfer Lab engine: datasets, zero-shot ImageNet baseline, fine-tuning, evaluation, runs."""
