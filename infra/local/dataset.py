"""A realistic, deterministic stream of licence lifecycle webhooks from real public data.

Reads ../shared/data at run time (never copied into the repository; see its SOURCES.md):
Persian given and family names, Tehran's 22 districts and 369 neighbourhoods (a random
point inside each neighbourhood's polygon), ISIC Rev.4 classes, national-ID prefixes (with
the mod-11 check digit computed), Tehran's postal-code ranges. Falls back to Faker's fa_IR
locale where a file is absent.

The stream follows docs/DESIGN.md's envelope, record and lifecycle, and carries the quirks
real senders produce: Arabic yeh/kaf, Persian and Arabic-Indic digits, ZWNJ, Jalali dates,
+98/0098 phones, duplicate deliveries (same webhook id and body), out-of-order versions, and
about 5% inputs that must be rejected, each labelled with the status and reason we expect.

The stream is a pure function of (seed, events, anchor): it never reads the clock. Every
licence's life ends at or before the anchor instant (default 2025-01-01T09:00+03:30), so no
event occurred in the future and the same seed gives the same bytes on any day.

    python -m infra.local.dataset --events 1000 --seed 1405 [--anchor ISO] [--out FILE.jsonl]
                                  [--summary]
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import math
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jdatetime

from chalicelib.identifiers import legal_id_check_digit, national_id_check_digit
from chalicelib.licence_types import LICENCE_TYPES, LicenceType
from chalicelib.lifecycle import TRANSITIONS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SCHEMAS = ROOT / "chalicelib" / "schemas"
TEHRAN = timezone(timedelta(hours=3, minutes=30))
ZWNJ = "\u200c"
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})

# Where the timeline ends: a fixed instant in the past, never the clock, so a data set is the
# same on any day. Each licence applies MAX_LIFE_DAYS plus a seeded 0-359 days before the
# anchor's date, so even the last event of the longest life is before the anchor.
DEFAULT_ANCHOR = datetime(2025, 1, 1, 9, 0, tzinfo=TEHRAN)
# At most 13 events, each at most 12 days 9 h 59 min after the last, from 15:59 at the latest:
# 162.1 days.
MAX_LIFE_DAYS = 165

# The lifecycle, from the one place it is defined: the status each event leads to, and the
# statuses it may start from (None: no licence yet).
STATUS_AFTER = {name: after for name, (_, after) in TRANSITIONS.items() if after is not None}
ALLOWED_FROM = {name: set(before) for name, (before, _) in TRANSITIONS.items()}


def swap_resolves(lane: list[Delivery], i: int) -> bool:
    """Would sending lane[i + 1] before lane[i] still end in the same state?"""
    status: str | None = None
    for delivery in lane[:i]:
        if delivery.duplicate_of is None:
            status = STATUS_AFTER.get(delivery.event_type.removeprefix("licence."), status)
    earlier = lane[i].event_type.removeprefix("licence.")
    later = lane[i + 1].event_type.removeprefix("licence.")
    neutral = STATUS_AFTER.get(earlier, status) == status
    return neutral or status not in ALLOWED_FROM.get(later, set())


# Rejections we send on purpose: label -> (expected HTTP status, the JSON pointer we expect
# the problem to name, or None where the answer carries no pointer).
REJECTIONS: dict[str, tuple[int, str | None]] = {
    "bad_national_id_checksum": (422, "/licence/holder/national_id"),
    "impossible_jalali_date": (422, "/licence/validity/valid_until"),
    "missing_field": (422, "/licence"),
    "bad_signature": (401, None),
    "stale_timestamp": (401, None),
    "source_not_registered_for_district": (403, None),
    "webhook_id_reused_with_other_body": (409, None),
}


# ------------------------------------------------------------------------------------------
# Reference data
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Neighbourhood:
    district: int
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # outer ring first, then holes
    bbox: tuple[float, float, float, float]


@dataclass
class Reference:
    male: list[str]
    female: list[str]
    family: list[str]
    neighbourhoods: dict[int, list[Neighbourhood]]
    isic: dict[str, str]  # 4-digit class -> English title
    id_prefixes: list[str]
    tehran_id_prefixes: list[str]
    postal_prefixes: list[tuple[int, int]]
    sources_used: list[str] = field(default_factory=list)
    data_dir: Path = DATA
    found: list[str] = field(default_factory=list)  # kinds of data read from data_dir
    fallbacks: list[str] = field(default_factory=list)  # kinds made up (Faker, fixed ranges)

    def describe(self) -> str:
        """One line naming the data actually used, for the run's report (and stderr)."""
        return describe_sources(self.data_dir, self.found, self.fallbacks)


def describe_sources(data_dir: Path, found: list[str], fallbacks: list[str]) -> str:
    where = _display_path(data_dir)
    if not found:
        return f"data: FALLBACK Faker fa_IR ({where} not found)"
    line = f"data: {where} ({', '.join(found)})"
    if fallbacks:
        line += f"; FALLBACK for {', '.join(fallbacks)} (files not found in {where})"
    return line


