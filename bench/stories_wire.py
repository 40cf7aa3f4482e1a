"""Corpus A for the grouping into stories: diplomacy as the wires carry it, every article labelled.

Events between ministers and heads of government (phone calls, talks, visits, trade talks,
sanctions), each reported by two to six outlets within a day or so, each outlet in its own
words: its own title and lead, its own order, a part of what was discussed, the figures or not,
the quote direct, indirect or not at all, the agency it cites, background paragraphs that many
other articles carry too. Two outlets in six write in traditional characters, with Taiwan's
names for the people (蘇利文 for 沙利文, 普丁 for 普京).

Beside them, the articles that share the events' vocabulary and are of no event here:

- sequels: the same two people again, one to ten days later, about other things (two calls
  between the same ministers a week apart, talks and then a call two days after);
- siblings: the same day, the same kind of event, one of its people with another counterpart;
- commentary: one outlet's analysis of a pair of countries, every name and no event;
- other news: each in one outlet.

Deterministic for a seed: `reports(seed)` gives the same list on every machine. bench/stories.py
tunes the grouping's thresholds on this corpus; bench/stories_desks.py, another generator, is
where they are tested.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import opencc

from feedtool.stories.grouping import Report

START = datetime(2023, 3, 1, tzinfo=UTC)
DAYS = 120
OUTLETS = [("rfi", "s"), ("zaobao", "s"), ("rfa", "s"), ("dw", "s"), ("bbc", "t"), ("voa", "t")]


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    country: str
    taiwan: str = ""  # the name as Taiwan writes it, where it differs

    def called(self, script: str) -> str:
        return self.taiwan if script == "t" and self.taiwan else self.name


PEOPLE = [
    Person("王毅", "中国外长", "中国"), Person("布林肯", "美国国务卿", "美国"),
    Person("沙利文", "美国国家安全顾问", "美国", "蘇利文"), Person("拉夫罗夫", "俄罗斯外长", "俄罗斯", "拉夫羅夫"),
    Person("科隆纳", "法国外长", "法国", "柯隆納"), Person("贝尔伯克", "德国外长", "德国", "貝爾伯克"),
    Person("上川阳子", "日本外相", "日本"), Person("朴振", "韩国外长", "韩国"), Person("苏杰生", "印度外长", "印度"),
    Person("李强", "中国总理", "中国"), Person("耶伦", "美国财长", "美国", "葉倫"),
    Person("何立峰", "中国副总理", "中国"), Person("雷蒙多", "美国商务部长", "美国"),
    Person("马克龙", "法国总统", "法国", "馬克宏"), Person("普京", "俄罗斯总统", "俄罗斯", "普丁"),
    Person("泽连斯基", "乌克兰总统", "乌克兰", "澤倫斯基"), Person("朔尔茨", "德国总理", "德国", "蕭茲"),
    Person("岸田文雄", "日本首相", "日本"), Person("尹锡悦", "韩国总统", "韩国"),
    Person("古特雷斯", "联合国秘书长", "联合国", "古特瑞斯"), Person("苏纳克", "英国首相", "英国", "蘇納克"),
    Person("卡梅伦", "英国外交大臣", "英国", "卡麥隆"), Person("黄循财", "新加坡副总理", "新加坡"),
    Person("阿尔巴尼斯", "澳大利亚总理", "澳大利亚", "艾班尼斯"),
]  # fmt: skip
PLACES = ["华盛顿", "北京", "纽约", "巴黎", "柏林", "东京", "首尔", "新德里", "雅加达", "日内瓦", "维也纳", "马尼拉",
          "旧金山", "伦敦", "莫斯科", "新加坡", "曼谷", "罗马", "马德里", "伊斯坦布尔"]  # fmt: skip
# What two sides discuss, each in the words different outlets use for it.
SUBJECTS = [
    ["台湾问题", "台海局势", "台湾海峡的和平稳定"], ["乌克兰战争", "俄乌冲突", "乌克兰危机"],
    ["加沙局势", "以哈冲突", "加沙地带的人道主义危机"], ["朝鲜半岛局势", "朝鲜导弹试射", "平壤的核计划"],
    ["芬太尼管制", "芬太尼前体化学品", "打击芬太尼走私"], ["出口管制", "半导体出口限制", "芯片禁令"],
    ["南海争端", "南海仁爱礁", "南中国海的航行自由"], ["气候变化", "减排目标", "气候合作"],
    ["人权问题", "新疆人权", "被任意拘留的公民"], ["两军沟通渠道", "恢复军事对话", "两国国防部门的联系"],
    ["人工智能治理", "人工智能的安全风险", "AI监管"], ["稀土供应", "关键矿产", "稀土出口"],
    ["红海航运", "胡塞武装袭击商船", "红海航道安全"], ["伊朗核问题", "伊朗铀浓缩", "伊核协议"],
    ["缅甸局势", "缅甸军政府", "缅北冲突"], ["粮食安全", "黑海粮食协议", "全球粮价"],
    ["电动汽车关税", "电动车反补贴调查", "欧盟对中国电动车加征关税"], ["留学生交流", "人文交流", "增加直航航班"],
    ["债务重组", "发展中国家债务", "二十国集团债务框架"], ["网络安全", "黑客攻击", "网络间谍活动"],
    ["核不扩散", "核武器管控", "军备控制"], ["香港自治", "香港国安法", "香港的法治"],
    ["外国记者签证", "驻外记者", "新闻采访限制"], ["汇率政策", "人民币汇率", "货币政策协调"],
]  # fmt: skip
KINDS = {
    "call": {
        "titles": ["{a}与{b}通电话 聚焦{s0}", "{a}{b}通话 讨论{s0}和{s1}", "{ra}{a}应约同{rb}{b}通电话",
                   "{b}致电{a} 双方谈及{s0}", "电话会谈：{a}向{b}表明在{s0}上的立场",
                   "{ca}{cb}外交高层通话 {s0}成焦点"],
        "leads": ["{ra}{a}{day}与{rb}{b}通电话，双方讨论了{s0}等问题。",
                  "{when}，{a}同{b}进行了约{n}分钟的电话交谈，重点谈及{s0}和{s1}。",
                  "据{agency}报道，{rb}{b}{day}致电{ra}{a}，两人就{s0}交换了意见。",
                  "{ca}和{cb}外交高层{day}通电话。{a}在通话中表示，{ca}关注{s0}。"],
    },
    "talks": {
        "titles": ["{a}在{p}会见{b}", "{a}与{b}{p}会谈 {s0}分歧未解", "{a}{b}{p}会晤 同意加强沟通",
                   "{ca}{cb}高层{p}会谈 谈及{s0}", "{b}晤{a}：{s0}是双方关注重点", "{a}与{b}举行会谈 讨论{s1}"],
        "leads": ["{ra}{a}{day}在{p}会见{rb}{b}，双方就{s0}和{s1}进行了坦诚深入的沟通。",
                  "{when}，{a}与{b}在{p}举行了约{n}分钟的会谈，讨论了{s0}等议题。",
                  "据{agency}报道，{a}{day}在{p}同{b}会晤，这是两人今年第{k}次见面。",
                  "{ca}与{cb}{day}在{p}举行高层会谈。{rb}{b}对{a}说，双方应在{s0}上加强合作。"],
    },
    "visit": {
        "titles": ["{a}抵达{p}展开访问 将晤{b}", "{a}访问{p} 与{b}讨论{s0}", "{ra}{a}开启{p}之行",
                   "{a}访{p}：{s0}与{s1}成焦点", "{cb}高规格接待{a} 双方谈{s0}", "{a}结束{p}访问 与{b}达成{k}项共识"],
        "leads": ["{ra}{a}{day}抵达{p}，开始为期{k}天的访问，并将与{rb}{b}会谈。",
                  "{when}，{a}在{p}同{b}会面，双方讨论了{s0}和{s1}。",
                  "据{agency}报道，{a}此次访问{p}期间与{b}就{s0}达成{k}项共识。",
                  "{a}{day}到访{p}。{cb}方面表示，{b}与{a}的会谈涉及{s0}。"],
    },
    "trade": {
        "titles": ["{ca}{cb}举行经贸磋商 {a}{b}牵头", "{a}与{b}视频通话 讨论{s0}", "{ca}{cb}经贸团队{p}会谈",
                   "{b}：与{a}的磋商富有成效", "{ca}{cb}同意就{s0}设立工作组", "经贸会谈在{p}落幕 {s0}仍有分歧"],
        "leads": ["{ra}{a}{day}与{rb}{b}在{p}举行经贸磋商，双方讨论了{s0}。",
                  "{when}，{ca}和{cb}的经贸团队在{p}会谈约{n}分钟，{a}与{b}分别率团。",
                  "据{agency}报道，{a}与{b}同意就{s0}设立{k}个工作组。",
                  "{ca}{cb}第{k}轮经贸磋商{day}在{p}举行，焦点是{s0}和{s1}。"],
    },
    "sanction": {
        "titles": ["{cb}宣布制裁{k}家{ca}实体", "{cb}对{ca}实施新一轮制裁 涉及{s0}", "{ca}强烈反对{cb}制裁 {a}表态",
                   "制裁名单扩大：{k}家{ca}企业受影响", "{b}宣布对{ca}的制裁措施", "{cb}以{s0}为由制裁{ca}"],
        "leads": ["{cb}{day}宣布将{k}家{ca}实体列入制裁名单，理由涉及{s0}。",
                  "{when}，{rb}{b}宣布对{ca}实施新一轮制裁，共涉及{k}家企业和{n}名个人。",
                  "据{agency}报道，{cb}以{s0}为由制裁{k}家{ca}实体，{ra}{a}对此表示强烈反对。",
                  "{ca}外交部{day}回应{cb}新一轮制裁。{a}说，这些措施违反国际法。"],
    },
}  # fmt: skip
DETAILS = [
    "{x}在通话中强调，{s}关系到地区的和平与稳定。", "双方还讨论了{s}，但没有取得突破。",
    "{x}表示，希望对方在{s}上采取负责任的态度。", "据{agency}报道，{s}也是这次接触的议题之一。",
    "消息人士说，{s}占去了会谈的大部分时间。", "{x}重申了本国在{s}上的一贯立场。",
    "分析人士指出，{s}是双方最难弥合的分歧。", "声明说，双方同意就{s}保持沟通。",
]  # fmt: skip
QUOTES = [
    "对话比对抗好，合作比冲突好", "管控分歧是双方的共同责任", "任何单边行动都无助于解决问题",
    "我们愿意在相互尊重的基础上推进合作", "这次接触坦诚而富有建设性", "双方应把共识落到实处",
    "不会在原则问题上让步", "保持沟通渠道畅通至关重要", "有关措施损害了双方的互信",
]  # fmt: skip
BACKGROUND = {
    "中国": ["中国外交部多次表示，台湾问题是中国核心利益中的核心。",
             "北京近年来在外交上更加积极，寻求扩大在全球南方的影响力。"],
    "美国": ["美国与中国的关系近年来因贸易、科技和台湾问题而紧张。", "华盛顿一再表示，与北京的竞争不应演变为冲突。"],
    "俄罗斯": ["自2022年2月俄罗斯入侵乌克兰以来，莫斯科受到西方的广泛制裁。", "俄罗斯与中国宣称双方的合作没有上限。"],
    "法国": ["法国一直主张欧洲在对华关系上保持战略自主。", "巴黎希望北京在乌克兰问题上发挥更大作用。"],
    "德国": ["德国是中国在欧洲最大的贸易伙伴。", "柏林去年公布了首份对华战略，称中国是伙伴、竞争者和制度性对手。"],
    "日本": ["日本与中国在东海的领土争端由来已久。", "东京近年来大幅增加防卫预算。"],
    "韩国": ["韩国在中美之间寻求平衡。", "首尔与平壤的关系持续紧张。"],
    "印度": ["印度与中国在喜马拉雅山区的边界对峙仍未解决。", "新德里与华盛顿的安全合作日益密切。"],
    "乌克兰": ["乌克兰的反攻进展缓慢，战事陷入胶着。", "基辅希望西方提供更多武器和资金。"],
    "联合国": ["联合国多次呼吁各方保持克制。", "安理会在多项议题上因大国分歧而陷入僵局。"],
    "英国": ["英国与中国的关系近年来明显降温。", "伦敦对中国在香港的做法多次表达关切。"],
    "新加坡": ["新加坡在大国之间奉行务实外交。", "新加坡是东南亚的金融和航运中心。"],
    "澳大利亚": ["澳大利亚与中国的贸易关系在经历数年紧张后有所缓和。", "堪培拉是美英澳三边安全伙伴关系的成员。"],
}  # fmt: skip
AGENCIES = ["法新社", "路透社", "美联社", "新华社", "中央社", "共同社", "彭博社"]
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
# Other news: sentences drawn word by word, so that two such articles share only common words.
NOUNS = ["化工厂", "地铁", "电影节", "马拉松", "古桥", "机场", "货轮", "动物园", "博物馆", "大学", "足球队", "医院",
         "音乐节", "工厂", "港口", "科技园", "市场", "水电站", "图书馆", "高铁站", "农场", "银行", "超市", "剧院",
         "法院", "警方", "消防员", "教师", "学生", "游客", "司机", "农民", "工人", "居民", "球迷",
         "医生", "选手"]  # fmt: skip
VERBS = ["宣布", "发现", "批评", "举办", "关闭", "扩建", "调查", "起诉", "支持", "抗议", "修复", "迎接", "推迟",
         "取消", "启用", "表彰", "赔偿", "搬迁", "改造", "接管"]  # fmt: skip


@dataclass(frozen=True)
class Event:
    kind: str
    a: Person
    b: Person
    at: datetime
    place: str
    subjects: tuple[int, ...]
    n: int
    k: int
    quote: str


def _facts(event: Event, rng: random.Random, script: str) -> dict[str, str]:
    subjects = [rng.choice(SUBJECTS[s]) for s in event.subjects]
    local = event.at + timedelta(hours=8)
    return {
        "a": event.a.called(script), "b": event.b.called(script), "ra": event.a.role, "rb": event.b.role,
        "ca": event.a.country, "cb": event.b.country, "p": event.place, "n": str(event.n), "k": str(event.k),
        "s0": subjects[0], "s1": subjects[1 % len(subjects)], "agency": rng.choice(AGENCIES),
        "day": rng.choice([WEEKDAYS[local.weekday()], f"{local.month}月{local.day}日",
                           f"（{local.month}月{local.day}日）"]),
        "when": rng.choice([f"{local.month}月{local.day}日", f"当地时间{WEEKDAYS[local.weekday()]}", "本周"]),
    }  # fmt: skip


def _report(event: Event, outlet: str, script: str, rng: random.Random, convert: opencc.OpenCC) -> tuple[str, str]:
    """One outlet's article on an event: a title and a text of its own words."""
    facts = _facts(event, rng, script)
    kind = KINDS[event.kind]
    title = rng.choice(kind["titles"]).format(**facts)
    lead = rng.choice(kind["leads"]).format(**facts)
    said = [lead]
    told = [s for s in event.subjects if rng.random() < 0.75] or [event.subjects[0]]
    for s in told:
        said.append(rng.choice(DETAILS).format(x=rng.choice([facts["a"], facts["b"]]), s=rng.choice(SUBJECTS[s]),
                                               agency=rng.choice(AGENCIES)))  # fmt: skip
    if rng.random() < 0.6:
        quote = event.quote if rng.random() < 0.6 else event.quote.replace("，", "，而且")
        said.insert(rng.randint(1, len(said)), f"{facts['a']}说：“{quote}。”" if rng.random() < 0.5
                    else f"{facts['a']}认为，{quote}。")  # fmt: skip
    if rng.random() < 0.5:
        said.append(f"{facts['ca']}方面表示，双方的接触持续了约{event.n}分钟。")
    for country in (event.a.country, event.b.country):
        if rng.random() < 0.6:
            said.append(rng.choice(BACKGROUND[country]))
    rng.shuffle(body := said[1:])
    text = "\n".join([said[0], *body])
    if script == "t":
        title, text = convert.convert(title), convert.convert(text)
    return title, text


