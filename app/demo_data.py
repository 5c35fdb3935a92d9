"""Two years of a Berlin household's money for the demo user, as a deterministic plan.

`build_plan(today)` returns the accounts to open and a chronological list of transactions and transfers
ending `today`; `app.demo` writes them through the same services the API uses. The module is pure: no
database, no clock, and no global random state (one `random.Random(seed)`), so the same day and seed
give the same plan.

Amounts are `Decimal`s at two places with the signs of DESIGN §4: money in positive, money out negative;
the credit card and the mortgage are owed, so their balances are negative. While planning, the balances
are tracked so the story stays plausible: checking is topped up from savings before it would run dry,
cash comes from the ATM before it is spent, the card statement is paid in full every month, and surplus
on checking is swept to savings.

Raw descriptions look like bank statement lines ("CARD 4821 REWE SAGT DANKE 0042 BERLIN DE") so the
merchant normalizer has work; direct debits and credits name their counterparty explicitly, as a bank
feed does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from app.accounts.models import AccountKind

SEED = 20_250_425
CENT = Decimal("0.01")

CHECKING, SAVINGS, CARD, USD, MORTGAGE, CASH = "checking", "savings", "card", "usd", "mortgage", "cash"

Category = tuple[str, str | None]
"""(top-level name, child name or None for the top-level category itself), as in the built-in tree."""

SALARY: Category = ("Income", "Salary")
BONUS: Category = ("Income", "Bonus")
INTEREST: Category = ("Income", "Interest & dividends")
HOUSING: Category = ("Housing", None)
MORTGAGE_COST: Category = ("Housing", "Mortgage")
UTILITIES: Category = ("Housing", "Utilities")
INTERNET: Category = ("Housing", "Internet & phone")
MAINTENANCE: Category = ("Housing", "Home maintenance")
GROCERIES: Category = ("Food & drink", "Groceries")
RESTAURANTS: Category = ("Food & drink", "Restaurants")
COFFEE: Category = ("Food & drink", "Coffee")
DELIVERY: Category = ("Food & drink", "Delivery")
PUBLIC_TRANSPORT: Category = ("Transport", "Public transport")
FUEL: Category = ("Transport", "Fuel")
TAXI: Category = ("Transport", "Taxi & rideshare")
CLOTHING: Category = ("Shopping", "Clothing")
ELECTRONICS: Category = ("Shopping", "Electronics")
HOUSEHOLD: Category = ("Shopping", "Household")
ONLINE: Category = ("Shopping", "Online shopping")
PHARMACY: Category = ("Health", "Pharmacy")
DOCTOR: Category = ("Health", "Doctor")
FITNESS: Category = ("Health", "Fitness")
STREAMING: Category = ("Entertainment", "Streaming")
EVENTS: Category = ("Entertainment", "Events")
BOOKS: Category = ("Entertainment", "Books")
SUBSCRIPTIONS: Category = ("Subscriptions", None)
FLIGHTS: Category = ("Travel", "Flights")
HOTELS: Category = ("Travel", "Hotels")
PERSONAL_CARE: Category = ("Personal care", None)
GIFTS: Category = ("Gifts & donations", None)
INSURANCE: Category = ("Insurance", None)
FEES: Category = ("Fees & charges", None)


@dataclass(frozen=True)
class AccountSpec:
    key: str
    name: str
    kind: AccountKind
    currency: str
    institution: str
    mask: str | None
    opening_balance: Decimal


@dataclass(frozen=True)
class SplitSpec:
    amount: Decimal
    category: Category
    notes: str = ""


@dataclass(frozen=True)
class TransactionSpec:
    day: dt.date
    account: str
    amount: Decimal
    description: str
    category: Category
    merchant: str | None = None
    splits: tuple[SplitSpec, ...] = ()
    tags: tuple[str, ...] = ()
    pending: bool = False


@dataclass(frozen=True)
class TransferSpec:
    day: dt.date
    source: str
    target: str
    amount: Decimal
    description: str
    to_amount: Decimal | None = None


Operation = TransactionSpec | TransferSpec


@dataclass
class Plan:
    start: dt.date
    today: dt.date
    accounts: list[AccountSpec]
    operations: list[Operation]

    def categories(self) -> list[Category]:
        """Every category the plan uses (split lines included), in first-use order."""
        seen: dict[Category, None] = {}
        for op in self.operations:
            if isinstance(op, TransactionSpec):
                seen[op.category] = None
                for line in op.splits:
                    seen[line.category] = None
        return list(seen)

    def balances(self) -> dict[str, Decimal]:
        """Each account's balance after the whole plan: opening balance plus every amount."""
        totals = {spec.key: spec.opening_balance for spec in self.accounts}
        for op in self.operations:
            if isinstance(op, TransactionSpec):
                totals[op.account] += op.amount
            else:
                totals[op.source] -= op.amount
                totals[op.target] += op.to_amount if op.to_amount is not None else op.amount
        return totals


ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec(CHECKING, "Girokonto", AccountKind.CHECKING, "EUR", "Berliner Sparkasse", "4821", Decimal("2400.00")),
    AccountSpec(SAVINGS, "Tagesgeld", AccountKind.SAVINGS, "EUR", "ING", "9034", Decimal("8500.00")),
    AccountSpec(CARD, "Visa Credit Card", AccountKind.CREDIT_CARD, "EUR", "DKB", "7310", Decimal("-312.45")),
    AccountSpec(USD, "USD Account", AccountKind.CHECKING, "USD", "Wise", "5527", Decimal("1850.00")),
    AccountSpec(MORTGAGE, "Home Mortgage", AccountKind.MORTGAGE, "EUR", "Berliner Volksbank", "0815",
                Decimal("-185000.00")),
    AccountSpec(CASH, "Cash", AccountKind.CASH, "EUR", "", None, Decimal("120.00")),
)

