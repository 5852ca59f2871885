"""A generator of realistic, noisy, overlapping CRM data for several orgs, with truth.

Companies live in many countries and are known to one to three orgs (regional
orgs, an acquisition), sometimes twice in one org. Each copy is typed by a
different person: legal forms written differently or left out, typos, accents
lost, phones in national or international format, countries as 'USA', 'U.S.' or
'United States', websites with or without 'www', values missing. Look-alikes are
different companies with nearly the same name (same brand in two countries,
'Acme Logistics' and 'Acme Labs'). Contacts share their company's switchboard
number and address with their colleagues, go by nicknames in one org and full
names in another, and sometimes share a surname with a colleague.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
from dataclasses import dataclass, field
from itertools import accumulate

import pandas as pd

from dedupe.normalize import e164
from demo.heroku_connect import demo_sfid
from demo.leads import LeadData, generate_leads
from demo.opportunities import PipelineData, contact_roles, generate_pipeline

ORGS = ("amer", "emea", "apac")

COUNTRIES = {
    # code: (ways users type it, cities (city, state, postcode pattern), phone prefix, legal forms,
    #        currency, national number pattern)
    "US": (
        ["United States", "USA", "US", "U.S.", "United States of America"],
        [
            ("New York", "NY", "100##"),
            ("Chicago", "IL", "606##"),
            ("Austin", "TX", "787##"),
            ("San Francisco", "CA", "941##"),
            ("Boston", "MA", "021##"),
            ("Denver", "CO", "802##"),
        ],
        "1",
        ["Inc.", "LLC", "Corp.", "Incorporated", "Corporation", "Co."],
        "USD",
        "(###) 555-0###",
    ),
    "CA": (
        ["Canada", "CA"],
        [("Toronto", "ON", "M5V #A#"), ("Vancouver", "BC", "V6B #A#")],
        "1",
        ["Inc.", "Ltd.", "Corp."],
        "CAD",
        "(416) 555-0###",
    ),
    "GB": (
        ["United Kingdom", "UK", "GB", "England", "Great Britain"],
        [("London", "", "EC1A #BB"), ("Manchester", "", "M1 #AE"), ("Leeds", "", "LS1 #AB")],
        "44",
        ["Ltd", "Limited", "PLC", "Ltd."],
        "GBP",
        "020 7946 0###",
    ),
    "DE": (
        ["Germany", "Deutschland", "DE"],
        [("Berlin", "", "10###"), ("München", "BY", "80###"), ("Hamburg", "", "20###")],
        "49",
        ["GmbH", "AG", "GmbH & Co. KG"],
        "EUR",
        "030 #######",
    ),
    "FR": (
        ["France", "FR"],
        [("Paris", "", "750##"), ("Lyon", "", "690##"), ("Nantes", "", "440##")],
        "33",
        ["SA", "SAS", "S.A.", "SARL"],
        "EUR",
        "01 ## ## ## ##",
    ),
    "ES": (
        ["Spain", "España", "ES"],
        [("Madrid", "", "280##"), ("Barcelona", "", "080##")],
        "34",
        ["S.L.", "S.A."],
        "EUR",
        "91 ### ## ##",
    ),
    "NL": (
        ["Netherlands", "The Netherlands", "Holland", "NL"],
        [("Amsterdam", "", "10## AB"), ("Rotterdam", "", "30## CD")],
        "31",
        ["B.V.", "N.V."],
        "EUR",
        "020 ### ####",
    ),
    "JP": (
        ["Japan", "JP"],
        [("Tokyo", "", "100-00##"), ("Osaka", "", "530-00##")],
        "81",
        ["K.K.", "Co., Ltd."],
        "JPY",
        "03-####-####",
    ),
    "AU": (
        ["Australia", "AU"],
        [("Sydney", "NSW", "2###"), ("Melbourne", "VIC", "3###")],
        "61",
        ["Pty Ltd", "Pty. Ltd."],
        "AUD",
        "(02) #### ####",
    ),
    "BR": (
        ["Brazil", "Brasil", "BR"],
        [("São Paulo", "SP", "01###-000"), ("Rio de Janeiro", "RJ", "20###-000")],
        "55",
        ["Ltda.", "S.A."],
        "BRL",
        "(11) ####-####",
    ),
}
ORG_REGIONS = {
    "amer": ["US", "US", "US", "CA", "BR"],
    "emea": ["GB", "DE", "FR", "ES", "NL"],
    "apac": ["JP", "AU", "AU", "US"],
}

BRAND_A = [
    "North",
    "Blue",
    "Silver",
    "Bright",
    "Green",
    "Red",
    "Iron",
    "Golden",
    "Clear",
    "Swift",
    "Summit",
    "Harbor",
    "Pioneer",
    "Atlas",
    "Vertex",
    "Nova",
    "Crest",
    "Cedar",
    "Orion",
    "Polar",
    "Union",
    "Global",
    "United",
    "First",
    "Prime",
    "Delta",
    "Apex",
    "Zenith",
]
BRAND_B = [
    "wind",
    "stone",
    "field",
    "bridge",
    "wave",
    "peak",
    "gate",
    "point",
    "ridge",
    "light",
    "forge",
    "works",
    "path",
    "line",
    "core",
    "sphere",
    "view",
    "brook",
    "dale",
    "mark",
]
SECTORS = [
    "Logistics",
    "Labs",
    "Systems",
    "Foods",
    "Energy",
    "Capital",
    "Software",
    "Health",
    "Motors",
    "Textiles",
    "Analytics",
    "Pharma",
    "Media",
    "Robotics",
    "Consulting",
    "Chemicals",
    "Insurance",
    "Retail",
    "Aerospace",
    "Materials",
]
INDUSTRIES = [
    "Technology",
    "Manufacturing",
    "Finance",
    "Healthcare",
    "Retail",
    "Energy",
    "Transportation",
    "Media",
    "Consulting",
    "Chemicals",
]
STREETS = [
    "Main Street",
    "Oak Avenue",
    "Market Street",
    "Park Road",
    "Station Road",
    "Hauptstraße",
    "Rue de la Paix",
    "Calle Mayor",
    "Keizersgracht",
    "King Street",
    "Harbour Drive",
    "Elm Street",
    "Rua Augusta",
    "Chuo-dori",
    "George Street",
]
FIRST_NAMES = [
    "Robert",
    "William",
    "Elizabeth",
    "Katherine",
    "Michael",
    "Jennifer",
    "James",
    "Margaret",
    "Thomas",
    "Patricia",
    "Richard",
    "Susan",
    "Daniel",
    "Jessica",
    "Joseph",
    "Christopher",
    "Anthony",
    "Matthew",
    "Andrew",
    "Stephanie",
    "José",
    "François",
    "Zoë",
    "Jürgen",
    "Søren",
    "Ana",
    "Lucía",
    "Hiroshi",
    "Yuki",
    "Mei",
    "Olga",
    "Aoife",
    "Mateus",
    "Chloé",
    "Björn",
    "Émile",
    "Nikolaj",
    "Priya",
    "Ravi",
    "Fatima",
    "Mary",
    "Linda",
    "Barbara",
    "Sarah",
    "Karen",
    "Nancy",
    "Lisa",
    "Betty",
    "Sandra",
    "Ashley",
    "Kimberly",
    "Emily",
    "Donna",
    "Michelle",
    "Carol",
    "Amanda",
    "Melissa",
    "Deborah",
    "Rebecca",
    "Laura",
    "Sharon",
    "Cynthia",
    "Kathleen",
    "Amy",
    "Angela",
    "Helen",
    "Anna",
    "Brenda",
    "Pamela",
    "Nicole",
    "Emma",
    "Samantha",
    "David",
    "John",
    "Charles",
    "Mark",
    "Donald",
    "Steven",
    "Paul",
    "Kenneth",
    "Kevin",
    "Brian",
    "George",
    "Timothy",
    "Ronald",
    "Edward",
    "Jason",
    "Jeffrey",
    "Ryan",
    "Jacob",
    "Gary",
    "Nicholas",
    "Eric",
    "Jonathan",
    "Stephen",
    "Larry",
    "Justin",
    "Scott",
    "Brandon",
    "Benjamin",
    "Samuel",
    "Gregory",
    "Alexander",
    "Frank",
    "Raymond",
    "Jack",
    "Dennis",
    "Jerry",
    "Tyler",
    "Aaron",
    "Henrik",
    "Lars",
    "Ingrid",
    "Astrid",
    "Giulia",
    "Marco",
    "Luca",
    "Sofia",
    "Elena",
    "Pablo",
    "Javier",
    "Carmen",
    "Miguel",
    "Takeshi",
    "Haruto",
    "Sakura",
    "Wei",
    "Jun",
    "Arjun",
    "Ananya",
    "Mohammed",
    "Omar",
    "Leila",
    "Yusuf",
    "Noah",
    "Liam",
    "Olivia",
    "Ava",
    "Mia",
    "Lukas",
    "Felix",
    "Maximilian",
    "Hannah",
    "Lena",
    "Jan",
    "Piotr",
    "Agnieszka",
    "Tomasz",
    "Katarzyna",
]
NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Michael": "Mike",
    "Jennifer": "Jen",
    "James": "Jim",
    "Margaret": "Peggy",
    "Thomas": "Tom",
    "Patricia": "Pat",
    "Richard": "Rick",
    "Susan": "Sue",
    "Daniel": "Dan",
    "Jessica": "Jess",
    "Joseph": "Joe",
    "Christopher": "Chris",
    "Anthony": "Tony",
    "Matthew": "Matt",
    "Andrew": "Andy",
    "Stephanie": "Steph",
}
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Müller",
    "Schmidt",
    "García",
    "Martínez",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Jansen",
    "de Vries",
    "Tanaka",
    "Suzuki",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Novák",
    "Andersson",
    "Johansson",
    "Silva",
    "Santos",
    "Brown",
    "Taylor",
    "Wilson",
    "Anderson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Hernández",
    "López",
    "Fischer",
    "Weber",
    "Moreau",
    "Laurent",
    "Costa",
    "Byrne",
    "Kaur",
    "Patel",
    "Sato",
    "Watanabe",
    "Ivanova",
    "Petrov",
    "Lindqvist",
    "Hansen",
    "Williams",
    "Jones",
    "Miller",
    "Davis",
    "Rodriguez",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Robinson",
    "Wright",
    "King",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Roux",
    "Fontaine",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Jong",
    "Mulder",
    "Takahashi",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Sharma",
    "Singh",
    "Gupta",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Nielsen",
    "Jensen",
    "Pedersen",
    "Larsen",
    "Eriksson",
    "Karlsson",
    "Nilsson",
    "Virtanen",
    "Korhonen",
    "Popescu",
    "Horvat",
    "Papadopoulos",
]
# Faker's name lists of these locales, after the names above, make the long tail: a
# million people do not share a few hundred surnames (blocks of same-named strangers
# would be as unrealistic as they are slow), while a demo of a thousand draws mostly
# from the head. The order is fixed, so a seed always gives the same data.
_TAIL_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL",
    "sv_SE", "da_DK", "fi_FI", "cs_CZ", "pt_BR", "tr_TR",
)  # fmt: skip


def _with_tail(head: list[str], attribute: str) -> list[str]:
    names = dict.fromkeys(head)
    for locale in _TAIL_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        names.update(dict.fromkeys(getattr(provider, attribute, ())))
    return list(names)


FIRST_NAME_POOL = _with_tail(FIRST_NAMES, "first_names")
LAST_NAME_POOL = _with_tail(LAST_NAMES, "last_names")
# Zipf-like: the most common surname is about 1% of people, as Smith is in the US.
_FIRST_WEIGHTS = list(accumulate(1 / (rank + 1) ** 0.6 for rank in range(len(FIRST_NAME_POOL))))
_LAST_WEIGHTS = list(accumulate(1 / (rank + 1) ** 0.6 for rank in range(len(LAST_NAME_POOL))))

TITLES = [
    "CEO",
    "CFO",
    "VP Sales",
    "Head of Procurement",
    "IT Manager",
    "Buyer",
    "Operations Director",
    "Account Manager",
    "Engineer",
    "Office Manager",
    "CTO",
]


@dataclass
class DemoData:
    accounts: dict[str, pd.DataFrame] = field(default_factory=dict)
    contacts: dict[str, pd.DataFrame] = field(default_factory=dict)
    pipeline: PipelineData | None = None
    leads: LeadData | None = None
    # object, org, sfid, entity
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def record_count(self) -> int:
        return sum(len(f) for f in self.accounts.values()) + sum(
            len(f) for f in self.contacts.values()
        )


class _Noise:
    """Ways a person typing a record into a CRM changes it."""

    def __init__(self, rng: random.Random, level: float) -> None:
        self.rng = rng
        self.level = level

    def chance(self, p: float) -> bool:
        return self.rng.random() < p * self.level

    def typo(self, text: str) -> str:
        if len(text) < 4:
            return text
        i = self.rng.randrange(1, len(text) - 1)
        kind = self.rng.randrange(4)
        if kind == 0:
            return text[:i] + text[i + 1 :]
        if kind == 1:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind == 2:
            return text[:i] + text[i] + text[i:]
        letter = self.rng.choice("aeiounrstl")
        return text[:i] + letter + text[i + 1 :]

    def deaccent(self, text: str) -> str:
        from unidecode import unidecode

        return unidecode(text)

    def case(self, text: str) -> str:
        kind = self.rng.randrange(3)
        return text.upper() if kind == 0 else text.lower() if kind == 1 else text


def _fill(rng: random.Random, pattern: str) -> str:
    return "".join(
        str(rng.randrange(10))
        if ch == "#"
        else rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
        if ch == "A"
        else ch
        for ch in pattern
    )


class DemoGenerator:
    def __init__(
        self, companies: int = 400, seed: int = 7, noise: float = 1.0, orgs: tuple[str, ...] = ORGS
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.noise = _Noise(self.rng, noise)
        self.companies = companies
        self.orgs = orgs
        self.counters = {o: {"account": 0, "contact": 0} for o in orgs}
        self.now = dt.datetime(2026, 11, 1, 12, 0, 0)
        self.domains: set[str] = set()

    # ------------------------------------------------------------ entities

    def _brand(self) -> str:
        """Invented brands, or family names as so many firms have: a few thousand
        companies share a handful of names, a million do not."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.5:
            return rng.choice(BRAND_A) + rng.choice(BRAND_B)
        founder = rng.choices(LAST_NAME_POOL, cum_weights=_LAST_WEIGHTS)[0]
        if kind < 0.8:
            return founder
        partner = rng.choices(LAST_NAME_POOL, cum_weights=_LAST_WEIGHTS)[0]
        return f"{founder} & {partner}"

    def _company(
        self, index: int, brand: str | None = None, avoid_sector: str | None = None
    ) -> dict:
        rng = self.rng
        home_org = self.orgs[index % len(self.orgs)]
        country = rng.choice(ORG_REGIONS.get(home_org, list(COUNTRIES)))
        aliases, cities, _prefix, legal, currency, phone_pattern = COUNTRIES[country]
        city, state, postcode_pattern = rng.choice(cities)
        brand = brand or self._brand()
        sector = rng.choice([s for s in SECTORS if s != avoid_sector])
        name = f"{brand} {sector}"
        tld = country.lower() if country != "US" else "com"
        slug = "".join(ch for ch in self.noise.deaccent(brand).lower() if ch.isalnum())
        domain = f"{slug}{sector.lower()[:4]}.{tld}"
        attempt = 0
        while domain in self.domains:
            attempt += 1
            domain = f"{slug}-{sector.lower()}{attempt}.{tld}"
        self.domains.add(domain)
        national = _fill(rng, phone_pattern)
        return {
            "entity": f"A{index}",
            "home_org": home_org,
            "name": name,
            "brand": brand,
            "sector": sector,
            "legal": rng.choice(legal),
            "country": country,
            "country_aliases": aliases,
            "city": city,
            "state": state,
            "postcode": _fill(rng, postcode_pattern),
            "street": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
            "national_phone": national,
            "phone": e164(national, country),
            "domain": domain,
            "industry": rng.choice(INDUSTRIES),
            "revenue": round(rng.lognormvariate(16, 1.5), 2),
            "employees": int(rng.lognormvariate(5, 1.5)) + 1,
            "currency": currency,
            "registration": f"{rng.randrange(10**8, 10**9)}",
        }

    def _person(self, company: dict, index: int, surname: str | None = None) -> dict:
        rng = self.rng
        # Names are drawn with a long tail, as in real populations: a few very common.
        first = rng.choices(FIRST_NAME_POOL, cum_weights=_FIRST_WEIGHTS)[0]
        last = surname or rng.choices(LAST_NAME_POOL, cum_weights=_LAST_WEIGHTS)[0]
        ascii_last = self.noise.deaccent(last).lower().replace(" ", "").replace("'", "")
        local = f"{self.noise.deaccent(first).lower()}.{ascii_last}"
        prefix = COUNTRIES[company["country"]][2]
        mobile = (
            f"+{prefix}{rng.randrange(10**8, 10**9)}"
            if company["country"] != "US"
            else f"+1{rng.randrange(200, 999)}555{rng.randrange(1000, 9999)}"
        )
        return {
            "entity": f"C{index}",
            "first": first,
            "last": last,
            "email": f"{local}@{company['domain']}",
            "mobile": mobile,
            "title": rng.choice(TITLES),
            "birthdate": dt.date(
                rng.randrange(1955, 2000), rng.randrange(1, 13), rng.randrange(1, 29)
            )
            if rng.random() < 0.5
            else None,
        }

    # ------------------------------------------------------------ copies

    def _account_row(self, org: str, company: dict) -> dict:
        n, rng = self.noise, self.rng
        self.counters[org]["account"] += 1
        name = company["name"]
        if n.chance(0.25):
            name = n.typo(name)
        if n.chance(0.15):
            name = n.case(name)
        if n.chance(0.7):
            name = (
                f"{name} {company['legal']}"
                if rng.random() < 0.8
                else f"{name}, {company['legal']}"
            )
        if n.chance(0.08):
            name = "The " + name
        phone = (
            company["national_phone"]
            if rng.random() < 0.5
            else f"+{COUNTRIES[company['country']][2]} "
            + company["national_phone"].lstrip("0(").replace(")", "")
        )
        website = rng.choice(
            [
                company["domain"],
                f"www.{company['domain']}",
                f"https://www.{company['domain']}/",
                f"http://{company['domain']}",
            ]
        )
        street = company["street"]
        if n.chance(0.2):
            street = street.replace("Street", "St.").replace("Road", "Rd").replace("Avenue", "Ave")
        if n.chance(0.1):
            street = n.typo(street)
        city = company["city"]
        if n.chance(0.2):
            city = n.deaccent(city)
        modstamp = self.now - dt.timedelta(minutes=rng.randrange(60 * 24 * 365))
        row = {
            "sfid": demo_sfid("001", org, self.counters[org]["account"]),
            "name": name,
            "website": None if n.chance(0.2) else website,
            "phone": None if n.chance(0.15) else phone,
            "billingstreet": None if n.chance(0.15) else street,
            "billingcity": None if n.chance(0.1) else city,
            "billingstate": company["state"] or None,
            "billingpostalcode": None if n.chance(0.15) else company["postcode"],
            "billingcountry": None if n.chance(0.1) else rng.choice(company["country_aliases"]),
            "industry": None if n.chance(0.3) else company["industry"],
            "type": rng.choice(["Customer", "Prospect", "Partner"]),
            "annualrevenue": None if n.chance(0.4) else company["revenue"],
            "currencyisocode": company["currency"],
            "numberofemployees": None if n.chance(0.4) else company["employees"],
            "registration": company["registration"] if rng.random() < 0.5 else None,
            "systemmodstamp": modstamp,
            "createddate": modstamp - dt.timedelta(days=rng.randrange(1, 900)),
            "isdeleted": False,
            "_hc_lastop": "FAILED" if rng.random() < 0.01 else "SYNCED",
            "_hc_err": None,
        }
        return row

    def _contact_row(self, org: str, person: dict, company: dict, account_sfid: str) -> dict:
        n, rng = self.noise, self.rng
        self.counters[org]["contact"] += 1
        first, last = person["first"], person["last"]
        if n.chance(0.25) and first in NICKNAMES:
            first = NICKNAMES[first]
        if n.chance(0.15):
            first = n.typo(first)
        if n.chance(0.12):
            last = n.typo(last)
        if n.chance(0.2):
            first, last = n.deaccent(first), n.deaccent(last)
        if n.chance(0.05):
            first = first[0] + "."
        if n.chance(0.03):
            first, last = last, first
        email = person["email"]
        if n.chance(0.2):
            email = email.upper() if rng.random() < 0.5 else email.capitalize()
        modstamp = self.now - dt.timedelta(minutes=rng.randrange(60 * 24 * 365))
        mobile = person["mobile"]
        if rng.random() < 0.5:
            mobile = mobile.replace("+", "00")
        return {
            "sfid": demo_sfid("003", org, self.counters[org]["contact"]),
            "firstname": first,
            "lastname": last,
            "email": None if n.chance(0.25) else email,
            "phone": None if n.chance(0.3) else company["national_phone"],
            "mobilephone": None if n.chance(0.5) else mobile,
            "title": None if n.chance(0.3) else person["title"],
            "mailingstreet": None if n.chance(0.4) else company["street"],
            "mailingcity": None if n.chance(0.3) else company["city"],
            "mailingstate": company["state"] or None,
            "mailingpostalcode": None if n.chance(0.4) else company["postcode"],
            "mailingcountry": None if n.chance(0.3) else rng.choice(company["country_aliases"]),
            "birthdate": person["birthdate"]
            if person["birthdate"] and rng.random() < 0.7
            else None,
            "accountid": account_sfid,
            "systemmodstamp": modstamp,
            "createddate": modstamp - dt.timedelta(days=rng.randrange(1, 900)),
            "isdeleted": False,
            "_hc_lastop": "FAILED" if rng.random() < 0.01 else "SYNCED",
            "_hc_err": None,
        }

    # ------------------------------------------------------------ assembly

    def generate(self) -> DemoData:
        rng = self.rng
        accounts: dict[str, list[dict]] = {o: [] for o in self.orgs}
        contacts: dict[str, list[dict]] = {o: [] for o in self.orgs}
        truth: list[tuple[str, str, str, str]] = []
        companies = []
        for index in range(self.companies):
            if companies and rng.random() < 0.12:
                # A look-alike: the same brand, a different company.
                original = companies[rng.randrange(len(companies))]
                brand, sector = original["brand"], original["sector"]
                # Half the look-alikes share the sector too, in another city or country.
                avoid = sector if rng.random() < 0.5 else None
                companies.append(self._company(index, brand=brand, avoid_sector=avoid))
            else:
                companies.append(self._company(index))

        person_index = 0
        for company in companies:
            others = [o for o in self.orgs if o != company["home_org"]]
            present = [company["home_org"]] + [o for o in others if rng.random() < 0.35]
            people: list[dict] = []
            for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 6])):
                surname = people[0]["last"] if people and rng.random() < 0.15 else None
                person = self._person(company, person_index, surname)
                # Two colleagues with the same full name are rare enough to leave out.
                if any(
                    (p["first"], p["last"]) == (person["first"], person["last"]) for p in people
                ):
                    continue
                people.append(person)
                person_index += 1
            for org in present:
                copies = 2 if rng.random() < 0.06 else 1
                for _ in range(copies):
                    row = self._account_row(org, company)
                    accounts[org].append(row)
                    truth.append(("account", org, row["sfid"], company["entity"]))
                    for person in people:
                        if org != company["home_org"] and rng.random() < 0.3:
                            continue
                        contact = self._contact_row(org, person, company, row["sfid"])
                        contacts[org].append(contact)
                        truth.append(("contact", org, contact["sfid"], person["entity"]))

        data = DemoData(truth=pd.DataFrame(truth, columns=["object", "org", "sfid", "entity"]))
        for org in self.orgs:
            data.accounts[org] = pd.DataFrame(accounts[org])
            data.contacts[org] = pd.DataFrame(contacts[org])
        self._add_connect_states(data)
        # From a random stream of its own: the accounts and contacts stay as they were.
        data.pipeline = generate_pipeline(data.accounts, data.truth, self.seed)
        data.pipeline.contact_roles = contact_roles(
            data.pipeline.opportunities, data.contacts, self.seed
        )
        # Each contact role is a record of its own: its own entity in the truth.
        roles = [
            ("contact_role", org, sfid, f"role:{org}/{sfid}")
            for org, frame in data.pipeline.contact_roles.items()
            if not frame.empty
            for sfid in frame["sfid"]
        ]
        data.pipeline.truth = pd.concat(
            [data.pipeline.truth, pd.DataFrame(roles, columns=list(data.pipeline.truth.columns))],
            ignore_index=True,
        )
        data.leads = generate_leads(
            data.accounts,
            data.contacts,
            data.truth,
            data.pipeline.opportunities,
            self.seed,
            self.now,
        )
        data.truth = pd.concat(
            [data.truth, data.pipeline.truth, data.leads.truth], ignore_index=True
        )
        return data

    def _add_connect_states(self, data: DemoData) -> None:
        """A few rows Connect has not synced yet (no sfid) and a few soft-deleted ones."""
        rng = self.rng
        truth = data.truth
        dropped = set()
        for org in self.orgs:
            for obj, frames in (("account", data.accounts), ("contact", data.contacts)):
                frame = frames[org]
                if frame.empty:
                    continue
                pending = frame.sample(
                    n=max(1, len(frame) // 200), random_state=rng.randrange(10**6)
                ).index
                deleted = (
                    frame.drop(pending)
                    .sample(n=max(1, len(frame) // 200), random_state=rng.randrange(10**6))
                    .index
                )
                for i in pending:
                    dropped.add((obj, org, frame.at[i, "sfid"]))
                    frame.at[i, "sfid"] = None
                    frame.at[i, "_hc_lastop"] = "PENDING"
                for i in deleted:
                    dropped.add((obj, org, frame.at[i, "sfid"]))
                    frame.at[i, "isdeleted"] = True
        keep = [
            (o, g, s) not in dropped
            for o, g, s in truth[["object", "org", "sfid"]].itertuples(index=False)
        ]
        data.truth = truth[keep].reset_index(drop=True)
