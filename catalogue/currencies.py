"""ISO 4217 currencies in circulation and their minor units (decimals).

Source: the ISO 4217 list maintained by SIX (amendments up to 2025, which added XCG and
ZWG). Fund codes, precious metals and testing codes (XAU, XTS, XXX…) are left out: no
shop prices an item in them. A price ``59.90`` in EUR is 5990 minor units; in JPY, which
has no minor unit, ``5990`` is 5990.
"""

from __future__ import annotations


def _codes(text: str) -> list[str]:
    return text.split()


# Currencies whose minor unit is not the usual hundredth.
_DECIMALS: dict[str, int] = {
    **dict.fromkeys(
        _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0
    ),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(_codes("CLF UYW"), 4),
}

_HUNDREDTHS = _codes("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
VES WST XCD XCG YER ZAR ZMW ZWG
""")

DECIMALS: dict[str, int] = {**dict.fromkeys(_HUNDREDTHS, 2), **_DECIMALS}
"""Every accepted currency code and the number of decimals of its minor unit."""