def _event(rng: random.Random, kind: str, a: Person, b: Person, at: datetime, avoid: set[int]) -> Event:
    subjects = tuple(rng.sample([i for i in range(len(SUBJECTS)) if i not in avoid], rng.randint(2, 4)))
    return Event(kind, a, b, at, rng.choice(PLACES), subjects, rng.randrange(30, 180), rng.randint(2, 12),
                 rng.choice(QUOTES))  # fmt: skip


def events(seed: int, count: int) -> list[tuple[Event, str]]:
    """`count` events, each with its label, and the sequels and siblings among them."""
    rng = random.Random(seed)
    made: list[tuple[Event, str]] = []
    while len(made) < count:
        a, b = rng.sample(PEOPLE, 2)
        at = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        first = _event(rng, rng.choice(list(KINDS)), a, b, at, set())
        made.append((first, f"A{len(made)}"))
        if rng.random() < 0.35:  # the same two again, one to ten days later, about other things
            later = at + timedelta(days=rng.uniform(1, 10))
            kind = first.kind if rng.random() < 0.6 else rng.choice(list(KINDS))
            made.append((_event(rng, kind, a, b, later, set(first.subjects)), f"A{len(made)}"))
        if rng.random() < 0.25:  # the same day, one of them with another counterpart
            other = rng.choice([p for p in PEOPLE if p not in (a, b)])
            sibling = _event(rng, first.kind, a, other, at + timedelta(hours=rng.uniform(-6, 6)), set())
            made.append((sibling, f"A{len(made)}"))
    return made


