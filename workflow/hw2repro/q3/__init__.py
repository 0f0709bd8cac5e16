"""Q3, speech recognition on LJ Speech: text (tokenizer), ljspeech (folder format), corpus (the
synthetic stand-in), data (the data rule), features, models, dataset (the cached features files),
train, evaluate, job (the q3_train job), summary, figures."""
