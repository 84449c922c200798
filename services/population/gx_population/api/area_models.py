"""Request bodies of the area correction (the service's own; no contract module owns them yet)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gx_contracts.commands.population import Text, text
from gx_contracts.events.population import AreaCode
from gx_contracts.types import Command, ExpectedVersion


class CorrectArea(Command):
    """调查小区核实更正：边界、建筑物清单、名称、代码、城乡属性；上报逐级审批."""

    boundary: Text = text(1000, "边界描述", ..., min_length=1)
    buildings: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        max_length=2000, title="建筑物清单",
        description="建筑物清单：每项为建筑物编号与名称（每项至多100字，至多2000项）")
    name: Text = text(100, "调查小区名称", ..., min_length=1)
    area_code: AreaCode = Field(title="调查小区代码",
                                description="调查小区代码（15位：村级区划代码12位 + 小区序号3位）")
    urban_rural_code: str = Field(max_length=3, pattern=r"^[1-2][1-3]0$", title="城乡分类代码",
                                  description="城乡分类代码（3位，如 111、220）")
    expected_version: ExpectedVersion = Field(title="调查小区版本号",
                                              description="读取调查小区时的版本号（防止并发覆盖）")
