"""The words readers see for the pipeline's settings, spelled once (figures, tables, both reports)."""

POOLING = {"max": "with max-pooling", "none": "without max-pooling"}
DECODER = {"lstm": "LSTM", "transformer": "Transformer"}
# real data that is not the published set (another OCTMNIST file, an LJ Speech subset or variant)
NOT_CANONICAL = "real data, not the canonical set: not comparable"
