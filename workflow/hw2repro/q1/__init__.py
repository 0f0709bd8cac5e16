"""Q1, the Taylor-feature linear attention: attention (feature maps and both orders), verify (the
checks), scaling (time and memory against L), figures."""