def _display_path(path: Path) -> str:
    """`path` relative to the working directory when that is shorter (../shared/data)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return relative if len(relative) < len(str(path)) else str(path)


def _faker() -> Any:
    from faker import Faker

    fake = Faker("fa_IR")
    fake.seed_instance(1405)
    return fake


def load_reference(data: Path = DATA) -> Reference:  # noqa: PLR0915 - one block per file
    used: list[str] = []
    found: list[str] = []
    fallbacks: list[str] = []
    names = data / "names"
    if (names / "popular_male_fa.txt").exists():
        male = _lines(names / "popular_male_fa.txt")
        female = _lines(names / "popular_female_fa.txt")
        rated = names / "given_names_fa_gender_rate.json"
        if rated.exists():
            for row in json.loads(rated.read_text(encoding="utf-8")):
                if row.get("rate") in (1, 2):
                    if row.get("gender") in (1, 3):
                        male.append(row["name"])
                    if row.get("gender") in (2, 3):
                        female.append(row["name"])
        used.append("names/popular_*_fa.txt, given_names_fa_gender_rate.json")
        found.append("given names")
    else:
        fake = _faker()
        male = sorted({fake.first_name_male() for _ in range(300)})
        female = sorted({fake.first_name_female() for _ in range(300)})
        used.append("Faker fa_IR given names")
        fallbacks.append("given names (Faker fa_IR)")
    if (names / "family_names_fa.txt").exists():
        family = _lines(names / "family_names_fa.txt")
        used.append("names/family_names_fa.txt")
        found.append("family names")
    else:
        fake = _faker()
        family = sorted({fake.last_name() for _ in range(500)})
        used.append("Faker fa_IR family names")
        fallbacks.append("family names (Faker fa_IR)")

    geo = data / "tehran" / "tehran_neighborhoods.geojson"
    neighbourhoods: dict[int, list[Neighbourhood]] = {}
    if geo.exists():
        for feature in json.loads(geo.read_text(encoding="utf-8"))["features"]:
            district = int(feature["properties"]["district_number"])
            if not 1 <= district <= 22:
                continue  # the 4 neighbourhoods not assigned to a district
            geometry = feature["geometry"]
            polygons = (
                [geometry["coordinates"]]
                if geometry["type"] == "Polygon"
                else geometry["coordinates"]
            )
            rings = tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygons[0])
            lons = [p[0] for p in rings[0]]
            lats = [p[1] for p in rings[0]]
            neighbourhoods.setdefault(district, []).append(
                Neighbourhood(
                    district,
                    feature["properties"]["name"],
                    rings,
                    (min(lons), min(lats), max(lons), max(lats)),
                )
            )
        used.append("tehran/tehran_neighborhoods.geojson")
        found.append("tehran neighbourhoods")
    else:  # Faker has no Tehran neighbourhoods: a box around each district's rough centre
        fake = _faker()
        for district in range(1, 23):
            lon, lat = 51.25 + (district % 6) * 0.05, 35.60 + (district // 6) * 0.05
            ring = ((lon, lat), (lon + 0.02, lat), (lon + 0.02, lat + 0.02), (lon, lat + 0.02))
            neighbourhoods[district] = [
                Neighbourhood(
                    district, fake.street_name(), (ring,), (lon, lat, lon + 0.02, lat + 0.02)
                )
            ]
        used.append("Faker fa_IR street names (no neighbourhood polygons)")
        fallbacks.append("neighbourhoods (Faker fa_IR street names)")

    isic_file = data / "isic" / "isic_rev4_en_flat.csv"
    isic: dict[str, str] = {}
    if isic_file.exists():
        with isic_file.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["level"] == "class":
                    isic[row["code"]] = row["title_en"]
        used.append("isic/isic_rev4_en_flat.csv")
        found.append("isic")
    else:
        isic = {t.isic_hint: t.title_en for t in LICENCE_TYPES if t.isic_hint}
        isic.setdefault("4771", "Retail sale of clothing")
        used.append("licence types' ISIC hints")
        fallbacks.append("isic (the licence types' hints)")

    prefixes, tehran_prefixes = [], []
    id_file = data / "iran_divisions" / "national_id_prefixes.csv"
    if id_file.exists():
        with id_file.open(encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if len(row) < 2:
                    continue
                codes = [c for c in row[0].split("-") if re.fullmatch(r"[0-9]{3}", c)]
                prefixes += codes
                if "تهران" in row[1] or "شمیرانات" in row[1] or row[1].strip() == "ری":
                    tehran_prefixes += codes
        used.append("iran_divisions/national_id_prefixes.csv")
        found.append("national-id prefixes")
    if not prefixes:
        prefixes = [f"{n:03d}" for n in range(1, 90)]
        used.append("national-ID prefixes: fallback range")
        fallbacks.append("national-id prefixes (001-089)")
    tehran_prefixes = tehran_prefixes or prefixes

    postal: list[tuple[int, int]] = []
    postal_file = data / "iran_divisions" / "postal_code_ranges.csv"
    if postal_file.exists():
        with postal_file.open(encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if len(row) >= 6 and row[1].strip() == "Tehran":
                    postal.append((int(row[4]), int(row[5])))
        used.append("iran_divisions/postal_code_ranges.csv (Tehran rows)")
        found.append("postal ranges")
    if not postal:
        postal = [(11111, 19999)]
        used.append("postal codes: Tehran's 11111-19999 zone")
        fallbacks.append("postal ranges (11111-19999)")

    return Reference(
        male=sorted(set(male)),
        female=sorted(set(female)),
        family=family,
        neighbourhoods=neighbourhoods,
        isic=isic,
        id_prefixes=prefixes,
        tehran_id_prefixes=tehran_prefixes,
        postal_prefixes=postal,
        sources_used=used,
        data_dir=data,
        found=found,
        fallbacks=fallbacks,
    )


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def point_in_ring(lon: float, lat: float, ring: tuple[tuple[float, float], ...]) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def inside(lon: float, lat: float, hood: Neighbourhood) -> bool:
    outer, *holes = hood.rings
    return point_in_ring(lon, lat, outer) and not any(point_in_ring(lon, lat, h) for h in holes)


def random_point(rng: random.Random, hood: Neighbourhood) -> tuple[float, float]:
    """A uniformly random point inside the neighbourhood (rejection sampling in its bbox)."""
    west, south, east, north = hood.bbox
    for _ in range(1000):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if inside(lon, lat, hood):
            return round(lon, 6), round(lat, 6)
    return round((west + east) / 2, 6), round((south + north) / 2, 6)


# ------------------------------------------------------------------------------------------
# Identifiers and values
# ------------------------------------------------------------------------------------------
def national_id(rng: random.Random, prefixes: list[str]) -> str:
    while True:
        first_nine = rng.choice(prefixes) + f"{rng.randrange(1, 1_000_000):06d}"
        value = first_nine + str(national_id_check_digit(first_nine))
        if value.count(value[0]) != 10:
            return value


def legal_id(rng: random.Random) -> str:
    first_ten = "10" + f"{rng.randrange(10**7, 10**8):08d}"
    return first_ten + str(legal_id_check_digit(first_ten))


def postal_code(rng: random.Random, ranges: list[tuple[int, int]]) -> str:
    """A 10-digit Tehran postal code: area prefix from the ranges, no 0 or 2 in the area part."""
    for _ in range(100):
        start, end = rng.choice(ranges)
        prefix = str(rng.randint(start, end))
        if "0" in prefix or "2" in prefix:
            continue
        return prefix + "".join(rng.choice("013456789") for _ in range(5))
    return "1311" + "1" + "".join(rng.choice("013456789") for _ in range(5))


MOBILE_PREFIXES = ("0912", "0912", "0919", "0935", "0936", "0901", "0921", "0990", "0938")


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"


def landline(rng: random.Random) -> str:
    return "021" + f"{rng.randrange(2, 9)}{rng.randrange(10**7):07d}"


PLATE_LETTERS = "بجدسصطقلمنوهیتعپزشفکگ"


def plate(rng: random.Random, letter: str | None = None) -> str:
    return (
        f"{rng.randrange(11, 99)}{letter or rng.choice(PLATE_LETTERS)}"
        f"{rng.randrange(111, 999)}-{rng.choice((10, 20, 22, 33, 44, 55, 66, 77, 88, 99))}"
    )


def jalali(day: date, sep: str = "/") -> str:
    return str(jdatetime.date.fromgregorian(date=day).strftime(f"%Y{sep}%m{sep}%d"))


def jalali_year(day: date) -> int:
    return int(jdatetime.date.fromgregorian(date=day).year)


# ------------------------------------------------------------------------------------------
# Attributes: generated from the type's schema when it exists, else from the product brief
# ------------------------------------------------------------------------------------------
@cache
def _schemas() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if SCHEMAS.exists():
        for path in SCHEMAS.rglob("*.json"):
            schema = json.loads(path.read_text(encoding="utf-8"))
            if "$id" in schema:
                found[schema["$id"]] = schema
    return found


def _resolve(ref: str, base: str) -> tuple[dict[str, Any], str]:
    from urllib.parse import urldefrag, urljoin

    absolute = urljoin(base, ref)
    uri, fragment = urldefrag(absolute)
    node: Any = _schemas()[uri]
    for part in [p for p in fragment.split("/") if p]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, uri


def type_attribute_schema(code: str) -> tuple[dict[str, Any], str] | None:
    """The `attributes` subschema of a licence type's schema, with its base URI."""
    uri = f"https://schemas.licence-bridge.ir/types/{code}.json"
    schema = _schemas().get(uri)
    if schema is None:
        return None
    stack: list[tuple[dict[str, Any], str]] = [(schema, uri)]
    while stack:
        node, base = stack.pop()
        props = node.get("properties", {})
        if "attributes" in props:
            attributes = props["attributes"]
            if "$ref" in attributes:
                return _resolve(attributes["$ref"], base)
            return attributes, base
        for sub in node.get("allOf", []):
            if "$ref" in sub and not sub["$ref"].endswith("licence.json"):
                stack.append(_resolve(sub["$ref"], base))
            elif "$ref" not in sub:
                stack.append((sub, base))
    return None


