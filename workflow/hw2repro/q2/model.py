"""The homework's CNN for OCTMNIST (``CNN(dropout_prob, no_maxpool)`` of hw2-q2.py).

Layers are created in the skeleton's order, so that, after the same seed, the initial
weights are the same draws from torch's generator.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

POOLINGS = ("max", "none")


class CNN(nn.Module):
    def __init__(self, dropout_prob: float = 0.7, no_maxpool: bool = False):
        super().__init__()
        self.no_maxpool = no_maxpool
        # Without pooling, stride 2 in both convolutions does the down-sampling (28->14->6),
        # so both variants end in 16 x 6 x 6 = 576 features and have the same parameter count.
        stride = 2 if no_maxpool else 1
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, stride=stride, padding=0)
        self.fc1 = nn.Linear(576, 320)
        self.drop = nn.Dropout(p=dropout_prob)
        self.fc2 = nn.Linear(320, 120)
        self.fc3 = nn.Linear(120, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, 28, 28)  # inputs arrive flat (B, 784)
        x = F.relu(self.conv1(x))
        if not self.no_maxpool:
            x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv2(x))
        if not self.no_maxpool:
            x = F.max_pool2d(x, 2, 2)
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


def build(pooling: str, dropout: float) -> CNN:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    return CNN(dropout_prob=dropout, no_maxpool=(pooling == "none"))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, as the homework's ``get_number_trainable_params``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
