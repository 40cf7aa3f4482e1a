"""Corpus B for the grouping into stories: regional desks, written by another generator than corpus A.

bench/stories.py chooses the grouping's thresholds on corpus A (bench/stories_wire.py) and reports
them here, on articles that generator never made: other kinds of news (earthquakes and storms,
court verdicts, statistics releases, military drills, elections, company news), other outlets,
half of them in traditional characters as Hong Kong and Taiwan write them (s2hk, s2twp), a
dateline opening many articles ("【中央社台北12日电】"), longer texts, quotes in 「」.

Its distractors are of another kind than corpus A's:

- series: the same kind of news again on following days, in the same words with other figures
  (each day's count of aircraft around Taiwan), one to four days apart, each reported by
  several outlets;
- neighbours: a different event in the same city on the same day;
- features: one outlet's long piece on a subject, every word of it and no event.

Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import opencc

from feedtool.stories.grouping import Report

START = datetime(2024, 1, 8, tzinfo=UTC)
DAYS = 90
OUTLETS = [("cna", "tw"), ("hk01", "hk"), ("udn", "tw"), ("sina", "s"), ("ftchinese", "s"), ("kyodo", "s"),
           ("mingpao", "hk"), ("caixin", "s")]  # fmt: skip
CITIES = ["台北", "高雄", "花莲", "台南", "香港", "深圳", "广州", "成都", "重庆", "昆明", "武汉", "杭州", "福州", "厦门",
          "大阪", "熊本", "马尼拉", "宿务", "河内", "胡志明市"]  # fmt: skip
NAMES = ["陈志明", "林淑芬", "黄国昌", "张晓燕", "李文亮", "吴家豪", "周子瑜", "郑丽君", "刘德政", "许明辉", "蔡佩珊",
         "杨建华", "赵永康", "孙立群", "何韵诗", "黎智英", "邝俊宇", "谭得志"]  # fmt: skip
COMPANIES = [
    "台积电",
    "比亚迪",
    "华为",
    "鸿海",
    "小米",
    "宁德时代",
    "联发科",
    "阿里巴巴",
    "腾讯",
    "京东",
    "蔚来",
    "长荣海运",
]
DATELINES = {"cna": "【中央社{c}{d}日电】", "hk01": "（香港01{d}日讯）", "udn": "〔联合报{c}报导〕", "sina": "新浪新闻{d}日消息，",
             "ftchinese": "", "kyodo": "共同社{c}{d}日电 ", "mingpao": "【明报专讯】", "caixin": "财新网消息，"}  # fmt: skip


@dataclass(frozen=True)
class Happening:
    kind: str
    city: str
    who: str
    at: datetime
    figures: tuple[int, int, int]
    detail: int  # which of the kind's detail sentences this one is told with


def _quake(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    mag = f"{4 + a % 4}.{b % 10}"
    titles = [f"{h.city}发生规模{mag}地震 {c}人受伤", f"{h.city}{mag}级地震 震源深度{a}公里", f"强震袭{h.city} 已知{c}人伤",
              f"{h.city}地震：{b}栋建筑受损", f"规模{mag}地震撼{h.city} 气象署：余震恐持续"]  # fmt: skip
    lines = [f"{h.city}今天发生规模{mag}地震，震源深度约{a}公里，截至目前已有{c}人受伤送医。",
             f"气象部门表示，这次地震的震中位于{h.city}外海，{b}栋建筑出现裂缝。",
             f"消防部门已出动{a + c}名人员搜救，{h.who}说，部分道路因落石中断。",
             f"专家提醒，未来一周仍可能有规模{4 + b % 2}以上的余震。",
             f"{h.city}市府成立应变中心，{h.who}呼吁民众远离受损建筑。"]  # fmt: skip
    return titles, lines


def _verdict(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    titles = [f"{h.who}被判{a % 10 + 1}年 法院：罪名成立", f"{h.city}法院宣判{h.who}案", f"{h.who}案宣判 辩方称将上诉",
              f"{h.who}被控{c % 5 + 2}项罪名 今判刑{a % 10 + 1}年", f"法院裁定{h.who}有罪 人权团体批评"]  # fmt: skip
    lines = [f"{h.city}法院今天宣判{h.who}案，{h.who}被判处有期徒刑{a % 10 + 1}年。",
             f"检方指控{h.who}涉及{c % 5 + 2}项罪名，案件审理历时{b}天。",
             f"法官在判词中说，{h.who}的行为「危害公共秩序」。",
             f"{h.who}的律师表示，将在{c % 20 + 10}天内提出上诉。",
             f"国际特赦组织批评这项判决，呼吁释放{h.who}。"]  # fmt: skip
    return titles, lines


def _figures(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    month = h.at.month
    titles = [f"{month}月CPI按年升{a % 5}.{b % 10}% 高于预期", f"统计局：{month}月消费者物价指数上涨{a % 5}.{b % 10}%",
              f"物价{month}月升{a % 5}.{b % 10}% 食品价格领涨", f"{month}月通胀数据出炉 核心CPI{c % 3}.{a % 10}%"]  # fmt: skip
    lines = [f"国家统计局今天公布，{month}月居民消费价格指数（CPI）按年上涨{a % 5}.{b % 10}%。",
             f"其中食品价格上涨{b % 9}.{c % 10}%，猪肉价格变动{c % 30}%。",
             f"扣除食品和能源的核心CPI上涨{c % 3}.{a % 10}%。",
             f"分析师此前预期涨幅为{a % 5}.{(b + 3) % 10}%。",
             f"工业生产者出厂价格指数（PPI）则下跌{b % 4}.{c % 10}%。"]  # fmt: skip
    return titles, lines


def _drill(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    titles = [f"共机{a % 40 + 5}架次扰台 国防部严密监控", f"国防部：侦获共机{a % 40 + 5}架次、共舰{b % 12 + 2}艘",
              f"解放军{a % 40 + 5}架次军机台海周边活动", f"{a % 40 + 5}架次共机越过海峡中线"]  # fmt: skip
    lines = [f"国防部今天上午公布，昨天6时至今天6时侦获共机{a % 40 + 5}架次、共舰{b % 12 + 2}艘在台海周边活动。",
             f"其中{c % 20 + 1}架次逾越海峡中线，进入北部、中部及西南空域。",
             "国军运用联合情监侦掌握，并派遣任务机、舰艇及岸置飞弹系统监控应处。",
             f"这是本月第{b % 9 + 2}次有共机逾越中线。"]  # fmt: skip
    return titles, lines


def _election(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    titles = [f"{h.who}胜选{h.city}市长 得票率{50 + a % 20}%", f"{h.city}市长补选：{h.who}当选",
              f"{h.who}赢得{h.city}选举 领先对手{b % 15 + 1}个百分点", f"{h.city}选举结果出炉 {h.who}胜出"]  # fmt: skip
    lines = [f"{h.city}市长补选今天投票，{h.who}以{50 + a % 20}%的得票率当选。",
             f"投票率为{40 + c % 30}%，共有{b * 1000 + c}名选民投票。",
             f"{h.who}在胜选感言中说，将优先处理{rng.choice(['住房', '交通', '治安', '就业'])}问题。",
             f"落选的对手得票{30 + b % 15}%，已致电祝贺。"]  # fmt: skip
    return titles, lines


def _company(h: Happening, rng: random.Random) -> tuple[list[str], list[str]]:
    a, b, c = h.figures
    co = COMPANIES[a % len(COMPANIES)]
    titles = [f"{co}宣布裁员{b % 30 + 5}% 股价挫{c % 8 + 1}%", f"{co}季度净利{a}亿元 按年增{b % 40}%",
              f"{co}在{h.city}设新厂 投资{c}亿元", f"{co}财报：营收{a + c}亿元"]  # fmt: skip
    lines = [f"{co}今天公布，第{a % 4 + 1}季度净利润为{a}亿元，营收{a + c}亿元。",
             f"{co}同时宣布将在{h.city}兴建新厂，预计投资{c}亿元，创造{b * 10}个职位。",
             f"消息公布后，{co}股价盘中下跌{c % 8 + 1}%。",
             f"{co}发言人{h.who}表示，公司将精简{b % 30 + 5}%的非核心人力。"]  # fmt: skip
    return titles, lines


KINDS = {"quake": _quake, "verdict": _verdict, "figures": _figures, "drill": _drill, "election": _election,
         "company": _company}  # fmt: skip
FEATURE_WORDS = ["城市更新", "少子化", "长照政策", "房价", "青年就业", "能源转型", "半导体产业", "观光复苏", "社会住宅",
                 "交通建设", "气候调适", "数位转型", "移工", "食安"]  # fmt: skip

OPENINGS = ["谈到", "说起", "面对", "关于", "观察", "回顾"]


def happenings(seed: int, count: int) -> list[tuple[Happening, str]]:
    """Events with their labels, series and neighbours among them."""
    rng = random.Random(seed)
    made: list[tuple[Happening, str]] = []

    def new(kind: str, city: str, at: datetime) -> None:
        figures = (rng.randrange(1, 200), rng.randrange(1, 200), rng.randrange(1, 200))
        made.append((Happening(kind, city, rng.choice(NAMES), at, figures, rng.randrange(5)), f"B{len(made)}"))

    while len(made) < count:
        kind, city = rng.choice(list(KINDS)), rng.choice(CITIES)
        at = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        new(kind, city, at)
        if kind == "drill" or rng.random() < 0.15:  # a series: again days later, other figures
            for step in range(rng.randint(1, 3)):
                new(kind, city, at + timedelta(days=step + rng.uniform(1, 2)))
        if rng.random() < 0.25:  # another event in the same city that day
            new(rng.choice(list(KINDS)), city, at + timedelta(hours=rng.uniform(-8, 8)))
    return made


def reports(seed: int = 1, count: int = 300) -> list[tuple[Report, str | None]]:
    """The corpus: every article with its event's label, None for those of no event."""
    rng = random.Random(seed * 104_729)
    scripts = {"tw": opencc.OpenCC("s2twp"), "hk": opencc.OpenCC("s2hk")}
    made: list[tuple[Report, str | None]] = []

    def add(outlet: str, script: str, at: datetime, title: str, text: str, label: str | None) -> None:
        if script in scripts:
            title, text = scripts[script].convert(title), scripts[script].convert(text)
        made.append((Report(f"{outlet}:{len(made)}", outlet, at, title, text), label))

    for h, label in happenings(seed, count):
        for outlet, script in rng.sample(OUTLETS, rng.choice([2, 2, 3, 3, 3, 4, 5])):
            titles, lines = KINDS[h.kind](h, rng)
            told = rng.sample(lines, rng.randint(2, len(lines)))
            dateline = DATELINES[outlet].format(c=h.city, d=h.at.day)
            padding = rng.sample(FEATURE_WORDS, 2)
            text = dateline + "".join(told) + f"\n另外，{padding[0]}与{padding[1]}仍是{h.city}近期关注的议题。"
            when = h.at + timedelta(minutes=rng.randrange(10, 18 * 60))
            add(outlet, script, when, rng.choice(titles), text, label)
    common = [chr(c) for c in range(0x4E00, 0x9FA5, 37)]  # characters spread over the whole block
    for _ in range(count):  # features: one outlet's long piece on the desk's subjects, and no event
        outlet, script = rng.choice(OUTLETS)
        city, words = rng.choice(CITIES), rng.sample(FEATURE_WORDS, 4)
        text = "".join(
            f"{rng.choice(OPENINGS)}{w}，{''.join(rng.choices(common, k=rng.randint(8, 20)))}。" for w in words
        )
        add(outlet, script, START + timedelta(seconds=rng.randrange(DAYS * 86400)), f"{city}{words[0]}观察", text, None)
    return made