WORDS = {
    "name": ["بازار روز ونک", "مرکز خودروی ایرانیان", "پارک‌سوار آزادی", "بازارچه‌ی محله"],
    "species": ["چنار", "نارون", "کاج", "اقاقیا", "توت", "سرو"],
    "material": ["کاغذ", "مقوا", "پلاستیک", "فلز", "شیشه"],
    "site": ["سایت آبعلی", "سایت کهریزک", "سایت شمس‌آباد"],
    "goods": ["پوشاک", "لوازم‌التحریر", "میوه و تره‌بار", "صنایع‌دستی", "اسباب‌بازی"],
    "default": ["عادی", "ویژه", "شمالی", "جنوبی", "مرکزی"],
}


def _regex_sample(rng: random.Random, pattern: str) -> str:
    """A string matching a (simple) regular expression."""
    import re._parser as sre

    def emit(items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "IN":
                choices: list[str] = []
                for kind, value in arg:
                    if str(kind) == "LITERAL":
                        choices.append(chr(value))
                    elif str(kind) == "RANGE":
                        choices += [chr(c) for c in range(value[0], value[1] + 1)]
                    elif str(kind) == "CATEGORY":
                        choices += list("0123456789") if "DIGIT" in str(value) else ["a"]
                out.append(rng.choice(choices or ["0"]))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                high = low + 3 if high > 1000 else high
                out += [emit(sub) for _ in range(rng.randint(low, max(low, min(high, low + 3))))]
            elif name == "SUBPATTERN":
                out.append(emit(arg[-1]))
            elif name == "BRANCH":
                out.append(emit(rng.choice(arg[1])))
            elif name == "ANY":
                out.append("x")
            elif name == "NOT_LITERAL":
                out.append("x" if arg != ord("x") else "y")
        return "".join(out)

    return emit(sre.parse(pattern))


def _merge(node: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
    """Follow $ref and fold allOf into one node (enough for our schemas)."""
    if "$ref" in node:
        target, target_base = _resolve(node["$ref"], base)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        merged, base = _merge(target, target_base)
        return {**merged, **rest}, base
    if "allOf" in node:
        merged = {k: v for k, v in node.items() if k != "allOf"}
        for sub in node["allOf"]:
            part, _ = _merge(sub, base)
            for key, value in part.items():
                if key == "properties":
                    merged.setdefault("properties", {}).update(value)
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                else:
                    merged.setdefault(key, value)
        return merged, base
    return node, base


def from_schema(rng: random.Random, node: dict[str, Any], base: str, name: str, ctx: Any) -> Any:
    node, base = _merge(node, base)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return rng.choice(node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return from_schema(rng, node[key][0], base, name, ctx)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None:
        kind = "object" if "properties" in node else "string"
    if kind == "object":
        out = {}
        required = set(node.get("required", []))
        for prop, sub in node.get("properties", {}).items():
            if prop in required or rng.random() < 0.7:
                out[prop] = from_schema(rng, sub, base, prop, ctx)
        return out
    if kind == "array":
        low = int(node.get("minItems", 1))
        high = int(node.get("maxItems", low + 2))
        items = node.get("items", {"type": "string"})
        values: list[Any] = []
        for _ in range(50):
            if len(values) >= rng.randint(max(low, 1), max(low, min(high, low + 2))):
                break
            value = from_schema(rng, items, base, name.rstrip("s"), ctx)
            if value not in values:
                values.append(value)
        return values
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        low = node.get(
            "minimum", node.get("exclusiveMinimum", 0) + (1 if kind == "integer" else 0.5)
        )
        high = node.get(
            "maximum", node.get("exclusiveMaximum", max(low + 1, _default_max(name)) + 1) - 1
        )
        if kind == "integer":
            return rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
        return round(rng.uniform(float(low), float(high)), 1)
    return _string(rng, node, name, ctx)


def _default_max(name: str) -> int:
    for hint, top in (("year", 1404), ("count", 40), ("size", 300), ("capacity", 200)):
        if hint in name:
            return top
    return 100


def _string(rng: random.Random, node: dict[str, Any], name: str, ctx: Any) -> str:
    fmt = node.get("format")
    today: date = ctx["today"]
    if fmt == "iran-vehicle-plate" or "plate" in name:
        return plate(rng, "ت" if ctx["type"].startswith("TAXI") else None)
    if fmt in ("licence-date", "jalali-date"):
        return jalali(today - timedelta(days=rng.randrange(10, 300)))
    if fmt == "date":
        return (today - timedelta(days=rng.randrange(10, 300))).isoformat()
    if fmt == "date-time":
        return datetime.combine(today, datetime.min.time(), TEHRAN).isoformat()
    if fmt == "iran-mobile":
        return mobile(rng)
    if fmt == "iran-national-id":
        return national_id(rng, ctx["prefixes"])
    if fmt == "iran-legal-id":
        return legal_id(rng)
    if fmt == "iran-postal-code":
        return postal_code(rng, ctx["postal"])
    if fmt == "email":
        return f"info{rng.randrange(100)}@example.ir"
    if "pattern" in node:
        return _regex_sample(rng, node["pattern"])
    if name.endswith("phone"):
        return landline(rng)
    if name.endswith(("_number", "_id", "_code")):
        return str(rng.randrange(10**5, 10**7))
    if "hours" in name:
        return f"{rng.choice(('07', '08', '09'))}:00-{rng.choice(('18', '20', '22'))}:00"
    for hint, words in WORDS.items():
        if hint in name:
            return rng.choice(words)
    text = rng.choice(WORDS["default"])
    return text[: node.get("maxLength", 200)]


# Attributes when a type's schema is not there yet (names follow the product brief).
def fallback_attributes(rng: random.Random, code: str, ctx: Any) -> dict[str, Any]:
    d = ctx["district"]
    plates = [plate(rng) for _ in range(rng.randint(1, 3))]
    table: dict[str, dict[str, Any]] = {
        "FOOD_TRUCK": {
            "vehicle_plate": plate(rng),
            "vehicle_type": rng.choice(["ون", "کامیونت"]),
            "permitted_districts": sorted({d, rng.randint(1, 22)}),
            "operating_hours": "10:00-22:00",
            "health_certificate_number": str(rng.randrange(10**6, 10**7)),
        },
        "KINDERGARTEN": {
            "capacity": rng.randint(20, 120),
            "age_range_months": {"min": 24, "max": 72},
            "staff_count": rng.randint(4, 20),
            "welfare_permit_number": str(rng.randrange(10**5, 10**6)),
        },
        "PRESS_KIOSK": {"kiosk_number": str(rng.randrange(100, 999)), "area_m2": 6},
        "FLOWER_KIOSK": {"kiosk_number": str(rng.randrange(100, 999)), "area_m2": 8},
        "DAY_MARKET_STALL": {
            "market_name": rng.choice(WORDS["name"]),
            "stall_number": str(rng.randrange(1, 300)),
            "goods_category": rng.choice(WORDS["goods"]),
            "weekdays": ["saturday", "tuesday"],
        },
        "MOBILE_VENDOR": {
            "goods_category": rng.choice(WORDS["goods"]),
            "permitted_districts": [d],
            "cart_type": "دستی",
        },
        "CNG_STATION": {
            "dispensers": rng.randint(4, 16),
            "storage_capacity_m3": rng.randint(1000, 5000),
            "safety_certificate_number": str(rng.randrange(10**5, 10**6)),
        },
        "CAR_MARKET_BOOTH": {
            "centre_name": "مرکز خرید و فروش خودرو",
            "booth_number": str(rng.randrange(1, 400)),
            "area_m2": rng.randint(20, 200),
        },
        "TAXI_DRIVER": {
            "driving_licence_number": str(rng.randrange(10**9, 10**10)),
            "driving_licence_class": rng.choice(["2", "1"]),
            "health_check_date": jalali(ctx["today"] - timedelta(days=40)),
        },
        "TAXI_VEHICLE": {
            "vehicle_plate": plate(rng, "ت"),
            "model_year": rng.randint(1395, 1404),
            "fuel_type": rng.choice(["cng", "petrol", "hybrid"]),
            "service_area": f"منطقه {d}",
        },
        "TAXI_AGENCY": {"fleet_size": rng.randint(10, 80), "dispatch_phone": landline(rng)},
        "RIDE_HAILING": {
            "fleet_size": rng.randint(500, 5000),
            "app_name": "سفرینو",
            "support_phone": landline(rng),
        },
        "OUTDOOR_ADVERTISING": {
            "medium_type": "billboard",
            "width_m": 12,
            "height_m": 4,
            "illuminated": True,
        },
        "SHOP_SIGN": {
            "sign_area_m2": rng.randint(1, 12),
            "illuminated": rng.random() < 0.5,
            "facade_side": "north",
        },
        "PUBLIC_PARKING": {"capacity": rng.randint(50, 600), "levels": rng.randint(1, 6)},
        "CAR_WASH": {"bays": rng.randint(2, 8), "water_recycling": True},
        "DEBRIS_TRANSPORT": {"vehicle_plates": plates, "disposal_sites": [WORDS["site"][0]]},
        "RECYCLING_YARD": {
            "materials": ["کاغذ", "فلز"],
            "yard_area_m2": rng.randint(200, 3000),
            "storage_capacity_tonnes": rng.randint(10, 200),
        },
        "DRY_WASTE_COLLECTION": {"collection_districts": [d], "vehicles": plates},
        "BUILDING_PERMIT": {
            "registered_plot_number": f"{rng.randint(1, 9000)}/{rng.randint(1, 900)}",
            "land_area_m2": rng.randint(150, 2000),
            "floors": rng.randint(2, 12),
            "gross_floor_area_m2": rng.randint(300, 9000),
            "use_class": "residential",
        },
        "EXCAVATION": {
            "trench_length_m": rng.randint(10, 800),
            "trench_width_m": 1,
            "road_class": "local",
            "restoration_deposit_rials": rng.randint(10, 900) * 1_000_000,
        },
        "TREE_FELLING": {
            "tree_count": rng.randint(1, 6),
            "species": rng.choice(WORDS["species"]),
            "trunk_girth_cm": rng.randint(30, 250),
            "compensation_planting": rng.randint(2, 30),
        },
    }
    return table[code]


def attributes(rng: random.Random, code: str, ctx: Any) -> dict[str, Any]:
    found = type_attribute_schema(code)
    if found is None:
        return fallback_attributes(rng, code, ctx)
    node, base = found
    value = from_schema(rng, node, base, "attributes", {**ctx, "type": code})
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------------------------------
# Licences and their lifecycles
# ------------------------------------------------------------------------------------------
@dataclass
class Delivery:
    """One HTTP request the sender makes (a duplicate is a second Delivery, same id and body)."""

    seq: int
    lane: str  # deliveries of one lane are sent in order by one sender
    source: str  # the {source} in the URL
    webhook_id: str
    body: bytes
    event_type: str
    licence_id: str
    licence_type: str
    version: int
    expect: str  # "accept" | "reject"
    reason: str | None = None  # REJECTIONS label for expected rejections
    expect_status: int | None = None
    expect_pointer: str | None = None
    signing: str = "valid"  # valid | wrong_secret | stale
    quirks: tuple[str, ...] = ()
    duplicate_of: int | None = None
    out_of_order: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = self.body.decode("utf-8")
        return data


@dataclass
class Dataset:
    deliveries: list[Delivery]
    licences: int
    seed: int
    sources_used: list[str]
    data: str = ""  # one line naming the data used (Reference.describe)

    def summary(self) -> dict[str, Any]:
        kinds = Counter(d.event_type for d in self.deliveries)
        quirks = Counter(q for d in self.deliveries for q in d.quirks)
        return {
            "deliveries": len(self.deliveries),
            "licences": self.licences,
            "types": len({d.licence_type for d in self.deliveries}),
            "event_types": dict(sorted(kinds.items())),
            "expected_rejections": dict(
                Counter(d.reason for d in self.deliveries if d.expect == "reject")
            ),
            "duplicates": sum(1 for d in self.deliveries if d.duplicate_of is not None),
            "out_of_order": sum(1 for d in self.deliveries if d.out_of_order),
            "quirks": dict(sorted(quirks.items())),
            "data": self.sources_used,
            "data_line": self.data,
        }


BUSINESS_WORDS = [
    "فروشگاه‌های زنجیره‌ای",
    "گل‌فروشی",
    "کافه‌ی",
    "بازرگانی",
    "خدمات",
    "نمایشگاه",
    "کارواش",
    "مهدکودک",
    "کیوسک",
    "تاکسی‌تلفنی",
]
STREETS = ["خیابان", "بلوار", "کوچه", "میدان"]
STEP_NAMES = ["بازدید میدانی", "بررسی مدارک", "استعلام آتش‌نشانی", "کمیسیون ماده ۵", "پرداخت عوارض"]
ORG_TYPES = {"TAXI_AGENCY", "RIDE_HAILING", "CNG_STATION", "PUBLIC_PARKING", "BUILDING_PERMIT"}


def as_anchor(value: datetime | date | str | None) -> datetime:
    """The anchor instant: a datetime (naive means Tehran time), a date (09:00 Tehran) or an
    ISO 8601 string of either; None is DEFAULT_ANCHOR."""
    if value is None:
        return DEFAULT_ANCHOR
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime.combine(value, DEFAULT_ANCHOR.timetz())
    if value.tzinfo is None:
        value = value.replace(tzinfo=TEHRAN)
    return value.astimezone(TEHRAN)


class Generator:
    def __init__(
        self, seed: int, ref: Reference | None = None, anchor: datetime | date | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.ref = ref or load_reference()
        self.anchor = as_anchor(anchor)  # the latest occurred_at the stream may carry
        self.today = self.anchor.date()  # the anchor's Tehran date: "today" for the data
        self.seq = 0
        self.serials: Counter[tuple[int, int]] = Counter()
        self.tracking: set[str] = set()

    # -- one licence's canonical-ish record --------------------------------------------------
    def new_licence(self, kind: LicenceType, district: int) -> dict[str, Any]:
        rng, ref = self.rng, self.ref
        applied_on = self.today - timedelta(days=rng.randrange(MAX_LIFE_DAYS, MAX_LIFE_DAYS + 360))
        year = jalali_year(applied_on)
        self.serials[(district, year)] += 1
        licence_id = f"TM-{district:02d}-{year}-{self.serials[(district, year)]:06d}"
        while True:
            tracking = f"{rng.randrange(10**9, 10**10)}"
            if tracking not in self.tracking:
                self.tracking.add(tracking)
                break
        hood = rng.choice(
            ref.neighbourhoods.get(district) or ref.neighbourhoods[min(ref.neighbourhoods)]
        )
        lon, lat = random_point(rng, hood)
        prefixes = ref.tehran_id_prefixes if rng.random() < 0.6 else ref.id_prefixes
        person = {
            "kind": "person",
            "national_id": national_id(rng, prefixes),
            "first_name": rng.choice(ref.male if rng.random() < 0.6 else ref.female),
            "last_name": rng.choice(ref.family),
            "mobile": mobile(rng),
        }
        if rng.random() < 0.4:
            born = self.today - timedelta(days=rng.randrange(20 * 365, 65 * 365))
            person["birth_date"] = jalali(born) if rng.random() < 0.5 else born.isoformat()
        if kind.code in ORG_TYPES and rng.random() < 0.8:
            holder: dict[str, Any] = {
                "kind": "organisation",
                "national_id": legal_id(rng),
                "registration_number": str(rng.randrange(10**4, 10**6)),
                "name": f"شرکت {rng.choice(ref.family)} {rng.choice(['پارس', 'نوین', 'البرز'])}",
                "representative": {
                    k: person[k] for k in ("national_id", "first_name", "last_name", "mobile")
                },
            }
        else:
            holder = person
        isic = kind.isic_hint
        if isic is None:
            isic = (
                "8130"
                if kind.kind == "works"
                else rng.choice(sorted(c for c in ref.isic if c.startswith("47")))
            )
        activity = {
            "isic_code": isic + f"{rng.randrange(1, 40):02d}",
            "title": ref.isic.get(isic, kind.title_en),
        }
        ctx = {
            "today": self.today,
            "district": district,
            "prefixes": ref.tehran_id_prefixes,
            "postal": ref.postal_prefixes,
            "type": kind.code,
        }
        total = rng.randint(3, 6)
        return {
            "licence_id": licence_id,
            "tracking_code": tracking,
            "licence_type": kind.code,
            "version": 1,
            "status": "applied",
            "activity": activity,
            "issuing": {"district": district, "unit": f"شهرداری منطقه {district}"},
            "holder": holder,
            "business": {
                "name": f"{rng.choice(BUSINESS_WORDS)} {rng.choice(ref.family)}",
                "activity": kind.title_fa,
            },
            "location": {
                "district": district,
                "neighbourhood": hood.name,
                "address": (
                    f"{hood.name}، {rng.choice(STREETS)} {rng.choice(ref.family)}، "
                    f"پلاک {rng.randint(1, 250)}"
                ),
                "postal_code": postal_code(rng, ref.postal_prefixes),
                "coordinates": {"lat": lat, "lon": lon},
            },
            "fees": [{"kind": "issuance", "amount_rials": rng.randint(5, 900) * 100_000}],
            "steps": {"done": 0, "total": total, "current": STEP_NAMES[0]},
            "attachments": [
                {
                    "reference": f"DOC-{tracking}-1",
                    "title": "مدارک هویتی",
                    "sha256": hashlib.sha256(tracking.encode()).hexdigest(),
                }
            ],
            "attributes": attributes(rng, kind.code, ctx),
            "_applied_on": applied_on.isoformat(),
        }

    def lifecycle(self, legacy: bool) -> list[str]:
        rng = self.rng
        if legacy:
            events = ["issued"]
        else:
            events = ["applied", "review_started"]
            events += ["step_completed"] * rng.randint(1, 3)
            fate = rng.random()
            if fate < 0.10:
                return [*events, "cancelled"]
            if fate < 0.18:
                return events  # still under review
            events += ["approved", "issued"]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            events.append(rng.choice(("renewed", "amended", "amended")))
        if rng.random() < 0.25:
            events += ["suspended", "reinstated"]
        ending = rng.random()
        if ending < 0.08:
            events.append("revoked")
        elif ending < 0.14:
            events.append("expired")
        elif ending < 0.18:
            events.append("cancelled")
        return events

    def events_for(self, kind: LicenceType, district: int, source: str) -> list[dict[str, Any]]:
        """The envelopes of one licence's life, in order, versions 1..n."""
        rng = self.rng
        record = self.new_licence(kind, district)
        when = datetime.fromisoformat(record.pop("_applied_on")).replace(
            hour=rng.randint(8, 15), minute=rng.randrange(60), tzinfo=TEHRAN
        )
        legacy = rng.random() < 0.05
        out = []
        for version, event in enumerate(self.lifecycle(legacy), start=1):
            when += timedelta(days=rng.randint(1, 12), minutes=rng.randrange(600))
            record = copy.deepcopy(record)
            record["version"] = version
            if event in STATUS_AFTER:
                record["status"] = STATUS_AFTER[event]
            steps = record["steps"]
            if event == "step_completed":
                steps["done"] = min(steps["total"], steps["done"] + 1)
                steps["current"] = STEP_NAMES[min(steps["done"], len(STEP_NAMES) - 1)]
            if event in ("approved", "issued"):
                steps["done"] = steps["total"]
                steps.pop("current", None)
            if event == "issued":
                issued = min(when.date(), self.today)
                record["validity"] = {
                    "issued_on": issued.isoformat(),
                    "valid_until": (issued + timedelta(days=365 * rng.randint(3, 5))).isoformat(),
                }
            if event == "renewed":
                until = date.fromisoformat(record["validity"]["valid_until"])
                record["validity"] = {
                    "issued_on": min(when.date(), self.today).isoformat(),
                    "valid_until": (until + timedelta(days=365)).isoformat(),
                }
                record["fees"] = [
                    *record["fees"],
                    {"kind": "renewal", "amount_rials": rng.randint(2, 50) * 100_000},
                ]
            if event == "amended":
                location = record["location"]
                location["address"] = location["address"].rsplit("پلاک", 1)[0] + (
                    f"پلاک {rng.randint(1, 250)}"
                )
                record["fees"] = [
                    *record["fees"],
                    {"kind": "amendment", "amount_rials": rng.randint(1, 20) * 100_000},
                ]
            if event == "expired":
                record["validity"]["valid_until"] = min(when.date(), self.today).isoformat()
            occurred = min(when, self.anchor)  # a guard: MAX_LIFE_DAYS keeps `when` earlier
            out.append(
                {
                    "event_id": f"evt-{source}-{record['licence_id'][3:]}-v{version}",
                    "event_type": f"licence.{event}",
                    "occurred_at": occurred.replace(microsecond=0).isoformat(),
                    "source": source,
                    "licence": record,
                }
            )
        return out

    # -- quirks ---------------------------------------------------------------------------
    def quirk(self, envelope: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Dress an envelope as a real sender might; the meaning stays the same."""
        rng = self.rng
        env = copy.deepcopy(envelope)
        lic = env["licence"]
        applied: list[str] = []
        holder = lic["holder"]
        person = holder if holder["kind"] == "person" else holder.get("representative")
        if rng.random() < 0.25:
            for part in (lic["business"], lic["location"]):
                for key in ("name", "address", "neighbourhood"):
                    if key in part:
                        part[key] = part[key].translate(ARABIC_LETTERS)
            if person:
                person["last_name"] = person["last_name"].translate(ARABIC_LETTERS)
            applied.append("arabic_yeh_kaf")
        if rng.random() < 0.2:
            table = PERSIAN_DIGITS if rng.random() < 0.6 else ARABIC_INDIC_DIGITS
            holder["national_id"] = holder["national_id"].translate(table)
            lic["location"]["postal_code"] = lic["location"]["postal_code"].translate(table)
            applied.append("persian_digits" if table is PERSIAN_DIGITS else "arabic_indic_digits")
        if person and rng.random() < 0.2:
            number = person["mobile"]
            person["mobile"] = rng.choice(("+98", "0098")) + number[1:]
            applied.append("intl_phone_prefix")
        if "validity" in lic and rng.random() < 0.35:
            sep = rng.choice(("/", "-"))
            for key in ("issued_on", "valid_until"):
                lic["validity"][key] = jalali(date.fromisoformat(lic["validity"][key]), sep)
            if rng.random() < 0.3:
                lic["validity"]["valid_until"] = lic["validity"]["valid_until"].translate(
                    PERSIAN_DIGITS
                )
            applied.append("jalali_dates")
        if rng.random() < 0.15:
            name = lic["business"]["name"]
            lic["business"]["name"] = name.replace(ZWNJ, " ") if ZWNJ in name else name
            lic["business"]["name"] = lic["business"]["name"].replace(" ", f"{ZWNJ} ", 1)
            applied.append("zwnj")
        if ZWNJ in json.dumps(lic, ensure_ascii=False):
            applied.append("zwnj_text")
        return env, tuple(applied)

    # -- rejections -----------------------------------------------------------------------
    def corrupt(self, envelope: dict[str, Any], reason: str) -> dict[str, Any]:
        env = copy.deepcopy(envelope)
        lic = env["licence"]
        env["event_id"] = env["event_id"] + "-bad"
        if reason == "bad_national_id_checksum":
            value = lic["holder"]["national_id"]
            if lic["holder"]["kind"] == "organisation":
                lic["holder"] = {
                    "kind": "person",
                    "national_id": value[:10],
                    "first_name": "علی",
                    "last_name": "رضایی",
                    "mobile": "09121234567",
                }
                value = value[:10]
            digits = value.translate(_TO_ASCII)
            right = national_id_check_digit(digits[:9])
            lic["holder"]["national_id"] = digits[:9] + str(
                (right + 1 + self.rng.randrange(8)) % 10
            )
        elif reason == "impossible_jalali_date":
            lic.setdefault("validity", {"issued_on": "1402/12/01"})
            lic["validity"]["valid_until"] = "1402/12/30"  # 1402 is not a leap year
        elif reason == "missing_field":
            lic.pop(self.rng.choice(("tracking_code", "business", "licence_type")))
        return env

    # -- the stream ------------------------------------------------------------------------
    def build(self, target_events: int, reject_share: float = 0.05) -> Dataset:  # noqa: PLR0915
        rng = self.rng
        types = list(LICENCE_TYPES)
        lanes: list[list[Delivery]] = []
        total = 0
        licences = 0
        while total < target_events or licences < len(types):
            kind = types[licences % len(types)]
            district = rng.randint(1, 22)
            r = rng.random()
            if r < 0.7:
                source = f"district-{district:02d}"
            elif r < 0.85 and kind.kind == "business":
                source = "e-services"
            else:
                source = "service-desk"
            lane: list[Delivery] = []
            for envelope in self.events_for(kind, district, source):
                dressed, quirks = self.quirk(envelope)
                lane.append(self._delivery(f"L{licences}", source, dressed, quirks))
            licences += 1
            # Duplicates: the same delivery (id and body) again, next or a few steps later.
            for index in sorted(rng.sample(range(len(lane)), k=min(len(lane), 1)), reverse=True):
                if rng.random() < 0.12:
                    first = lane[index]
                    dup = copy.copy(first)
                    dup.duplicate_of = first.seq
                    dup.seq = self._next()
                    lane.insert(min(len(lane), index + 1 + rng.randint(0, 2)), dup)
            # Out of order: two neighbouring versions swapped. Only swaps a real sender's
            # retries resolve: the overtaking event is refused (409, retried after the other)
            # or the overtaken one changed nothing (it is then acknowledged as stale).
            if len(lane) > 3 and rng.random() < 0.2:
                i = rng.randrange(1, len(lane) - 1)
                first, second = lane[i], lane[i + 1]
                if (
                    first.duplicate_of is None
                    and second.duplicate_of is None
                    and swap_resolves(lane, i)
                ):
                    lane[i], lane[i + 1] = second, first
                    first.out_of_order = second.out_of_order = True
            lanes.append(lane)
            total += sum(1 for d in lane if d.duplicate_of is None)

        # About 5% rejections, each next to the event it corrupts, in that event's lane.
        sent = sum(len(lane) for lane in lanes)
        wanted = max(len(REJECTIONS), round(sent * reject_share / (1 - reject_share)))
        labels = [list(REJECTIONS)[i % len(REJECTIONS)] for i in range(wanted)]
        rng.shuffle(labels)
        for reason in labels:
            lane = rng.choice(lanes)
            candidates = [
                i
                for i, d in enumerate(lane)
                if d.expect == "accept" and not d.out_of_order and d.duplicate_of is None
            ] or [i for i, d in enumerate(lane) if d.expect == "accept"]
            if reason == "impossible_jalali_date":
                candidates = [i for i in candidates if b'"validity"' in lane[i].body] or candidates
            index = rng.choice(candidates)
            original = lane[index]
            envelope = json.loads(original.body)
            status, pointer = REJECTIONS[reason]
            if reason in ("bad_signature", "stale_timestamp"):
                bad = self._delivery(original.lane, original.source, envelope, ())
                bad.signing = "wrong_secret" if reason == "bad_signature" else "stale"
                position = index
            elif reason == "source_not_registered_for_district":
                district = envelope["licence"]["issuing"]["district"]
                other = f"district-{district % 22 + 1:02d}"
                envelope = copy.deepcopy(envelope)
                envelope["source"] = other
                envelope["event_id"] += "-x"
                bad = self._delivery(original.lane, other, envelope, ())
                position = index
            elif reason == "webhook_id_reused_with_other_body":
                envelope = copy.deepcopy(envelope)
                envelope["licence"]["business"]["name"] += " (اصلاحی)"
                bad = self._delivery(original.lane, original.source, envelope, ())
                bad.webhook_id = original.webhook_id
                position = index + 1
            else:
                bad = self._delivery(
                    original.lane, original.source, self.corrupt(envelope, reason), ()
                )
                position = index
            bad.expect, bad.reason = "reject", reason
            bad.expect_status, bad.expect_pointer = status, pointer
            lane.insert(position, bad)

        deliveries = [d for lane in lanes for d in lane]
        return Dataset(deliveries, licences, self.seed, self.ref.sources_used, self.ref.describe())

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _delivery(
        self, lane: str, source: str, envelope: dict[str, Any], quirks: tuple[str, ...]
    ) -> Delivery:
        lic = envelope["licence"]
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Delivery(
            seq=self._next(),
            lane=lane,
            source=source,
            webhook_id="msg_" + hashlib.sha256(f"{self.seed}:{self.seq}".encode()).hexdigest()[:24],
            body=body,
            event_type=envelope.get("event_type", ""),
            licence_id=lic.get("licence_id", ""),
            licence_type=lic.get("licence_type", ""),
            version=int(lic.get("version", 0)),
            expect="accept",
            quirks=quirks,
        )


def build_dataset(
    events: int = 1000, seed: int = 1405, anchor: datetime | date | str | None = None
) -> Dataset:
    """The stream for (events, seed, anchor): the same bytes every time, on any day."""
    return Generator(seed, anchor=as_anchor(anchor)).build(events)


def iter_jsonl(dataset: Dataset) -> Iterator[str]:
    for delivery in dataset.deliveries:
        yield json.dumps(delivery.as_json(), ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1405)
    parser.add_argument(
        "--anchor",
        default=DEFAULT_ANCHOR.isoformat(),
        help="the instant the timeline ends at, ISO 8601 (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write JSON lines here")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    dataset = build_dataset(args.events, args.seed, args.anchor)
    if args.out:
        args.out.write_text("\n".join(iter_jsonl(dataset)) + "\n", encoding="utf-8")
    if args.summary or not args.out:
        json.dump(dataset.summary(), sys.stdout, ensure_ascii=False, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
