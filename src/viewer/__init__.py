"""The hidden-unit viewer: activations and predictions of a checkpoint on a text, written as one HTML page."""
