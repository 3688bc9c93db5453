"""PyTorch training scripts in the style of a popular GAN collection's conditional GAN and
auxiliary-classifier GAN (toy sizes): argparse options, ``nn.Embedding`` labels joined
with ``torch.cat``, layer lists unpacked into ``nn.Sequential(*block(...))``,
``nn.BatchNorm1d(n, 0.8)``, ``LeakyReLU(0.2, inplace=True)``, ``Variable(FloatTensor(n,
1).fill_(1.0), requires_grad=False)``, ``FloatTensor(np.random.normal(...))``,
``LongTensor(np.random.randint(...))``, ``nn.MSELoss`` (least-squares GAN), ``nn.Upsample``,
``nn.Dropout2d``, ``nn.Softmax``, a ``classname.find("Conv")`` init with
``torch.nn.init.normal_(m.weight.data, ...)``, and accuracy from ``.data.cpu().numpy()``.

Run by tests/test_torch_scripts.py under PyTorch and, with only its imports changed,
under minicnn. The harness provides dataloader.
"""
import argparse

import numpy as np
import torch.nn as nn
import torch.nn.functional as F
import torch
from torch.autograd import Variable

parser = argparse.ArgumentParser()
parser.add_argument("--n_epochs", type=int, default=1)
parser.add_argument("--batch_size", type=int, default=16)
parser.add_argument("--lr", type=float, default=0.0002)
parser.add_argument("--b1", type=float, default=0.5)
parser.add_argument("--b2", type=float, default=0.999)
parser.add_argument("--latent_dim", type=int, default=20)
parser.add_argument("--n_classes", type=int, default=10)
parser.add_argument("--img_size", type=int, default=8)
parser.add_argument("--channels", type=int, default=1)
opt = parser.parse_args([])
img_shape = (opt.channels, opt.img_size, opt.img_size)
cuda = True if torch.cuda.is_available() else False

class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.label_emb = nn.Embedding(opt.n_classes, opt.n_classes)
        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers
        self.model = nn.Sequential(
            *block(opt.latent_dim + opt.n_classes, 32, normalize=False),
            *block(32, 64),
            nn.Linear(64, int(np.prod(img_shape))),
            nn.Tanh()
        )
    def forward(self, noise, labels):
        gen_input = torch.cat((self.label_emb(labels), noise), -1)
        img = self.model(gen_input)
        img = img.view(img.size(0), *img_shape)
        return img

class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.label_embedding = nn.Embedding(opt.n_classes, opt.n_classes)
        self.model = nn.Sequential(
            nn.Linear(opt.n_classes + int(np.prod(img_shape)), 64),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(64, 64),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(64, 1),
        )
    def forward(self, img, labels):
        d_in = torch.cat((img.view(img.size(0), -1), self.label_embedding(labels)), -1)
        validity = self.model(d_in)
        return validity

class ACDisc(nn.Module):
    def __init__(self):
        super().__init__()
        def discriminator_block(in_filters, out_filters, bn=True):
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block
        self.conv_blocks = nn.Sequential(*discriminator_block(opt.channels, 8, bn=False), *discriminator_block(8, 16))
        ds_size = opt.img_size // 2 ** 2
        self.adv_layer = nn.Sequential(nn.Linear(16 * ds_size ** 2, 1), nn.Sigmoid())
        self.aux_layer = nn.Sequential(nn.Linear(16 * ds_size ** 2, opt.n_classes), nn.Softmax(dim=1))
    def forward(self, img):
        out = self.conv_blocks(img)
        out = out.view(out.shape[0], -1)
        return self.adv_layer(out), self.aux_layer(out)