def reports(seed: int = 1, count: int = 400) -> list[tuple[Report, str | None]]:
    """The corpus: every article with its event's label, None for those of no event."""
    rng = random.Random(seed * 7_919)
    convert = opencc.OpenCC("s2t")
    made: list[tuple[Report, str | None]] = []

    def add(outlet: str, at: datetime, title: str, text: str, label: str | None) -> None:
        made.append((Report(f"{outlet}/{len(made)}", outlet, at, title, text), label))

    for event, label in events(seed, count):
        for outlet, script in rng.sample(OUTLETS, rng.choice([2, 2, 3, 3, 4, 4, 5, 6])):
            title, text = _report(event, outlet, script, rng, convert)
            after = timedelta(hours=rng.uniform(0.2, 1) * rng.choice([2, 6, 20, 30]))
            add(outlet, event.at + after, title, text, label)
    for _ in range(count // 2):  # commentary: every name, no event
        a, b = rng.sample(PEOPLE, 2)
        outlet, script = rng.choice(OUTLETS)
        subjects = rng.sample(SUBJECTS, 3)
        title = f"分析：{a.country}与{b.country}关系的{rng.choice(subjects)[0]}难题"
        text = "\n".join([f"{a.role}{a.called(script)}和{b.role}{b.called(script)}近来多次接触。",
                          *(rng.choice(DETAILS).format(x=a.called(script), s=s[1], agency=rng.choice(AGENCIES))
                            for s in subjects),
                          *rng.sample(BACKGROUND[a.country] + BACKGROUND[b.country], 3)])  # fmt: skip
        if script == "t":
            title, text = convert.convert(title), convert.convert(text)
        add(outlet, START + timedelta(seconds=rng.randrange(DAYS * 86400)), title, text, None)
    for _ in range(count):  # other news, one outlet each
        outlet, script = rng.choice(OUTLETS)
        place = rng.choice(PLACES)
        lines = [
            f"{rng.choice(['', place])}{rng.choice(NOUNS)}{rng.choice(VERBS)}{rng.choice(NOUNS)}"
            f"{rng.choice(['', str(rng.randint(2, 900)) + '次', '的计划'])}"
            for _ in range(rng.randint(3, 6))
        ]
        title, text = f"{place}{lines[0]}", "。".join(lines) + "。"
        if script == "t":
            title, text = convert.convert(title), convert.convert(text)
        add(outlet, START + timedelta(seconds=rng.randrange(DAYS * 86400)), title, text, None)
    return made
