"""A deterministic demo registry: areas, elders, children, households, volunteers, providers.

Every name, phone and ID number is invented from ``random.Random(seed)``: the same seed always
gives the same rows, and no row describes a real person. ID numbers start with the region code
``000000``, which does not exist, so they can never be mistaken for real ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, SQLModel, col, select

from careflow.areas import DISTRICTS
from careflow.db.crud import registry_is_empty
from careflow.db.tables import (
    Area,
    Consent,
    Donor,
    FamilyDoctorContract,
    Guardian,
    Household,
    HouseholdMember,
    Pairing,
    Person,
    Provider,
    Staff,
    Volunteer,
)

__all__ = [
    "DEMO_AREAS",
    "DEMO_CONSENT_COMMUNITY",
    "REFERENCE_DATE",
    "SeedSummary",
    "demo_child_without_consent",
    "seed_demo",
]

REFERENCE_DATE = date(2026, 1, 1)
"""Ages are computed at this date, not today, so that a seed always gives the same rows."""

# district → street (code, zh, en) → communities (code, zh, en). Names from the source report
# (王化街道九四社区, 玉园北社区, 桥东街道并州东街社区, 青年路二社区, 唐槐街道梧桐社区, 农牧场社区)
# and invented ones in the same style.
_Street = tuple[str, str, str, tuple[tuple[str, str, str], ...]]
DEMO_AREAS: dict[str, tuple[_Street, ...]] = {
    "wanbailin": (
        (
            "wanghua",
            "王化街道",
            "Wanghua Street",
            (
                ("jiusi", "九四社区", "Jiusi Community"),
                ("wanghua_north", "王化北社区", "Wanghua North Community"),
                ("heping_south", "和平南社区", "Heping South Community"),
            ),
        ),
        (
            "xinghua",
            "兴华街道",
            "Xinghua Street",
            (
                ("yuyuan_north", "玉园北社区", "Yuyuan North Community"),
                ("xinghua", "兴华社区", "Xinghua Community"),
            ),
        ),
        (
            "qianfeng",
            "千峰街道",
            "Qianfeng Street",
            (
                ("qianfeng", "千峰社区", "Qianfeng Community"),
                ("binhe", "滨河社区", "Binhe Community"),
            ),
        ),
    ),
    "yingze": (
        (
            "qiaodong",
            "桥东街道",
            "Qiaodong Street",
            (
                ("bingzhou_east", "并州东街社区", "Bingzhou East Street Community"),
                ("shuangta", "双塔社区", "Shuangta Community"),
                ("haozhuang", "郝庄社区", "Haozhuang Community"),
            ),
        ),
        (
            "laojunying",
            "老军营街道",
            "Laojunying Street",
            (
                ("qingnianlu_2", "青年路二社区", "Qingnian Road No. 2 Community"),
                ("laojunying", "老军营社区", "Laojunying Community"),
            ),
        ),
        (
            "liuxiang",
            "柳巷街道",
            "Liuxiang Street",
            (
                ("liubei", "柳北社区", "Liubei Community"),
                ("zhonglou", "钟楼社区", "Zhonglou Community"),
            ),
        ),
    ),
    "xinghualing": (
        (
            "julun",
            "巨轮街道",
            "Julun Street",
            (
                ("julun", "巨轮社区", "Julun Community"),
                ("xinjianlu", "新建路社区", "Xinjian Road Community"),
            ),
        ),
        (
            "jianhe",
            "涧河街道",
            "Jianhe Street",
            (
                ("jianhe", "涧河社区", "Jianhe Community"),
                ("xinghua_garden", "杏花园社区", "Xinghua Garden Community"),
                ("yingxin", "迎新社区", "Yingxin Community"),
            ),
        ),
        (
            "balingqiao",
            "坝陵桥街道",
            "Balingqiao Street",
            (
                ("balingqiao", "坝陵桥社区", "Balingqiao Community"),
                ("wuyilu", "五一路社区", "Wuyi Road Community"),
            ),
        ),
    ),
    "xiaodian": (
        (
            "tanghuai",
            "唐槐街道",
            "Tanghuai Street",
            (
                ("wutong", "梧桐社区", "Wutong Community"),
                ("nongmuchang", "农牧场社区", "Nongmuchang Community"),
                ("tanghuai", "唐槐社区", "Tanghuai Community"),
            ),
        ),
        (
            "wucheng",
            "坞城街道",
            "Wucheng Street",
            (
                ("wucheng", "坞城社区", "Wucheng Community"),
                ("xuefu", "学府社区", "Xuefu Community"),
            ),
        ),
        (
            "qinxian",
            "亲贤街道",
            "Qinxian Street",
            (
                ("qinxian", "亲贤社区", "Qinxian Community"),
                ("pingyang", "平阳社区", "Pingyang Community"),
            ),
        ),
    ),
}

DEMO_CONSENT_COMMUNITY = "wanbailin.wanghua.jiusi"
"""Where the demo's one child without any consent lives (see :func:`demo_child_without_consent`)."""
# Purposes every other demo child has a guardian's consent for, and the elders' own one. The
# codes are careflow.privacy.consent's; the seed stays below the privacy module.
_CHILD_PURPOSES = ("microwish", "classroom", "childcare_place")
_ELDER_PURPOSES = ("health_monitoring",)
_SEED_REQUEST = "seed"

