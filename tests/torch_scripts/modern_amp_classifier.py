"""A PyTorch training script in the 2024-style of a small CNN classifier (toy sizes), with
what such scripts set on the way in: device selection through ``torch.backends.mps``,
``cudnn.benchmark``, ``set_float32_matmul_precision``, ``channels_last``, mixed precision
written to switch itself off on a CPU (``torch.amp.GradScaler(enabled=use_amp)``,
``torch.autocast(..., enabled=use_amp)``), activation checkpointing
(``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)``), a weight-normalised
head (``nn.utils.parametrizations.weight_norm``), NAdam with a linear-warmup +
cosine ``SequentialLR``, an EMA of the weights (``swa_utils.AveragedModel`` with
``get_ema_multi_avg_fn``), ``torch.inference_mode``, ``torch.linalg.vector_norm``, and a
checkpoint saved and loaded with ``map_location`` / ``weights_only``.

Run by tests/test_torch_scripts.py under PyTorch and, with only its imports changed,
under minicnn. The harness provides dataloader, val_loader, epochs, checkpoint_path.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.checkpoint import checkpoint


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.GELU())
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.GroupNorm(4, 16),
                                   nn.Mish())
        self.head = nn.utils.parametrizations.weight_norm(nn.Linear(16, num_classes))
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        x = self.features(x)
        x = x + checkpoint(self.block, x, use_reentrant=False)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(self.dropout(x))


torch.backends.cudnn.benchmark = True
torch.set_float32_matmul_precision("high")
if torch.cuda.is_available():
    device = torch.device("cuda")
elif torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")
use_amp = device.type == "cuda"
model = Net().to(device).to(memory_format=torch.channels_last)
# --- train ---
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
optimizer = torch.optim.NAdam(model.parameters(), lr=3e-3, weight_decay=1e-4)
steps = epochs * len(dataloader)
scheduler = torch.optim.lr_scheduler.SequentialLR(
    optimizer,
    [torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2),
     torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - 2)],
    milestones=[2])
scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
criterion = nn.CrossEntropyLoss()
train_losses, grad_norms, lrs = [], [], []
for epoch in range(epochs):
    model.train()
    for images, labels in dataloader:
        images = images.to(device, memory_format=torch.channels_last)
        labels = labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(images)
            loss = criterion(logits, labels)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        grad_norms.append(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        ema.update_parameters(model)
        train_losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    print(f"epoch {epoch}: loss {train_losses[-1]:.4f}")
ema.eval()
correct = 0
with torch.inference_mode():
    for images, labels in val_loader:
        probs = ema(images.to(device)).softmax(dim=-1)
        correct += (probs.argmax(dim=-1) == labels).sum().item()
val_probs = probs
torch.save({"model": model.state_dict(), "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()},
           checkpoint_path)
state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
model.load_state_dict(state["model"])
ema.load_state_dict(state["ema"])
optimizer.load_state_dict(state["optimizer"])
ema_weight = ema.module.head.parametrizations.weight.original1.detach().clone()
