"""autoencoder: PyTorch autoencoders regularized by the ER energy of ``particles``.

The regularizer computes the very same energy as ``particles.energy`` (one definition, one
normalization); training writes latent trajectories in the same H5MD format.
"""

from autoencoder.regularizer import EccentricRegularizer, er_energy

__all__ = ["EccentricRegularizer", "er_energy"]
