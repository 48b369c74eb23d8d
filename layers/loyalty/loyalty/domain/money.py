"""Money as Decimal: parsing the contract's decimal strings, minor units, currency conversion."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

from loyalty.domain.errors import ValidationFailed

# ISO 4217 minor units that differ from the usual 2.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# At most 15 integer digits: far above any real order, far below what could overflow a context.
AMOUNT_RE = re.compile(r"^(?P<int>[0-9]{1,15})(?:\.(?P<frac>[0-9]+))?$")
MAX_PRECISION = 60

ROUNDING_MODES = {
    "floor": ROUND_FLOOR,
    "ceil": ROUND_CEILING,
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def parse_amount(amount: str, currency: str, field: str, *, positive: bool = True) -> Decimal:
    """The contract's amount: digits, an optional fraction within the currency's minor units."""
    if not isinstance(amount, str):
        raise ValidationFailed(
            "amount must be a decimal string",
            errors=[{"field": field, "message": "must be a decimal string such as \"12.50\""}],
        )
    match = AMOUNT_RE.match(amount)
    if not match:
        raise ValidationFailed(
            "invalid amount",
            errors=[{"field": field, "message": "digits with an optional fraction, no sign or exponent, "
                     "at most 15 integer digits"}],
        )
    frac = match.group("frac") or ""
    if len(frac) > minor_units(currency):
        raise ValidationFailed(
            "too many fraction digits",
            errors=[{"field": field, "message": f"{currency} has {minor_units(currency)} fraction digits"}],
        )
    value = Decimal(amount)
    if positive and value <= 0:
        raise ValidationFailed("amount must be greater than zero",
                               errors=[{"field": field, "message": "must be greater than zero"}])
    return value


def format_amount(value: Decimal, currency: str) -> str:
    exponent = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as ctx:
        ctx.prec = MAX_PRECISION
        return str(value.quantize(exponent, rounding=ROUND_HALF_EVEN))


def to_program_currency(
    amount: Decimal, currency: str, program_currency: str, exchange_rates: dict[str, Decimal], field: str
) -> Decimal:
    """Convert with `exchange_rates[C]` = program-currency units per unit of C. No rounding here."""
    if currency == program_currency:
        return amount
    rate = exchange_rates.get(currency)
    if rate is None:
        raise ValidationFailed(
            f"currency {currency} is neither the program's nor in exchange_rates",
            errors=[{"field": field, "message": f"unsupported currency {currency}"}],
        )
    with localcontext() as ctx:
        ctx.prec = MAX_PRECISION
        return amount * rate


def round_points(value: Decimal, rounding: str) -> int:
    with localcontext() as ctx:
        ctx.prec = MAX_PRECISION
        return int(value.to_integral_value(rounding=ROUNDING_MODES[rounding]))
