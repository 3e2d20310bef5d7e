"""The comparison page's threats and measures (papers_core.threats)."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from papers_core import defenses as DEF
from papers_core.threats import Threat, misled, pareto_front, protection_measures, rank_entropy


class Fixed(nn.Module):
    """Logits that depend only on the mean brightness of the image: class = round(9 * mean)."""

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True)
        centres = torch.linspace(0, 1, 10, device=x.device)[None]
        return -100.0 * (m - centres) ** 2


def test_misled_is_per_image_and_respects_k():
    probs = torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    y = torch.tensor([0, 0, 2])
    assert misled(probs, y, 1).tolist() == [0.0, 1.0, 1.0]
    assert misled(probs, y, 2).tolist() == [0.0, 1.0, 0.0]
    assert misled(probs, y, 5).tolist() == [0.0, 0.0, 0.0]   # k above the class count: every class


def test_a_defended_threat_averages_over_its_defenses():
    torch.manual_seed(0)
    x = torch.full((4, 3, 8, 8), 5 / 9)          # class 5
    y = torch.full((4,), 5)
    t = Threat("plain", Fixed().eval())
    assert t.misled(x, y)[1].tolist() == [0.0] * 4
    d = Threat("requantised", Fixed().eval(), [DEF.Defense("requantize", 1)])   # 5/9 -> 1: class 9, misled
    assert d.misled(x, y)[1].tolist() == [1.0] * 4
    both = Threat("both", Fixed().eval(), [DEF.Defense("requantize", 1), DEF.Defense("requantize", 7)])
    assert both.misled(x, y)[1].tolist() == [0.5] * 4


def test_threat_refuses_what_is_not_a_defense():
    with pytest.raises(ValueError, match="Defense"):
        Threat("bad", Fixed().eval(), ["jpeg"])


def test_rank_entropy_is_zero_for_one_rank_and_log2_for_uniform():
    assert rank_entropy([3, 3, 3], 10) == 0.0
    assert rank_entropy([1, 2, 3, 4], 4) == pytest.approx(2.0)
    assert rank_entropy([2, 2, 3, 3], 10) == pytest.approx(1.0)


def test_protection_measures_report_misleading_quality_and_detection():
    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.4
    y = Fixed().eval()(x).argmax(1)
    adv = (x + 0.3).clamp(0, 1)                   # brighter: another class for the brightness classifier
    threats = [Threat("seen", Fixed().eval()), Threat("seen + defenses", Fixed().eval(), DEF.paper_defenses(["median"]))]
    det = DEF.family_detectors({"seen": Fixed().eval()}, x, ["median"])
    per = protection_measures(x, adv, y, threats, detectors=det, brisque=False)
    assert per["seen T1"].tolist() == [1.0] * 6
    assert set(per) >= {"seen T5", "seen + defenses T1", "rank", "label", "Det.", "PSNR", "SSIM", "CIEDE2000"}
    assert (per["rank"] > 1).all() and (per["label"] != y.numpy()).all()
    same = protection_measures(x, x, y, threats, brisque=False)
    assert same["seen T1"].sum() == 0 and (same["rank"] == 1).all()
    assert np.allclose(same["PSNR"], 100) and np.allclose(same["SSIM"], 1) and np.allclose(same["CIEDE2000"], 0)
    assert (per["PSNR"] < 100).all() and (per["CIEDE2000"] > 0).all()
    with pytest.raises(ValueError, match="shape"):
        protection_measures(x, adv[:3], y, threats)
    with pytest.raises(ValueError, match="Threat"):
        protection_measures(x, adv, y, [])


def test_pareto_front_keeps_only_undominated_points():
    privacy = [90, 80, 70, 60, 90]
    quality = [0.5, 0.9, 0.8, 0.95, 0.4]
    # (70, 0.8) is dominated by (80, 0.9); (90, 0.4) by (90, 0.5)
    assert pareto_front(privacy, quality).tolist() == [True, True, False, True, False]
    assert pareto_front([1, 1], [1, 1]).tolist() == [True, True]   # ties dominate nothing
    with pytest.raises(ValueError, match="one value per method"):
        pareto_front([1, 2], [1])


def test_shared_views_give_the_detectors_own_verdicts():
    """Detection computed from the shared probabilities equals FeatureSqueezingDetector.detect."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 10)).eval()
    x = torch.rand(20, 3, 16, 16)
    adv = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    y = net(x).argmax(1)
    dets = DEF.family_detectors({"m": net}, x, ["requantize", "median", "jpeg"], 0.2)
    per = protection_measures(x, adv, y, [Threat("m", net), Threat("m + defenses", net, DEF.paper_defenses())],
                              detectors=dets, brisque=False)
    expected = torch.stack([d.detect(adv).float() for d in dets.values()]).mean(0).numpy()
    assert np.allclose(per["Det."], expected) and 0 < expected.mean() < 1
    alone = Threat("m + defenses", net, DEF.paper_defenses()).misled(adv, y)
    assert np.allclose(per["m + defenses T1"], alone[1].numpy()) and np.allclose(per["m + defenses T5"], alone[5].numpy())
