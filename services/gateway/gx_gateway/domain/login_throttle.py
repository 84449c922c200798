"""Login throttling (登录限速) — pure rules, no I/O.

Wrong passwords are counted per username (whether or not it exists) and per client address.
Past a few free failures each further one holds the key back for a doubling delay, capped.
No hard lock: a user's own enrolled phone counts under its own key, and an administrator can
clear a name at once. Unknown and real names are counted and answered alike.
"""
from __future__ import annotations

from dataclasses import dataclass

USER, ADDRESS, DEVICE = "user", "addr", "device"


@dataclass(frozen=True)
class Policy:
    free_failures_user: int = 5
    free_failures_address: int = 100
    max_delay_seconds: int = 15 * 60
    window_seconds: int = 15 * 60

    def delay_after(self, kind: str, failures: int) -> int:
        """Seconds the key is held back after its `failures`-th wrong password in the window."""
        free = self.free_failures_address if kind == ADDRESS else self.free_failures_user
        if failures < free:
            return 0
        return min(self.max_delay_seconds, int(2 ** min(failures - free, 30)))


def user_key(username: str) -> str:
    return f"{USER}:{username.strip().lower()}"


def keys_for(username: str, address: str, device_id: str | None) -> list[tuple[str, str]]:
    """(key, kind) counted for one attempt. A proven enrolled phone of the named user counts
    only under its own key, so others' guessing at the name or from the address cannot stop it."""
    if device_id:
        return [(f"{DEVICE}:{device_id}", DEVICE)]
    return [(user_key(username), USER), (f"{ADDRESS}:{address}", ADDRESS)]
