"""papers_core: a small, fast, batched PyTorch library for reproducing papers on adversarial images for
privacy protection. Images are float NCHW tensors in [0, 1]; models own their normalisation."""
__version__ = "0.1.0"
