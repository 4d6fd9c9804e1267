"""Scrapy settings of the BrandPatrol project (`scrapy.cfg` points here, so `scrapy crawl demo` works).

Per-marketplace politeness (delay, concurrency, robots.txt) is applied by the spider from the brand config.
"""

from scrapy.settings import default_settings  # lower case: Scrapy reads only upper-case names as settings

BOT_NAME = "brandpatrol"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "BrandPatrol/0.1 (brand-protection monitor; +https://github.com/brandpatrol/brandpatrol)"
ROBOTSTXT_OBEY = True
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# The address Twisted connects to passes the egress gate too (a DNS answer that changed since the URL's check).
TWISTED_DNS_RESOLVER = "crawler.resolver.GatedResolver"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 10.0  # the parent process relays these page counts as progress

# A crawl listens on no port. Scrapy would open two by default: the telnet console on 127.0.0.1:6023-6073 (a Python
# shell inside the crawl, its password in the log) and, since 2.19, the remote-control HTTP server on a random
# loopback port (it runs any Python code sent with the token it writes to a job file under the user's state dir).
# Any local user or process that gets at either controls the crawl and its database; nothing here uses them.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Politeness and bounds: every byte from a marketplace is capped in size and time.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A page the browser failed to load (a connection cut, a renderer that crashed, a navigation timed out) is fetched
# again like a dropped connection; Scrapy's own list knows only its HTTP downloader's errors.
RETRY_EXCEPTIONS = [*default_settings.RETRY_EXCEPTIONS, "playwright.async_api.Error"]
CLOSESPIDER_TIMEOUT = 3 * 3600
CLOSESPIDER_ERRORCOUNT = 500
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = True
REACTOR_THREADPOOL_MAXSIZE = 12

DOWNLOAD_HANDLERS = {
    "http": "crawler.browser.BrowserDownloadHandler",
    "https": "crawler.browser.BrowserDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    # Background networking calls home; on a closed network it only produces refused connections. The browser's
    # only way out is the egress gate's proxy (crawler.browser); WebRTC would otherwise send UDP around it.
    "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"],
}
PLAYWRIGHT_MAX_CONTEXTS = 2
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER = True

RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry, doubling for each further one
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 600.0  # a Retry-After longer than this is capped, not obeyed for hours

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.EgressGateMiddleware": 50,
    # Above RetryMiddleware (550), so it sees a 429/503 before the retry is scheduled.
    "crawler.middlewares.PolitenessMiddleware": 560,
    # Scrapy's meta-refresh redirect raised on a refresh URL or charset a page made up; ours ignores those.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.PageSafeMetaRefreshMiddleware": 580,
}
ITEM_PIPELINES = {
    "crawler.pipelines.NormalisePipeline": 100,
    "crawler.pipelines.ImagePipeline": 300,
    "crawler.pipelines.StoragePipeline": 800,
}
# Memory: the limit (MEMUSAGE_LIMIT_MB, from BRANDPATROL_CRAWL_MEMORY_LIMIT_MB) counts this process and the browser's
# processes; over it the crawl closes as `memusage_exceeded`. Ours replaces Scrapy's (see CrawlMemoryUsage).
MEMUSAGE_ENABLED = True
MEMUSAGE_CHECK_INTERVAL_SECONDS = 10.0
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,  # no listening port (see TELNETCONSOLE_ENABLED)
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.memusage.MemoryUsage": None,
    "crawler.extensions.CrawlMemoryUsage": 0,
    "crawler.extensions.CrawlRunRecorder": 100,
}
