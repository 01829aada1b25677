"""The 22 licence types Tehran Municipality issues (codes are ours; see docs/DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class LicenceType:
    code: str
    title_fa: str
    title_en: str
    kind: Literal["business", "works"]
    isic_hint: str | None  # None where the activity is the holder's own (shop sign) or none


LICENCE_TYPES: tuple[LicenceType, ...] = (
    LicenceType(
        "FOOD_TRUCK", "مجوز فعالیت کارفود / ون‌کافه", "Food truck / van café", "business", "5610"
    ),
    LicenceType(
        "KINDERGARTEN",
        "مجوز مهدکودک در اماکن شهرداری",
        "Kindergarten on municipal premises",
        "business",
        "8510",
    ),
    LicenceType("PRESS_KIOSK", "مجوز کیوسک مطبوعات", "Press kiosk", "business", "4761"),
    LicenceType("FLOWER_KIOSK", "مجوز کیوسک گل", "Flower kiosk", "business", "4776"),
    LicenceType(
        "DAY_MARKET_STALL",
        "مجوز غرفه روزبازار / بازار موقت",
        "Day-market stall",
        "business",
        "4781",
    ),
    LicenceType("MOBILE_VENDOR", "مجوز مشاغل سیار", "Mobile vendor (non-food)", "business", "4789"),
    LicenceType(
        "CNG_STATION", "مجوز بهره‌برداری جایگاه CNG", "CNG station operation", "business", "4730"
    ),
    LicenceType(
        "CAR_MARKET_BOOTH",
        "مجوز غرفه مرکز خرید و فروش خودرو",
        "Car-trading centre booth",
        "business",
        "4510",
    ),
    LicenceType("TAXI_DRIVER", "پروانه تاکسیرانی", "Taxi driver licence", "business", "4922"),
    LicenceType(
        "TAXI_VEHICLE",
        "پروانه بهره‌برداری تاکسی",
        "Taxi vehicle operating licence",
        "business",
        "4922",
    ),
    LicenceType(
        "TAXI_AGENCY", "مجوز آژانس تاکسی تلفنی", "Radio-taxi dispatch agency", "business", "4922"
    ),
    LicenceType(
        "RIDE_HAILING", "مجوز شرکت مسافربری اینترنتی", "Ride-hailing company", "business", "4922"
    ),
    LicenceType(
        "OUTDOOR_ADVERTISING",
        "مجوز تبلیغات محیطی",
        "Outdoor advertising medium",
        "business",
        "7310",
    ),
    LicenceType("SHOP_SIGN", "مجوز نصب تابلو صنفی", "Shop sign", "business", None),
    LicenceType(
        "PUBLIC_PARKING",
        "مجوز بهره‌برداری پارکینگ عمومی",
        "Public car-park operation",
        "business",
        "5221",
    ),
    LicenceType("CAR_WASH", "مجوز فعالیت کارواش", "Car wash", "business", "4520"),
    LicenceType(
        "DEBRIS_TRANSPORT",
        "مجوز حمل نخاله ساختمانی",
        "Construction-debris transport",
        "business",
        "3811",
    ),
    LicenceType(
        "RECYCLING_YARD",
        "مجوز انبار ضایعات / بازیافت",
        "Scrap / recycling yard",
        "business",
        "3830",
    ),
    LicenceType(
        "DRY_WASTE_COLLECTION",
        "مجوز جمع‌آوری پسماند خشک",
        "Dry-waste collection",
        "business",
        "3811",
    ),
    LicenceType("BUILDING_PERMIT", "پروانه ساختمان", "Building permit", "works", "4100"),
    LicenceType("EXCAVATION", "مجوز حفاری", "Utility excavation in public roads", "works", "4312"),
    LicenceType(
        "TREE_FELLING", "مجوز قطع / جابجایی درخت", "Tree felling or relocation", "works", None
    ),
)

BY_CODE: dict[str, LicenceType] = {t.code: t for t in LICENCE_TYPES}
CODES: tuple[str, ...] = tuple(BY_CODE)
