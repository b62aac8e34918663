"""Cost of the torch ER regularizer: forward + backward at B in {256, 1024, 4096}, d = 16, and
its share of one conv-autoencoder training step at B = 256 (1x28x28 images).

Side by side in one run, median of repeats after warm-up. Usage:

    python benchmarks/bench_regularizer.py [--repeats 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch

from autoencoder import EccentricRegularizer
from autoencoder.models import ConvAutoencoder
from particles import EnergyParams

from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    reg = EccentricRegularizer(EnergyParams(s=1.0))
    rows = []
    for b in (256, 1024, 4096):
        z = torch.randn(b, 16, requires_grad=True)

        def step(z=z):
            z.grad = None
            reg(z).backward()

        rows.append({"batch": b, "dim": 16,
                     "seconds": median_seconds(step, args.repeats, warmup=3)})

    model = ConvAutoencoder(latent_dim=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(256, 1, 28, 28)

    def train_step(with_er: bool) -> None:
        recon, z = model(x)
        loss = ((recon - x) ** 2).mean()
        if with_er:
            loss = loss + 0.1 * reg(z)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    plain, regularized = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine state
        plain.append(median_seconds(lambda: train_step(False), 1, warmup=0))
        regularized.append(median_seconds(lambda: train_step(True), 1, warmup=0))
    t_plain, t_er = statistics.median(plain), statistics.median(regularized)
    result = {"regularizer": rows, "conv_step_s": t_plain, "conv_step_with_er_s": t_er,
              "er_share": (t_er - t_plain) / t_plain, "threads": torch.get_num_threads()}
    for row in rows:
        print(f"ER forward+backward  B = {row['batch']:5d}, d = 16: {row['seconds'] * 1e3:8.3f} ms")
    print(f"conv AE training step, B = 256: {t_plain * 1e3:.1f} ms plain, {t_er * 1e3:.1f} ms "
          f"with ER ({100 * result['er_share']:+.1f}%)")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
