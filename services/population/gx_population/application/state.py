"""The population service's runtime state: its master keys (None: not configured)."""
from __future__ import annotations

from dataclasses import dataclass

from gx_kernel.service import ServiceRuntime

from gx_population.privacy.keys import MasterKeyError, MasterKeys


@dataclass
class PopulationState:
    master: MasterKeys | None
    master_key_text: str  # for the keyed request digest; never logged (repr=False below)

    def __repr__(self) -> str:
        return f"PopulationState(master={'set' if self.master else 'missing'})"


def build_state(settings: object) -> PopulationState:
    env = {"GX_POPULATION_MASTER_KEY": getattr(settings, "master_key", None) or "",
           "GX_POPULATION_MASTER_KEY_VERSION": getattr(settings, "master_key_version", "1"),
           "GX_POPULATION_OLD_MASTER_KEYS": getattr(settings, "old_master_keys", None) or ""}
    try:
        master: MasterKeys | None = MasterKeys.from_env(env)
    except MasterKeyError:
        master = None
    return PopulationState(master, env["GX_POPULATION_MASTER_KEY"])


def state(rt: ServiceRuntime) -> PopulationState:
    return rt.typed_state(PopulationState)
