"""ISO 4217 active currency codes and their minor-unit exponents.

``None`` marks the codes ISO lists with no minor unit ("N.A.": precious metals, SDR,
test and fund codes).
"""

from __future__ import annotations

from types import MappingProxyType

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_NONE = "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD "
    "BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD "
    "EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR "
    "IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP "
    "MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN "
    "QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL "
    "THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR "
    "ZMW ZWG ZWL"
)


def _table() -> dict[str, int | None]:
    table: dict[str, int | None] = {}
    for codes, exponent in ((_ZERO, 0), (_TWO, 2), (_THREE, 3), (_FOUR, 4), (_NONE, None)):
        for code in codes.split():
            table[code] = exponent
    return table


ISO_4217_EXPONENTS: MappingProxyType[str, int | None] = MappingProxyType(_table())
