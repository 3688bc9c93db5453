"""A PyTorch-style script that uses the ops of issue 12 item 6 together, run twice: once
with ``import torch`` and once with ``import minicnn as torch`` (only the imports change).
Loss, gradients and a gradient penalty's second derivative must agree."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
import minicnn.functional as mc_F
from oracle import torch_or_skip


def script(torch, F, arrays):
    """A 1-D conv encoder, a causal attention step and a classifier loss, PyTorch-style."""
    x = torch.tensor(arrays["x"], requires_grad=True)          # (N, C, L)
    w1 = torch.tensor(arrays["w1"], requires_grad=True)        # (H, C, 3)
    w2 = torch.tensor(arrays["w2"], requires_grad=True)        # (H, H, 2) transposed conv
    gain = torch.tensor(arrays["gain"], requires_grad=True)    # (H,)
    labels = torch.tensor(arrays["labels"])                    # (N, L) int64
    params = [x, w1, w2, gain]

    h = F.pad(x, (1, 1), mode="reflect")
    h = F.gelu(F.conv1d(h, w1))                                 # (N, H, L)
    h = h + F.pad(h, (2, 0), mode="replicate")[..., :-2] * 0.5
    h = F.silu(F.conv_transpose1d(h, w2, stride=2))[..., : h.shape[-1] * 2]
    h = F.rms_norm(h.transpose(1, 2), (h.shape[1],), weight=gain).transpose(1, 2)
    a, b = h.chunk(2, dim=-1)
    h = torch.cat([a.flip(-1), b.roll(1, -1)], dim=-1)
    q = h.transpose(1, 2)                                       # (N, T, H)
    scores = torch.einsum("nth,nsh->nts", q, q) * q.shape[-1] ** -0.5
    causal = torch.ones(scores.shape[-2:]).triu(1) > 0
    attended = torch.einsum("nts,nsh->nth", F.softmax(scores.masked_fill(causal, -1e9), -1), q)
    logits = F.mish(attended[:, ::2, :4]) + F.hardswish(attended[:, 1::2, :4])
    log_p = logits - logits.logsumexp(-1, keepdim=True)
    nll = -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1)   # (N, L)
    top, _ = nll.topk(2, dim=-1)
    ranked = nll.sort(dim=-1, descending=True).values
    loss = nll.mean() + 0.1 * top.sum() + 0.01 * (ranked.cumsum(-1) * torch.sin(ranked)).sum()
    loss = loss + 0.01 * F.logsigmoid(h).mean() + 0.001 * (h.repeat_interleave(2, -1) ** 2).sum()

    grads = torch.autograd.grad(loss, params, create_graph=True)
    penalty = (grads[0] * grads[0]).sum()
    second = torch.autograd.grad(penalty, params[1:])
    out = {"loss": loss, "penalty": penalty}
    out.update({f"grad{i}": g for i, g in enumerate(grads)})
    out.update({f"second{i}": g for i, g in enumerate(second)})
    return {k: v.detach().numpy() for k, v in out.items()}


@pytest.mark.oracle
def test_the_same_script_runs_on_minicnn_and_agrees_with_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(12)
    N, C, H, L = 2, 3, 6, 8
    arrays = {"x": rng.standard_normal((N, C, L)), "w1": rng.standard_normal((H, C, 3)) * 0.4,
              "w2": rng.standard_normal((H, H, 2)) * 0.4, "gain": rng.uniform(0.5, 1.5, H),
              "labels": rng.integers(0, 4, size=(N, L))}
    theirs = script(torch, torch.nn.functional, arrays)
    ours = script(minicnn, mc_F, arrays)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6, atol=1e-9, err_msg=key)
