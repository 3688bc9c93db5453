"""A complete PyTorch script, run unchanged by ``python -m minicnn.as_torch`` in
tests/test_as_torch.py (and by PyTorch itself when it is installed)."""
import sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torch.optim.lr_scheduler import StepLR

print("torch is", torch.__name__, "args", sys.argv[1:])
torch.manual_seed(0)
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.normal(size=(128, 1, 8, 8)).astype(np.float32))
y = torch.from_numpy((x.numpy().mean(axis=(1, 2, 3)) > 0).astype(np.int64))
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = StepLR(opt, 1, 0.9)
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    sched.step()
with torch.no_grad():
    acc = (model(x).argmax(1) == y).float().mean().item()
print(f"accuracy {acc:.2f}")
