"""Datasets: one loader per dataset, real (downloaded by the user), embedded (a subset of real MNIST
shipped in the package) and generated (SynthScenes, SynthFaces, and ColourDigits from the MNIST subset)."""
from .colour_digits import colour_digits  # noqa: F401
from .download import DatasetNotFoundError, DownloadError, download_url  # noqa: F401
from .embedded import SynthScenes, synth_scenes  # noqa: F401
from .mnist_subset import load_mnist_subset  # noqa: F401
