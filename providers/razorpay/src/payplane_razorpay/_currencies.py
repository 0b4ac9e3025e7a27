"""Razorpay's currency table: codes and exponents, as data (cheap to import).

From Razorpay's "Supported Currencies" table (Currency Name / ISO Code / Exponent) on
https://razorpay.com/docs/payments/international-payments/. Exponents are Razorpay's own,
not another provider's: amounts go on the wire as integers in these minor units.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["CURRENCIES", "EXPONENTS", "PAYOUT_CURRENCIES", "THREE_DECIMAL"]

_THREE = "BHD IQD JOD KWD OMR TND"
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_TWO = (
    "AED ALL AMD AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BZD CAD CHF CNY "
    "COP CRC CUP CVE CZK DKK DOP DZD EGP ETB EUR FJD GBP GHS GIP GMD GTQ GYD HKD HNL HRK "
    "HTG HUF IDR ILS INR JMD KES KGS KHR KYD KZT LAK LKR LRD LSL MAD MDL MGA MKD MMK MNT "
    "MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PEN PGK PHP PKR PLN QAR RON RSD "
    "RUB SAR SCR SEK SGD SLL SOS SVC SZL THB TRY TTD TWD TZS UAH USD UYU UZS XCD YER ZAR ZMW"
)

EXPONENTS = MappingProxyType(
    {
        **dict.fromkeys(_TWO.split(), 2),
        **dict.fromkeys(_ZERO.split(), 0),
        **dict.fromkeys(_THREE.split(), 3),
    }
)
"""Currency code to the digits of its minor unit, from Razorpay's table (128 codes)."""

THREE_DECIMAL = frozenset(_THREE.split())
"""Currencies with three decimals: Razorpay's API pages want the last digit 0."""

# HRK (the Croatian kuna, replaced by the euro in 2023) is in Razorpay's table but no
# longer in ISO 4217, so a ProviderSpec cannot declare it; it stays in EXPONENTS so a
# webhook in HRK still parses.
CURRENCIES = frozenset(EXPONENTS) - {"HRK"}
"""The codes the provider declares: Razorpay's table, less the retired HRK."""

PAYOUT_CURRENCIES = frozenset({"INR"})
"""RazorpayX pays out in INR only."""
