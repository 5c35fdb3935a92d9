"""The built-in two-level category set, copied to every user at registration.

Icons are short icon names (the Lucide set a front end would use), colors `#RRGGBB`. A child inherits its
root's kind and color.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.categories.models import CategoryKind

EXPENSE, INCOME, TRANSFER = CategoryKind.EXPENSE, CategoryKind.INCOME, CategoryKind.TRANSFER


@dataclass(frozen=True)
class BuiltinCategory:
    name: str
    kind: CategoryKind
    icon: str
    color: str
    children: tuple[tuple[str, str], ...] = ()  # (name, icon)


BUILTIN_CATEGORIES: tuple[BuiltinCategory, ...] = (
    BuiltinCategory("Income", INCOME, "wallet", "#2E7D32", (
        ("Salary", "briefcase"),
        ("Bonus", "gift"),
        ("Interest & dividends", "percent"),
        ("Refunds", "undo-2"),
        ("Other income", "plus-circle"),
    )),
    BuiltinCategory("Housing", EXPENSE, "home", "#6D4C41", (
        ("Rent", "key"),
        ("Mortgage", "landmark"),
        ("Utilities", "plug"),
        ("Internet & phone", "wifi"),
        ("Home maintenance", "hammer"),
    )),
    BuiltinCategory("Food & drink", EXPENSE, "utensils", "#EF6C00", (
        ("Groceries", "shopping-cart"),
        ("Restaurants", "utensils-crossed"),
        ("Coffee", "coffee"),
        ("Delivery", "bike"),
    )),
    BuiltinCategory("Transport", EXPENSE, "car", "#1565C0", (
        ("Public transport", "train-front"),
        ("Fuel", "fuel"),
        ("Taxi & rideshare", "car-taxi-front"),
        ("Parking", "square-parking"),
        ("Car maintenance", "wrench"),
    )),
    BuiltinCategory("Shopping", EXPENSE, "shopping-bag", "#AD1457", (
        ("Clothing", "shirt"),
        ("Electronics", "smartphone"),
        ("Household", "sofa"),
        ("Online shopping", "package"),
    )),
    BuiltinCategory("Health", EXPENSE, "heart-pulse", "#C62828", (
        ("Pharmacy", "pill"),
        ("Doctor", "stethoscope"),
        ("Fitness", "dumbbell"),
    )),
    BuiltinCategory("Entertainment", EXPENSE, "clapperboard", "#6A1B9A", (
        ("Streaming", "tv"),
        ("Events", "ticket"),
        ("Games", "gamepad-2"),
        ("Books", "book-open"),
    )),
    BuiltinCategory("Subscriptions", EXPENSE, "repeat", "#4527A0"),
    BuiltinCategory("Travel", EXPENSE, "plane", "#00838F", (
        ("Flights", "plane-takeoff"),
        ("Hotels", "bed"),
    )),
    BuiltinCategory("Education", EXPENSE, "graduation-cap", "#283593"),
    BuiltinCategory("Personal care", EXPENSE, "sparkles", "#D81B60"),
    BuiltinCategory("Gifts & donations", EXPENSE, "gift", "#F9A825"),
    BuiltinCategory("Insurance", EXPENSE, "shield", "#37474F"),
    BuiltinCategory("Fees & charges", EXPENSE, "receipt", "#757575"),
    BuiltinCategory("Taxes", EXPENSE, "landmark", "#5D4037"),
    BuiltinCategory("Transfers", TRANSFER, "arrow-left-right", "#546E7A", (
        ("Transfer", "arrow-right-left"),
        ("Credit card payment", "credit-card"),
        ("Savings", "piggy-bank"),
    )),
)
