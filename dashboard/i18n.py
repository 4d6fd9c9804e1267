"""Dashboard labels in English and Chinese, chosen per user (User.language). Our own text only, never scraped.

`t(key)` looks a label up in the signed-in user's language; a key missing from a language is a bug caught by
tests/test_dashboard_i18n.py, and falls back to English at run time rather than failing a page.
"""

from __future__ import annotations

from typing import Final

LANGUAGE_NAMES: Final = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE: Final = "en"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    # navigation
    "page.login": {"en": "Sign in", "zh": "登录"},
    "page.denied": {"en": "Access denied", "zh": "无权访问"},
    "page.queue": {"en": "Review queue", "zh": "审核队列"},
    "page.detail": {"en": "Listing detail", "zh": "商品详情"},
    "page.sellers": {"en": "Sellers", "zh": "卖家"},
    "page.overview": {"en": "Overview", "zh": "总览"},
    "page.runs": {"en": "Crawl runs", "zh": "抓取记录"},
    "page.notices": {"en": "Notices", "zh": "投诉通知"},
    "page.testbuys": {"en": "Test buys", "zh": "试买"},
    "page.users": {"en": "Users", "zh": "用户"},
    # sign-in
    "login.title": {"en": "Sign in to BrandPatrol", "zh": "登录 BrandPatrol"},
    "login.username": {"en": "Username", "zh": "用户名"},
    "login.password": {"en": "Password", "zh": "密码"},
    "login.submit": {"en": "Sign in", "zh": "登录"},
    "login.failed": {"en": "Wrong username or password.", "zh": "用户名或密码错误。"},
    "login.locked": {
        "en": "Too many failed sign-ins for this username; wait 15 minutes and try again.",
        "zh": "该用户名登录失败次数过多，请 15 分钟后再试。",
    },
    "login.no_users": {
        "en": "No account exists yet. Create one on the server: brandpatrol user add NAME --role admin",
        "zh": "尚无账户。请在服务器上创建：brandpatrol user add NAME --role admin",
    },
    # sidebar
    "sidebar.signed_in": {"en": "Signed in as {user} ({role})", "zh": "已登录：{user}（{role}）"},
    "sidebar.language": {"en": "Language", "zh": "语言"},
    "sidebar.sign_out": {"en": "Sign out", "zh": "退出登录"},
    "sidebar.audit": {"en": "Reviews and the audit log record your username.", "zh": "审核与审计日志记录您的用户名。"},
    "role.analyst": {"en": "analyst", "zh": "分析员"},
    "role.legal": {"en": "legal", "zh": "法务"},
    "role.admin": {"en": "admin", "zh": "管理员"},
    # access
    "denied.page": {
        "en": "Your role ({role}) does not include this page. Ask an administrator if you need it.",
        "zh": "您的角色（{role}）无权访问此页面。如需访问，请联系管理员。",
    },
    "denied.role": {
        "en": "Your account has no dashboard role. Ask an administrator to set one.",
        "zh": "您的账户没有仪表板角色，请联系管理员设置。",
    },
    "denied.review": {
        "en": "Only analysts and administrators record review decisions.",
        "zh": "只有分析员和管理员可以记录审核决定。",
    },
    # review queue
    "queue.verdict": {"en": "Verdict", "zh": "判定"},
    "queue.marketplace": {"en": "Marketplace", "zh": "电商平台"},
    "queue.all": {"en": "All", "zh": "全部"},
    "queue.min_score": {"en": "Minimum score", "zh": "最低分数"},
    "queue.include_gone": {"en": "Include gone listings", "zh": "包含已下架商品"},
    "queue.product": {"en": "Product", "zh": "产品"},
    "queue.region": {"en": "Region (ISO 3166)", "zh": "地区（ISO 3166）"},
    "queue.seller": {"en": "Seller name contains", "zh": "卖家名称包含"},
    "queue.since": {"en": "Found from", "zh": "发现日期自"},
    "queue.until": {"en": "Found until", "zh": "发现日期至"},
    "queue.unreviewed": {"en": "Unreviewed", "zh": "待审核"},
    "queue.empty": {"en": "Nothing to review under these filters.", "zh": "当前筛选条件下没有待审核的项目。"},
    "queue.page": {"en": "Page", "zh": "页码"},
    "queue.rows_per_page": {"en": "Rows per page", "zh": "每页行数"},
    "queue.note": {"en": "Note for the selected findings", "zh": "所选项目的备注"},
    "queue.open_detail": {"en": "Open listing detail", "zh": "打开商品详情"},
    # overview
    "overview.period": {"en": "Period", "zh": "时间范围"},
    "overview.days": {"en": "last {days} days", "zh": "最近 {days} 天"},
    "overview.findings": {"en": "Suspect findings", "zh": "可疑发现"},
    "overview.filed": {"en": "Notices filed", "zh": "已提交投诉"},
    "overview.removal_rate": {"en": "Removal rate", "zh": "下架率"},
    "overview.days_to_removal": {"en": "Median days to removal", "zh": "下架天数中位数"},
    "overview.notices_line": {"en": "Notices: {removed} removed, {rejected} rejected, {open} awaiting an answer.",
                              "zh": "投诉：{removed} 件已下架，{rejected} 件被驳回，{open} 件待答复。"},
    "overview.empty": {"en": "No suspect findings in this period.", "zh": "此期间没有可疑发现。"},
    "overview.per_verdict": {"en": "Findings per day and verdict", "zh": "每日各判定的发现数"},
    "overview.per_marketplace": {"en": "Findings per marketplace", "zh": "各平台的发现数"},
    # sellers
    "sellers.empty": {"en": "No seller has a suspect listing yet.", "zh": "尚无卖家有可疑商品。"},
    "sellers.with_suspects": {"en": "Sellers with suspect listings", "zh": "有可疑商品的卖家"},
    "sellers.relisting": {"en": "Relisting after removal", "zh": "下架后重新上架"},
    "sellers.in_networks": {"en": "In a network of shops", "zh": "属于店铺网络"},
    "sellers.pick": {"en": "Seller", "zh": "卖家"},
    "sellers.over_time": {"en": "New listings per week", "zh": "每周新商品数"},
    "sellers.network": {"en": "Other shops in its network", "zh": "同一网络的其他店铺"},
    # runs
    "runs.next": {"en": "Next scheduled crawl: {when} (cron {cron}).", "zh": "下次计划抓取：{when}（cron {cron}）。"},
    "runs.health": {"en": "Schedule and health (as `brandpatrol status`)",
                    "zh": "计划与运行状况（同 `brandpatrol status`）"},
    "runs.no_schedule": {"en": "No crawl is scheduled (schedule.cron is empty).",
                         "zh": "未安排抓取（schedule.cron 为空）。"},
    # runs and listing detail
    "runs.none": {"en": "No crawl has run yet.", "zh": "尚未进行过抓取。"},
    "runs.shown": {"en": "Runs shown", "zh": "显示的抓取次数"},
    "runs.failed": {"en": "Failed", "zh": "失败"},
    "runs.newest_items": {"en": "Items in the newest run", "zh": "最近一次抓取的商品数"},
    "runs.latest": {"en": "Show the latest", "zh": "显示最近"},
    "detail.finding_number": {"en": "Finding number", "zh": "发现编号"},
    "detail.finding": {"en": "Finding", "zh": "发现"},
    "detail.open_hint": {
        "en": "Open a finding from the review queue, or enter its number above.",
        "zh": "请从审核队列打开一个发现，或在上方输入其编号。",
    },
    "detail.missing": {"en": "There is no finding {id}.", "zh": "没有编号为 {id} 的发现。"},
    "detail.score": {"en": "Score", "zh": "分数"},
    "detail.image_distance": {"en": "Image distance", "zh": "图像距离"},
    "detail.title": {"en": "Listing title", "zh": "商品标题"},
    "detail.photo": {"en": "Listing photo", "zh": "商品图片"},
    "detail.reference": {"en": "Reference photo", "zh": "参考图片"},
    "detail.why": {"en": "Why it was flagged", "zh": "标记原因"},
    "detail.prices": {"en": "Price history", "zh": "价格历史"},
    "detail.seller": {"en": "Seller", "zh": "卖家"},
    "detail.listing": {"en": "Listing", "zh": "商品"},
    "detail.evidence": {"en": "Captured evidence", "zh": "采集的证据"},
    "detail.review": {"en": "Review", "zh": "审核"},
    "detail.no_reviews": {"en": "No reviews yet.", "zh": "尚无审核记录。"},
    # users page
    "users.title": {"en": "Users", "zh": "用户"},
    "users.add": {"en": "Add a user", "zh": "添加用户"},
    "users.role": {"en": "Role", "zh": "角色"},
    "users.create": {"en": "Create", "zh": "创建"},
    "users.created": {"en": "Created the account.", "zh": "账户已创建。"},
    "users.not_created": {"en": "The account was not created:", "zh": "账户未创建："},
    "users.disable": {"en": "Disable", "zh": "停用"},
    "users.enable": {"en": "Enable", "zh": "启用"},
    "users.account": {"en": "Account", "zh": "账户"},
    "users.changed": {"en": "Saved.", "zh": "已保存。"},
    "users.self": {"en": "You cannot disable your own account.", "zh": "不能停用自己的账户。"},
}


def translate(key: str, language: str, **values: object) -> str:
    entry = MESSAGES[key]
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
