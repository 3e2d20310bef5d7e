"""Datasets: one loader per dataset, real (downloaded by the user) and embedded (generated here)."""
from .download import DatasetNotFoundError, DownloadError, download_url  # noqa: F401
from .embedded import SynthScenes, synth_scenes  # noqa: F401
