r"""StyleGAN-lite (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
GANs"), small enough to train on 32x32 digits on a CPU.

A DCGAN feeds the latent z into the first layer and lets it flow through the network. A
style-based generator does not feed z in at all. Instead:

1. the **mapping network** turns z into an intermediate latent w (PixelNorm, then 4 fully
   connected layers with LeakyReLU(0.2));
2. the **synthesis network** starts from a *learned constant* 4x4 tensor and grows it
   4 -> 8 -> 16 -> 32, and every layer reads w through its own **style**: an affine map
   A(w) = (scale, bias) per channel, applied by **AdaIN**:

   .. math::
       \mathrm{AdaIN}(x, s, b)_{n,c} = s_{n,c}\,\frac{x_{n,c} - \mu(x_{n,c})}{\sigma(x_{n,c})}
                                         + b_{n,c}

   Instance norm wipes out each channel's mean and standard deviation (the previous
   layer's style); the new style writes its own. So after AdaIN, channel c of sample n has
   mean b and standard deviation |s|: the style *sets* the feature statistics.
3. **per-pixel noise** with a learned per-channel scale is added after each convolution:
   it paints the stochastic details (here: stroke texture) the styles need not encode.

Because each layer has its own style input, a generator can take the styles of its
coarse layers (4x4, 8x8: the digit's identity and pose) from one latent and those of its
fine layers (16x16, 32x32: stroke width, slant details) from another: **style mixing**.
During training the generator does this on purpose (probability 0.9, random crossover
layer), so that neighbouring layers do not learn to depend on sharing one w.

**Truncation**: w_avg, the running mean of w over training, is the "average digit". A
sample's w pulled towards it, w' = w_avg + psi (w - w_avg), trades variety (psi = 1) for
typicality (psi -> 0: every sample becomes the average digit).

Layout of the synthesis network (C_r channels at resolution r; width W gives
C = {4: W, 8: W, 16: W/2, 32: W/4}, at least 16); each row reads one style, 8 in all::

    style 0   const (N, C4, 4, 4)  + noise, bias, LeakyReLU, AdaIN         4x4   coarse
    style 1   conv 3x3             + noise, bias, LeakyReLU, AdaIN         4x4   coarse
    style 2   upsample 2x, conv 3x3 + noise, bias, LeakyReLU, AdaIN        8x8   coarse
    style 3   conv 3x3             + ...                                   8x8   coarse
    style 4   upsample, conv 3x3   + ...                                  16x16  fine
    style 5   conv 3x3             + ...                                  16x16  fine
    style 6   upsample, conv 3x3   + ...                                  32x32  fine
    style 7   conv 3x3             + ...                                  32x32  fine
    to-RGB    a 1x1 conv (C_r -> 1 channel) after each resolution; the image is tanh of
              the sum of these, each upsampled (bilinear) to 32x32 ("skip" output, as in
              StyleGAN2; the tanh is ours, for digits' flat black backgrounds)

The discriminator is a plain small conv net (32 -> 16 -> 8 -> 4 with average pooling,
an optional minibatch-standard-deviation channel at 4x4, then two linear layers).

**Equalized learning rate** (optional, on by default): weights are stored as N(0, 1) and
multiplied by He's constant 1/sqrt(fan_in) on every forward pass, instead of once at
initialisation. Adam's step size is then the same for every layer relative to the
weight's effective scale. The mapping network also uses a learning-rate multiplier of
0.01 (weights stored as N(0, 1)/0.01 and multiplied by 0.01 in the forward), as in the
paper.

Known limits of the "lite": no progressive growing (the skip output of StyleGAN2 stands
in for it: see ``SynthesisNetwork``), AdaIN rather than StyleGAN2's weight demodulation,
no blur in the up/down-sampling, the truncation applies to every layer unless ``cutoff``
is given. The R1 penalty lives in the recipe (``stylegan_recipe.r1_penalty``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, no_grad, tensor
from ..ops import cat
from ..ops.creation import randn, zeros


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    r"""Normalise each latent vector to unit root-mean-square: x / sqrt(mean_j x_j^2 + eps).
    Shapes: (N, L) -> (N, L). Puts every z on (nearly) the same sphere, whatever its length."""
    return x / ((x * x).mean(dim=1, keepdim=True) + eps).sqrt()


class PixelNorm(nn.Module):
    """``pixel_norm`` as a layer (the mapping network's first)."""

    def forward(self, x: Tensor) -> Tensor:
        return pixel_norm(x)


def adain(x: Tensor, scale: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    r"""Adaptive instance normalisation: y = scale * (x - mu) / sigma + bias, per sample
    and channel.

    mu, sigma^2: mean and (biased) variance of x over H, W (instance norm, with eps in
    sigma). Afterwards y[n, c] has mean ``bias[n, c]`` and standard deviation
    ``|scale[n, c]| * sqrt(var / (var + eps))`` (= |scale| when var >> eps).

    Shapes: x (N, C, H, W); scale, bias (N, C). Gradients come from instance_norm's and
    the products' own backward (no new op here).
    """
    n, c = x.shape[0], x.shape[1]
    if tuple(scale.shape) != (n, c) or tuple(bias.shape) != (n, c):
        raise ValueError(f"adain: scale and bias must be (N, C) = {(n, c)}, got "
                         f"{tuple(scale.shape)} and {tuple(bias.shape)}")
    normalised = F.instance_norm(x, eps=eps)
    return normalised * scale.reshape(n, c, 1, 1) + bias.reshape(n, c, 1, 1)


class EqualizedLinear(nn.Module):
    r"""y = x (c W)^T + m b, with W stored as N(0, 1)/m and c = gain * m / sqrt(in_features).

    ``equalized=True`` (the paper's "equalized learning rate"): the scale c is applied on
    every forward pass. ``equalized=False``: c is folded into the stored weight once (an
    ordinary He-initialised layer). ``lr_multiplier`` m slows a layer down (0.01 for the
    mapping network). ``bias_init`` fills the bias (1 for the part of a style affine that
    makes AdaIN's scale). Weight (out, in) and bias (out,) as ``nn.Linear``.
    """

    def __init__(self, in_features: int, out_features: int, bias_init: float | np.ndarray = 0.0,
                 lr_multiplier: float = 1.0, gain: float = 1.0, equalized: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.lr_multiplier, self.equalized = lr_multiplier, equalized
        he = gain / math.sqrt(in_features)
        self.runtime_scale = he * lr_multiplier if equalized else 1.0
        stored = 1.0 / lr_multiplier if equalized else he
        self.weight = nn.Parameter(randn(out_features, in_features) * stored)
        bias = np.broadcast_to(np.asarray(bias_init, np.float32), (out_features,))
        self.bias = nn.Parameter(tensor(bias / (lr_multiplier if equalized else 1.0)))
        self.bias_scale = lr_multiplier if equalized else 1.0

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight * self.runtime_scale if self.runtime_scale != 1.0 else self.weight
        bias = self.bias * self.bias_scale if self.bias_scale != 1.0 else self.bias
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"lr_multiplier={self.lr_multiplier}, equalized={self.equalized}")


class EqualizedConv2d(nn.Module):
    r"""Same-padding conv with the weight scaled by gain/sqrt(C_in K K) at run time
    (``equalized=True``) or once at initialisation (``equalized=False``). Bias starts at 0.
    Weight (C_out, C_in, K, K) and bias (C_out,) as ``nn.Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 bias: bool = True, gain: float = 1.0, equalized: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.padding, self.equalized = kernel_size, kernel_size // 2, equalized
        he = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.runtime_scale = he if equalized else 1.0
        self.weight = nn.Parameter(
            randn(out_channels, in_channels, kernel_size, kernel_size) * (1.0 if equalized else he))
        if bias:
            self.bias = nn.Parameter(zeros(out_channels))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight * self.runtime_scale if self.runtime_scale != 1.0 else self.weight
        return F.conv2d(x, weight, self.bias, 1, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"equalized={self.equalized}")


class NoiseInjection(nn.Module):
    r"""x + weight[c] * noise, noise ~ N(0, 1) of shape (N, 1, H, W): one noise image per
    sample, shared by all channels, each channel scaling it by its own learned weight
    (initialised to 0, so noise only enters as training finds it useful).

    ``mode`` chooses the noise: "random" (fresh from minicnn's generator on every call: what
    training uses), "const" (the fixed ``noise_const`` buffer, so a picture depends on the
    styles only: what sample grids use) or "none"."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.weight = nn.Parameter(zeros(channels))
        self.register_buffer("noise_const", randn(1, 1, resolution, resolution))
        self.mode = "random"

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "none":
            return x
        n, c, h, w = x.shape
        if self.mode == "const":
            noise = self.noise_const
        else:
            noise = randn(n, 1, h, w, dtype=x.dtype, device=x.device)
        return x + noise * self.weight.reshape(1, c, 1, 1)


class StyleLayer(nn.Module):
    r"""One style-driven layer: [upsample 2x] [conv 3x3], noise, bias, LeakyReLU(0.2), AdaIN.

    The style affine A maps w (N, w_dim) to (scale, bias) (N, C) each; the bias of its
    scale half starts at 1 and of its bias half at 0, so at initialisation AdaIN is close
    to a plain instance norm.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 upsample: bool = False, conv: bool = True, equalized: bool = True):
        super().__init__()
        self.upsample, self.channels = upsample, out_channels
        if conv:
            self.conv = EqualizedConv2d(in_channels, out_channels, 3, bias=False,
                                        gain=math.sqrt(2), equalized=equalized)
        else:
            self.conv = None
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = nn.Parameter(zeros(out_channels))
        bias_init = np.concatenate([np.ones(out_channels), np.zeros(out_channels)])
        self.style = EqualizedLinear(w_dim, 2 * out_channels, bias_init=bias_init,
                                     equalized=equalized)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        x = self.noise(x)
        x = F.leaky_relu(x + self.bias.reshape(1, self.channels, 1, 1), 0.2)
        style = self.style(w)
        scale, bias = style[:, :self.channels], style[:, self.channels:]
        return adain(x, scale, bias)


# ---------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------
class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w (N, w_dim): PixelNorm, then ``layers`` x (Linear, LeakyReLU(0.2))."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 4, lr_multiplier: float = 0.01,
                 equalized: bool = True):
        super().__init__()
        modules = [PixelNorm()]
        for index in range(layers):
            modules += [EqualizedLinear(z_dim if index == 0 else w_dim, w_dim,
                                        lr_multiplier=lr_multiplier, gain=math.sqrt(2),
                                        equalized=equalized),
                        nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*modules)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


MIN_CHANNELS = 16


def stylegan_channels(width: int, image_size: int = 32, min_channels: int = MIN_CHANNELS) -> dict:
    """Channels per resolution for a width W: {4: W, 8: W, 16: W/2, 32: W/4, ...}, but never
    fewer than ``min_channels`` (16): more channels where the image is small, as in every
    conv GAN.

    Why the floor: every style layer ends in an instance norm, which erases each channel's
    mean and standard deviation. What survives a layer is only the *spatial pattern* of its
    channels; with 4 channels at 32x32 (the old W/4 at width 16) the fine layers' styles
    (a scale and a bias for each of 4 channels) decide almost alone what the to-RGB layer
    shows, so the image follows the fine styles' latent, and D (mirroring these widths)
    sees 32x32 through 4 channels and cannot punish stripes and collapse."""
    channels, size = {}, 4
    while size <= image_size:
        channels[size] = max(width // max(size // 8, 1), min_channels)
        size *= 2
    return channels


class SynthesisNetwork(nn.Module):
    r"""Styles (one w per layer) -> images (N, 1, 32, 32): learned constant, 8 style layers
    (two per resolution 4, 8, 16, 32), and a **skip output**: a 1x1 to-RGB after each
    resolution's two layers, the running image upsampled (bilinear) and added to::

        image_4  = to_rgb_4(x_4)                                 (N, 1, 4, 4)
        image_2r = upsample(image_r) + to_rgb_2r(x_2r)            ... up to 32x32

    Why skips (StyleGAN2, Karras et al. 2020, section 4.1) and not one to-RGB at the end:
    with a single to-RGB the last layer's AdaIN (a scale and bias per channel) is one
    linear step away from the pixels, and without progressive growing it learns first and
    learns everything: our earlier runs used the 16 maps entering the last layer as a fixed
    dictionary and let the *last* style pick the digit (a crossover sweep switched the
    digit only between crossover 7 and 8), so style-mixing grids followed the fine-style
    source. With skips the 4x4 and 8x8 layers paint the coarse image themselves, from the
    coarse styles only (``forward(..., return_images=True)`` shows each stage); the finer
    stages add detail on top.
    """

    def __init__(self, w_dim: int, width: int = 64, image_size: int = 32, channels: int = 1,
                 equalized: bool = True):
        super().__init__()
        sizes = [4]
        while sizes[-1] < image_size:
            sizes.append(sizes[-1] * 2)
        if sizes[-1] != image_size:
            raise ValueError(f"image_size: expected 4 * 2^k, got {image_size}")
        widths = stylegan_channels(width, image_size)
        self.resolutions = sizes
        self.const = nn.Parameter(randn(1, widths[4], 4, 4))
        layers, to_rgbs, previous = [], [], widths[4]
        for size in sizes:
            first = StyleLayer(previous, widths[size], w_dim, size, upsample=size > 4,
                               conv=size > 4, equalized=equalized)
            second = StyleLayer(widths[size], widths[size], w_dim, size, equalized=equalized)
            layers += [first, second]
            to_rgbs.append(EqualizedConv2d(widths[size], channels, 1, equalized=equalized))
            previous = widths[size]
        self.layers = nn.ModuleList(layers)
        self.to_rgbs = nn.ModuleList(to_rgbs)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def layer_resolutions(self) -> list:
        """The resolution each style layer works at: [4, 4, 8, 8, 16, 16, 32, 32]."""
        return [size for size in self.resolutions for _ in range(2)]

    def forward(self, ws, return_images: bool = False):
        """``ws``: a list of ``num_layers`` tensors (N, w_dim), one per style layer.
        Returns the image tanh(image_32) (N, C, 32, 32) in (-1, 1); with
        ``return_images=True`` also the list of running (linear, pre-tanh) images after
        each resolution ((N, C, 4, 4), ..., (N, C, 32, 32))."""
        if len(ws) != self.num_layers:
            raise ValueError(f"synthesis: expected {self.num_layers} styles, got {len(ws)}")
        n = ws[0].shape[0]
        x = self.const.expand(n, *self.const.shape[1:])
        image, stages = None, []
        for index, to_rgb in enumerate(self.to_rgbs):
            for layer, w in zip(self.layers[2 * index:2 * index + 2], ws[2 * index:2 * index + 2]):
                x = layer(x, w)
            rgb = to_rgb(x)
            image = rgb if image is None else F.interpolate(
                image, scale_factor=2, mode="bilinear") + rgb
            stages.append(image)
        # tanh at the end only (the stages stay linear, so they add up): 85% of a padded
        # MNIST digit's pixels are exactly -1, which a linear output can only approach with
        # a perfectly flat sum of four to-RGB layers; D told fakes apart by their grey
        # backgrounds (it called every fake fake from step 50 on).
        image = image.tanh()
        return (image, stages) if return_images else image


class StyleGenerator(nn.Module):
    r"""The style-based generator: ``G(z) = synthesis([w] * L)`` with ``w = mapping(z)``.

    Also keeps ``w_avg`` (a buffer, saved in ``state_dict``): the running mean of w over
    training, updated by ``update_w_avg`` (decay 0.995) and used by truncation.

    Calling ``G(z)`` (what ``GANRecipe.sample`` does) uses ``self.truncation`` (psi,
    default 1 = none). The pieces, for lessons and style mixing::

        w = G.mapping(z)                       # (N, w_dim)
        ws = G.mix(w_a, w_b, crossover=4)      # layers 0..3 from a, 4..7 from b
        images = G.synthesis(ws)
    """

    def __init__(self, z_dim: int = 64, w_dim: int = 64, width: int = 64, image_size: int = 32,
                 channels: int = 1, mapping_layers: int = 4, mapping_lr_multiplier: float = 0.01,
                 equalized: bool = True, w_avg_decay: float = 0.995):
        super().__init__()
        self.z_dim, self.w_dim, self.w_avg_decay = z_dim, w_dim, w_avg_decay
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_multiplier,
                                      equalized)
        self.synthesis = SynthesisNetwork(w_dim, width, image_size, channels, equalized)
        self.register_buffer("w_avg", zeros(w_dim))
        self.truncation = 1.0
        self.truncation_cutoff = None

    @property
    def num_layers(self) -> int:
        return self.synthesis.num_layers

    def set_noise_mode(self, mode: str) -> None:
        """"random" | "const" | "none" for every noise input (see ``NoiseInjection``)."""
        if mode not in ("random", "const", "none"):
            raise ValueError(f"noise mode: expected 'random', 'const' or 'none', got {mode!r}")
        for module in self.modules():
            if isinstance(module, NoiseInjection):
                module.mode = mode

    def update_w_avg(self, w: Tensor) -> None:
        r"""w_avg <- beta w_avg + (1 - beta) mean_n w_n (no gradient; beta = w_avg_decay)."""
        with no_grad():
            batch_mean = w.detach().array.mean(axis=0)
            beta = self.w_avg_decay
            self.w_avg.array[...] = beta * self.w_avg.array + (1.0 - beta) * batch_mean

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        r"""w' = w_avg + psi (w - w_avg): psi = 1 leaves w, psi = 0 gives w_avg."""
        if psi == 1.0:
            return w
        return self.w_avg + (w - self.w_avg) * psi

    def broadcast(self, w: Tensor, psi: float = 1.0, cutoff: int | None = None) -> list:
        """One style per layer from one w, truncated by psi in layers < ``cutoff`` (all
        layers when None)."""
        truncated = self.truncate(w, psi)
        cutoff = self.num_layers if cutoff is None else cutoff
        return [truncated if index < cutoff else w for index in range(self.num_layers)]

    def mix(self, w_a: Tensor, w_b: Tensor, crossover: int) -> list:
        """Style mixing: layers ``< crossover`` read w_a, layers ``>= crossover`` read w_b."""
        if not 0 <= crossover <= self.num_layers:
            raise ValueError(f"crossover: expected 0..{self.num_layers}, got {crossover}")
        return [w_a if index < crossover else w_b for index in range(self.num_layers)]

    def forward(self, z: Tensor, psi: float | None = None) -> Tensor:
        psi = self.truncation if psi is None else psi
        return self.synthesis(self.broadcast(self.mapping(z), psi, self.truncation_cutoff))


# ---------------------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------------------
def minibatch_stddev(x: Tensor, group_size: int = 4, eps: float = 1e-8) -> Tensor:
    r"""Append one channel: the standard deviation of the features across a group of
    samples, averaged over channels and pixels (Karras et al. 2018). A generator that
    collapses to one image gives a stddev near 0 that D can see.

    Shapes: (N, C, H, W) -> (N, C + 1, H, W); N must be divisible by the group size (the
    group shrinks to a divisor of N otherwise).
    """
    n, c, h, w = x.shape
    group = min(group_size, n)
    while n % group:
        group -= 1
    grouped = x.reshape(group, n // group, c, h, w)
    centred = grouped - grouped.mean(dim=0, keepdim=True)
    std = ((centred * centred).mean(dim=0) + eps).sqrt()          # (N/G, C, H, W)
    per_group = std.mean(dim=(1, 2, 3)).reshape(1, n // group, 1, 1, 1)
    channel = per_group.expand(group, n // group, 1, h, w).reshape(n, 1, h, w)
    return cat([x, channel], 1)


class StyleDiscriminator(nn.Module):
    """(N, 1, 32, 32) -> logits (N, 1): from-RGB 1x1 conv, three [conv 3x3, LeakyReLU,
    avg-pool 2] blocks (32 -> 16 -> 8 -> 4), [minibatch stddev], conv 3x3, LeakyReLU,
    Linear, LeakyReLU, Linear. Channels mirror the generator's ({32: W/4, ..., 4: W})."""

    def __init__(self, width: int = 64, image_size: int = 32, channels: int = 1,
                 minibatch_std: bool = True, equalized: bool = True):
        super().__init__()
        widths = stylegan_channels(width, image_size)
        sizes = []
        size = image_size
        while size > 4:
            sizes.append(size)
            size //= 2
        self.minibatch_std = minibatch_std
        gain = math.sqrt(2)
        self.from_rgb = EqualizedConv2d(channels, widths[image_size], 1, gain=gain,
                                        equalized=equalized)
        blocks = []
        for size in sizes:
            blocks.append(EqualizedConv2d(widths[size], widths[size // 2], 3, gain=gain,
                                          equalized=equalized))
        self.blocks = nn.ModuleList(blocks)
        final = widths[4] + (1 if minibatch_std else 0)
        self.final_conv = EqualizedConv2d(final, widths[4], 3, gain=gain, equalized=equalized)
        self.fc = EqualizedLinear(widths[4] * 16, widths[4], gain=gain, equalized=equalized)
        self.out = EqualizedLinear(widths[4], 1, equalized=equalized)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.from_rgb(x), 0.2)
        for conv in self.blocks:
            x = F.avg_pool2d(F.leaky_relu(conv(x), 0.2), 2)
        if self.minibatch_std:
            x = minibatch_stddev(x)
        x = F.leaky_relu(self.final_conv(x), 0.2)
        x = F.leaky_relu(self.fc(x.reshape(x.shape[0], -1)), 0.2)
        return self.out(x)


# ---------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------
def discriminator_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    r"""Non-saturating GAN, D's side: mean softplus(-D(x)) + mean softplus(D(G(z)))
    (= BCE-with-logits with targets 1 for real, 0 for fake)."""
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()


def generator_loss(logits_fake: Tensor) -> Tensor:
    r"""Non-saturating GAN, G's side: mean softplus(-D(G(z))) = -log sigmoid(D(G(z)))."""
    return F.softplus(-logits_fake).mean()

