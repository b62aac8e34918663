"""Autoencoders for small grayscale images: an MLP (any H x W, e.g. 28x28 or 8x8) and a small
convolutional one for 1x28x28. ``encode`` gives the latent codes (B, latent_dim) that the ER
regularizer sees; ``decode`` maps them back to images in [0, 1] (sigmoid output)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Autoencoder", "MLPAutoencoder", "ConvAutoencoder", "build_model", "MODELS"]

MODELS = ("mlp", "conv")


class Autoencoder(nn.Module):
    """An ``encoder`` and a ``decoder``; ``forward(x)`` returns (reconstruction, codes)."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z


class MLPAutoencoder(Autoencoder):
    """Fully connected autoencoder: pixels -> hidden layers -> latent -> mirror -> pixels."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int = 16,
                 hidden: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        n_pixels = int(torch.tensor(self.image_shape).prod())
        if hidden is None:
            hidden = (512, 256) if n_pixels > 256 else (128, 64)
        widths = (n_pixels, *hidden)
        enc: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            enc += [nn.Linear(a, b), nn.GELU()]
        enc.append(nn.Linear(widths[-1], latent_dim))
        dec: list[nn.Module] = []
        back = (latent_dim, *reversed(hidden))
        for a, b in zip(back[:-1], back[1:], strict=True):
            dec += [nn.Linear(a, b), nn.GELU()]
        dec += [nn.Linear(back[-1], n_pixels), nn.Sigmoid(), nn.Unflatten(1, self.image_shape)]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)


class ConvAutoencoder(Autoencoder):
    """Convolutional autoencoder for 1x28x28: two stride-2 convolutions (28 -> 14 -> 7) and a
    linear bottleneck; the decoder mirrors it with transposed convolutions."""

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), latent_dim: int = 16,
                 channels: tuple[int, int] = (32, 64)) -> None:
        super().__init__()
        if tuple(image_shape) != (1, 28, 28):
            raise ValueError(f"the conv model needs 1x28x28 images, got {tuple(image_shape)}; "
                             "use --model mlp")
        self.image_shape = (1, 28, 28)
        c1, c2 = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(c2 * 7 * 7, latent_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, c2 * 7 * 7), nn.GELU(), nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.GELU(),
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1), nn.Sigmoid())


def build_model(kind: str, image_shape: tuple[int, int, int], latent_dim: int) -> nn.Module:
    """An autoencoder by name ("mlp" or "conv") for images of image_shape (C, H, W)."""
    if int(latent_dim) != latent_dim or latent_dim < 1:
        raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim}")
    if kind == "mlp":
        return MLPAutoencoder(image_shape, int(latent_dim))
    if kind == "conv":
        return ConvAutoencoder(image_shape, int(latent_dim))
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {kind!r}")
