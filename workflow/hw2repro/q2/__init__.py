"""Q2, the CNN on OCTMNIST: octmnist (file format), synthetic (the OCT-like stand-in), data (the data
rule), model, train, summary, figures."""