ELDERS = 350
CHILDREN = 150
VOLUNTEERS = 60
DONORS = 40

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍建国建华志强桂芳淑珍凤兰"
    "文俊浩宇子涵欣怡梓轩雨桐一诺晨阳思远佳怡嘉豪睿泽若汐安琪博文"
)
_ORG_WORDS = ("商贸", "科技", "建材", "餐饮", "物业", "文化传媒", "医药", "机械")


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What ``seed_demo`` did: the rows it added per table, or why it skipped."""

    seed: int
    skipped: bool
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for logs and the CLI (counts only, no personal data)."""
        if self.skipped:
            return f"demo seed skipped: {self.reason}"
        return "demo seed {}: {}".format(
            self.seed, ", ".join(f"{name} {count}" for name, count in self.counts.items())
        )


class _Faker:
    """Invented names, phones, ID numbers and addresses from one seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._serial = 0

    def name(self) -> str:
        given = self.rng.choice(_GIVEN) + (
            self.rng.choice(_GIVEN) if self.rng.random() < 0.7 else ""
        )
        return self.rng.choice(_SURNAMES) + given

    def phone(self) -> str:
        return f"139{self.rng.randrange(10**8):08d}"

    def id_number(self, birth: date) -> str:
        self._serial += 1
        return f"000000{birth:%Y%m%d}{self._serial % 10000:04d}"

    def birth_date(self, age: int) -> date:
        return REFERENCE_DATE - timedelta(days=age * 365 + self.rng.randrange(365))

    def address(self, community_zh: str) -> str:
        return (
            f"{community_zh}{self.rng.randint(1, 30)}号楼{self.rng.randint(1, 6)}单元"
            f"{self.rng.randint(1, 18)}0{self.rng.randint(1, 4)}室"
        )


@dataclass(slots=True)
class _Community:
    code: str
    name_zh: str
    district: str
    street: str


class _Builder:
    """Builds the demo rows in dependency order."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.fake = _Faker(rng)
        self.counts: dict[str, int] = {}
        self.communities: list[_Community] = []
        self.streets: dict[str, list[tuple[str, str]]] = {}
        self._ids: dict[str, int] = {}

    def next_id(self, prefix: str, width: int) -> str:
        self._ids[prefix] = self._ids.get(prefix, 0) + 1
        return f"{prefix}{self._ids[prefix]:0{width}d}"

    def add(self, rows: list[SQLModel], table: str) -> None:
        self.session.add_all(rows)
        self.session.flush()
        self.counts[table] = self.counts.get(table, 0) + len(rows)

    # -- areas ------------------------------------------------------------------------------

    def areas(self) -> None:
        districts: list[SQLModel] = [
            Area(
                code=d.code,
                level="district",
                parent_code=None,
                name_zh=d.name_zh,
                name_en=f"{d.name_en} District",
            )
            for d in DISTRICTS.values()
        ]
        self.add(districts, "area")
        streets: list[SQLModel] = []
        communities: list[SQLModel] = []
        for district, street_rows in DEMO_AREAS.items():
            for street_code, street_zh, street_en, community_rows in street_rows:
                street = f"{district}.{street_code}"
                streets.append(
                    Area(
                        code=street,
                        level="street",
                        parent_code=district,
                        name_zh=street_zh,
                        name_en=street_en,
                    )
                )
                self.streets.setdefault(district, []).append((street, street_zh))
                for community_code, community_zh, community_en in community_rows:
                    code = f"{street}.{community_code}"
                    communities.append(
                        Area(
                            code=code,
                            level="community",
                            parent_code=street,
                            name_zh=community_zh,
                            name_en=community_en,
                        )
                    )
                    self.communities.append(_Community(code, community_zh, district, street))
        self.add(streets, "area")
        self.add(communities, "area")

    # -- people -------------------------------------------------------------------------------

    def person(
        self,
        kind: str,
        age: int,
        community: _Community,
        *,
        lives_alone: bool = False,
        disability_level: int = 0,
        low_income: bool = False,
        pensioner: bool = False,
        home_bound: bool = False,
    ) -> Person:
        birth = self.fake.birth_date(age)
        return Person(
            id=self.next_id("P", 5),
            kind=kind,
            name=self.fake.name(),
            id_number=self.fake.id_number(birth),
            phone=self.fake.phone() if kind != "child" else None,
            address=self.fake.address(community.name_zh),
            gender=self.rng.choice("MF"),
            birth_date=birth,
            community_code=community.code,
            lives_alone=lives_alone,
            disability_level=disability_level,
            low_income=low_income,
            pensioner=pensioner,
            home_bound=home_bound,
        )

    def elders(self) -> list[Person]:
        elders: list[Person] = []
        for _ in range(ELDERS):
            community = self.rng.choice(self.communities)
            age = 60 + int(self.rng.triangular(0, 38, 6))
            disability = 0 if self.rng.random() < 0.7 else self.rng.randint(1, 4)
            home_bound = disability >= 3 or (age >= 85 and self.rng.random() < 0.5)
            elders.append(
                self.person(
                    "elder",
                    age,
                    community,
                    lives_alone=self.rng.random() < 0.28,
                    disability_level=disability,
                    low_income=self.rng.random() < 0.08,
                    pensioner=self.rng.random() < 0.8,
                    home_bound=home_bound,
                )
            )
        self.add(list(elders), "person")
        households: list[SQLModel] = []
        members: list[SQLModel] = []
        for elder in elders:
            household_id = self.next_id("H", 5)
            households.append(
                Household(
                    id=household_id,
                    community_code=elder.community_code,
                    low_income=elder.low_income,
                )
            )
            members.append(
                HouseholdMember(household_id=household_id, person_id=elder.id, relation="head")
            )
        self.add(households, "household")
        self.add(members, "household_member")
        return elders

    def children(self) -> None:
        children: list[SQLModel] = []
        adults: list[SQLModel] = []
        households: list[SQLModel] = []
        members: list[SQLModel] = []
        guardians: list[SQLModel] = []
        made = 0
        while made < CHILDREN:
            community = self.rng.choice(self.communities)
            low_income = self.rng.random() < 0.55
            household_id = self.next_id("H", 5)
            households.append(
                Household(id=household_id, community_code=community.code, low_income=low_income)
            )
            carers: list[tuple[Person, str, bool]] = []
            for relation, gender in (("mother", "F"), ("father", "M")):
                if relation == "father" and self.rng.random() < 0.25:
                    continue  # single-parent household
                parent = self.person(
                    "adult", self.rng.randint(26, 45), community, low_income=low_income
                )
                parent.gender = gender
                carers.append((parent, relation, True))
            if self.rng.random() < 0.3:
                grandparent = self.person(
                    "adult", self.rng.randint(50, 59), community, low_income=low_income
                )
                relation = "grandmother" if grandparent.gender == "F" else "grandfather"
                carers.append((grandparent, relation, self.rng.random() < 0.7))
            for carer, relation, _ in carers:
                adults.append(carer)
                members.append(
                    HouseholdMember(
                        household_id=household_id,
                        person_id=carer.id,
                        relation="parent" if relation in ("mother", "father") else "grandparent",
                    )
                )
            for _ in range(min(self.rng.choice((1, 1, 1, 2)), CHILDREN - made)):
                child = self.person(
                    "child",
                    self.rng.randint(0, 14),
                    community,
                    low_income=low_income,
                    disability_level=0 if self.rng.random() < 0.97 else 1,
                )
                children.append(child)
                made += 1
                members.append(
                    HouseholdMember(household_id=household_id, person_id=child.id, relation="child")
                )
                for carer, relation, pickup in carers:
                    guardians.append(
                        Guardian(
                            child_id=child.id,
                            guardian_id=carer.id,
                            relation=relation,
                            authorised_pickup=pickup,
                        )
                    )
        self.add(adults, "person")
        self.add(children, "person")
        self.add(households, "household")
        self.add(members, "household_member")
        self.add(guardians, "guardian")

    # -- volunteers and pairings ------------------------------------------------------------------

    def volunteers(self, elders: list[Person]) -> None:
        homes = [*self.communities, *self.communities]
        homes += [self.rng.choice(self.communities) for _ in range(VOLUNTEERS - len(homes))]
        people: list[SQLModel] = []
        volunteers: list[Volunteer] = []
        by_community: dict[str, list[Volunteer]] = {}
        for community in homes[:VOLUNTEERS]:
            kind = self.rng.choice(("student", "party_member", "resident", "resident"))
            person_id: str | None = None
            name = self.fake.name()
            phone = self.fake.phone()
            if kind == "resident":
                resident = self.person("adult", self.rng.randint(30, 59), community)
                resident.name, resident.phone = name, phone
                people.append(resident)
                person_id = resident.id
            volunteer = Volunteer(
                id=self.next_id("V", 4),
                person_id=person_id,
                name=name,
                phone=phone,
                community_code=community.code,
                kind=kind,
            )
            volunteers.append(volunteer)
            by_community.setdefault(community.code, []).append(volunteer)
        self.add(people, "person")
        self.add(list(volunteers), "volunteer")
        pairings: list[SQLModel] = []
        for elder in elders:
            if not elder.lives_alone:
                continue
            nearby = by_community[elder.community_code]
            pairings.append(
                Pairing(
                    volunteer_id=self.rng.choice(nearby).id,
                    elder_id=elder.id,
                    kind="curtain",
                    active=True,
                )
            )
            age = REFERENCE_DATE.year - elder.birth_date.year
            if elder.disability_level >= 3 or age >= 85:
                pairings.append(
                    Pairing(
                        volunteer_id=self.rng.choice(nearby).id,
                        elder_id=elder.id,
                        kind="one_to_one",
                        active=True,
                    )
                )
        self.add(pairings, "pairing")

    # -- providers, donors, staff ---------------------------------------------------------------

    def providers(self) -> None:
        rows: list[SQLModel] = []
        for district in DEMO_AREAS:
            zh = DISTRICTS[district].name_zh
            local = [c for c in self.communities if c.district == district]
            rows.append(
                Provider(
                    id=self.next_id("PV", 3),
                    kind="hospital",
                    name_zh=f"{zh}中心医院",
                    district_code=district,
                    partner=True,
                )
            )
            rows.append(
                Provider(
                    id=self.next_id("PV", 3),
                    kind="hospital",
                    name_zh=f"{zh}第二人民医院",
                    district_code=district,
                    partner=False,
                )
            )
            for _street, street_zh in self.streets[district]:
                rows.append(
                    Provider(
                        id=self.next_id("PV", 3),
                        kind="health_centre",
                        name_zh=f"{street_zh}社区卫生服务中心",
                        district_code=district,
                    )
                )
            for community in self.rng.sample(local, 3):
                rows.append(
                    Provider(
                        id=self.next_id("PV", 3),
                        kind="dining_table",
                        name_zh=f"{community.name_zh}小饭桌",
                        district_code=district,
                        community_code=community.code,
                        capacity=self.rng.randrange(20, 61, 5),
                    )
                )
            rows.append(
                Provider(
                    id=self.next_id("PV", 3),
                    kind="childcare",
                    name_zh=f"{zh}托育综合服务示范中心",
                    district_code=district,
                    capacity=self.rng.randrange(80, 161, 10),
                )
            )
            for community in self.rng.sample(local, 2):
                rows.append(
                    Provider(
                        id=self.next_id("PV", 3),
                        kind="childcare",
                        name_zh=f"{community.name_zh}普惠托育点",
                        district_code=district,
                        community_code=community.code,
                        capacity=self.rng.randrange(20, 61, 5),
                    )
                )
        self.add(rows, "provider")

    def donors(self) -> None:
        rows: list[SQLModel] = []
        for _ in range(DONORS):
            district = self.rng.choice(tuple(DEMO_AREAS))
            if self.rng.random() < 0.6:
                kind, name = "person", self.fake.name()
            else:
                kind = "organisation"
                name = f"太原{self.rng.choice(_SURNAMES)}氏{self.rng.choice(_ORG_WORDS)}有限公司"
            rows.append(
                Donor(
                    id=self.next_id("D", 4),
                    name=name,
                    kind=kind,
                    district_code=district,
                    phone=self.fake.phone(),
                )
            )
        self.add(rows, "donor")

    def staff(self) -> dict[str, str]:
        """Add the staff; returns street code → the street health centre's family doctor."""
        rows: list[SQLModel] = []
        doctors: dict[str, str] = {}

        def member(role: str, district: str, community: str | None = None) -> str:
            staff_id = self.next_id("S", 4)
            rows.append(
                Staff(
                    id=staff_id,
                    name=self.fake.name(),
                    role=role,
                    district_code=district,
                    community_code=community,
                    # A fixed time, so the same seed gives the same rows.
                    created_at=datetime.combine(REFERENCE_DATE, time(), tzinfo=UTC),
                )
            )
            return staff_id

        for district in DEMO_AREAS:
            member("district_admin", district)
            member("charity_officer", district)
            member("hospital", district)
            member("lawyer", district)
            member("auditor", district)
            for street, _zh in self.streets[district]:
                doctors[street] = member("doctor", district)
            for community in (c for c in self.communities if c.district == district):
                member("grid_worker", district, community.code)
                member("community_staff", district, community.code)
        self.add(rows, "staff")
        return doctors

    def consents(self) -> None:
        """A guardian's consent for every child and purpose, the elders' own for health
        monitoring: signed on the reference date, recorded by the district admin. Uses no
        randomness, so adding it changed no other seeded row."""
        admins = {
            s.district_code: s.id
            for s in self.session.exec(select(Staff).where(Staff.role == "district_admin"))
        }
        at = datetime.combine(REFERENCE_DATE, time(), tzinfo=UTC)
        # The consenting guardian: the mother, else the father, else a grandparent.
        order = {"mother": 0, "father": 1}
        first: dict[str, Guardian] = {}
        links = self.session.exec(select(Guardian).order_by(col(Guardian.guardian_id))).all()
        for link in links:
            held = first.get(link.child_id)
            if held is None or order.get(link.relation, 2) < order.get(held.relation, 2):
                first[link.child_id] = link
        rows: list[SQLModel] = []
        people = self.session.exec(select(Person).order_by(col(Person.id))).all()
        for person in people:
            district = person.community_code.split(".", 1)[0]
            if person.kind == "child" and person.id in first:
                link = first[person.id]
                grants = [(p, link.guardian_id, link.relation) for p in _CHILD_PURPOSES]
            elif person.kind == "elder":
                grants = [(p, person.id, "self") for p in _ELDER_PURPOSES]
            else:
                continue
            for purpose, granter, relation in grants:
                rows.append(
                    Consent(
                        subject_id=person.id,
                        purpose=purpose,
                        granted_by_id=granter,
                        relation=relation,
                        granted_on=REFERENCE_DATE,
                        recorded_by=admins.get(district, "seed"),
                        recorded_at=at,
                        evidence_ref=f"DEMO-{person.id}-{purpose}",
                        request_id=_SEED_REQUEST,
                    )
                )
        self.add(rows, "consent")

    def child_without_consent(self, seed: int) -> None:
        """One more child, two years old, in a family of 九四社区 and with no consent at all,
        so that a demo user sees each process refuse to use a child's data without it.

        Made after every other row, from a generator of its own: no other row changed.
        """
        # A family that is not low-income: campaigns for low-income households (micro-wish)
        # do not select the child by themselves, so their demo counts stay as they were.
        sibling = self.session.exec(
            select(Person)
            .join(Guardian, col(Guardian.child_id) == col(Person.id))
            .where(
                Person.kind == "child",
                Person.community_code == DEMO_CONSENT_COMMUNITY,
                col(Person.low_income).is_(False),
            )
            .order_by(col(Person.id))
        ).first()
        if sibling is None:
            return
        fake = _Faker(random.Random(seed * 1000 + 14))
        fake._serial = 9998  # far from the serials of the main generator's ID numbers
        birth = REFERENCE_DATE - timedelta(days=2 * 365 + 100)
        child = Person(
            id=self.next_id("P", 5),
            kind="child",
            name=fake.name(),
            id_number=fake.id_number(birth),
            phone=None,
            address=sibling.address,
            gender="F",
            birth_date=birth,
            community_code=sibling.community_code,
            low_income=sibling.low_income,
        )
        self.add([child], "person")
        membership = self.session.exec(
            select(HouseholdMember).where(HouseholdMember.person_id == sibling.id)
        ).first()
        if membership is not None:
            self.add(
                [
                    HouseholdMember(
                        household_id=membership.household_id, person_id=child.id, relation="child"
                    )
                ],
                "household_member",
            )
        links = self.session.exec(
            select(Guardian)
            .where(Guardian.child_id == sibling.id)
            .order_by(col(Guardian.guardian_id))
        ).all()
        self.add(
            [
                Guardian(
                    child_id=child.id,
                    guardian_id=g.guardian_id,
                    relation=g.relation,
                    authorised_pickup=g.authorised_pickup,
                )
                for g in links
            ],
            "guardian",
        )

    def family_doctors(self, elders: list[Person], doctors: dict[str, str]) -> None:
        """Contracts with the street's family doctor: every disabled elder (a key group that
        must be signed) and three in four of the others. Uses no randomness, so adding it did
        not change any other seeded row."""
        rows: list[SQLModel] = []
        for n, elder in enumerate(elders):
            if elder.disability_level == 0 and n % 4 == 3:
                continue
            street = elder.community_code.rsplit(".", 1)[0]
            rows.append(
                FamilyDoctorContract(
                    person_id=elder.id,
                    doctor_id=doctors[street],
                    signed_on=REFERENCE_DATE - timedelta(days=30 * (n % 24)),
                )
            )
        self.add(rows, "family_doctor_contract")


