"""The recurrent network: the cell (the equation) and the stacked language model."""

from src.model.rnn_cell import RNNCell
from src.model.rnn_model import ModelConfig, RNNLanguageModel

__all__ = ["ModelConfig", "RNNCell", "RNNLanguageModel"]
