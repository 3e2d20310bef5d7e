"""The explorers (papers_core.explore): every value drawn, the slider redraws."""
import matplotlib
import pytest

from papers_core import explore

matplotlib.use("Agg")


def _draw(calls):
    def draw(value, fig):
        calls.append(value)
        ax = fig.subplots()
        ax.plot([0, 1], [0, value])
    return draw


def test_grid_draws_every_value_in_its_own_panel():
    calls = []
    fig = explore.grid([1, 2.5, 4], _draw(calls), label="eps", ncols=2)
    assert calls == [1, 2.5, 4]
    assert len(fig.axes) == 3 and len(fig.subfigs) == 4    # 2 x 2 panels, the last one empty
    titles = [s._suptitle.get_text() for s in fig.subfigs[:3]]
    assert titles == ["eps = 1", "eps = 2.5", "eps = 4"]
    with pytest.raises(ValueError, match="at least one value"):
        explore.grid([], _draw([]), label="eps")
    with pytest.raises(TypeError, match="draw must be a function"):
        explore.grid([1], "not callable", label="eps")


def test_slider_redraws_the_selected_value():
    pytest.importorskip("ipywidgets")
    calls = []
    box = explore.slider([1, 2, 3], _draw(calls), label="K")
    control = box.children[0]
    assert calls == [2] and control.value == 2                 # the middle value first
    control.value = 3
    assert calls == [2, 3]
    assert [o[0] for o in control.options] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="not one of the explorer's values"):
        explore.slider([1, 2], _draw([]), label="K", value=5)
