"""The words the console shows: Chinese labels for form fields, choices, actions and statuses.

A form's own ``title`` wins when it is Chinese (``Field(title="消防安全")``). Most forms of the
built-in plugins carry English titles pydantic made from the field name, so the console keeps a
glossary of the field names they use; a field it does not know shows its title or name.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "OUTCOMES",
    "TASK_STATUSES",
    "action_label",
    "choice_label",
    "field_label",
    "has_chinese",
    "role_label",
]

_CJK = re.compile(r"[\u3400-\u9fff]")

FIELDS: dict[str, str] = {
    "accept": "接受",
    "accepted": "已接收",
    "advice_zh": "给老人的建议",
    "ambulance_120_called": "已呼叫 120",
    "approve": "同意",
    "arranged": "已安排",
    "arrived": "已到达",
    "attended": "到场人员",
    "briefing_held": "已做安全与隐私说明",
    "category": "类别",
    "children": "参与儿童",
    "condition": "情况",
    "cosigned": "已会签",
    "cost_yuan": "费用（元）",
    "couplets": "春联（副）",
    "curtains": "窗帘",
    "decline_reason": "谢绝原因",
    "declined": "监护人谢绝",
    "departed": "已出发",
    "description_zh": "心愿描述",
    "disability_level": "失能等级",
    "disposition": "处置",
    "elder_ok": "老人安好",
    "elder_well": "老人状况良好",
    "elders": "参与老人",
    "eligible": "符合条件",
    "escort_ref": "陪同人员编号",
    "estimated_value_yuan": "估计价值（元）",
    "expected_minutes": "预计到达（分钟）",
    "finding": "检查结果",
    "findings": "问题与原因",
    "fit_for_care": "适合入托",
    "follow_up_needed": "需要随访",
    "found": "已找到",
    "guardian_consent": "监护人同意",
    "guardians_attended": "到场家长",
    "handed_over": "已交付",
    "health_events": "近半年跌倒或住院",
    "held": "已举办",
    "held_on": "举办日期",
    "history_shared": "已共享健康档案",
    "hospital_ref": "医院编号",
    "identity_confirmed": "已确认身份",
    "identity_method": "身份确认方式",
    "institution_ref": "机构编号",
    "items_match": "物品相符",
    "joined": "家庭医生已参与",
    "keep_waiting": "继续排队",
    "level": "等级",
    "lives_alone": "独居",
    "mode": "方式",
    "needs_reassessment": "需要重新评估",
    "note": "备注",
    "outcome": "结果",
    "plan": "照护计划",
    "present": "到场人员",
    "priority": "优先级",
    "purchased": "已采购",
    "reached": "已联系上",
    "reason": "原因",
    "reason_code": "原因代码",
    "receipt_ref": "签收单编号",
    "received": "已收到",
    "resolved_by_pickup": "已被接走",
    "resubmit": "重新提交签字",
    "signatory_ref": "签字人编号",
    "size": "尺码",
    "storage_ref": "存放位置编号",
    "suggested_level": "建议等级",
    "supplier_ref": "供应商编号",
    "suspected_fraud": "疑似被诈骗",
    "topics": "宣讲主题",
    "universities": "高校",
    "vaccinations_complete": "疫苗接种齐全",
    "visited": "已走访",
    "visits_per_week": "每周探访次数",
    "volunteers": "志愿者",
    "walk_ins": "现场报名人数",
    "withheld_wish_ids": "暂缓发布的心愿编号",
    # request fields of processes
    "communities": "社区",
    "community": "社区",
    "district": "区",
    "case_ref": "案件编号",
    "elder_ref": "老人编号",
    "child_ref": "儿童编号",
    "recipient_ref": "受助人编号",
    "donor_ref": "捐赠方编号",
    "items": "物品",
    "purpose": "用途",
    "title_zh": "标题",
    "quantity": "数量",
}
"""Field name → Chinese label, for forms whose schema titles are English."""

CHOICES: dict[str, str] = {
    "school_bag": "书包",
    "stationery": "文具",
    "books": "图书",
    "winter_coat": "冬衣",
    "shoes": "鞋",
    "sports": "体育用品",
    "desk_lamp": "台灯",
    "green": "绿色",
    "yellow": "黄色",
    "red": "红色",
    "phone": "电话",
    "on_site": "现场",
    "video": "视频",
    "pass": "合格",
    "fail": "不合格",
    "open": "打开",
    "closed": "关闭",
}
"""Choice value → Chinese, for enum values the console knows."""

ACTIONS: dict[str, str] = {
    "auth.login": "登录",
    "auth.logout": "退出",
    "auth.required": "未登录访问",
    "auth.token": "令牌验证",
    "task.view": "查看工单",
    "task.claim": "认领工单",
    "task.release": "释放工单",
    "task.complete": "提交工单",
    "process.start": "发起流程",
    "process.view": "查看流程",
    "event.send": "发送事件",
    "audit.read": "查看审计",
    "case.search": "案件查询",
}
OUTCOMES: dict[str, str] = {"accepted": "已受理", "refused": "已拒绝", "failed": "失败"}
CHANNELS: dict[str, str] = {"console": "控制台", "api": "接口", "cli": "命令行"}
TASK_STATUSES: dict[str, str] = {
    "open": "待办",
    "done": "已完成",
    "expired": "已过期",
    "cancelled": "已取消",
    "overdue": "逾期",
}


def has_chinese(text: str | None) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return bool(text) and bool(_CJK.search(text or ""))


def _auto_title(name: str) -> str:
    return name.replace("_", " ").title()


def field_label(name: str, title: Any = None) -> tuple[str, str | None]:
    """The label of a form field and the English beside it (None when there is none to add).

    Args:
        name: The property name.
        title: The schema's ``title`` of the property, if any.

    Returns:
        ``(label, english)``: a Chinese title as is; else the glossary's Chinese with the
        English title; else the title (or the name) alone.
    """
    text = str(title) if title else None
    if text and has_chinese(text):
        return text, None
    english = text or _auto_title(name)
    chinese = FIELDS.get(name)
    if chinese:
        return chinese, english
    return english, None


def choice_label(name: str, value: Any) -> str:
    """What a choice shows: ``书包 school_bag`` for a known value, else the value."""
    text = "是" if value is True else "否" if value is False else str(value)
    chinese = CHOICES.get(text)
    return f"{chinese} {text}" if chinese else text


def action_label(action: str) -> str:
    """``提交工单 task.complete`` for a known audit action, else the action."""
    chinese = ACTIONS.get(action)
    return f"{chinese} {action}" if chinese else action


def role_label(role: str | None) -> str:
    """The Chinese title of a role (``网格员``), or the code when it is not a known role."""
    from careflow.roles import ROLE_TITLES, Role

    if role is None:
        return "-"
    try:
        return ROLE_TITLES[Role(role)]
    except ValueError:
        return role