class ACGen(nn.Module):
    def __init__(self):
        super().__init__()
        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, 16 * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(16), nn.Upsample(scale_factor=2), nn.Conv2d(16, 16, 3, stride=1, padding=1),
            nn.BatchNorm2d(16, 0.8), nn.LeakyReLU(0.2, inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(16, 8, 3, stride=1, padding=1), nn.BatchNorm2d(8, 0.8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(8, opt.channels, 3, stride=1, padding=1), nn.Tanh())
    def forward(self, noise, labels=None):
        out = self.l1(noise)
        out = out.view(out.shape[0], 16, self.init_size, self.init_size)
        return self.conv_blocks(out)

def weights_init_normal(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)

adversarial_loss = torch.nn.MSELoss()
generator = Generator(); discriminator = Discriminator()
acd, acg = ACDisc(), ACGen()
acd.apply(weights_init_normal); acg.apply(weights_init_normal)
if cuda:
    generator.cuda(); discriminator.cuda(); adversarial_loss.cuda()
# --- train ---
optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
opt_acg = torch.optim.Adam(acg.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
opt_acd = torch.optim.Adam(acd.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
FloatTensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if cuda else torch.LongTensor
auxiliary_loss = torch.nn.CrossEntropyLoss()
aux_bce = torch.nn.BCELoss()
g_losses, d_losses, ac_losses = [], [], []
for epoch in range(opt.n_epochs):
    for i, (imgs, labels) in enumerate(dataloader):
        batch_size = imgs.shape[0]
        valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
        fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)
        real_imgs = Variable(imgs.type(FloatTensor))
        labels = Variable(labels.type(LongTensor))
        optimizer_G.zero_grad()
        z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
        gen_labels = Variable(LongTensor(np.random.randint(0, opt.n_classes, batch_size)))
        gen_imgs = generator(z, gen_labels)
        validity = discriminator(gen_imgs, gen_labels)
        g_loss = adversarial_loss(validity, valid)
        g_loss.backward()
        optimizer_G.step()
        optimizer_D.zero_grad()
        validity_real = discriminator(real_imgs, labels)
        d_real_loss = adversarial_loss(validity_real, valid)
        validity_fake = discriminator(gen_imgs.detach(), gen_labels)
        d_fake_loss = adversarial_loss(validity_fake, fake)
        d_loss = (d_real_loss + d_fake_loss) / 2
        d_loss.backward()
        optimizer_D.step()
        # ACGAN-style
        opt_acg.zero_grad()
        gimgs = acg(z)
        validity, pred_label = acd(gimgs)
        g2 = 0.5 * (aux_bce(validity, valid) + auxiliary_loss(pred_label, gen_labels))
        g2.backward(); opt_acg.step()
        opt_acd.zero_grad()
        real_pred, real_aux = acd(real_imgs)
        d_real_loss = (aux_bce(real_pred, valid) + auxiliary_loss(real_aux, labels)) / 2
        fake_pred, fake_aux = acd(gimgs.detach())
        d_fake_loss = (aux_bce(fake_pred, fake) + auxiliary_loss(fake_aux, gen_labels)) / 2
        d2 = (d_real_loss + d_fake_loss) / 2
        pred = np.concatenate([real_aux.data.cpu().numpy(), fake_aux.data.cpu().numpy()], axis=0)
        gt = np.concatenate([labels.data.cpu().numpy(), gen_labels.data.cpu().numpy()], axis=0)
        d_acc = np.mean(np.argmax(pred, axis=1) == gt)
        d2.backward(); opt_acd.step()
        print("[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f] [acc %d%%]" % (epoch, opt.n_epochs, i, len(dataloader), d_loss.item(), g_loss.item(), 100 * d_acc))
        batches_done = epoch * len(dataloader) + i
        z = Variable(FloatTensor(np.random.normal(0, 1, (10 ** 2, opt.latent_dim))))
        labels = np.array([num for _ in range(10) for num in range(10)])
        labels = Variable(LongTensor(labels))
        gen_imgs = generator(z, labels)
        g_losses.append(g_loss.item())
        d_losses.append(d_loss.item())
        ac_losses.append((g2.item(), d2.item(), float(d_acc)))
