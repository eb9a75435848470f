"""ArrayFeed: bulk preload and bar-by-bar loading give what PandasData gives."""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from stratforge.data import generate_synthetic
from stratforge.data.feed import date2num_array, make_feed


class Probe(bt.Strategy):
    def __init__(self) -> None:
        self.sma = bt.ind.SMA(self.data.close, period=5)
        self.seen: list[tuple] = []

    def next(self) -> None:
        d = self.data
        self.seen.append(
            (d.datetime[0], d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0], self.sma[0])
        )


def run_probe(feed: bt.feed.DataBase, **cerebro_kwargs) -> list[tuple]:
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kwargs)
    cerebro.adddata(feed)
    cerebro.addstrategy(Probe)
    return cerebro.run()[0].seen


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_synthetic(bars=300, timeframe="minutes", seed=3)


@pytest.mark.parametrize(
    "cerebro_kwargs",
    [{}, {"preload": False}, {"runonce": False}, {"exactbars": 1}],
    ids=["preload+runonce", "no-preload", "no-runonce", "exactbars"],
)
def test_array_feed_matches_pandas_data(frame: pd.DataFrame, cerebro_kwargs: dict) -> None:
    expected = run_probe(bt.feeds.PandasData(dataname=frame), **cerebro_kwargs)
    assert run_probe(make_feed(frame), **cerebro_kwargs) == expected
    assert len(expected) == 300 - 4


def test_date2num_array_matches_backtrader() -> None:
    index = pd.DatetimeIndex(
        ["1999-12-31 23:59:59", "2020-02-29", "2021-03-04 13:45:12.123456", "2900-01-01"]
    )
    expected = [bt.date2num(ts.to_pydatetime()) for ts in index]
    assert date2num_array(index).tolist() == expected
