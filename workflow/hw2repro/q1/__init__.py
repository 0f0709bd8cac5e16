"""Q1: the Taylor-feature linear attention: attention (feature maps and both orders), its numerical verification, scaling (time and memory against L), figures."""
