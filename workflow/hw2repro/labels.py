"""The words readers see for the pipeline's settings, spelled once (figures, tables, both reports)."""

POOLING = {"max": "with max-pooling", "none": "without max-pooling"}
DECODER = {"lstm": "LSTM", "transformer": "Transformer"}
