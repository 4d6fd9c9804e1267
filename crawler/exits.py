"""How a crawl process (`python -m crawler.run`) tells the process that started it how the crawl went.

A module of its own so the supervisor reads the table without importing Scrapy.
"""

from __future__ import annotations

from core.models import RunStatus

EXIT_CODES = {RunStatus.OK: 0, RunStatus.PARTIAL: 3, RunStatus.FAILED: 4, RunStatus.BLOCKED: 5}
STATUS_OF_EXIT = {code: status for status, code in EXIT_CODES.items()}
# Bad arguments or configuration, or the marketplace is being crawled already: nothing was started or recorded.
EXIT_NOT_STARTED = 2
