"""The ISO 3166-1 country list, from pycountry (the Debian iso-codes data)."""

from __future__ import annotations

import pycountry


class IsoCountries:
    """Implements application.ports.CountryCodes."""

    def is_country(self, alpha_2: str) -> bool:
        return pycountry.countries.get(alpha_2=alpha_2) is not None
