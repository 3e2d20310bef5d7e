"""Explorers: one setting moved along its values (epsilon, sigma, K, a strength), one view per value.

An explorer is a function ``draw(value, fig)`` that draws one view into a Matplotlib figure (or
subfigure) and a list of values. :func:`grid` draws every value side by side as one static figure:
that is what the HTML book shows, where widgets have no kernel to run their callbacks. :func:`slider`
shows an ipywidgets slider over the same values and redraws the view as it moves: that is for a live
notebook (Jupyter, Binder, Colab). Both call the same ``draw``, so the two always agree. The views
should draw precomputed results, so that moving the slider is instant.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

__all__ = ["grid", "slider"]


def _check(values: Sequence, draw: Callable) -> list:
    values = list(values)
    if not values:
        raise ValueError("an explorer needs at least one value to show.")
    if not callable(draw):
        raise TypeError(f"draw must be a function draw(value, fig), got {type(draw).__name__}.")
    return values


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def grid(values: Sequence, draw: Callable, *, label: str, ncols: int | None = None,
         panel_size: tuple[float, float] = (3.2, 2.6), title: str | None = None):
    """Every value's view in one figure (``ncols`` per row, default: all in one row up to 5), each
    under the heading ``"<label> = <value>"``. Returns the figure."""
    import matplotlib.pyplot as plt

    values = _check(values, draw)
    ncols = min(len(values), 5) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    nrows = math.ceil(len(values) / ncols)
    fig = plt.figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    subs = fig.subfigures(nrows, ncols, squeeze=False)
    for i, sub in enumerate(subs.flat):
        if i < len(values):
            draw(values[i], sub)
            sub.suptitle(f"{label} = {_fmt(values[i])}", fontsize="medium")
    if title:
        fig.suptitle(title)
    return fig


def slider(values: Sequence, draw: Callable, *, label: str, value=None,
           figsize: tuple[float, float] = (5.0, 3.2)):
    """An ipywidgets slider over ``values`` above the view of the selected value (``value``, default
    the middle one), redrawn when the slider moves. Returns the widget (displayed in a notebook); it
    runs only with a live kernel. Needs ``ipywidgets`` (``pip install ipywidgets``)."""
    values = _check(values, draw)
    try:
        import ipywidgets as W
    except ImportError as e:  # pragma: no cover - ipywidgets is in the book extra
        raise ImportError("the interactive explorer needs ipywidgets: pip install ipywidgets "
                          "(the static figure above shows every value).") from e
    import matplotlib.pyplot as plt
    from IPython.display import display

    if value is None:
        value = values[len(values) // 2]
    if value not in values:
        raise ValueError(f"value {value!r} is not one of the explorer's values {values}.")
    control = W.SelectionSlider(options=[(_fmt(v), v) for v in values], value=value, description=label,
                                continuous_update=False, layout=W.Layout(width="420px"))
    out = W.Output()

    def show(change=None):
        with out:
            out.clear_output(wait=True)
            fig = plt.figure(figsize=figsize, layout="constrained")
            draw(control.value, fig)
            plt.show()
            plt.close(fig)

    control.observe(show, names="value")
    show()
    return W.VBox([control, out])
