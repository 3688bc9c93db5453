"""A PyTorch training script in today's style of a small residual CNN classifier (toy
sizes): ``out += self.shortcut(x)``, ``nn.ModuleList``, Kaiming/Xavier init loops,
``nn.AdaptiveAvgPool2d`` + ``torch.flatten``, ``CrossEntropyLoss(label_smoothing=...)``,
AdamW with decay/no-decay parameter groups, ``OneCycleLR`` stepped per batch,
``clip_grad_norm_``, ``zero_grad(set_to_none=True)``, ``x.to(device, non_blocking=True)``,
``torch.max(output.data, 1)``, a confusion matrix filled by item assignment,
``ReduceLROnPlateau`` on the validation loss, and a checkpoint round trip of the model's
and the optimizer's state_dicts.

Run by tests/test_torch_scripts.py under PyTorch and, with only its imports changed,
under minicnn. The harness provides dataloader, val_loader, epochs, checkpoint_path.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True))
        self.layers = nn.ModuleList([Block(8, 8), Block(8, 16, 2)])
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.drop = nn.Dropout(p=0.25)
        self.fc = nn.Linear(16, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(self.drop(x))


use_cuda = torch.cuda.is_available()
device = torch.device("cuda" if use_cuda else "cpu")
model = Net().to(device)
# --- train ---
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
optimizer = optim.AdamW([{"params": decay, "weight_decay": 1e-2},
                         {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
scheduler = OneCycleLR(optimizer, max_lr=1e-2, steps_per_epoch=len(dataloader), epochs=epochs)
plateau = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
train_losses, val_losses, lrs = [], [], []
for epoch in range(1, epochs + 1):
    model.train()
    for batch_idx, (data, target) in enumerate(dataloader):
        data, target = data.to(device, non_blocking=True), target.to(device)
        optimizer.zero_grad(set_to_none=True)
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        train_losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
        print(f"epoch {epoch} batch {batch_idx} loss {loss.item():.4f} norm {total_norm:.3f}")
    model.eval()
    val_loss, correct, seen = 0.0, 0, 0
    confusion = torch.zeros(10, 10, dtype=torch.long)
    with torch.no_grad():
        for data, target in val_loader:
            output = model(data)
            val_loss += F.cross_entropy(output, target, reduction="sum").item()
            _, predicted = torch.max(output.data, 1)
            correct += (predicted == target).sum().item()
            seen += target.size(0)
            for t, p in zip(target.view(-1), predicted.view(-1)):
                confusion[t.long(), p.long()] += 1
    val_losses.append(val_loss / seen)
    plateau.step(val_losses[-1])
    print(f"val loss {val_losses[-1]:.4f} acc {100.0 * correct / seen:.1f}%")
torch.save({"model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict()}, checkpoint_path)
checkpoint = torch.load(checkpoint_path)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
final_lr = optimizer.param_groups[0]["lr"]
