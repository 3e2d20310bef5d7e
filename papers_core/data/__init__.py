"""Datasets: one container (:class:`~papers_core.data.base.LabelledImages`) and one module per dataset,
real (downloaded by the user), embedded (a subset of real MNIST shipped in the package) and generated
(SynthScenes, SynthFaces, and ColourDigits from the MNIST subset).

=====================  ======================================================================
module                 what it holds
=====================  ======================================================================
``base``               ``LabelledImages`` (images, labels, class names; private classes and
                       file names where a dataset has them) and ``subset``
``synth_scenes``       SynthScenes, the generated stand-in for Places365
``mnist``              MNIST from a data root; the IDX reader
``mnist_subset``       the embedded subset of real MNIST (10,000 + 2,000 images)
``colour_digits``      ColourDigits, SVHN's stand-in, made from the MNIST subset
``digits``             scikit-learn's digits
``faces``              the Yale faces (never published) and SynthFaces, their stand-in
``cifar_svhn``         CIFAR-10, CIFAR-100 and SVHN from a data root
``places365``          the Places365 / MediaEval 2018 lists, images and the paper profile's scenes
=====================  ======================================================================

Fetching with checksums is :mod:`papers_core.download`. Every name below is importable from here.
"""
from ..download import DatasetNotFoundError, DownloadError, download_url  # noqa: F401
from .base import LabelledImages, subset  # noqa: F401
from .cifar_svhn import load_cifar10, load_cifar100, load_svhn  # noqa: F401
from .colour_digits import colour_digits  # noqa: F401
from .digits import load_digits  # noqa: F401
from .faces import YALE_CONDITIONS, load_yale_faces, synth_faces  # noqa: F401
from .mnist import load_mnist, read_idx_bytes  # noqa: F401
from .mnist_subset import load_mnist_subset  # noqa: F401
from .synth_scenes import SPLITS, synth_scenes  # noqa: F401
