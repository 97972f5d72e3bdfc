"""Sensitive-item triage: which incoming messages should page the leaders.

Why not a keyword list: on the real messages in ../shared/data a bare keyword
hit is far more often a false alarm than an alert (NOTES.md, "Sensitive-item
triage on real text"). Read on that data, the false alarms are:

* figures of speech and names: 跳楼机 (a fairground ride), an elevator or a
  ticket gate that 罢工s (breaks down), 信息大爆炸, 严重伤害 (contains 重伤),
  "一哭二闹三上吊", 吵死人;
* planning and legal text: 人员聚集场所, 楼盘聚集;
* warnings about what *could* happen, the bulk of them: "一旦发生火灾", "万一
  发生事故", "难道非要等出了人命才重视";
* past events: "2017年…打成重伤", "去年…坠楼死亡";
* events elsewhere cited as a warning: "天津大爆炸的阴霾还没散去", "本月江苏
  化工起火", "近日看到重庆连续发生…火灾";
* a word quoted as someone's words: 开发商的建议是"跳楼";
* negations: "所幸无人员伤亡", "未拉横幅".

The messages leaders must see read differently: people (not machines) acting
now or soon - blocking a gate today, sitting in, planning a demonstration,
threatening to jump "如果今年12月底拿不到新房…他们要去跳楼" - a death or an
injury, an extreme act by a desperate petitioner.

The rule
--------
1. Terms of each :class:`SensitivityCategory` are found with one
   Aho-Corasick pass over title + body (overlapping hits included, so
   "食物中毒" also yields "中毒"). ``weak_terms`` count half: words that are
   alarming only in company (聚集, 火灾, 民族, 中毒 …).
2. **Exclusions** neutralise hits: a phrase ("跳楼机", "无人员伤亡") removes
   the hits it contains; a rule ``"罢工@电梯"`` removes a 罢工 whose sentence
   mentions 电梯 (who acts: a machine).
3. Each remaining hit gets a **context factor** from the markers near it
   (within 30 characters, inside its sentence; past and elsewhere markers up
   to 60 characters back, since they open the story): rhetorical ("难道",
   "非要等", "才会重视") x0.2 - wins over everything; imminent or acting now
   ("明天", "正在", "扬言", "要去", "再不解决", "今天") x1.5 - wins over the
   reducers below, because a conditional threat ("如果…他们要去跳楼") is
   exactly what must page; otherwise, multiplied: hypothetical ("一旦",
   "万一", "隐患", "引发") x0.2, elsewhere (another province, "新闻", "看到")
   x0.3, past or chronic ("去年", "曾经", "多次", a year before
   ``reference_year``, any year before 2000) x0.4. Further: a sentence that
   ends in a question mark x0.5, a short quoted word x0.2, a hit in the
   title x1.25 (the title is what the message is about). Of several
   occurrences of a term the best one counts.
4. **Score**: per category, its best hit (weight x factor) plus a quarter of
   each further distinct term's best; overall, the best category plus half of
   each other category. Several signals together add up; one weak or reduced
   signal does not.
5. ``sensitive`` when the score reaches the threshold (``DEFAULT_THRESHOLD``
   = 1.0, to be set from the config). With the default weights one plain hit
   of a full-weight category (threat to life, mass incident, accident, public
   health) pages; corruption and misconduct need two signals or a present
   marker, and allegations alone (保护伞, 受贿, 黑恶势力 - weak terms) never
   page; ethnic/religious words never page alone (weight 0.4).

Build a :class:`SensitivityTriage` once per configuration (it compiles one
automaton for terms, exclusions and context markers) and call ``assess`` per
message; the module-level :func:`assess` caches one per argument set.

Measured on the 4,820 distinct messages of the two data files (the same
data it was tuned on, so expect worse on new text): with ``reference_year``
set to each message's year 30 are flagged (0.6%; 37 without it), and 21 of
the 30 read as right on a hand check - people blocking a gate or planning a
demonstration, threats to jump, a death, assaults. The 9 wrong ones are
past events told at length, litigation narratives and one explosion
elsewhere cited as a warning. A bare keyword match over the same terms
flags 556 messages (164 on the full-weight terms alone). Messages just under the threshold are mostly single
assaults told without a present marker; the score and reasons are kept so a
card can show them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.rules.matcher import Match, TermMatcher, drop_covered, fold_ascii, sentence_bounds

#: Score at which a message pages the leaders (config overrides it).
DEFAULT_THRESHOLD: float = 1.0

#: Factor of a hit in the title.
TITLE_FACTOR: float = 1.25
#: How much each further distinct term of a category adds (share of its score).
SAME_CATEGORY_SHARE: float = 0.25
#: How much each further category adds (share of its score).
OTHER_CATEGORY_SHARE: float = 0.5
#: Share of a category weight that a weak term carries.
WEAK_SHARE: float = 0.5


@dataclass(frozen=True)
class SensitivityCategory:
    """A kind of sensitive matter with its terms and weight.

    ``terms`` carry the full ``weight``; ``weak_terms`` carry half of it and
    so need company (another term, a present marker, the title) to page.
    """

    key: str
    name_zh: str
    name_en: str
    terms: tuple[str, ...]
    weight: float
    weak_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContextMarkers:
    """Words that, in the same sentence as a hit, change how much it counts.

    ``elsewhere`` holds names of other provinces and words for news; a
    deployment must drop its own province from it (the data set anonymised
    its own province as 西地省, which is why 湖南 is safe to keep here).
    """

    imminent: tuple[str, ...]
    rhetorical: tuple[str, ...]
    hypothetical: tuple[str, ...]
    past: tuple[str, ...]
    elsewhere: tuple[str, ...]
    imminent_factor: float = 1.5
    rhetorical_factor: float = 0.2
    hypothetical_factor: float = 0.2
    past_factor: float = 0.4
    elsewhere_factor: float = 0.3
    quoted_factor: float = 0.2
    question_factor: float = 0.5
    #: Markers count within this many characters of the hit, inside its
    #: sentence: these messages run long sentences of comma clauses, and a
    #: "如果" forty characters away is usually about something else.
    window: int = 30
    #: Past and elsewhere markers open the story ("去年八月份，因…导致一名
    #: 男童跌落死亡"), so they are looked for further back.
    window_before_setting: int = 60


@dataclass(frozen=True)
class Assessment:
    """Result of triage for one message.

    ``category`` is the key of the top-scoring category (``None`` when nothing
    matched); ``terms`` are the matched terms after exclusions, in text order
    (reduced ones included: they explain a near miss); ``reasons`` explain the
    score for the card shown to a person; ``category_scores`` ranks every
    category that matched.
    """

    sensitive: bool
    score: float
    category: str | None
    terms: tuple[str, ...]
    reasons: tuple[str, ...]
    category_scores: tuple[tuple[str, float], ...] = field(default=(), compare=False)


DEFAULT_CATEGORIES: tuple[SensitivityCategory, ...] = (
    SensitivityCategory(
        key="mass_incident",
        name_zh="群体性事件、集体上访",
        name_en="Mass gatherings and petitions",
        terms=(
            "集体堵路",
            "村民堵路",
            "群众堵路",
            "业主堵路",
            "工人堵路",
            "去堵路",
            "要堵路",
            "堵国道",
            "堵省道",
            "堵门",
            "暴力围堵",
            "游行",
            "集体上访",
            "群体上访",
            "越级上访",
            "进京上访",
            "静坐",
            "罢工",
            "罢课",
            "罢市",
            "示威",
            "拉横幅",
            "打横幅",
            "举横幅",
            "冲击政府",
            "冲击派出所",
            "集体讨薪",
            "集体讨要",
            "集体维权",
            "聚众维权",
            "群体维权",
            "围攻",
            "群殴",
            "械斗",
            "堵工",
            "打砸",
        ),
        weight=1.0,
        weak_terms=(
            "聚集",
            "群体性",
            "闹事",
            "集体抱团",
            "下跪",
            "跪求",
            "堵路",
            "围堵",
            "阻工",
            "上街",
            "讨薪",
        ),
    ),
    SensitivityCategory(
        key="threat_to_life",
        name_zh="危及生命、极端行为",
        name_en="Threats to life and extreme acts",
        terms=(
            "跳楼",
            "从楼上跳下",
            "自杀",
            "自焚",
            "轻生",
            "以死相逼",
            "以死明志",
            "喝农药",
            "服毒",
            "跳河",
            "跳江",
            "上吊",
            "割腕",
            "寻死",
            "同归于尽",
            "不想活",
            "活不下去",
            "一死了之",
            "死也要死在",
        ),
        weight=1.2,
        weak_terms=("走投无路", "绝路", "以死"),
    ),
    SensitivityCategory(
        key="accident",
        name_zh="事故灾害、伤亡",
        name_en="Accidents, disasters, deaths and injuries",
        terms=(
            "死亡",
            "身亡",
            "遇难",
            "溺亡",
            "丧生",
            "致死",
            "重伤",
            "爆炸",
            "泥石流",
            "溃坝",
            "决堤",
        ),
        weight=1.0,
        weak_terms=(
            "伤亡",
            "死伤",
            "坍塌",
            "垮塌",
            "山体滑坡",
            "火灾",
            "起火",
            "着火",
            "大火",
            "受伤",
            "车祸",
            "坠楼",
            "砸伤",
            "撞伤",
        ),
    ),
    SensitivityCategory(
        key="public_health",
        name_zh="公共卫生",
        name_en="Public health",
        terms=(
            "食物中毒",
            "集体中毒",
            "疫情",
            "传染病",
            "禽流感",
            "霍乱",
            "非典",
            "鼠疫",
            "狂犬病",
            "集体腹泻",
        ),
        weight=1.0,
        weak_terms=("中毒", "传染", "感染", "病毒", "呕吐", "腹泻", "发烧", "猪瘟", "肺炎"),
    ),
    SensitivityCategory(
        key="corruption",
        name_zh="腐败、涉黑与违法违纪",
        name_en="Corruption, organised crime and misconduct",
        terms=(
            "打人",
            "殴打",
            "打伤",
            "暴力执法",
            "拳打脚踢",
            "持刀",
            "砍伤",
            "砍人",
            "行凶",
            "捅伤",
            "刺伤",
        ),
        weight=0.7,
        weak_terms=(
            "贪污",
            "受贿",
            "索贿",
            "行贿",
            "挪用公款",
            "权钱交易",
            "保护伞",
            "黑恶势力",
            "黑恶",
            "涉黑涉恶",
            "涉黑",
            "黑社会",
            "恶势力",
            "腐败",
            "官商勾结",
            "贪腐",
            "恐吓",
        ),
    ),
    SensitivityCategory(
        key="ethnic_religious",
        name_zh="民族宗教",
        name_en="Ethnic and religious matters",
        terms=(
            "少数民族",
            "宗教",
            "清真",
            "寺庙",
            "穆斯林",
            "教堂",
            "邪教",
            "回族",
            "维吾尔",
            "藏族",
            "传教",
        ),
        weight=0.4,
        weak_terms=("民族",),
    ),
)

#: Exclusions. A plain phrase neutralises the hits inside it; "term@context"
#: neutralises the term when the context word is in the same sentence.
DEFAULT_EXCLUSIONS: tuple[str, ...] = (
    # figures of speech, names
    "跳楼价",
    "跳楼机",
    "跳楼甩卖",
    "跳楼大甩卖",
    "三上吊",
    "信息大爆炸",
    "大爆炸的时代",
    "爆炸场",
    "爆炸性",
    "知识爆炸",
    "人口爆炸",
    "严重伤害",
    "冲击力",
    "冲击钻",
    "冲击波",
    "冲击了",
    "造成冲击",
    "带来冲击",
    "受到冲击",
    "视觉冲击",
    "冲击镐",
    "冲击着",
    "中华民族",
    "民族复兴",
    "民族乡",
    "民族中学",
    "民族学院",
    "民族大学",
    "民族路",
    "心情上街",
    "旅游行",
    "游行程",
    "拥堵路",
    "堵路上",
    "鸣笛示威",
    "示威@围挡",
    "的今天",
    # machines and devices do not strike
    "罢工@电梯",
    "罢工@闸机",
    "罢工@机器",
    "罢工@设备",
    "罢工@空调",
    "罢工@电脑",
    "罢工@手机",
    "罢工@卡顿",
    "罢工@系统",
    "罢工@水泵",
    "罢工@路灯",
    # planning and legal wording
    "聚集场所",
    "聚集地",
    "聚集区",
    "聚集效应",
    "聚集住宅",
    "楼盘聚集",
    "商户聚集",
    "聚集@摊贩",
    "聚集@夜宵",
    "聚集@烧烤",
    "聚集@赌博",
    "聚集@麻将",
    "聚集@白鹭",
    "聚集@油烟",
    "聚集@垃圾",
    "群体性事件的发生",
    # negations
    "无人员伤亡",
    "传染病防治",
    "传染病及",
    "传染病报告",
    "传染病管理",
    "定时炸弹",
    "死亡@衰竭",
    "无人伤亡",
    "未造成人员伤亡",
    "没有造成人员伤亡",
    "未造成伤亡",
    "没有人员伤亡",
    "未导致人员死亡",
    "未拉横幅",
    "没有拉横幅",
    "未打横幅",
    "未举横幅",
    "不打横幅",
    "没有打横幅",
    "未进行任何上访",
    "不要上访",
    # animals and plants
    "死亡@蜜蜂",
    "死亡@鱼",
    "死亡@树",
    "死亡@鸡鸭",
    "死亡@牲畜",
    "死亡@苗木",
    # statistics and paperwork
    "死亡率",
    "死亡人口",
    "死亡证明",
    "死亡证",
    "意外伤残、死亡",
)

DEFAULT_MARKERS = ContextMarkers(
    imminent=(
        "明天",
        "后天",
        "明早",
        "今晚",
        "今天",
        "将要",
        "即将",
        "准备去",
        "准备到",
        "正在",
        "扬言",
        "要去",
        "要到",
        "就去",
        "再不解决",
        "再不处理",
        "再不给",
        "否则就",
        "计划组织",
        "打算",
        "不得已",
    ),
    rhetorical=(
        "难道",
        "非要等",
        "非得等",
        "非得",
        "才会重视",
        "才能引起",
        "才重视",
        "才会引起",
        "一定要等",
        "不要等",
        "等到出",
        "迟早",
        "要不是",
        "能弥补",
    ),
    hypothetical=(
        "一旦",
        "万一",
        "如果",
        "假如",
        "若是",
        "倘若",
        "如有",
        "如发生",
        "可能",
        "隐患",
        "风险",
        "危险",
        "以免",
        "以防",
        "避免",
        "防止",
        "预防",
        "担心",
        "害怕",
        "随时",
        "极易",
        "容易",
        "会不会",
        "是否会",
        "后果不堪设想",
        "不堪设想",
        "试想",
        "谁负责",
        "谁来负责",
        "怎么办",
        "有可能",
        "不能保证",
        "会造成",
        "将造成",
        "将会",
        "会立即",
        "可引起",
        "不知什么时候",
        "什么时候会",
        "导致的后果",
        "不要让",
        "不要采取",
        "克制",
        "引起",
        "引发",
        "酿成",
        "提心吊胆",
    ),
    past=(
        "去年",
        "前年",
        "年前",
        "当年",
        "曾经",
        "曾发生",
        "曾因",
        "发生过",
        "有过",
        "经常",
        "多次",
        "屡次",
        "时有发生",
        "了两次",
        "了几次",
        "了多次",
        "层出不穷",
        "司空见惯",
        "以前",
        "早几年",
        "前几年",
        "多年前",
        "历史上",
        "上世纪",
        "文革",
    ),
    elsewhere=(
        "北京",
        "天津",
        "上海",
        "重庆",
        "河北",
        "山西",
        "辽宁",
        "吉林",
        "黑龙江",
        "江苏",
        "浙江",
        "安徽",
        "福建",
        "江西",
        "山东",
        "河南",
        "湖北",
        "湖南",
        "广东",
        "广西",
        "海南",
        "四川",
        "贵州",
        "云南",
        "陕西",
        "甘肃",
        "青海",
        "宁夏",
        "新疆",
        "西藏",
        "内蒙古",
        "台湾",
        "香港",
        "澳门",
        "武汉",
        "深圳",
        "广州",
        "杭州",
        "南京",
        "成都",
        "全国",
        "各地",
        "外地",
        "外省",
        "国外",
        "新闻",
        "报道",
        "看到",
        "据说",
        "听说",
        "案例",
        "前车之鉴",
        "类似",
        "又一个",
        "其他小区",
    ),
)

_YEAR = re.compile(r"(?<![0-9])(1[89][0-9]{2}|20[0-9]{2})年")
_SHORT_YEAR = re.compile(r"(?<![0-9])([0-2][0-9])年(?=[0-9]{1,2}月)")
_QUOTE = re.compile(r"[“\"「『‘]([^“”\"「」『』‘’\n]{1,8})[”\"」』’]")

# Kinds of entries in the one automaton.
_K_TERM, _K_EXCL, _K_EXCL_CTX = "t", "x", "xc"
_K_IMM, _K_RHE, _K_HYP, _K_PAST, _K_ELSE = "imm", "rhe", "hyp", "past", "else"


@dataclass(frozen=True)
class _TermInfo:
    category: str
    parts: tuple[str, ...]
    weak: bool


def _parts(term: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in term.split("+") if p.strip())


class SensitivityTriage:
    """Compiled triage for one set of categories, exclusions and markers."""

    def __init__(
        self,
        categories: Sequence[SensitivityCategory] = DEFAULT_CATEGORIES,
        exclusions: Iterable[str] = DEFAULT_EXCLUSIONS,
        threshold: float = DEFAULT_THRESHOLD,
        markers: ContextMarkers = DEFAULT_MARKERS,
        reference_year: int | None = None,
    ) -> None:
        self.categories = tuple(categories)
        self.threshold = float(threshold)
        self.markers = markers
        self.reference_year = reference_year
        self._weights = {c.key: float(c.weight) for c in self.categories}

        self._terms: dict[str, list[_TermInfo]] = {}
        for cat in self.categories:
            for term, weak in [(t, False) for t in cat.terms] + [(t, True) for t in cat.weak_terms]:
                term = term.strip()
                if term:
                    self._terms.setdefault(term, []).append(_TermInfo(cat.key, _parts(term), weak))

        entries: list[tuple[str, tuple[str, str]]] = []
        for parts in {info.parts for infos in self._terms.values() for info in infos}:
            entries.extend((p, (_K_TERM, p)) for p in parts)
        self._context_rules: list[tuple[str, str]] = []
        for excl in exclusions:
            excl = excl.strip()
            if not excl:
                continue
            if "@" in excl:
                term, ctx = (s.strip() for s in excl.split("@", 1))
                if term and ctx:
                    self._context_rules.append((term, ctx))
                    entries.append((ctx, (_K_EXCL_CTX, ctx)))
            else:
                entries.append((excl, (_K_EXCL, excl)))
        for kind, words in (
            (_K_IMM, markers.imminent),
            (_K_RHE, markers.rhetorical),
            (_K_HYP, markers.hypothetical),
            (_K_PAST, markers.past),
            (_K_ELSE, markers.elsewhere),
        ):
            entries.extend((w.strip(), (kind, w.strip())) for w in words if w.strip())
        self._matcher: TermMatcher[tuple[str, str]] = TermMatcher(entries)
        # the terms alone: most messages contain none, and then there is nothing to weigh
        self._any_term: TermMatcher[None] = TermMatcher((e[0], None) for e in entries if e[1][0] == _K_TERM)

    # -- context -------------------------------------------------------------

    def _factor(
        self,
        text: str,
        hit: Match[tuple[str, str]],
        markers: list[Match[tuple[str, str]]],
        quotes: list[tuple[int, int]],
        title_end: int,
        reference_year: int | None,
    ) -> tuple[float, str]:
        """Context factor of one hit and a short note saying why."""
        mk = self.markers
        s_left, s_right = sentence_bounds(text, hit.start, hit.end)
        left = max(s_left, hit.start - mk.window)
        right = min(s_right, hit.end + mk.window)
        far_left = max(s_left, hit.start - mk.window_before_setting)
        kinds: dict[str, str] = {}
        for m in markers:
            lo = far_left if m.value[0] in (_K_PAST, _K_ELSE) else left
            if lo <= m.start and m.end <= right and m.value[0] not in kinds:
                kinds[m.value[0]] = m.term
        old_year = self._old_year(text[far_left:right], reference_year)
        if old_year:
            kinds.setdefault(_K_PAST, old_year)

        factor, notes = 1.0, []
        if _K_RHE in kinds:
            factor *= mk.rhetorical_factor
            notes.append(f"rhetorical {kinds[_K_RHE]}")
        elif _K_IMM in kinds:
            factor *= mk.imminent_factor
            notes.append(f"now/soon {kinds[_K_IMM]}")
        else:
            for kind, f, label in (
                (_K_HYP, mk.hypothetical_factor, "hypothetical"),
                (_K_ELSE, mk.elsewhere_factor, "elsewhere"),
                (_K_PAST, mk.past_factor, "past"),
            ):
                if kind in kinds:
                    factor *= f
                    notes.append(f"{label} {kinds[kind]}")
        if s_right < len(text) and text[s_right] in "？?":
            factor *= mk.question_factor
            notes.append("question")
        if any(s <= hit.start and hit.end <= e for s, e in quotes):
            factor *= mk.quoted_factor
            notes.append("quoted")
        if hit.end <= title_end:
            factor *= TITLE_FACTOR
            notes.append("title")
        return factor, ", ".join(notes)

    @staticmethod
    def _old_year(window: str, reference_year: int | None) -> str | None:
        """A year far enough back to make the hit a past event, if any.

        Four-digit years, and two-digit ones followed by a month ("17年10月");
        full-width digits are folded first.
        """
        limit = reference_year - 1 if reference_year else 1999
        window = fold_ascii(window)
        for m in _YEAR.finditer(window):
            if int(m.group(1)) <= limit:
                return m.group(0)
        for m in _SHORT_YEAR.finditer(window):
            if 2000 + int(m.group(1)) <= limit:
                return m.group(0)
        return None

    # -- assess --------------------------------------------------------------

    def assess(self, title: str, body: str, *, reference_year: int | None = None) -> Assessment:
        """Score one message; see the module docstring for the rule.

        ``reference_year``: the year the message was received (the rules have
        no clock); years before it read as past. Defaults to the instance's.
        """
        year = reference_year if reference_year is not None else self.reference_year
        title, body = title or "", body or ""
        text = f"{title}\n{body}"
        title_end = len(title)
        if not self._any_term.occurs(text):
            return Assessment(sensitive=False, score=0.0, category=None, terms=(), reasons=(),
                              category_scores=())
        found = self._matcher.find(text)

        terms_found = [m for m in found if m.value[0] == _K_TERM]
        covers = [m for m in found if m.value[0] == _K_EXCL]
        ctx_words = [m for m in found if m.value[0] == _K_EXCL_CTX]
        markers = [m for m in found if m.value[0] in (_K_IMM, _K_RHE, _K_HYP, _K_PAST, _K_ELSE)]
        reasons: list[str] = []

        kept = drop_covered(terms_found, covers)
        for m in terms_found:
            if m not in kept:
                cover = next(c for c in covers if c.start <= m.start and m.end <= c.end)
                reasons.append(f"excluded {m.term}: {cover.term}")
        if self._context_rules and ctx_words:
            still: list[Match[tuple[str, str]]] = []
            for m in kept:
                left, right = sentence_bounds(text, m.start, m.end)
                rule = next(
                    (
                        (t, c)
                        for t, c in self._context_rules
                        if t == m.term
                        and any(w.term == c and left <= w.start and w.end <= right for w in ctx_words)
                    ),
                    None,
                )
                if rule:
                    reasons.append(f"excluded {m.term}: with {rule[1]}")
                else:
                    still.append(m)
            kept = still

        # A word inside a longer hit counts once, as the longer one
        # ("食物中毒" already says "中毒").
        kept = [
            m
            for m in kept
            if not any(o.start <= m.start and m.end <= o.end and o.length > m.length for o in kept)
        ]

        quotes = [(q.start(), q.end()) for q in _QUOTE.finditer(text)]

        # Best factor per piece (a piece is a single word; terms may join pieces).
        best_piece: dict[str, tuple[float, str, int]] = {}
        for m in kept:
            f, note = self._factor(text, m, markers, quotes, title_end, year)
            prev = best_piece.get(m.term)
            if prev is None or f > prev[0]:
                best_piece[m.term] = (f, note, m.start)

        # Per term (conjunction needs all its pieces; its factor is its first piece's).
        hits: list[tuple[str, str, float, str, int]] = []  # (category, term, score, note, pos)
        for term, infos in self._terms.items():
            for info in infos:
                if not all(p in best_piece for p in info.parts):
                    continue
                f, note, pos = best_piece[info.parts[0]]
                share = WEAK_SHARE if info.weak else 1.0
                hits.append((info.category, term, self._weights[info.category] * share * f, note, pos))

        cat_scores: dict[str, float] = {}
        by_cat: dict[str, list[tuple[str, float, str, int]]] = {}
        for cat, term, score, note, pos in hits:
            by_cat.setdefault(cat, []).append((term, score, note, pos))
        for cat, items in by_cat.items():
            items.sort(key=lambda x: -x[1])
            top = items[0][1]
            extra = sum(s for _, s, _, _ in items[1:]) * SAME_CATEGORY_SHARE
            cat_scores[cat] = top + extra
            for term, s, note, _ in items:
                reasons.append(f"{cat}: {term} {s:.2f}" + (f" ({note})" if note else ""))

        if cat_scores:
            ranked = sorted(cat_scores.items(), key=lambda kv: (-kv[1], kv[0]))
            top_cat, top_score = ranked[0]
            score = top_score + OTHER_CATEGORY_SHARE * sum(s for _, s in ranked[1:])
        else:
            ranked, top_cat, score = [], None, 0.0

        ordered_terms = tuple(
            dict.fromkeys(t for _, t, _, _, _ in sorted(hits, key=lambda h: h[4]))
        )
        score = round(score, 3)
        return Assessment(
            sensitive=score >= self.threshold,
            score=score,
            category=top_cat,
            terms=ordered_terms,
            reasons=tuple(reasons),
            category_scores=tuple((k, round(v, 3)) for k, v in ranked),
        )


@lru_cache(maxsize=8)
def _triage(
    categories: tuple[SensitivityCategory, ...],
    exclusions: tuple[str, ...],
    threshold: float,
) -> SensitivityTriage:
    return SensitivityTriage(categories, exclusions, threshold, DEFAULT_MARKERS)


def assess(
    title: str,
    body: str,
    categories: Sequence[SensitivityCategory] = DEFAULT_CATEGORIES,
    exclusions: Sequence[str] = DEFAULT_EXCLUSIONS,
    threshold: float = DEFAULT_THRESHOLD,
    reference_year: int | None = None,
) -> Assessment:
    """Assess one message with a cached :class:`SensitivityTriage`.

    ``reference_year`` (the year the message was received, passed by the
    caller since the rules have no clock) makes years before it read as past;
    without it only years before 2000 do.
    """
    triage = _triage(tuple(categories), tuple(exclusions), float(threshold))
    return triage.assess(title, body, reference_year=reference_year)
