"""The ERP inventory feed (registry name ``inventory``).

Stock movements, periodic stock snapshots (as ``counted`` movements, so
stock converges on the ERP's counts) and price updates, as CSV files in a
watched folder or over HTTP. ``records`` is the pure mapping, ``server`` the
HTTP side and the folder feed.
"""

from connectors.inventory.server import InventoryFeed, create

__all__ = ["InventoryFeed", "create"]
