"""Q1, the Taylor-feature linear attention: attention (feature maps, both orders, their numerical
verification), scaling (time and memory against L), figures."""
