"""Models (papers_core.models): the Places365 checkpoint format, weights-only loading, normalisation
wrappers, the papers' architectures and the NIMA loader."""
import pytest
import torch
import torchvision

from papers_core import metrics as M
from papers_core.models import (CheckpointError, LeNet5, LightCNN9, Normalized, SmallCNN, build_model,
                                cifar_mobilenet_v2, load_state_dict_safely, nima_model, places365_model)
from papers_core.models.pretrained import _Nima


def test_places365_checkpoint_format_loads(tmp_path):
    net = torchvision.models.resnet18(weights=None, num_classes=365)
    ckpt = {"epoch": 90, "arch": "resnet18",
            "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}
    path = tmp_path / "resnet18_places365.pth.tar"
    torch.save(ckpt, path)
    model = places365_model("resnet18", path)
    assert not model.training
    x = torch.rand(2, 3, 64, 64)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(model(x), net((x - mean) / std), atol=1e-5)


def test_densenet_old_key_names_are_renamed(tmp_path):
    net = torchvision.models.densenet121(weights=None, num_classes=365)  # same naming as densenet161
    old = {f"module.{k}".replace("norm1", "norm.1").replace("conv1", "conv.1")
           .replace("norm2", "norm.2").replace("conv2", "conv.2"): v for k, v in net.state_dict().items()}
    assert any("norm.1" in k for k in old)
    path = tmp_path / "d.pth.tar"
    torch.save({"state_dict": old}, path)
    from papers_core import models

    loaded = load_state_dict_safely(path)
    assert not any(k.startswith("module.") for k in loaded)  # stripped where checkpoints are read
    state = {models.pretrained._densenet_rename(k): v for k, v in loaded.items()}
    net.load_state_dict(state)  # strict: every key matched


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_state_dict_safely(path)


def test_missing_truncated_and_mismatched_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*data/README.md"):
        load_state_dict_safely(tmp_path / "absent.pth")
    good = tmp_path / "good.pth"
    torch.save(SmallCNN(5).state_dict(), good)
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_state_dict_safely(bad)
    with pytest.raises(CheckpointError, match="does not fit"):
        places365_model("resnet18", good)
    with pytest.raises(ValueError, match="valid choices.*resnet50"):
        places365_model("vgg16")
    with pytest.raises(ValueError, match="valid choices.*small_cnn"):
        build_model("lenet")


def test_channel_mismatch_is_explained():
    with pytest.raises(ValueError, match=r"expects \(N, 3, H, W\)"):
        SmallCNN(10)(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"expects \(N, 3, H, W\)"):
        Normalized(torch.nn.Identity(), (0.5,) * 3, (0.5,) * 3)(torch.rand(2, 1, 8, 8))


def test_one_normalisation_for_every_model():
    """The small models and the wrapped torchvision ones normalise through the same Normalize layer,
    whose constants are not part of the saved weights."""
    from papers_core.models import MLP, ConvPoolNet, LeNet5, Normalize, TinyResNet

    for net in (SmallCNN(30, width=8), LeNet5(10), MLP(784, (8,), 10), ConvPoolNet(3, 10, (4, 4, 4)),
                TinyResNet(10, width=4)):
        assert isinstance(net.normalize, Normalize)
        assert not any("normalize" in k for k in net.state_dict())
    x = torch.rand(2, 3, 4, 4)
    assert torch.equal(Normalize((0.5,), (0.5,))(x), x * 2.0 - 1.0)   # [0, 1] -> [-1, 1], bit for bit
    wrapped = Normalized(torch.nn.Identity(), (0.1, 0.2, 0.3), (0.5, 0.5, 0.5))
    assert torch.allclose(wrapped(x)[:, 1], (x[:, 1] - 0.2) / 0.5)
    with pytest.raises(ValueError, match="expects"):
        wrapped(torch.rand(2, 1, 4, 4))


def test_freeze_prepares_models_for_attacks():
    from papers_core.models import freeze

    nets = freeze({"a": SmallCNN(30, width=4).train(), "b": SmallCNN(30, width=4)}, "cpu")
    for net in nets.values():
        assert not net.training and not any(p.requires_grad for p in net.parameters())


# ------------------------------------------------------------------------------------ models and data
def test_paper_models_take_their_inputs_and_refuse_others():
    assert LeNet5().eval()(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert LightCNN9(15, input_size=48).eval()(torch.rand(2, 1, 48, 48)).shape == (2, 15)
    assert cifar_mobilenet_v2(10, width_mult=0.5).eval()(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="28x28"):
        LeNet5()(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="input_size=64"):
        LightCNN9(15, input_size=48)(torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match="divisible by 16"):
        LightCNN9(15, input_size=50)


# ----------------------------------------------------------------------------------------------- NIMA
def test_nima_loader_round_trip_and_score_range(tmp_path):
    torch.manual_seed(0)
    import torchvision.models as tvm

    net = _Nima(tvm.mobilenet_v2(weights=None), "mobilenet_v2", 0.75)
    torch.save(net.state_dict(), tmp_path / "nima.pt")
    model = nima_model(tmp_path / "nima.pt")
    x = torch.rand(3, 3, 64, 64)
    s = M.nima_score(model, x)
    assert s.shape == (3,) and ((s >= 1) & (s <= 10)).all()
    with torch.no_grad():
        torch.testing.assert_close(s, net.eval()(model.normalize(x)) @ torch.arange(1.0, 11.0))


def test_nima_loader_refuses_unsafe_or_mismatched_checkpoints(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"state_dict": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="arbitrary-code"):
        nima_model(tmp_path / "evil.pt")
    torch.save({"head.1.weight": torch.zeros(10, 3)}, tmp_path / "small.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        nima_model(tmp_path / "small.pt")
    with pytest.raises(CheckpointError, match="not found"):
        nima_model(tmp_path / "missing.pt")
