"""The reservation rules of the 开放式组织生活基地 as data.

None of these numbers comes from a central regulation: they are the district's own practice (【L】), so
they are settings. `settings.DANGJIAN_BASES` is merged over `DEFAULTS`.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS: dict = {
    # A branch may cancel its booking up to this many hours before the slot starts; after that only the
    # base's manager can (the base has prepared for the visit). 【L】
    "cancel_cutoff_hours": 24,
    # A place offered from the waiting list is held this many hours for the branch to accept. 【L】
    "offer_response_hours": 24,
    # How far ahead slots are shown and may be created. 【L】
    "booking_horizon_days": 90,
    # The intranet tile server: "https://tiles.example.gov/{z}/{x}/{y}.png". Empty: points on a plain plane.
    "tile_url": "",
    "tile_attribution": "",
    # Where the map opens when there is no site yet: [latitude, longitude] and zoom.
    "map_center": [39.9087, 116.3975],
    "map_zoom": 12,
}

# China's rough bounding box (longitude 73–136 E, latitude 3–54 N): a coordinate outside it is a typo.
LONGITUDE_RANGE = (73.0, 136.0)
LATITUDE_RANGE = (3.0, 54.0)


def params() -> dict:
    return {**DEFAULTS, **getattr(settings, "DANGJIAN_BASES", {})}


def coordinate_errors(longitude, latitude) -> dict[str, list[str]]:
    """Per-field Chinese messages for coordinates outside China's rough bounding box."""
    errors: dict[str, list[str]] = {}
    lo, hi = LONGITUDE_RANGE
    if longitude is not None and not lo <= float(longitude) <= hi:
        errors["longitude"] = [f"经度：{longitude} 不在合理范围内（应为东经 {lo:g}～{hi:g} 度）"]
    lo, hi = LATITUDE_RANGE
    if latitude is not None and not lo <= float(latitude) <= hi:
        errors["latitude"] = [f"纬度：{latitude} 不在合理范围内（应为北纬 {lo:g}～{hi:g} 度）"]
    if (longitude is None) != (latitude is None):
        errors.setdefault("latitude" if latitude is None else "longitude", ["坐标：经度和纬度须同时填写"])
    return errors


def about_count(n: int) -> str:
    """"45" → "40余", "1234" → "1200余", "8" → "8": the way a report writes a number of people."""
    if n < 10:
        return str(n)
    unit = 100 if n >= 1000 else 10
    rounded = n // unit * unit
    return f"{rounded}余" if rounded != n else str(n)
