"""Reading a model: whole-split evaluation (static, dynamic, ensembles), diagnostics and plots."""
