"""rnn-from-scratch: a character-level language model on a hand-written tanh RNN."""
