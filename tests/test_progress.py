"""Progress bars (papers_core.progress): quiet by default, shown when enabled."""
import pytest
import torch

from papers_core.models import SmallCNN
from papers_core.progress import progress, progress_enabled, set_progress
from papers_core.train import train_classifier


def test_progress_is_quiet_by_default_and_shown_when_enabled(capsys, monkeypatch):
    monkeypatch.delenv("PAPERS_CORE_PROGRESS", raising=False)
    set_progress(False)
    x, y = torch.rand(8, 3, 32, 32), torch.arange(8) % 3
    train_classifier(SmallCNN(3, width=4), x, y, epochs=2, batch_size=4)
    assert capsys.readouterr().err == ""
    train_classifier(SmallCNN(3, width=4), x, y, epochs=2, batch_size=4, progress=True)
    assert "training SmallCNN" in capsys.readouterr().err
    monkeypatch.setenv("PAPERS_CORE_PROGRESS", "1")
    assert progress_enabled() and list(progress(range(3), desc="loop")) == [0, 1, 2]
    assert "loop" in capsys.readouterr().err
    monkeypatch.setenv("PAPERS_CORE_PROGRESS", "0")
    set_progress(True)
    assert not progress_enabled() and progress_enabled(True)
    set_progress(False)
    with pytest.raises(TypeError, match="True or False"):
        set_progress("yes")
