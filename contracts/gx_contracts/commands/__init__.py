"""Request bodies of the public API (``extra="forbid"``, Chinese field titles) and ``COMMANDS``."""

from pydantic import BaseModel

from .agri import PublishTask, SaveDraft, SubmitReport
from .population import (AssignEnumerator, ConfirmReadBack, ErasePerson, HandIn,
                         ImportAreas, PublishExam, Recheck, RecordRosterReview, RevealIdNumber,
                         SaveHousehold, SaveRoster, TakeExam, VerifyArea, ReportChange,
                         AdjustLedger, RecordAdminFigures, ExplainDiscrepancy, DrawPesSample,
                         AssignPesTeam, RecordPesCheck, MatchPes)
from .organisation import (ChooseCounty, EndAppointment, FilePlan, RecordAppointment,
                           RecordLeadingGroup, RecordOffice, RecordTraining, RecordWorkload,
                           SaveProgressDraft, ScopeFromDocument, ScopeReform, ScoreAssessment,
                           SetSubsidyRates, SubmitProgressReport)
from .gateway import CreateUser, EnrolDevice, GrantTopics, Login, Refresh, RevokeDevice
from .workflow import AcceptCase, ApproveCase, ReopenCase, ReturnCase
from . import registry as _registry

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
