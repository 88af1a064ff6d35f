"""Kubernetes resource quantities (``WITH resources.memory = "8Gi"``), parsed the way the
API server parses them, so ``sqlml check`` refuses what a cluster would refuse and says
what to write instead."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Kubernetes' grammar (k8s.io/apimachinery resource.Quantity):
#   quantity ::= signedNumber suffix;  suffix ::= binarySI | decimalSI | decimalExponent
#   binarySI ::= Ki|Mi|Gi|Ti|Pi|Ei;  decimalSI ::= n|u|m|""|k|M|G|T|P|E;  exponent ::= (e|E) signedNumber
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
#: Suffixes people reach for that Kubernetes does not accept (compared lower-case), and
#: the ones it does: decimal (powers of 1000) and binary (powers of 1024).
_MEANT = {
    "k": ("k", "Ki"), "kb": ("k", "Ki"), "kib": ("Ki",),
    "m": ("M", "Mi"), "mb": ("M", "Mi"), "mib": ("Mi",),
    "g": ("G", "Gi"), "gb": ("G", "Gi"), "gi": ("Gi",), "gib": ("Gi",),
    "t": ("T", "Ti"), "tb": ("T", "Ti"), "ti": ("Ti",), "tib": ("Ti",),
    "p": ("P", "Pi"), "pb": ("P", "Pi"), "pib": ("Pi",),
}  # fmt: skip
_POWER = {"k": "10^3", "M": "10^6", "G": "10^9", "T": "10^12", "P": "10^15"}
_POWER.update({"Ki": "2^10", "Mi": "2^20", "Gi": "2^30", "Ti": "2^40", "Pi": "2^50"})


class QuantityError(ValueError):
    """A value Kubernetes would refuse as a resource quantity; ``hint`` says what to write."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def parse_quantity(value: object, *, whole: bool = False) -> Decimal:
    """A ``WITH resources.*`` value as Kubernetes reads it: ``2``, ``0.5``, ``500m``,
    ``8Gi``, ``1e3``. Raises :class:`QuantityError` for anything else (``2GB``, ``abc``, a
    negative amount, a fraction of a GPU when ``whole``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise QuantityError(
            f"{value!r} is not a quantity", 'write a number or a string such as "8Gi" or "500m"'
        )
    text = str(value).strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        leading = re.match(r"[+-]?(?:\d+\.?\d*|\.\d+)", text)
        meant = _MEANT.get(text[leading.end() :].lower(), ()) if leading else ()
        if leading and meant:
            spelled = " or ".join(f"{leading.group()}{s} ({_POWER[s]})" for s in meant)
            hint = f"Kubernetes writes {spelled}"
        else:
            hint = "a number with an optional suffix: 2, 0.5, 500m, 8Gi, 512Mi, 1G"
        raise QuantityError(f"'{text}' is not a Kubernetes quantity", hint)
    number = Decimal(match.group("number"))
    suffix = match.group("suffix") or ""
    amount: Decimal
    try:
        if suffix in _BINARY:
            amount = number * _BINARY[suffix]
        elif suffix in _DECIMAL:
            amount = number.scaleb(_DECIMAL[suffix])
        elif suffix:
            amount = number.scaleb(int(suffix[1:]))
        else:
            amount = number
    except InvalidOperation:
        raise QuantityError(f"'{text}' is out of range", "write a smaller amount") from None
    if amount < 0:
        raise QuantityError(f"'{text}' is negative", "resources are amounts of at least 0")
    if whole and amount != amount.to_integral_value():
        raise QuantityError(
            f"'{text}' is not a whole number",
            "GPUs are requested in whole units (an extended resource): 1, 2, …",
        )
    return amount
