"""Product packages: the zip that ``Products(<Id>)/$value`` streams."""

from .packages import ProductPackages
from .plan import ProductPlan

__all__ = ["ProductPackages", "ProductPlan"]
