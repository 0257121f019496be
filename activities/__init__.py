"""Engine activities: the task store, case records and notifications.

Each class receives its dependencies (engine, adapter, clock) and hands its bound activity
methods to the worker through ``all()``. Activities are synchronous and run in the worker's
thread pool; every write is idempotent on (workflow id, step key).
"""

from activities.notifications import NotificationActivities
from activities.records import CaseRecordActivities
from activities.tasks import TaskActivities

__all__ = ["CaseRecordActivities", "NotificationActivities", "TaskActivities"]
