"""What the generated households spend on: merchants with bank-statement descriptions, categories and amounts.

Categories are named as (root, child) pairs of the built-in tree (`app.categories.builtin`); amounts are
in EUR and converted to the account's currency by `RATES`. Descriptions carry `{n}` (a card or terminal
number) and `{city}` so the same merchant is written a little differently each time, as banks do.
"""

from __future__ import annotations

from dataclasses import dataclass

# Units of each currency per EUR (rounded reference values; only used to make amounts plausible).
RATES: dict[str, float] = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "CHF": 0.95, "JPY": 160.0, "INR": 90.0,
                           "SEK": 11.5, "BTC": 0.000015}
BASE_CURRENCIES = ("EUR", "EUR", "USD", "GBP", "EUR", "CHF", "JPY", "INR", "EUR", "SEK")
CITIES = ("BERLIN DE", "MUENCHEN DE", "HAMBURG DE", "KOELN DE", "LONDON GB", "PARIS FR", "WIEN AT",
          "ZUERICH CH", "NEW YORK US", "AMSTERDAM NL")
TIME_ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Kolkata",
              "Europe/Zurich", "Europe/Stockholm", "UTC")
FIRST_NAMES = ("Anna", "Ben", "Chiara", "Deniz", "Elif", "Felix", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
               "Lena", "Mats", "Noor", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tara")
LAST_NAMES = ("Schmidt", "Meyer", "Rossi", "Yilmaz", "Kowalski", "Tanaka", "Novak", "Garcia", "Sharma",
              "Berg", "Dubois", "Okafor", "Lindqvist", "Moreau", "Fischer")

Category = tuple[str, str | None]


@dataclass(frozen=True)
class Merchant:
    name: str                 # the normalized merchant, as Florin stores it
    description: str          # raw statement line with {n} and {city}
    category: Category
    low: float                # EUR amount range (money out; refunds are the exception)
    high: float
    weight: int               # how often it appears among everyday spending
    card: bool = True         # paid by card (else from checking by direct debit)


MERCHANTS: tuple[Merchant, ...] = (
    Merchant("REWE", "CARD {n} REWE SAGT DANKE {city}", ("Food & drink", "Groceries"), 8, 95, 60),
    Merchant("EDEKA", "CARD {n} EDEKA CENTER {city}", ("Food & drink", "Groceries"), 6, 80, 40),
    Merchant("ALDI SUED", "CARD {n} ALDI SUED SAGT DANKE {city}", ("Food & drink", "Groceries"), 5, 70, 45),
    Merchant("LIDL", "CARD {n} LIDL DIENSTL GMBH {city}", ("Food & drink", "Groceries"), 5, 65, 40),
    Merchant("TESCO", "CARD {n} TESCO STORES {city}", ("Food & drink", "Groceries"), 6, 90, 15),
    Merchant("WHOLE FOODS", "CARD {n} WHOLEFDS MKT {city}", ("Food & drink", "Groceries"), 12, 140, 10),
    Merchant("DM", "CARD {n} DM DROGERIE MARKT {city}", ("Personal care", None), 3, 45, 25),
    Merchant("ROSSMANN", "CARD {n} ROSSMANN SAGT DANKE {city}", ("Personal care", None), 3, 40, 20),
    Merchant("STARBUCKS", "CARD {n} STARBUCKS {city}", ("Food & drink", "Coffee"), 3, 9, 35),
    Merchant("BALZAC COFFEE", "CARD {n} BALZAC COFFEE {city}", ("Food & drink", "Coffee"), 2.5, 8, 25),
    Merchant("MCDONALDS", "CARD {n} MCDONALDS {city}", ("Food & drink", "Restaurants"), 6, 25, 15),
    Merchant("VAPIANO", "CARD {n} VAPIANO {city}", ("Food & drink", "Restaurants"), 14, 60, 10),
    Merchant("TRATTORIA DA LUCA", "SUMUP *TRATTORIA DA LUCA {city}", ("Food & drink", "Restaurants"), 25, 120, 8),
    Merchant("LIEFERANDO", "LIEFERANDO.DE {n} AMSTERDAM", ("Food & drink", "Delivery"), 15, 55, 14),
    Merchant("WOLT", "WOLT {n} HELSINKI", ("Food & drink", "Delivery"), 14, 50, 8),
    Merchant("BVG", "BVG TICKET {n} {city}", ("Transport", "Public transport"), 3.2, 9.9, 20),
    Merchant("DEUTSCHE BAHN", "DB VERTRIEB GMBH {n}", ("Transport", "Public transport"), 19, 140, 8),
    Merchant("SHELL", "CARD {n} SHELL {n} {city}", ("Transport", "Fuel"), 35, 95, 10),
    Merchant("ARAL", "CARD {n} ARAL STATION {city}", ("Transport", "Fuel"), 30, 90, 10),
    Merchant("UBER", "UBER *TRIP {n} HELP.UBER.COM", ("Transport", "Taxi & rideshare"), 8, 45, 10),
    Merchant("FREE NOW", "FREE NOW {n} HAMBURG", ("Transport", "Taxi & rideshare"), 9, 40, 6),
    Merchant("PARK AND RIDE", "APCOA PARKING {n} {city}", ("Transport", "Parking"), 2, 24, 6),
    Merchant("AMAZON", "AMAZON.DE*{n} AMAZON.DE", ("Shopping", "Online shopping"), 6, 180, 30),
    Merchant("ZALANDO", "ZALANDO SE {n} BERLIN", ("Shopping", "Clothing"), 25, 160, 8),
    Merchant("H&M", "CARD {n} H+M {city}", ("Shopping", "Clothing"), 12, 90, 8),
    Merchant("MEDIAMARKT", "CARD {n} MEDIA MARKT {city}", ("Shopping", "Electronics"), 20, 600, 4),
    Merchant("APPLE", "APPLE.COM/BILL {n} ITUNES.COM", ("Shopping", "Electronics"), 1, 1400, 4),
    Merchant("IKEA", "CARD {n} IKEA DEUTSCHLAND {city}", ("Shopping", "Household"), 10, 400, 5),
    Merchant("OBI", "CARD {n} OBI BAU- U. HEIMWERKERM {city}", ("Housing", "Home maintenance"), 8, 220, 4),
    Merchant("APOTHEKE", "CARD {n} APOTHEKE AM MARKT {city}", ("Health", "Pharmacy"), 4, 60, 8),
    Merchant("PRAXIS DR MUELLER", "PRAXIS DR MUELLER RECHNUNG {n}", ("Health", "Doctor"), 20, 180, 2, False),
    Merchant("URBAN SPORTS CLUB", "URBAN SPORTS CLUB GMBH {n}", ("Health", "Fitness"), 39, 99, 2, False),
    Merchant("CINEMAXX", "CARD {n} CINEMAXX {city}", ("Entertainment", "Events"), 9, 40, 5),
    Merchant("EVENTIM", "EVENTIM {n} BREMEN", ("Entertainment", "Events"), 30, 160, 2),
    Merchant("STEAM", "STEAM GAMES {n} BELLEVUE", ("Entertainment", "Games"), 5, 60, 3),
    Merchant("THALIA", "CARD {n} THALIA BUCHHANDLUNG {city}", ("Entertainment", "Books"), 8, 45, 4),
    Merchant("LUFTHANSA", "LUFTHANSA {n} FRANKFURT", ("Travel", "Flights"), 90, 900, 1),
    Merchant("BOOKING.COM", "BOOKING.COM {n} AMSTERDAM", ("Travel", "Hotels"), 70, 700, 1),
    Merchant("FRISEUR SALON", "SUMUP *FRISEUR SALON {city}", ("Personal care", None), 20, 75, 3),
    Merchant("UNICEF", "UNICEF SPENDE {n}", ("Gifts & donations", None), 10, 100, 1, False),
    Merchant("BANK FEE", "ENTGELT KONTOFUEHRUNG {n}", ("Fees & charges", None), 2, 12, 1, False),
    Merchant("ATM ABROAD FEE", "FREMDWAEHRUNGSENTGELT {n}", ("Fees & charges", None), 1, 6, 1),
)

# Monthly direct debits: (merchant, description, category, EUR amount).
BILLS: tuple[tuple[str, str, Category, float], ...] = (
    ("VATTENFALL", "VATTENFALL EUROPE SALES GMBH ABSCHLAG {n}", ("Housing", "Utilities"), 86.0),
    ("TELEKOM", "TELEKOM DEUTSCHLAND GMBH RG {n}", ("Housing", "Internet & phone"), 44.95),
    ("NETFLIX", "NETFLIX.COM {n} LOS GATOS", ("Entertainment", "Streaming"), 13.99),
    ("SPOTIFY", "SPOTIFY AB {n} STOCKHOLM", ("Subscriptions", None), 10.99),
    ("ALLIANZ", "ALLIANZ VERSICHERUNGS-AG {n}", ("Insurance", None), 58.20),
    ("GEZ RUNDFUNK", "RUNDFUNK ARD ZDF DRADIO {n}", ("Taxes", None), 18.36),
)
RENT: tuple[str, str, Category, float] = ("DEUTSCHE WOHNEN", "DEUTSCHE WOHNEN SE MIETE {n}", ("Housing", "Rent"),
                                          1150.0)
