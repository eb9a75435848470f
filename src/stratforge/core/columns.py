"""Per-bar series of a result held as typed arrays: ``FloatColumn`` (float64, NaN for a
missing value) and ``TimeColumn`` (int64 epoch milliseconds).

A million-bar run has millions of per-bar values. As Python lists of floats and ISO
strings they cost about 32 and 80 bytes each; as arrays, 8. The columns still read like the
lists they replace (``len``, indexing, iteration, ``==`` against a list, ``.index``), items
come out as floats (``None`` for NaN) and ISO-8601 strings, and ``numpy.asarray`` gives the
array without a copy. JSON only at the edges: a column serialises to the same JSON list as
before (``null`` for NaN), and validates from one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, SupportsIndex, overload

import numpy as np
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


def iso_times(millis: np.ndarray) -> list[str]:
    """ISO-8601 strings of millisecond times, shown to the second when whole: the one
    timestamp format of a result's JSON (equity, prices, trades)."""
    texts = np.datetime_as_string(np.asarray(millis).astype("datetime64[ms]"), unit="ms")
    return [s.removesuffix(".000") for s in texts.tolist()]


def to_millis(values: Any) -> np.ndarray:
    """Epoch milliseconds (int64) of ISO strings, datetime64 values or integers."""
    if isinstance(values, TimeColumn):
        return values.millis
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "M":
        return array.astype("datetime64[ms]").astype(np.int64)
    return np.asarray(values, dtype="datetime64[ms]").astype(np.int64)


class _Column(Sequence[Any]):
    """The list-like behaviour both columns share; ``_array`` is the 1-D storage."""

    __slots__ = ("_array",)
    _array: np.ndarray

    def __init__(self, values: Any = ()) -> None:
        self._array = np.asarray(values)

    def __len__(self) -> int:
        return len(self._array)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> _Column: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._array[index])
        return self._item(self._array[index])

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Column):
            return type(other) is type(self) and self.tolist() == other.tolist()
        if isinstance(other, list | tuple):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it replaces

    def __repr__(self) -> str:
        preview = self.tolist()[:3] if len(self) > 3 else self.tolist()
        more = ", ..." if len(self) > 3 else ""
        return f"{type(self).__name__}({preview}{more} n={len(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self._array,)

    def _item(self, value: Any) -> Any:
        raise NotImplementedError

    def tolist(self) -> list[Any]:
        raise NotImplementedError

    def json_list(self) -> list[Any]:
        """The values as JSON lists them."""
        return self.tolist()

    # -- pydantic: validated from a list (or a column, kept as it is), a list in JSON --------

    _expected = "a list"

    @classmethod
    def _json_items(cls) -> core_schema.CoreSchema:
        raise NotImplementedError

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _column_json, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(core_schema.list_schema(cls._json_items()))

    @classmethod
    def _validate(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            raise ValueError(f"expected {cls._expected}")
        try:
            return cls(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"expected {cls._expected}: {exc}") from None

    @property
    def nbytes(self) -> int:
        return int(self._array.nbytes)


class FloatColumn(_Column):
    """A float64 series; NaN stands for a missing value and reads back as ``None``."""

    __slots__ = ()

    def __init__(self, values: Any = ()) -> None:
        array = np.asarray(values._array if isinstance(values, FloatColumn) else values)
        if array.dtype != np.float64:
            array = np.asarray(values, dtype=np.float64)  # None -> NaN
        if array.ndim != 1:
            raise ValueError(f"a column is one-dimensional, got shape {array.shape}")
        self._array = array

    @property
    def values(self) -> np.ndarray:
        """The float64 array itself (NaN where a value is missing)."""
        return self._array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is None or np.dtype(dtype) == self._array.dtype:
            return self._array.copy() if copy else self._array
        return self._array.astype(dtype)

    def _item(self, value: Any) -> float | None:
        number = float(value)
        return None if number != number else number

    def tolist(self) -> list[float | None]:
        out: list[float | None] = self._array.tolist()
        missing = np.flatnonzero(np.isnan(self._array))
        for i in missing.tolist():
            out[i] = None
        return out

    def json_list(self) -> list[Any]:
        """The values with NaN kept: pydantic writes NaN as ``null`` in JSON."""
        values: list[Any] = self._array.tolist()
        return values

    _expected = "a list of numbers"

    @classmethod
    def _json_items(cls) -> core_schema.CoreSchema:
        return core_schema.nullable_schema(core_schema.float_schema())

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        hits = np.flatnonzero(self._array[start:stop] == value)
        if not len(hits):
            raise ValueError(f"{value!r} is not in the column")
        return start + int(hits[0])


class TimeColumn(_Column):
    """Bar times as int64 epoch milliseconds (naive, as the data gave them); items read as
    ISO-8601 strings, shown to the second when whole."""

    __slots__ = ()

    def __init__(self, values: Any = ()) -> None:
        array = to_millis(values)
        if array.ndim != 1:
            raise ValueError(f"a column is one-dimensional, got shape {array.shape}")
        self._array = array

    @property
    def millis(self) -> np.ndarray:
        """Epoch milliseconds, int64."""
        return self._array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        times = self._array.astype("datetime64[ms]")
        return times if dtype is None else times.astype(dtype)

    def _item(self, value: Any) -> str:
        return iso_times(np.asarray([value]))[0]

    def tolist(self) -> list[str]:
        return iso_times(self._array)

    _expected = "a list of ISO-8601 times"

    @classmethod
    def _json_items(cls) -> core_schema.CoreSchema:
        return core_schema.str_schema()

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        try:
            wanted = int(to_millis([value])[0])
        except ValueError:
            raise ValueError(f"{value!r} is not in the column") from None
        hits = np.flatnonzero(self._array[start:stop] == wanted)
        if not len(hits):
            raise ValueError(f"{value!r} is not in the column")
        return start + int(hits[0])

    def __contains__(self, value: object) -> bool:
        try:
            self.index(value)
        except (ValueError, TypeError):
            return False
        return True


def _column_json(column: _Column) -> list[Any]:
    return column.json_list()


def plain(value: Any) -> Any:
    """*value* with every column replaced by its list: for JSON encoders that know lists
    (the API's table and document responses)."""
    if isinstance(value, _Column):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
