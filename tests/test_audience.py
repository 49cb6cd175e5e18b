"""Audience words → Audience → recipients."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import knowledge_dir
from bot.notices.audience import (
    FIXED_KINDS,
    VALUE_KINDS,
    Audience,
    AudienceError,
    Term,
    Vocabulary,
    parse_audience,
    reachable,
    resolve,
    split_audience,
    unbound,
)
from tests.people_support import NOW, member_id, seeded

# people_support's roster: 张三 (经济界, 提案委, 习岗镇, 常委), 李四 (农业界, 经济委, 立岗镇),
# 王五 (教育界, 提案委, 习岗镇); unit contacts 赵六 (县委办) and 钱七 (统战部).


@pytest.fixture
def storage(tmp_path):
    opened = seeded(tmp_path)
    opened.bind(7001, "member", member_id(opened, "张三"), "code", NOW)
    opened.bind(7002, "member", member_id(opened, "李四"), "code", NOW)
    contact = opened.person_by_phone("unit_contact", "+8613500004444")
    opened.bind(7005, "unit_contact", contact.id, "code", NOW)
    yield opened
    opened.close()


def names(storage, spec: str, **kwargs) -> list[str]:
    return [r.name for r in resolve(storage, parse_audience(spec, storage), **kwargs)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("全体委员", ["张三", "李四", "王五"]),
        ("常委", ["张三"]),
        ("经济委员会", ["李四"]),
        ("经济委", ["李四"]),
        ("专委会:提案委", ["张三", "王五"]),
        ("专委会：提案委", ["张三", "王五"]),
        ("习岗镇", ["张三", "王五"]),
        ("习岗", ["张三", "王五"]),
        ("乡镇:立岗镇", ["李四"]),
        ("教育界", ["王五"]),
        ("界别:农业界", ["李四"]),
        ("统战部", ["钱七"]),
        ("县委统战部", ["钱七"]),
        ("单位:县委办", ["赵六"]),
        ("联络员", ["赵六", "钱七"]),
        ("常委+经济委员会", ["张三", "李四"]),
        ("全体委员,统战部", ["张三", "李四", "王五", "钱七"]),
        ("常委 、 习岗镇", ["张三", "王五"]),
        ("所有人", ["张三", "李四", "钱七"]),
        ("常委＋经济委", ["张三", "李四"]),
        (" 全体委员 ", ["张三", "李四", "王五"]),
        ("全体委员：", ["张三", "李四", "王五"]),
        ("常委，", ["张三"]),
        ("提案委", ["张三", "王五"]),  # the committee, not the plan's unit of the same name
        ("提案委员会", ["张三", "王五"]),
        ("提案和委员联络委员会", ["张三", "王五"]),
        ("单位:提案委", []),  # the unit's contacts: none on this list
    ],
)
def test_audience_words(storage, spec, expected):
    assert names(storage, spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "请写明通知对象"),
        ("  +  ", "请写明通知对象"),
        ("火星委员会", "没有找到与“火星委员会”对应的通知对象"),
        ("经济", "可能指多个对象：专委会“经济委”、界别“经济界”"),
        ("部门:财政局", "不认识类别“部门”"),
        ("界别:", "缺少名称"),
        ("界别:提案委", "没有找到"),
    ],
)
def test_unclear_audiences_are_explained(storage, spec, message):
    with pytest.raises(AudienceError) as caught:
        parse_audience(spec, storage)
    assert message in caught.value.message


def test_near_misses_are_suggested(storage):
    with pytest.raises(AudienceError, match=r"您是不是想找：.*乡镇街道“习岗镇”"):
        parse_audience("习岗乡政府", storage)


def test_resolve_marks_people_without_binding_and_skips_inactive_ones(storage):
    wang = member_id(storage, "王五")
    recipients = resolve(storage, parse_audience("全体委员", storage))
    assert [(r.name, r.chat_id) for r in recipients] == [("张三", 7001), ("李四", 7002), ("王五", None)]
    assert [r.name for r in reachable(recipients)] == ["张三", "李四"]
    assert [r.key for r in unbound(recipients)] == [f"member:{wang}"]
    storage.update_person("member", wang, {"active": 0}, NOW)
    assert names(storage, "全体委员") == ["张三", "李四"]
    with pytest.raises(AudienceError):  # 教育界 was only 王五's: no longer on the roster
        parse_audience("界别:教育界", storage)


def test_each_person_and_each_chat_appears_once(storage):
    assert names(storage, "常委+习岗镇+全体委员+常委") == ["张三", "王五", "李四"]
    storage.add_admin(7001, None, NOW)  # 张三 is also a secretary: one chat, one message
    recipients = resolve(storage, parse_audience("全体委员+秘书", storage), admin_ids={9001})
    assert [(r.kind, r.chat_id) for r in recipients] == [
        ("member", 7001),
        ("member", 7002),
        ("member", None),
        ("secretary", 9001),
    ]
    assert recipients[-1].name == "秘书（9001）"


def test_collective_units_include_their_member_units(storage):
    # 提案委 (the unit) is one of 政协各专门委员会 in the plan's catalogue
    for unit_id, name, phone in (
        ("proposal_committee", "孙八", "13300005555"),
        ("cppcc_committees", "周九", "13300006666"),
    ):
        storage.insert_person("unit_contact", {"unit_id": unit_id, "name": name, "phone": phone}, NOW)
    assert names(storage, "各专委会") == ["孙八", "周九"]
    assert names(storage, "单位:提案委") == ["孙八"]


def test_audience_json_round_trip_and_labels(storage):
    audience = parse_audience("常委+经济委+统战部+所有人", storage)
    assert Audience.from_json(audience.to_json()) == audience
    assert audience.label() == "常委 + 专委会“经济委” + 统战部联络员 + 所有已绑定人员"


@given(
    st.lists(
        st.one_of(
            st.builds(Term, st.sampled_from(FIXED_KINDS)),
            st.builds(Term, st.sampled_from(VALUE_KINDS), st.text(min_size=1, max_size=8)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_audience_survives_json(terms):
    audience = Audience(tuple(terms))
    assert Audience.from_json(audience.to_json()) == audience


def test_terms_are_checked():
    with pytest.raises(ValueError):
        Term("standing", "x")
    with pytest.raises(ValueError):
        Term("committee")
    with pytest.raises(ValueError):
        Term("everyone")


def _vocabulary_data() -> dict:
    return json.loads((knowledge_dir() / "notices.json").read_text(encoding="utf-8"))["audience"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("standing"), "standing"),
        (lambda d: d["prefixes"].pop("unit"), "prefixes"),
        (lambda d: d.update(min_score=120), "min_score"),
        (lambda d: d.update(separators=""), "separators"),
        (lambda d: d["standing"].append("全体委员"), "standing"),
    ],
)
def test_vocabulary_is_validated_with_the_field_named(change, field):
    data = copy.deepcopy(_vocabulary_data())
    change(data)
    with pytest.raises(AudienceError, match=field):
        Vocabulary.from_dict(data, "notices.json audience")


def test_a_committee_missing_from_the_roster_is_said_so(storage):
    with pytest.raises(AudienceError, match=r"没有文史委的委员.*单位:文史委"):
        parse_audience("文史委", storage)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("常委 明天开会", ("常委", "明天开会")),
        ("全体委员：明天上午9点开会", ("全体委员", "明天上午9点开会")),
        ("全体委员，明天上午9点开会\n请准时", ("全体委员", "明天上午9点开会\n请准时")),
        ("常委，经济委：明天开会", ("常委，经济委", "明天开会")),
        ("专委会:提案委：下午开会", ("专委会:提案委", "下午开会")),
        ("文史委 明天开会", ("文史委", "明天开会")),
        ("火星人：开会", ("火星人：开会", "")),  # nothing names an audience: the error names the word
        ("", ("", "")),
    ],
)
def test_the_audience_is_split_from_the_text(storage, text, expected):
    assert split_audience(text, storage) == expected