def seed_demo(session: Session, *, seed: int = 2026) -> SeedSummary:
    """Fill an empty registry with a deterministic, invented demo population.

    Areas are added for all six districts; streets, communities and people for the four the
    source names (Wanbailin, Yingze, Xinghualing, Xiaodian). Safe to call at every start: a
    registry that already holds areas is left alone.

    Args:
        session: The open session; the caller commits.
        seed: Seed of the random generator; the same seed gives the same rows.

    Returns:
        The rows added per table, or a summary saying why nothing was added.
    """
    if not registry_is_empty(session):
        added = _backfill_consents(session, seed)
        if added:
            return SeedSummary(
                seed=seed,
                skipped=True,
                reason="the registry is not empty; the demo consents it lacked were recorded",
                counts={"consent": added},
            )
        return SeedSummary(seed=seed, skipped=True, reason="the registry is not empty")
    builder = _Builder(session, random.Random(seed))
    builder.areas()
    elders = builder.elders()
    builder.children()
    builder.volunteers(elders)
    builder.providers()
    builder.donors()
    doctors = builder.staff()
    builder.family_doctors(elders, doctors)
    builder.consents()
    builder.child_without_consent(seed)
    return SeedSummary(seed=seed, skipped=False, counts=dict(sorted(builder.counts.items())))


def _backfill_consents(session: Session, seed: int) -> int:
    """Record the demo consents in a demo registry seeded before consents existed.

    Only a registry with no consent at all whose every person is invented (ID numbers in the
    non-existent region ``000000``) is the demo's: a real registry is never given consents.

    Returns:
        How many consents were recorded.
    """
    if session.exec(select(Consent.id)).first() is not None:
        return 0
    real = session.exec(select(Person.id).where(col(Person.id_number).not_like("000000%"))).first()
    if real is not None:
        return 0
    builder = _Builder(session, random.Random(seed))
    builder.consents()
    return builder.counts.get("consent", 0)


def demo_child_without_consent(session: Session) -> str | None:
    """The demo registry's child without any consent (in :data:`DEMO_CONSENT_COMMUNITY`)."""
    consenting = select(Consent.subject_id)
    return session.exec(
        select(Person.id)
        .where(
            Person.kind == "child",
            Person.community_code == DEMO_CONSENT_COMMUNITY,
            col(Person.id).not_in(consenting),
        )
        .order_by(col(Person.id).desc())
    ).first()
