"""Request bodies of the public API (``extra="forbid"``, Chinese field titles) and ``COMMANDS``."""

from pydantic import BaseModel

from . import registry as _registry
from .agri import PublishTask, SaveDraft, SubmitReport
from .gateway import CreateUser, EnrolDevice, GrantTopics, Login, Refresh, RevokeDevice
from .organisation import (
                         ChooseCounty,
                         EndAppointment,
                         FilePlan,
                         RecordAppointment,
                         RecordLeadingGroup,
                         RecordOffice,
                         RecordTraining,
                         RecordWorkload,
                         SaveProgressDraft,
                         ScopeFromDocument,
                         ScopeReform,
                         ScoreAssessment,
                         SetSubsidyRates,
                         SubmitProgressReport,
)
from .population import (
                         AdjustLedger,
                         AssignEnumerator,
                         AssignPesTeam,
                         ConfirmReadBack,
                         DrawPesSample,
                         ErasePerson,
                         ExplainDiscrepancy,
                         HandIn,
                         ImportAreas,
                         MatchPes,
                         PublishExam,
                         Recheck,
                         RecordAdminFigures,
                         RecordPesCheck,
                         RecordRosterReview,
                         ReportChange,
                         RevealIdNumber,
                         SaveHousehold,
                         SaveRoster,
                         TakeExam,
                         VerifyArea,
)
from .workflow import AcceptCase, ApproveCase, ReopenCase, ReturnCase

COMMANDS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        PublishTask,
        SaveDraft,
        SubmitReport,
        ApproveCase,
        ReturnCase,
        AcceptCase,
        ReopenCase,
        Login,
        Refresh,
        CreateUser,
        EnrolDevice,
        RevokeDevice,
        GrantTopics,
        RecordOffice, RecordAppointment, EndAppointment, ScopeReform, ScopeFromDocument,
        ChooseCounty, FilePlan, RecordLeadingGroup, SaveProgressDraft, SubmitProgressReport,
        SetSubsidyRates, RecordWorkload, RecordTraining, ScoreAssessment,
        SaveHousehold,
        ConfirmReadBack,
        HandIn,
        Recheck,
        ErasePerson,
        RevealIdNumber,
        ImportAreas,
        AssignEnumerator,
        VerifyArea,
        PublishExam,
        TakeExam,
        SaveRoster,
        RecordRosterReview,
        ReportChange,
        AdjustLedger,
        RecordAdminFigures,
        ExplainDiscrepancy,
        DrawPesSample,
        AssignPesTeam,
        RecordPesCheck,
        MatchPes,
        *(getattr(_registry, n) for n in _registry.__all__ if not n.isupper()),
    )
}
"""command name -> model (exported to ``contracts/schemas/commands/<name>.json``)."""

__all__ = [
    "COMMANDS",
    "AcceptCase",
    "CreateUser",
    "EnrolDevice",
    "GrantTopics",
    "RevokeDevice",
    "ApproveCase",
    "Login",
    "PublishTask",
    "Refresh",
    "ReopenCase",
    "ReturnCase",
    "SaveDraft",
    "SubmitReport",
]
