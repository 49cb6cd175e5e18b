"""How people phrase the three kinds of question the third blind set showed the engine missing,
written from the plan text and the way members and unit clerks talk (not from any evaluation set):

* a unit question framed around the asker or with list words (我是财政局的联络员，跟我们有关的是哪条;
  编办摊上啥活; 统战部负责的事列一下; 编办口) lists all of the unit's tasks;
* a question about a particular proposal of the asker's (我那条关于修路的提案是哪个部门在办;
  俺去年交的那个提案有回复没) goes to their proposals, not to the plan's rule on replies (18);
* questions in the plan's words about what it does not settle (this year's deadline or topics, an
  app's password, points per meeting, 稿费, joining a party, 申诉) cite no task.
"""

from __future__ import annotations

import pytest

from bot.answers.engine import default_engine
from bot.answers.routes import PersonalCues
from bot.config import ConfigError

ENGINE = default_engine()
PLAN = ENGINE.plan


@pytest.mark.parametrize(
    ("question", "unit_id"),
    [
        ("我是财政局的联络员，方案里跟我们有关的是哪条", "finance_bureau"),
        ("我是县委党校的联络员，方案里跟我们单位有关的有哪些", "party_school"),
        ("我在组织部上班，方案里哪些跟我们有关", "organization_dept"),
        ("我们局是住建局，跟我们有关的有哪些", "housing_construction_bureau"),
        ("我是人社局的，今年要完成哪些任务", "hr_bureau"),  # a unit question, not member duties
        ("我是编办的，我们单位要落实哪几条", "staffing_office"),
        ("组织部这回分到了哪些任务", "organization_dept"),
        ("政协办这次都分了些啥任务", "cppcc_office"),
        ("统战部负责的事列一下", "united_front_dept"),
        ("纪委监委在这个方案里涉及哪几条，列出来", "discipline_commission"),
        ("编办摊上啥活", "staffing_office"),
        ("财政局摊上了啥活儿", "finance_bureau"),
        ("编办口有什么任务", "staffing_office"),
        ("组织部口有啥任务", "organization_dept"),
        ("人社局那头需要落实哪些", "hr_bureau"),
        ("财政上要干啥", "finance_bureau"),
        ("请把组织部的任务列出来", "organization_dept"),
        ("我是政府办的，帮我看看我们要干的事", "gov_office"),  # 看看我们: not the asker's progress
        ("我单位是编办，有关的条款有哪些", "staffing_office"),
        ("我是党校的老师，方案对我们有什么要求", "party_school"),
        ("你帮我查查编办的任务", "staffing_office"),  # 帮我查: a unit question, not the asker's progress
        ("和统战部挂钩的任务", "united_front_dept"),
        ("俺是人社局办公室的，看下有俺们啥事", "hr_bureau"),
        # the third round (tests/test_answers_framing.py): a unit_ask phrase in a colloquial frame
        ("组织部门的活有几件", "organization_dept"),
        ("财政局是不是只管给钱", "finance_bureau"),
        ("县委办在这个方案里牵头几件事", "party_office"),
        ("我是编办的，麻烦帮我看看涉及我们的有几条", "staffing_office"),
        ("财政上要干的活帮我列列，大概就行", "finance_bureau"),
        ("纪检那头有啥任务，是不是盯着换届", "discipline_commission"),
        ("我是政协办的，分给我们的活列一下", "cppcc_office"),
        ("县委宣传那边有啥任务没", "propaganda_dept"),
        ("机构编制那边摊上啥活了", "staffing_office"),
        ("我们是县直部门，方案里对县直各单位有啥要求", "county_departments"),
    ],
)
def test_unit_questions_around_the_asker_list_all_of_the_units_tasks(question, unit_id):
    answer = ENGINE.answer(question)
    assert (answer.intent, answer.unit) == ("unit", unit_id), question
    assert answer.items == PLAN.tasks_of_unit(unit_id).all_numbers


@pytest.mark.parametrize(
    ("question", "task"),
    [
        ("我是统战部的，党外委员学习培训是不是我们负责", 19),  # asks about one matter
        ("组织上安排我去培训吗", 19),
        ("县直部门组织听证会要请委员吗", 11),
    ],
)
def test_a_unit_named_in_a_question_about_one_matter_still_gets_that_task(question, task):
    answer = ENGINE.answer(question)
    assert answer.intent != "unit" and answer.items[0] == task