MORTGAGE_RATE = Decimal("0.031")  # a year
MORTGAGE_PAYMENT = Decimal("1150.00")
SAVINGS_RATE = Decimal("0.0225")  # a year
CHECKING_FLOOR = Decimal("200.00")  # top up from savings before checking would drop below this
CHECKING_SWEEP_ABOVE = Decimal("6500.00")  # on the 28th, sweep the surplus above KEEP to savings
CHECKING_KEEP = Decimal("4000.00")
EMPLOYER = "Nordwind Software GmbH"

# (chain, raw store descriptors); the card prefix and the city are added per purchase
GROCERS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("REWE", ("REWE SAGT DANKE 0042", "REWE MARKT GMBH 1187"), 0.35),
    ("EDEKA", ("EDEKA CENTER 2210", "EDEKA ZIELKE 0317"), 0.20),
    ("ALDI", ("ALDI NORD 0211", "ALDI NORD 0479"), 0.25),
    ("LIDL", ("LIDL DIENSTL 1421", "LIDL SAGT DANKE 0876"), 0.20),
)
RESTAURANT_NAMES = ("MONSIEUR VUONG 0003", "TRATTORIA PARIONE 0021", "BURGERMEISTER 0007", "DOLORES BURRITOS 0011",
                    "CHEN CHE TEEHAUS 0002", "LA PIAZZA 0104", "SUSHI YANA 0016", "FISCHERS FRITZ 0001")
COFFEE_NAMES = ("THE BARN ROASTERY 0002", "FIVE ELEPHANT 0001", "EINSTEIN KAFFEE 0034", "STARBUCKS 4432",
                "ZEIT FUER BROT 0004")
