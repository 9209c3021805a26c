"""From text to batches: the corpora, the character vocabulary, the id cache, windows and streams."""
