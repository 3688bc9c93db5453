"""A PyTorch training script, as a learner writes one: a small CNN on MNIST digits.

Plain PyTorch: it imports ``torch`` and nothing from minicnn. Lesson 19 runs it unchanged
on minicnn with ``python -m minicnn.as_torch``, and with PyTorch itself when PyTorch is
installed. The digits come from an .npz file (``--data``) with ``train_images``
(N, 1, 28, 28) float32 in [0, 1], ``train_labels`` (N,) int64 and the same for ``test_``.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 5, padding=2)
        self.fc1 = nn.Linear(16 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)     # (N, 8, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)               # (N, 16, 7, 7)
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.fc1(x)), p=0.2, training=self.training)
        return self.fc2(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use only this many images")
    parser.add_argument("--log", default=None, help="save the batch losses to this .npy file")
    args = parser.parse_args()
    torch.manual_seed(0)
    data = np.load(args.data)
    train_x, train_y = data["train_images"][:args.limit], data["train_labels"][:args.limit]
    test_x, test_y = data["test_images"], data["test_labels"]
    train = TensorDataset(torch.from_numpy(train_x), torch.from_numpy(train_y))
    loader = DataLoader(train, batch_size=64, shuffle=True)
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    gradient_norms, batch_losses = [], []
    model.fc1.weight.register_hook(lambda g: gradient_norms.append(g.norm().item()))
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, seen = 0.0, 0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
            total += loss.item() * len(images)
            seen += len(images)
        scheduler.step()
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(test_x)).argmax(dim=1)
            accuracy = (predicted == torch.from_numpy(test_y)).float().mean().item()
        print(f"epoch {epoch}: train loss {total / seen:.4f}, test accuracy {accuracy:.4f}, "
              f"fc1 gradient norm {gradient_norms[-1]:.3f}, lr {scheduler.get_last_lr()[0]:.5f}")
    print(f"library {torch.__name__} {time.perf_counter() - start:.1f} s")
    if args.log:
        np.save(args.log, np.array(batch_losses))


if __name__ == "__main__":
    main()