FUEL_NAMES = ("SHELL 1234", "ARAL 0281", "TOTAL 4410", "JET 0117")
DRUGSTORES = ("DM DROGERIE MARKT 0745", "ROSSMANN 2211")
BAKERIES = ("Bäckerei Siebert", "Bäckerei Hacker", "Brotgarten")
# the card descriptor formats of the checking account's debit card
DEBIT_FORMATS = ("CARD 4821 {name} BERLIN DE", "GIROCARD {name} BERLIN DE", "KARTENZAHLUNG {name} BERLIN DE")
US_TRIP_MONTHS = (4, 16)  # months since the start
SUMMER_TRIP_MONTHS = (8, 20)
LAPTOP_MONTH = 10


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _last_day(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass
class _Household:
    rng: random.Random
    start: dt.date
    today: dt.date
    balances: dict[str, Decimal] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    statement: Decimal = Decimal(0)  # the card balance at the last month end, paid on the 15th
    refunds: list[TransactionSpec] = field(default_factory=list)  # due later (returns)
    next_fuel: dt.date | None = None
    grocery_trips: int = 0
    drugstore_trips: int = 0
    amazon_orders: int = 0

    # ---- building blocks ---------------------------------------------------------------------------

    def months(self, day: dt.date) -> int:
        """Whole months since the start month (0 in the first one)."""
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def cents(self, low: str, high: str) -> Decimal:
        """A uniformly random amount between two bounds, in cents (no floats)."""
        lo, hi = int(Decimal(low) * 100), int(Decimal(high) * 100)
        return Decimal(self.rng.randint(lo, hi)).scaleb(-2)

    def ref(self, size: int = 9) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        while True:
            text = "".join(self.rng.choice(alphabet) for _ in range(size))
            if sum(ch.isdigit() for ch in text) >= 2 and any(ch.isalpha() for ch in text):
                return text

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def debit_text(self, name: str) -> str:
        return self.rng.choice(DEBIT_FORMATS).format(name=name)

    def transaction(self, day: dt.date, account: str, amount: Decimal, description: str, category: Category, *,
                    merchant: str | None = None, splits: tuple[SplitSpec, ...] = (),
                    tags: tuple[str, ...] = ()) -> None:
        self.balances[account] += amount
        pending = account == CARD and (self.today - day).days < 2
        self.operations.append(TransactionSpec(day, account, amount, description, category, merchant, splits,
                                               tags, pending))

    def transfer(self, day: dt.date, source: str, target: str, amount: Decimal, description: str,
                 to_amount: Decimal | None = None) -> None:
        self.balances[source] -= amount
        self.balances[target] += amount if to_amount is None else to_amount
        self.operations.append(TransferSpec(day, source, target, amount, description, to_amount))

    def ensure_funds(self, day: dt.date, account: str, cost: Decimal) -> None:
        """Top up checking (from savings), cash (ATM) or USD (from checking) before `cost` leaves it."""
        if account == CHECKING and self.balances[CHECKING] - cost < CHECKING_FLOOR:
            short = CHECKING_FLOOR + cost - self.balances[CHECKING]
            amount = (short / 500).to_integral_value(rounding=ROUND_CEILING) * 500 + 500
            self.transfer(day, SAVINGS, CHECKING, _money(amount), "UMBUCHUNG VOM TAGESGELD")
        elif account == CASH and self.balances[CASH] - cost < 5:
            amount = next(a for a in (Decimal(100), Decimal(150), Decimal(200), Decimal(300))
                          if self.balances[CASH] + a >= cost + 20 or a == 300)
            self.ensure_funds(day, CHECKING, amount)
            place = self.rng.choice(("KASTANIENALLEE", "ALEXANDERPLATZ", "HACKESCHER MARKT"))
            self.transfer(day, CHECKING, CASH, _money(amount), f"GELDAUTOMAT BERLINER SPARKASSE {place}")
        elif account == USD and self.balances[USD] - cost < 50:
            self.exchange(day, Decimal("500.00"))

    def exchange(self, day: dt.date, euros: Decimal) -> None:
        rate = Decimal(self.rng.randint(10_600, 11_200)).scaleb(-4)
        self.ensure_funds(day, CHECKING, euros)
        self.transfer(day, CHECKING, USD, euros, f"WISE EUR>USD RATE {rate}", to_amount=_money(euros * rate))

    def spend(self, day: dt.date, account: str, cost: Decimal, description: str, category: Category, *,
              merchant: str | None = None, splits: tuple[SplitSpec, ...] = (), tags: tuple[str, ...] = ()) -> None:
        """Money out: `cost` is positive, the booked amount negative."""
        self.ensure_funds(day, account, cost)
        self.transaction(day, account, -cost, description, category, merchant=merchant, splits=splits, tags=tags)

    # ---- the story ---------------------------------------------------------------------------------

    def run(self) -> None:
        day = self.start + dt.timedelta(days=1)
        while day <= self.today:
            self.fixed(day)
            self.everyday(day)
            self.due_refunds(day)
            if day.day == _last_day(day):
                self.month_end(day)
            day += dt.timedelta(days=1)

    def fixed(self, day: dt.date) -> None:
        """Income, bills, subscriptions and standing orders on fixed days of the month."""
        month, period = self.months(day), f"{day.month:02d}/{day.year}"
        last = _last_day(day)
        if day.day == 1:
            interest = _money(-self.balances[MORTGAGE] * MORTGAGE_RATE / 12)
            self.transaction(day, MORTGAGE, -interest, f"DARLEHENSZINSEN {period} DARL-NR 4711081500",
                             MORTGAGE_COST, merchant="Berliner Volksbank")
            self.ensure_funds(day, CHECKING, MORTGAGE_PAYMENT)
            self.transfer(day, CHECKING, MORTGAGE, MORTGAGE_PAYMENT,
                          f"SEPA-LASTSCHRIFT BERLINER VOLKSBANK DARLEHEN 4711081500 RATE {period}")
            self.spend(day, CHECKING, Decimal("285.00"), f"SEPA-LASTSCHRIFT WEG KASTANIENALLEE 12 HAUSGELD {period}",
                       HOUSING, merchant="WEG Kastanienallee 12")
            if day.month in (1, 4, 7, 10):
                self.spend(day, CHECKING, Decimal("41.20"), "SEPA-LASTSCHRIFT ALLIANZ VERSICHERUNGS-AG HAUSRAT "
                           f"VS-NR 70-4411823 {period}", INSURANCE, merchant="Allianz")
        if day.day == 2:
            ticket = Decimal("58.00") if month >= 11 else Decimal("49.00")
            self.spend(day, CHECKING, ticket, f"SEPA-LASTSCHRIFT BVG ABO DEUTSCHLANDTICKET {period}",
                       PUBLIC_TRANSPORT, merchant="BVG")
            if day.month == 1:
                self.spend(day, CHECKING, self.cents("520.00", "575.00"),
                           f"SEPA-LASTSCHRIFT HUK-COBURG KFZ-VERSICHERUNG {day.year} B-FN 2231", INSURANCE,
                           merchant="HUK-COBURG")
        if day.day == 3:
            spotify = Decimal("11.99") if month >= 9 else Decimal("10.99")
            self.transaction(day, CARD, -spotify, f"SPOTIFY P{self.ref(10)} STOCKHOLM SE", STREAMING)
        if day.day == 5:
            power = Decimal("92.00") if month >= 12 else Decimal("84.00")
            self.spend(day, CHECKING, power, f"SEPA-LASTSCHRIFT VATTENFALL EUROPE SALES GMBH ABSCHLAG {period} "
                       "VK 8841223", UTILITIES, merchant="Vattenfall")
            gas = Decimal("71.00") if month >= 12 else Decimal("62.00")
            self.spend(day, CHECKING, gas, f"SEPA-LASTSCHRIFT GASAG AG ABSCHLAG {period} KD 554123", UTILITIES,
                       merchant="GASAG")
        if day.day == 8:
            self.spend(day, CHECKING, Decimal("44.95"), f"SEPA-LASTSCHRIFT TELEKOM DEUTSCHLAND GMBH RG {self.ref(12)}",
                       INTERNET, merchant="Telekom")
            self.spend(day, CHECKING, Decimal("10.00"), f"DAUERAUFTRAG AERZTE OHNE GRENZEN SPENDE {period}",
                       GIFTS, merchant="Ärzte ohne Grenzen")
        if day.day == 12:
            netflix = Decimal("15.99") if month >= 13 else Decimal("13.99")
            self.transaction(day, CARD, -netflix, "NETFLIX.COM 866-579-7172 NL", STREAMING)
        if day.day == 14:
            self.spend(day, USD, Decimal("20.00"), "OPENAI *CHATGPT SUBSCR OPENAI.COM CA", SUBSCRIPTIONS)
        if day.day == 15:
            if self.statement < 0:
                self.ensure_funds(day, CHECKING, -self.statement)
                self.transfer(day, CHECKING, CARD, -self.statement, f"DKB VISA KREDITKARTENABRECHNUNG {period}")
                self.statement = Decimal(0)
            if day.month in (2, 5, 8, 11):
                self.spend(day, CHECKING, Decimal("55.08"), "SEPA-LASTSCHRIFT RUNDFUNK ARD ZDF DRADIO BEITRAGSNR "
                           "482113579", FEES, merchant="ARD ZDF Deutschlandradio Beitragsservice")
        if day.day == 18:
            self.spend(day, CHECKING, Decimal("19.99"), f"SEPA-LASTSCHRIFT VODAFONE GMBH MOBILFUNK {period}", INTERNET,
                       merchant="Vodafone")
        if day.day == 20:
            self.spend(day, CHECKING, Decimal("54.00"), f"SEPA-LASTSCHRIFT URBAN SPORTS GMBH M-{self.ref(8)}",
                       FITNESS, merchant="Urban Sports Club")
            if day.month == 3:
                self.spend(day, CHECKING, Decimal("64.90"), "SEPA-LASTSCHRIFT HAFTPFLICHTKASSE VAG PRIVAT-HP",
                           INSURANCE, merchant="Haftpflichtkasse")
            if day.month == 6:
                self.transaction(day, CARD, Decimal("-89.90"), f"AMAZON PRIME*{self.ref()}", SUBSCRIPTIONS)
        if day.day == 25:
            salary = Decimal("4452.18") if month >= 12 else Decimal("4286.40")
            self.transaction(day, CHECKING, salary, f"SEPA-GUTSCHRIFT LOHN/GEHALT {period} NORDWIND SOFTWARE GMBH",
                             SALARY, merchant=EMPLOYER)
            if day.month == 11:
                self.transaction(day, CHECKING, Decimal("1950.00"),
                                 f"SEPA-GUTSCHRIFT WEIHNACHTSGELD {day.year} NORDWIND SOFTWARE GMBH", BONUS,
                                 merchant=EMPLOYER)
        if day.day == 26:
            self.ensure_funds(day, CHECKING, Decimal("500.00"))
            self.transfer(day, CHECKING, SAVINGS, Decimal("500.00"), "DAUERAUFTRAG SPARPLAN TAGESGELD")
        if day.day == min(28, last) and self.balances[CHECKING] > CHECKING_SWEEP_ABOVE:
            surplus = ((self.balances[CHECKING] - CHECKING_KEEP) / 100).to_integral_value(rounding=ROUND_FLOOR) * 100
            self.transfer(day, CHECKING, SAVINGS, _money(surplus), "UMBUCHUNG AUF TAGESGELD")
        if month in US_TRIP_MONTHS:
            self.us_trip(day)
        if month in SUMMER_TRIP_MONTHS:
            self.summer_trip(day)
        if month + 2 in US_TRIP_MONTHS and day.day == 9:
            booking = f"LUFTHANSA 220{self.rng.randint(10**9, 10**10 - 1)}"
            self.transaction(day, CARD, -self.cents("890.00", "1180.00"), booking, FLIGHTS, tags=("new york",))
        if month == LAPTOP_MONTH and day.day == 17:
            self.transaction(day, CARD, Decimal("-1299.00"), "MEDIAMARKT 1223 BERLIN DE", ELECTRONICS)

    def month_end(self, day: dt.date) -> None:
        interest = _money(self.balances[SAVINGS] * SAVINGS_RATE / 12)
        if interest > 0:
            self.transaction(day, SAVINGS, interest, f"ZINSGUTSCHRIFT TAGESGELD {day.month:02d}/{day.year}", INTEREST,
                             merchant="ING")
        self.statement = self.balances[CARD]

    def everyday(self, day: dt.date) -> None:
        weekday = day.weekday()  # Monday 0 … Sunday 6; shops are closed on Sundays
        if weekday < 6 and self.chance((0.40, 0.35, 0.45, 0.40, 0.60, 0.80)[weekday]):
            self.groceries(day, weekday)
        if weekday in (1, 4, 5) and self.chance(0.65):
            self.spend(day, CASH, self.cents("2.40", "8.90"), self.rng.choice(BAKERIES), GROCERIES)
        if weekday == 5 and self.chance(0.3):
            self.spend(day, CASH, self.cents("9.50", "34.00"), "Wochenmarkt Kollwitzplatz", GROCERIES)
        if weekday < 5 and self.chance(0.35):
            self.spend(day, CHECKING, self.cents("2.80", "6.40"),
                       self.debit_text(self.rng.choice(COFFEE_NAMES)), COFFEE)
        if self.chance(0.45 if weekday in (4, 5) else 0.08):
            self.restaurant(day)
        if weekday in (2, 6) and self.chance(0.2):
            name = self.rng.choice(("LIEFERANDO.DE", "WOLT", "UBER EATS"))
            order = f"{name} {self.rng.randint(10000, 99999)} BERLIN"
            self.transaction(day, CARD, -self.cents("17.50", "42.00"), order, DELIVERY)
        if self.next_fuel is None or day >= self.next_fuel:
            self.next_fuel = day + dt.timedelta(days=self.rng.randint(8, 14))
            name = self.rng.choice(FUEL_NAMES)
            self.transaction(day, CARD, -self.cents("48.00", "86.00"), f"{name} BERLIN DE", FUEL)
        if self.chance(0.035):
            self.transaction(day, CARD, -self.cents("19.90", "89.90"), f"DB FERNVERKEHR BAHN.DE {self.ref(10)}",
                             PUBLIC_TRANSPORT)
        if weekday >= 4 and self.chance(0.12):
            name = self.rng.choice(("FREENOW *FAHRT", "UBER *TRIP HELP.UBER.COM", "BOLT.EU"))
            self.transaction(day, CARD, -self.cents("8.40", "27.50"), f"{name} {self.rng.randint(1000, 9999)}", TAXI)
        if self.chance(0.1 if day.month != 12 else 0.25):
            self.amazon(day)
        if day.day in (6, 21) and self.chance(0.35):
            self.zalando(day)
        if weekday < 6 and self.chance(0.05):
            self.spend(day, CHECKING, self.cents("3.95", "38.50"), self.debit_text("KOLLWITZ APOTHEKE 0001"), PHARMACY)
        if weekday < 6 and self.chance(0.08):
            self.drugstore(day)
        if weekday == 5 and self.chance(0.16):
            self.spend(day, CASH, self.cents("28.00", "45.00"), "Friseur Hairstyling Mitte", PERSONAL_CARE)
        if weekday == 5 and self.chance(0.04):
            self.transaction(day, CARD, -self.cents("24.00", "185.00"), "IKEA 0324 BERLIN DE", HOUSEHOLD)
        if weekday == 5 and self.chance(0.025):
            self.spend(day, CHECKING, self.cents("18.00", "140.00"), self.debit_text("BAUHAUS 0612"), MAINTENANCE)
        if self.chance(0.02):
            self.spend(day, CHECKING, self.cents("11.00", "26.00"), self.debit_text("THALIA 0031"), BOOKS)
        if self.chance(0.015):
            tickets = f"EVENTIM DE {self.rng.randint(100000, 999999)}"
            self.transaction(day, CARD, -self.cents("35.00", "120.00"), tickets, EVENTS)
        if weekday < 5 and self.chance(0.012):
            self.spend(day, CHECKING, Decimal("10.00"), "SEPA-LASTSCHRIFT PRAXIS DR. MEYER ZUZAHLUNG", DOCTOR,
                       merchant="Praxis Dr. Meyer")

    def groceries(self, day: dt.date, weekday: int) -> None:
        chain, stores, _ = self.rng.choices(GROCERS, weights=[g[2] for g in GROCERS])[0]
        big = weekday == 5
        cost = self.cents("34.00", "112.00") if big else self.cents("7.80", "58.00")
        if chain in ("ALDI", "LIDL"):
            cost = _money(cost * Decimal("0.85"))
        name = self.rng.choice(stores)
        if self.chance(0.08):  # paid in cash; the till receipt is typed in by hand
            self.spend(day, CASH, min(cost, Decimal("38.00")), f"{chain.title()} Einkauf bar", GROCERIES)
            return
        self.grocery_trips += 1
        splits: tuple[SplitSpec, ...] = ()
        if chain in ("REWE", "EDEKA") and cost >= 40 and self.grocery_trips % 6 == 0:
            household = min(self.cents("8.99", "29.99"), cost - Decimal("10.00"))
            splits = (SplitSpec(cost - household, GROCERIES),
                      SplitSpec(household, HOUSEHOLD, "Spülmittel, Küchenrolle, Müllbeutel"))
        description = (f"CARD 4821 {name} BERLIN DE" if chain == "REWE" and self.chance(0.5) else self.debit_text(name))
        self.spend(day, CHECKING, cost, description, GROCERIES, splits=tuple(
            SplitSpec(-s.amount, s.category, s.notes) for s in splits))

    def drugstore(self, day: dt.date) -> None:
        self.drugstore_trips += 1
        cost = self.cents("6.50", "48.00")
        splits: tuple[SplitSpec, ...] = ()
        if cost >= 20 and self.drugstore_trips % 4 == 0:
            household = _money(cost * Decimal("0.3"))
            pharmacy = _money(cost * Decimal("0.2"))
            splits = (SplitSpec(-(cost - household - pharmacy), PERSONAL_CARE, "Shampoo, Zahnpasta"),
                      SplitSpec(-household, HOUSEHOLD, "Waschmittel"),
                      SplitSpec(-pharmacy, PHARMACY, "Vitamine"))
        self.spend(day, CHECKING, cost, self.debit_text(self.rng.choice(DRUGSTORES)), PERSONAL_CARE, splits=splits)

    def restaurant(self, day: dt.date) -> None:
        name = self.rng.choice(RESTAURANT_NAMES)
        cost = self.cents("14.50", "86.00")
        if self.chance(0.7):
            self.transaction(day, CARD, -cost, f"{name} BERLIN DE", RESTAURANTS)
        else:
            self.spend(day, CHECKING, cost, self.debit_text(name), RESTAURANTS)

    def amazon(self, day: dt.date) -> None:
        self.amazon_orders += 1
        cost = self.cents("7.99", "89.00")
        category = GIFTS if day.month == 12 and self.chance(0.6) else ONLINE
        splits: tuple[SplitSpec, ...] = ()
        if cost >= 30 and self.amazon_orders % 15 == 0:
            books = _money(cost * Decimal("0.4"))
            splits = (SplitSpec(-(cost - books), ONLINE, "Kabel, Ladegerät"), SplitSpec(-books, BOOKS, "Taschenbuch"))
            category = ONLINE
        self.transaction(day, CARD, -cost, f"AMZN Mktp DE*{self.ref()}", category, splits=splits)
        if not splits and self.chance(0.08):
            refund_day = day + dt.timedelta(days=self.rng.randint(6, 20))
            self.refunds.append(TransactionSpec(refund_day, CARD, cost, f"AMZN Mktp DE REFUND*{self.ref()}",
                                                category))

    def zalando(self, day: dt.date) -> None:
        cost = self.cents("29.95", "149.90")
        self.spend(day, CHECKING, cost, f"PAYPAL *ZALANDO SE {self.rng.randint(10**10, 10**11 - 1)}", CLOTHING)
        if self.chance(0.4):  # sent part of it back
            back = _money(cost * Decimal(self.rng.choice(("0.3", "0.5", "1"))))
            refund_day = day + dt.timedelta(days=self.rng.randint(8, 18))
            self.refunds.append(TransactionSpec(refund_day, CHECKING, back,
                                                f"PAYPAL *ZALANDO SE {self.rng.randint(10**10, 10**11 - 1)} ERSTATTUNG",
                                                CLOTHING))

    def due_refunds(self, day: dt.date) -> None:
        due = [r for r in self.refunds if r.day == day]
        self.refunds = [r for r in self.refunds if r.day != day]
        for refund in due:
            self.transaction(day, refund.account, refund.amount, refund.description, refund.category)

    def us_trip(self, day: dt.date) -> None:
        """A week in New York: money changed beforehand, then card purchases in the USD account."""
        tags = ("new york",)
        if day.day == 3:
            self.exchange(day, Decimal("1200.00"))
        if not 10 <= day.day <= 16:
            return
        if day.day == 10:
            self.spend(day, USD, self.cents("1180.00", "1420.00"), "HOTEL POD 39 NEW YORK NY", HOTELS, tags=tags)
        for _ in range(self.rng.randint(1, 2)):
            self.spend(day, USD, self.cents("4.50", "7.80"), "SQ *BLUE BOTTLE COFFEE 0042 NEW YORK NY", COFFEE,
                       tags=tags)
        self.spend(day, USD, Decimal("2.90") * self.rng.randint(2, 4), "MTA*NYCT PAYGO NEW YORK NY", PUBLIC_TRANSPORT,
                   tags=tags)
        place = self.rng.choice(("SHAKE SHACK 1234 NEW YORK NY", "KATZS DELICATESSEN NEW YORK NY",
                                 "LOS TACOS NO 1 NEW YORK NY", "JOES PIZZA 0007 NEW YORK NY"))
        self.spend(day, USD, self.cents("18.00", "74.00"), place, RESTAURANTS, tags=tags)
        if day.day in (11, 14):
            self.spend(day, USD, self.cents("22.00", "61.00"), "WHOLEFDS TRB 10234 NEW YORK NY", GROCERIES, tags=tags)
        if day.day == 12:
            self.spend(day, USD, Decimal("60.00"), "THE MET MUSEUM NEW YORK NY", EVENTS, tags=tags)
            self.spend(day, USD, self.cents("39.90", "119.00"), "UNIQLO USA 0514 NEW YORK NY", CLOTHING, tags=tags)
        if day.day in (10, 16):
            self.spend(day, USD, self.cents("38.00", "72.00"), "UBER *TRIP HELP.UBER.COM", TAXI, tags=tags)

    def summer_trip(self, day: dt.date) -> None:
        """A week in Lisbon on the credit card."""
        tags = ("lisbon",)
        if day.day == 2:
            self.transaction(day, CARD, -self.cents("180.00", "320.00"), f"RYANAIR {self.ref(6)} DUBLIN IE", FLIGHTS,
                             tags=tags)
            self.transaction(day, CARD, -self.cents("640.00", "910.00"), "BOOKING.COM HOTEL 88412 AMSTERDAM", HOTELS,
                             tags=tags)
        if 20 <= day.day <= 26:
            place = self.rng.choice(("RESTAURANTE O VELHO EIRADO LISBOA PT", "TABERNA DA RUA DAS FLORES LISBOA PT",
                                     "CERVEJARIA RAMIRO LISBOA PT"))
            self.transaction(day, CARD, -self.cents("21.00", "68.00"), place, RESTAURANTS, tags=tags)
            if self.chance(0.5):
                self.transaction(day, CARD, -self.cents("6.00", "31.00"), "PINGO DOCE 0412 LISBOA PT", GROCERIES,
                                 tags=tags)


def build_plan(today: dt.date, *, seed: int = SEED) -> Plan:
    """The demo accounts (opened two years before `today`) and every transaction and transfer since."""
    start = _years_before(today, 2)
    house = _Household(random.Random(seed), start, today,
                       balances={spec.key: spec.opening_balance for spec in ACCOUNTS})
    house.run()
    return Plan(start=start, today=today, accounts=list(ACCOUNTS), operations=house.operations)
