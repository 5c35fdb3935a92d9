"""The built-in seed of the local categorizer: common merchant names and keywords -> a built-in category name.

Written from general knowledge of what appears on European and North American bank statements (English,
German, French, Spanish, Italian and Dutch words, and well-known chains), not from any test or benchmark
file. Each keyword becomes one low-weight training example (see `app.ai.categorizer.seed_examples`): it
gives a new user a starting point, and the user's own labels outweigh it as soon as they disagree.

Keys are names of `app.categories.builtin` (children, or a root without children); the sign says whether the
keyword is money out (-1), money in (+1), or either (0).
"""

from __future__ import annotations

SEED: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("Groceries", -1, (
        "supermarket", "supermarkt", "supermarche", "supermercado", "supermercato", "grocery", "groceries",
        "lebensmittel", "alimentation", "aldi", "lidl", "rewe", "edeka", "netto", "penny markt", "kaufland",
        "tesco", "sainsbury", "asda", "morrisons", "waitrose", "carrefour", "auchan", "leclerc", "intermarche",
        "monoprix", "franprix", "mercadona", "eroski", "alcampo", "consum", "esselunga", "conad", "coop",
        "albert heijn", "jumbo", "spar", "billa", "hofer", "migros", "denner", "walmart", "kroger", "safeway",
        "whole foods", "trader joe", "costco", "biedronka", "ica", "rema", "delhaize", "colruyt", "aldi sud",
        "aldi nord", "tegut", "globus", "sklavenitis", "food market",
    )),
    ("Restaurants", -1, (
        "restaurant", "restaurante", "ristorante", "trattoria", "osteria", "pizzeria", "brasserie", "bistro",
        "gasthaus", "gasthof", "wirtshaus", "taverna", "tapas", "bar", "pub", "kebab", "doner", "sushi", "burger",
        "mcdonalds", "mc donalds", "burger king", "kfc", "five guys", "nandos", "pizza hut", "dominos",
        "wagamama", "chipotle", "taco bell", "wendys", "vapiano", "telepizza", "cerveceria", "biergarten",
        "steakhouse", "diner", "grill",
    )),
    ("Coffee", -1, (
        "cafe", "coffee", "kaffee", "cafeteria", "caffe", "koffie", "espresso", "starbucks", "costa coffee",
        "pret a manger", "tim hortons", "dunkin", "tchibo", "coffee fellows", "baeckerei", "backerei", "bakery",
        "boulangerie", "panaderia", "patisserie", "konditorei",
    )),
    ("Delivery", -1, (
        "deliveroo", "uber eats", "ubereats", "just eat", "lieferando", "wolt", "glovo", "doordash", "grubhub",
        "takeaway", "thuisbezorgd", "foodora", "lieferservice", "food delivery",
    )),
    ("Fuel", -1, (
        "fuel", "petrol", "gas station", "tankstelle", "gasolinera", "station service", "carburant", "benzin",
        "diesel", "shell", "esso", "totalenergies", "total access", "repsol", "cepsa", "galp", "aral", "agip",
        "eni station", "omv", "texaco", "chevron", "exxon", "mobil", "circle k", "q8", "star tankstelle",
        "avia", "jet tankstelle",
    )),
    ("Public transport", -1, (
        "u-bahn", "s-bahn", "metro", "tram", "bus ticket", "railway", "bahn", "db vertrieb", "deutsche bahn",
        "sncf", "renfe", "trenitalia", "italo", "ns reizigers", "sbb", "oebb", "tfl", "transport for london",
        "oyster", "ratp", "navigo", "bvg", "mvg", "hvv", "vbb", "rmv", "amtrak", "flixbus", "eurostar",
        "transit", "fahrkarte", "billete", "deutschlandticket", "tmb", "emt",
    )),
    ("Taxi & rideshare", -1, (
        "taxi", "uber", "uber trip", "lyft", "bolt", "free now", "freenow", "cabify", "cab", "mytaxi",
    )),
    ("Parking", -1, (
        "parking", "parkhaus", "parkplatz", "parkgebuehr", "aparcamiento", "parking meter", "stationnement",
        "parcheggio", "parkeren", "apcoa", "q-park", "indigo parking", "easypark", "parkopedia", "ringgo",
        "contipark",
    )),
    ("Car maintenance", -1, (
        "car wash", "waschanlage", "autowerkstatt", "werkstatt", "kfz", "taller", "garage", "atu", "halfords",
        "kwik fit", "norauto", "feu vert", "reifen", "tyres", "tires", "neumaticos", "tuev", "dekra", "itv",
        "mot test", "autoservice",
    )),
    ("Rent", -1, (
        "rent", "miete", "kaltmiete", "warmmiete", "alquiler", "loyer", "affitto", "huur", "landlord",
        "hausverwaltung", "wohnungsbau", "vermieter", "arrendamiento", "letting agent",
    )),
    ("Mortgage", -1, (
        "mortgage", "hypothek", "baufinanzierung", "hipoteca", "pret immobilier", "mutuo", "hypotheek",
        "darlehen rate", "tilgung",
    )),
    ("Utilities", -1, (
        "electricity", "strom", "stadtwerke", "water bill", "wasser", "gas bill", "energy", "energie",
        "electricite", "edf", "engie", "iberdrola", "endesa", "naturgy", "enel", "vattenfall", "eon",
        "british gas", "octopus energy", "thames water", "ovo energy", "eneco", "nuon", "abwasser",
        "heizkosten", "nebenkosten", "luz", "agua",
    )),
    ("Internet & phone", -1, (
        "telekom", "vodafone", "o2", "telefonica", "movistar", "orange", "t-mobile", "verizon", "at&t",
        "bt group", "virgin media", "comcast", "xfinity", "swisscom", "sfr", "bouygues", "free mobile",
        "kpn", "ziggo", "wind tre", "tim", "congstar", "mobilfunk", "internet", "broadband",
        "mobile phone", "telefon", "fibra",
    )),
    ("Home maintenance", -1, (
        "hardware store", "baumarkt", "obi", "bauhaus", "hornbach", "toom", "leroy merlin", "home depot",
        "lowes", "b&q", "bricomart", "brico", "screwfix", "wickes", "handwerker", "plumber", "electrician",
        "klempner", "fontanero",
    )),
    ("Clothing", -1, (
        "clothing", "zara", "h&m", "h+m", "primark", "uniqlo", "mango", "c&a", "peek cloppenburg", "zalando",
        "asos", "nike", "adidas", "decathlon", "bershka", "pull&bear", "massimo dutti", "next retail",
        "gap", "tk maxx", "kleidung", "mode", "schuhe", "deichmann", "ropa",
    )),
    ("Electronics", -1, (
        "media markt", "mediamarkt", "saturn", "fnac", "currys", "best buy", "apple store", "electronics",
        "elektronik", "darty", "cyberport", "notebooksbilliger", "conrad", "boulanger", "worten",
    )),
    ("Household", -1, (
        "ikea", "jysk", "maisons du monde", "depot", "action", "tedi", "wilko", "home goods", "homegoods",
        "bed bath", "xxxlutz", "hoeffner", "moebel", "muebles", "meubles", "haushalt",
    )),
    ("Online shopping", -1, (
        "amazon", "amzn", "amazon marketplace", "amzn mktp", "ebay", "aliexpress", "etsy", "temu", "shein",
        "otto", "bol.com", "cdiscount", "allegro", "wish", "online shop", "versandhandel",
    )),
    ("Pharmacy", -1, (
        "pharmacy", "apotheke", "farmacia", "pharmacie", "apotheek", "chemist", "boots", "cvs", "walgreens",
        "drugstore", "parafarmacia", "docmorris", "shop apotheke",
    )),
    ("Doctor", -1, (
        "doctor", "arzt", "aerztin", "praxis", "medico", "medecin", "clinic", "klinik", "clinica", "hospital",
        "krankenhaus", "dentist", "zahnarzt", "dentista", "physio", "physiotherapie", "fisioterapia",
        "optician", "optiker", "optica", "labor",
    )),
    ("Fitness", -1, (
        "gym", "fitness", "mcfit", "fitx", "basic-fit", "basic fit", "urban sports", "puregym", "anytime fitness",
        "holmes place", "clever fit", "john reed", "yoga", "gimnasio", "palestra", "sportstudio", "climbing",
        "kletterhalle", "swimming pool", "schwimmbad", "piscina",
    )),
    ("Streaming", -1, (
        "netflix", "spotify", "disney plus", "disneyplus", "hbo", "hulu", "prime video", "apple tv",
        "youtube premium", "dazn", "deezer", "crunchyroll", "paramount", "sky ticket", "wow tv", "tidal",
        "audible",
    )),
    ("Events", -1, (
        "cinema", "kino", "cine", "cinemaxx", "odeon", "vue cinema", "ugc", "theatre", "theater", "teatro",
        "concert", "konzert", "ticketmaster", "eventim", "museum", "museo", "musee", "zoo", "festival",
        "stadium", "entradas", "tickets",
    )),
    ("Games", -1, (
        "steam", "steampowered", "playstation", "psn", "xbox", "nintendo", "epic games", "gamestop",
        "riot games", "blizzard", "twitch",
    )),
    ("Books", -1, (
        "bookstore", "bookshop", "buchhandlung", "libreria", "librairie", "boekhandel", "thalia", "waterstones",
        "hugendubel", "kindle", "casa del libro", "barnes noble",
    )),
    ("Subscriptions", -1, (
        "subscription", "abonnement", "abo", "suscripcion", "membership", "mitgliedsbeitrag", "patreon",
        "icloud", "google storage", "google one", "dropbox", "microsoft 365", "adobe",
        "openai", "chatgpt", "linkedin premium", "new york times", "zeitung", "newspaper",
    )),
    ("Flights", -1, (
        "airline", "airlines", "airways", "lufthansa", "ryanair", "easyjet", "british airways", "air france",
        "klm", "iberia", "vueling", "eurowings", "wizz air", "united airlines", "delta air", "american airlines",
        "flight", "flug", "vuelo", "condor", "tap air", "swiss intl",
    )),
    ("Hotels", -1, (
        "hotel", "hostel", "airbnb", "booking.com", "expedia", "hotels.com", "marriott", "hilton", "ibis",
        "accor", "motel", "novotel", "holiday inn", "premier inn", "motel one", "nh hotel", "melia",
        "pension", "unterkunft",
    )),
    ("Education", -1, (
        "school", "schule", "university", "universitaet", "universidad", "universite", "tuition",
        "studiengebuehr", "semesterbeitrag", "course", "kurs", "curso", "udemy", "coursera", "kindergarten",
        "kita", "nursery", "volkshochschule", "academia", "colegio",
    )),
    ("Personal care", -1, (
        "hairdresser", "friseur", "peluqueria", "coiffeur", "coiffure", "barber", "barbershop", "salon",
        "beauty", "kosmetik", "nail", "spa", "massage", "dm drogerie", "rossmann", "douglas", "sephora",
        "mueller drogerie", "drogerie", "perfumeria", "parfumerie",
    )),
    ("Gifts & donations", -1, (
        "donation", "spende", "donacion", "don", "charity", "unicef", "red cross", "rotes kreuz", "cruz roja",
        "croix rouge", "oxfam", "greenpeace", "msf", "medecins sans frontieres", "amnesty", "wwf", "caritas",
        "wikimedia", "gift", "geschenk", "regalo", "cadeau",
    )),
    ("Insurance", -1, (
        "insurance", "versicherung", "seguro", "seguros", "assurance", "assicurazione", "assicurazioni",
        "verzekering", "allianz", "axa", "generali", "mapfre", "zurich versicherung", "ergo", "huk coburg",
        "huk", "aviva", "geico", "state farm", "mutua", "krankenkasse", "haftpflicht", "hausrat", "kfz versicherung",
        "debeka", "signal iduna", "direct line", "admiral", "linea directa",
    )),
    ("Fees & charges", -1, (
        "fee", "fees", "gebuehr", "entgelt", "kontofuehrung", "kontofuehrungsgebuehr", "comision", "comisiones",
        "commission", "frais", "frais bancaires", "overdraft", "sollzinsen", "late fee", "bank charge",
        "service charge", "annual fee", "jahresgebuehr", "cuota", "commissione", "foreign transaction fee",
        "auslandseinsatzentgelt",
    )),
    ("Taxes", -1, (
        "tax", "taxes", "steuer", "finanzamt", "kfz-steuer", "grundsteuer", "impuesto", "hacienda",
        "agencia tributaria", "aeat", "impots", "dgfip", "tresor public", "hmrc", "irs", "agenzia entrate",
        "belastingdienst", "council tax", "tributos",
    )),
    ("Salary", 1, (
        "salary", "payroll", "wages", "paycheck", "gehalt", "lohn", "bezuege", "nomina", "salaire", "paie",
        "stipendio", "salario", "loon", "salaris", "pay slip", "abono nomina", "lohnzahlung", "gehaltszahlung",
    )),
    ("Bonus", 1, (
        "bonus", "praemie", "gratifikation", "weihnachtsgeld", "urlaubsgeld", "paga extra", "prime",
        "tredicesima",
    )),
    ("Interest & dividends", 1, (
        "interest", "zinsen", "habenzinsen", "zinsgutschrift", "intereses", "interets", "interessi", "rente",
        "dividend", "dividende", "dividendo", "ertragsgutschrift", "ausschuettung", "coupon",
    )),
    ("Refunds", 1, (
        "refund", "rueckerstattung", "erstattung", "reembolso", "devolucion", "remboursement", "rimborso",
        "terugbetaling", "chargeback", "gutschrift", "return credit", "storno", "rueckbuchung", "abono",
        "cashback",
    )),
    ("Transfer", 0, (
        "transfer", "ueberweisung", "dauerauftrag", "transferencia", "traspaso", "virement", "bonifico",
        "giroconto", "overboeking", "overschrijving", "bank transfer", "standing order",
        "atm", "cash withdrawal", "geldautomat", "bargeldauszahlung", "bargeld", "auszahlung", "cajero",
        "reintegro", "retrait", "retrait dab", "prelievo", "bancomat", "bankomat", "cashpoint", "paypal transfer",
        "revolut", "wise", "venmo", "zelle", "bizum", "twint", "swish", "mobilepay", "lydia", "satispay",
        "tikkie", "n26 transfer",
    )),
    ("Credit card payment", 0, (
        "credit card payment", "credit card bill", "kreditkartenabrechnung", "kreditkarte abrechnung",
        "liquidacion tarjeta", "tarjeta credito", "amex", "american express", "releve carte",
    )),
    ("Savings", 0, (
        "savings", "sparen", "sparplan", "sparkonto", "tagesgeld", "festgeld", "ahorro", "cuenta ahorro",
        "epargne", "livret", "risparmio", "spaarrekening", "deposit to savings", "round up",
    )),
)
"""(category name, sign, keywords). ATM withdrawals and person-to-person payments count as transfers: the
built-in set has no cash category, and the money moves to the user's own cash."""
