from __future__ import annotations

from typing import Any, TypeAlias

from strawberry.types import Info as StrawberryInfo

from resolvers.context import RequestContext

Info: TypeAlias = StrawberryInfo[RequestContext, Any]
