"""The words the console shows: Chinese labels for form fields, choices, actions and statuses.

A form's own ``title`` wins when it is Chinese: ``Field(title="消防安全 Fire safety")`` shows
消防安全 with the English beside it. The forms of the built-in plugins all title their fields so;
for a form whose titles are English the console looks the field name up in :data:`FIELDS`, and a
field it does not know shows its title or name.
"""

from __future__ import annotations

import re
from typing import Any

from careflow.roles import role_title

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
_ZH_THEN_EN = re.compile(
    r"^(?P<zh>.*[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])\s+(?P<en>[A-Za-z][^\u3400-\u9fff]*)$"
)
"""A title written ``中文 English``: the Chinese, a space, then English with no Chinese in it."""

FIELDS: dict[str, str] = {}
"""Field name → Chinese label, for forms whose schema titles are English.

Empty: every form and start form of the built-in plugins names its fields in Chinese at the
source (``Field(title="物资是否与清单一致 Items match the list")``). A plugin whose forms still
carry English titles can have its field names added here.
"""

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
    "task.unmask": "显示工单完整信息",
    "process.unmask": "显示服务对象完整信息",
    "process.start": "发起流程",
    "process.view": "查看流程",
    "event.send": "发送事件",
    "audit.read": "查看审计",
    "case.search": "案件查询",
    "consent.record": "登记同意",
    "consent.withdraw": "撤回同意",
    "consent.list": "查看同意",
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
        ``(label, english)``: a Chinese title, split into its Chinese and English when written
        ``中文 English``; else the glossary's Chinese with the English title; else the title
        (or the name) alone.
    """
    text = str(title) if title else None
    if text and has_chinese(text):
        both = _ZH_THEN_EN.match(text.strip())
        if both:
            return both["zh"], both["en"].strip()
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
    if role is None:
        return "-"
    return role_title(role)