@pytest.mark.parametrize(
    "question",
    [
        "我那条关于修路的提案是哪个部门在办",
        "俺去年交的那个提案有回复没",
        "我的社情民意被采用了吗",
        "我前阵子提的那个关于养老的提案咋样了",
        "我写的那份提案交给谁办了",
        "我上个月报的社情民意有没有下文",
        "俺提的那个建议有人管没",
        "我今年交的提案立案了没有",
        "我反映的那条社情民意信息报上去了吗",
        "本人上次提交的提案办理进度",
        "我上次提的那个提案现在谁在负责",
        "俺报的那条社情民意用上没有",
        "我前几天交上去的提案立上案了吗",
        "我提交的提案被哪个单位承办了",
        "我那提案咋没动静",
        "我提的那件事政府回复了吗",
        "咱交的那份社情民意有回音没",
        "我那篇社情民意领导看了吗",
        "我前天报的提案审核通过没",
    ],
)
def test_a_particular_proposal_of_the_askers_goes_to_their_proposals(question):
    answer = ENGINE.answer(question)
    assert (answer.intent, answer.route, answer.items) == ("personal", "proposals", []), question


@pytest.mark.parametrize(
    ("question", "task"),
    [
        ("我的提案没人理咋办", 18),  # the plan's rule on replies
        ("我们提的集体提案怎么立案", 16),  # 我们: a question about the rules
        ("委员提的提案由谁答复", 18),
        ("我想写一份提案，交给谁", 33),
    ],
)
def test_proposal_rules_stay_plan_questions(question, task):
    answer = ENGINE.answer(question)
    assert answer.intent != "personal" and answer.items[0] == task


@pytest.mark.parametrize(
    "question",
    [
        "今年提案截止到哪天",
        "今年提案啥时候截止",
        "今年社情民意信息几月份截止",
        "今年政协全会几月几号开",
        "今年的协商议题有哪些",
        "今年重点协商题目都有啥",
        "明年的协商重点是什么",
        "政协云app密码忘了怎么办",
        "政协云app怎么登录",
        "履职app在哪下载",
        "参加一次会议加几分",
        "履职积分怎么算，参加视察加几分",
        "提案被采用有稿费吗",
        "社情民意信息被采用给多少稿费",
        "委员每个月有多少津贴",
        "怎么加入民盟",
        "想加入九三学社要什么条件",
        "入党申请书怎么写",
        "提案不予立案可以申诉吗",
        "对提案答复不满意怎么申诉",
        "提案被退回能不能复议",
        "今年的提案要在几号前交",  # not member duties
        "今年社情民意要交到什么时候",
        "政协云手机上怎么装",
        "委员履职积分一次会议记多少",
        "我能不能加入民进",
        "对承办单位的答复有意见能投诉吗",
        "履职积分满分多少",
    ],
)
def test_what_the_plan_does_not_settle_cites_no_task(question):
    answer = ENGINE.answer(question)
    assert answer.intent == "out_of_scope" and answer.items == [], question
    assert len(answer.related) <= 1


@pytest.mark.parametrize(
    ("question", "task"),
    [
        ("委员履职情况怎么评价", 34),
        ("履职积分用来干啥", 34),
        ("政协委员可以加入民主监督小组吗", 13),
        ("统战委员应该成为政协委员吗", 37),
        ("年度协商计划谁来定", 2),
        ("政协云是干啥的", 29),
    ],
)
def test_the_same_words_about_what_the_plan_says_are_answered(question, task):
    answer = ENGINE.answer(question)
    assert answer.items and answer.items[0] == task


def test_points_and_fees_name_the_related_task_as_a_button_only():
    points = ENGINE.answer("参加一次会议加几分")
    assert "方案没有规定" in points.reply and points.related == [34] and points.items == []
    fees = ENGINE.answer("提案被采用有稿费吗")
    assert fees.related == [45] and fees.items == []


def test_a_unit_question_is_not_routed_to_the_asker():
    assert ENGINE.personal_route("你帮我查查编办的任务") is None
    assert ENGINE.personal_route("帮我查一下") == "progress"


def test_an_app_login_is_not_the_binding_step_but_binding_still_is():
    assert ENGINE.personal_route("政协云app怎么登录") is None
    assert ENGINE.personal_route("怎么绑定我的身份") == "binding"


def test_owner_cues_validation_names_the_key():
    data = dict(ENGINE.cues)
    data["personal_that"] = []
    with pytest.raises(ConfigError, match=r"intents\.json personal_that: 应为非空字符串列表"):
        PersonalCues.from_intents(data)
