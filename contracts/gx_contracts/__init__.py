"""gx_contracts: event and command schemas shared by all gxstat services (统一契约)."""

__version__ = "0.1.0"
