"""The portal's words in Chinese (the default) and English.

A page asks `Translator.t(key, **values)`; the language comes from the `lang` query parameter or
the `qinqing_lang` cookie the switch sets. A key missing from a language falls back to Chinese, a
key missing everywhere shows itself (a test checks every key has both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT: Language = "zh"
COOKIE = "qinqing_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (中文, English)
    "app": ("亲清在线", "Qinqing"),
    "switch": ("English", "中文"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token": ("令牌", "Token"),
    "token_help": (
        "粘贴管理员发给您的访问令牌（qinqing token 生成），或打开发给您的一次性登录链接。",
        "Paste the access token you were given (made by qinqing token), or open the one-time "
        "sign-in link you were sent.",
    ),
    "sign_in_as": ("以 {who} 身份登录", "Sign in as {who}"),
    "signed_in_as": ("当前用户：{who}", "Signed in as {who}"),
    "bad_token": ("令牌无效或已过期：{why}", "The token cannot be used: {why}"),
    "signin.code_help": (
        "此登录链接只能使用一次，并会很快过期。",
        "This sign-in link works once and expires soon.",
    ),
    "signin.unknown": (
        "此登录链接无效，请重新获取登录链接。",
        "This sign-in link is not valid; ask for a new one.",
    ),
    "signin.used": (
        "此登录链接已使用过（每个链接只能登录一次），请重新获取。",
        "This sign-in link has already been used (a link signs in once); ask for a new one.",
    ),
    "signin.expired": (
        "此登录链接已过期，请重新获取。",
        "This sign-in link has expired; ask for a new one.",
    ),
    "signin.token_in_link": (
        "链接中不能携带令牌（会留在日志和浏览器历史中）；请将令牌粘贴到下方，或使用登录链接。",
        "A link may not carry a token (it stays in logs and browser history); paste the token "
        "below, or use a sign-in link.",
    ),
    "forbidden": ("您的角色无权查看此页面。", "Your role may not use this page."),
    "not_found": ("没有找到。", "Not found."),
    "csrf_failed": (
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form is stale or came from elsewhere; reload the page and try again.",
    ),
    "rate_limited": (
        "请求过于频繁，请 {seconds} 秒后再试。",
        "Too many requests; try again in {seconds} s.",
    ),
    "role.enterprise": ("企业", "Firm"),
    "role.officer": ("政策专员", "Policy officer"),
    "role.finance": ("财务", "Finance"),
    "role.auditor": ("审计", "Auditor"),
    # navigation
    "nav.subsidies": ("我的补贴", "My subsidies"),
    "nav.redemptions": ("兑付进度", "My redemptions"),
    "nav.policies": ("政策", "Policies"),
    "nav.drafts": ("草稿与编辑", "Drafts"),
    "nav.review": ("待审批", "Held and returned"),
    "nav.batches": ("支付批次", "Payout batches"),
    "nav.exceptions": ("对账异常", "Reconciliation"),
    "nav.reports": ("报表下载", "Report downloads"),
    # firm
    "firm.title": ("我的补贴", "My subsidies"),
    "firm.qualified": ("您符合条件的补贴", "Subsidies you qualify for"),
    "firm.others": ("暂不符合的政策", "Policies you do not qualify for"),
    "firm.none_qualified": ("暂无符合条件的补贴。", "No subsidy you qualify for yet."),
    "firm.not_registered": (
        "您的企业不在当前的企业登记库中。",
        "Your firm is not in the current enterprise registry.",
    ),
    "firm.amount": ("金额（元）", "Amount (yuan)"),
    "firm.why": ("原因", "Why"),
    "firm.why_not": ("不符合的原因", "Why not"),
    "firm.valid_until": ("有效期至", "Valid until"),
    "firm.matched_as_of": ("匹配日期", "Matched as of"),
    "firm.mode.one-click": ("一键兑付", "One-click"),
    "firm.mode.automatic": ("免申即享", "Automatic"),
    "firm.redeem": ("一键兑付", "Redeem"),
    "firm.redeemed": ("已兑付申请", "Redeemed"),
    "firm.automatic_note": ("无需申请，自动发放", "Granted without a click"),
    "firm.clause_holds": ("满足", "holds"),
    "firm.clause_fails": ("不满足", "does not hold"),
    "firm.clause_error": ("无法判断", "cannot be decided"),
    "firm.read": ("读取的数据", "what it read"),
    "firm.eval_error": ("计算出错：{error}", "Evaluation error: {error}"),
    "firm.zero_amount": ("金额为零", "the amount is zero"),
    "confirm.title": ("确认兑付", "Confirm the redemption"),
    "confirm.text": (
        "您将申请兑付「{title}」，金额 {amount} 元，款项将打入企业登记的银行账户。",
        "You are redeeming “{title}” for {amount} yuan, paid to the firm's registered account.",
    ),
    "confirm.yes": ("确认兑付", "Confirm and redeem"),
    "confirm.no": ("取消", "Cancel"),
    "redeem.refused": ("未能兑付：{why}", "Not redeemed: {why}"),
    "redemptions.title": ("兑付进度", "My redemptions"),
    "redemptions.none": ("还没有兑付记录。", "No redemptions yet."),
    "redemption.title": ("兑付 #{id}", "Redemption #{id}"),
    "redemption.policy": ("政策", "Policy"),
    "redemption.created": ("申请时间", "Redeemed at"),
    "redemption.status": ("状态", "Status"),
    "step.redeemed": ("已申请", "Redeemed"),
    "step.approved": ("已审批", "Approved"),
    "step.paying": ("支付中", "Being paid"),
    "step.paid": ("已支付", "Paid"),
    "status.held": ("待审批", "Held for approval"),
    "status.approved": ("已审批，待支付", "Approved, awaiting payment"),
    "status.paying": ("支付中", "Being paid"),
    "status.paid": ("已支付", "Paid"),
    "status.returned": ("银行退回，财务处理中", "Returned by the bank; finance is on it"),
    "status.reversed": ("已撤销", "Reversed"),
    # officer
    "policies.title": ("政策", "Policies"),
    "policies.id": ("编号", "Id"),
    "policies.name": ("名称", "Title"),
    "policies.state": ("状态", "State"),
    "policies.version": ("版本", "Version"),
    "policies.funnel": ("政策漏斗", "Policy funnel"),
    "policies.actions": ("操作", "Actions"),
    "policies.edit": ("编辑", "Edit"),
    "policies.request": ("暂停或关闭…", "Suspend or close…"),
    "policies.request_suspend": ("申请暂停", "Request suspension"),
    "policies.request_close": ("申请关闭", "Request closing"),
    "policies.reason": ("理由", "Reason"),
    "policies.pending": ("待复核：申请#{id}", "Pending: request #{id}"),
    "requests.title": (
        "待复核的暂停与关闭申请",
        "Suspensions and closings awaiting a second officer",
    ),
    "requests.two_officers": (
        "暂停或关闭政策须由一名专员申请、另一名专员复核确认（四眼原则）；申请人可撤回。",
        "Suspending or closing a policy takes two officers: one requests it, another confirms "
        "it; the requester may withdraw it.",
    ),
    "requests.none": ("没有待复核的申请。", "No request is waiting."),
    "requests.policy": ("政策", "Policy"),
    "requests.action": ("操作", "Action"),
    "requests.reason": ("理由", "Reason"),
    "requests.by": ("申请人", "Requested by"),
    "requests.at": ("申请时间", "Requested at"),
    "requests.confirm": ("复核确认", "Confirm"),
    "requests.withdraw": ("撤回", "Withdraw"),
    "requests.yours": ("您的申请，须由其他专员确认", "Yours: another officer confirms it"),
    "requests.confirm_close": (
        "确认关闭该政策？关闭后不可恢复。",
        "Close this policy for good?",
    ),
    "requests.confirm_suspend": ("确认暂停该政策？", "Suspend this policy?"),
    "action.suspend": ("暂停", "Suspend"),
    "action.close": ("关闭", "Close"),
    "requests.done.requested": (
        "已提交申请 #{id}，等待另一名专员复核。",
        "Request #{id} made; it waits for another officer.",
    ),
    "requests.done.confirmed": ("申请 #{id} 已确认并执行。", "Request #{id} confirmed and done."),
    "requests.done.withdrawn": ("申请 #{id} 已撤回。", "Request #{id} withdrawn."),
    "state.published": ("已发布", "published"),
    "state.suspended": ("已暂停", "suspended"),
    "state.closed": ("已关闭", "closed"),
    "state.draft": ("草稿", "draft"),
    "funnel.qualified": ("符合条件", "Qualified"),
    "funnel.redeemed": ("已申请", "Redeemed"),
    "funnel.approved": ("已审批", "Approved"),
    "funnel.paid": ("已支付", "Paid"),
    "funnel.firms": ("企业", "firms"),
    "drafts.title": ("政策草稿", "Policy drafts"),
    "drafts.new": ("新建草稿", "New draft"),
    "drafts.from": ("起点", "Start from"),
    "drafts.blank": ("空白模板", "A blank template"),
    "drafts.latest_of": ("{id} 的最新版本", "the latest version of {id}"),
    "drafts.none": ("还没有草稿。", "No drafts yet."),
    "drafts.updated": ("更新时间", "Updated"),
    "drafts.published_as": ("已发布为第 {version} 版", "published as version {version}"),
    "drafts.open": ("打开", "Open"),
    "editor.title": ("编辑草稿 #{id}", "Draft #{id}"),
    "editor.help": (
        "输入时自动校验；问题会标出行号和列号。测试、预览和发布前会先保存。",
        "Checked as you type; each problem names its line and column. Testing, previewing and "
        "publishing save the text first.",
    ),
    "editor.valid": ("校验通过，没有问题。", "Valid: no problems."),
    "editor.issues": ("{count} 个问题", "{count} problem(s)"),
    "editor.line": ("第 {line} 行", "line {line}"),
    "editor.column": ("第 {column} 列", "column {column}"),
    "editor.save": ("保存", "Save"),
    "editor.saved": ("已保存。", "Saved."),
    "editor.test": ("运行测试", "Test run"),
    "editor.preview": ("影响预览", "Impact preview"),
    "editor.publish": ("发布", "Publish"),
    "editor.confirm_publish": ("确定发布该政策？", "Publish this policy?"),
    "editor.as_of": ("预览日期", "Preview as of"),
    "editor.readonly": ("该草稿已发布，不能再修改。", "This draft is published; it cannot change."),
    "tests.summary": ("{passed} 个通过，{failed} 个失败", "{passed} passed, {failed} failed"),
    "tests.passed": ("通过", "passed"),
    "tests.failed": ("失败", "failed"),
    "preview.title": ("影响预览（截至 {as_of}）", "Impact preview (as of {as_of})"),
    "preview.firms": ("登记企业", "Firms in the registry"),
    "preview.qualified": ("符合条件企业", "Firms that qualify"),
    "preview.total": ("预计金额（元）", "Total (yuan)"),
    "preview.budget": ("预算（元）", "Budget (yuan)"),
    "preview.errors": ("计算出错的企业", "Evaluation errors"),
    "preview.error_examples": ("出错示例", "Examples of errors"),
    "preview.by_district": ("按区县", "By district"),
    "preview.district": ("区县", "District"),
    "preview.clause_stops": ("各条件排除的企业", "Firms each clause stops"),
    "preview.changes": (
        "相对已发布的第 {version} 版：新增 {gained}，减少 {lost}，金额变化 {changed}",
        "Against published version {version}: {gained} gained, {lost} lost, {changed} changed",
    ),
    "preview.over_budget": ("超出预算！", "Over budget!"),
    "publish.done": ("已发布 {id} 第 {version} 版。", "Published {id} version {version}."),
    "publish.same": (
        "{id} 第 {version} 版已是该内容，未新建版本。",
        "{id} version {version} already has this text; nothing new was stored.",
    ),
    "refused": ("未能完成：{why}", "Refused: {why}"),
    # review (held / returned)
    "review.title": ("待审批与退回", "Held and returned redemptions"),
    "review.held": ("待审批（风险规则暂缓）", "Held by a risk rule"),
    "review.returned": ("银行退回", "Returned by the bank"),
    "review.none": ("没有。", "None."),
    "review.firm": ("企业", "Firm"),
    "review.maker": ("经办人", "Made by"),
    "review.approve": ("审批通过", "Approve"),
    "review.approved": ("兑付 #{id} 已审批。", "Redemption #{id} approved."),
    "review.maker_checker": (
        "经办与复核须为不同人员（四眼原则）。",
        "Maker-checker: whoever made a change cannot approve or release it.",
    ),
    "review.account": ("更正后的账号", "Corrected account"),
    "review.correct": ("更正账号", "Correct the account"),
    "review.corrected": ("兑付 #{id} 的账号已更正。", "Redemption #{id}: account corrected."),
    "review.release": ("复核放行", "Release"),
    "review.released": ("兑付 #{id} 已放行，下次支付时重付。", "Redemption #{id} released."),
    # finance
    "batches.title": ("支付批次", "Payout batches"),
    "batches.none": ("还没有支付批次。", "No payout batches yet."),
    "batches.ref": ("批次", "Batch"),
    "batches.bank": ("银行", "Bank"),
    "batches.state": ("状态", "State"),
    "batches.items": ("笔数", "Items"),
    "batches.total": ("金额（元）", "Total (yuan)"),
    "batches.progress": ("进度", "Progress"),
    "batches.created": ("创建时间", "Created"),
    "batch.title": ("批次 {ref}", "Batch {ref}"),
    "batch.account": ("账号", "Account"),
    "batch.payee": ("收款人", "Payee"),
    "batch.net": ("实付（元）", "Net (yuan)"),
    "batch.reason": ("原因", "Reason"),
    "exceptions.title": ("对账异常", "Reconciliation exceptions"),
    "exceptions.none": ("没有待处理的对账异常。", "No reconciliation exceptions."),
    "exceptions.kind": ("类型", "Kind"),
    "exceptions.statement": ("对账单", "Statement"),
    "exceptions.amount": ("对账单金额", "Statement amount"),
    "exceptions.expected": ("应为", "Expected"),
    "exceptions.detail": ("说明", "Detail"),
    "exceptions.note": ("处理说明", "Note"),
    "exceptions.resolve": ("标记已处理", "Resolve"),
    "exceptions.resolved": ("已处理", "Resolved"),
    "exceptions.show_resolved": ("显示已处理", "Show resolved"),
    # report downloads
    "reports.title": ("报表下载", "Report downloads"),
    "reports.disbursements": ("支付明细报表（Excel）", "Disbursement report (Excel)"),
    "reports.help": (
        "按付款日期和政策筛选。数据量大的报表在后台生成，完成后在下方下载。",
        "Filter by payment date and policy. A large report is written in the background; "
        "download it below once it is done.",
    ),
    "reports.from": ("开始日期", "From"),
    "reports.to": ("结束日期", "To"),
    "reports.policy": ("政策", "Policy"),
    "reports.all_policies": ("全部政策", "All policies"),
    "reports.all_dates": ("全部日期", "All dates"),
    "reports.make": ("生成并下载", "Make and download"),
    "reports.download": ("下载", "Download"),
    "reports.recent": ("最近的报表任务", "Recent report jobs"),
    "reports.none": ("还没有报表任务。", "No report jobs yet."),
    "reports.job": ("报表任务 #{id}", "Report job #{id}"),
    "reports.filter": ("筛选条件", "Filter"),
    "reports.state": ("状态", "State"),
    "reports.stage": ("步骤", "Stage"),
    "reports.progress": ("进度", "Progress"),
    "reports.rows": ("{done} / {total} 行", "{done} / {total} rows"),
    "reports.requested_by": ("申请人", "Requested by"),
    "reports.created": ("创建时间", "Created"),
    "reports.started": ("开始时间", "Started"),
    "reports.finished": ("完成时间", "Finished"),
    "reports.running_note": (
        "报表正在后台生成，本页会自动刷新。",
        "The report is being written in the background; this page refreshes itself.",
    ),
    "reports.failed": ("生成失败：{error}", "The report failed: {error}"),
    "reports.not_ready": (
        "报表尚未生成完毕，暂时不能下载。",
        "The report is not ready to download.",
    ),
    "reports.file_missing": (
        "该报表文件已不在数据目录中，请重新生成。",
        "The report's file is no longer in the data directory; make it again.",
    ),
    "reports.back": ("返回报表下载", "Back to report downloads"),
    "reports.error.date": ("日期应为 年-月-日：{value}", "Not a date (YYYY-MM-DD): {value}"),
    "reports.error.period": (
        "开始日期（{start}）晚于结束日期（{end}）。",
        "The period starts ({start}) after it ends ({end}).",
    ),
    "reports.error.policy": ("没有编号为 {policy} 的政策。", "There is no policy {policy}."),
    "reports.state.queued": ("排队中", "queued"),
    "reports.state.running": ("生成中", "running"),
    "reports.state.done": ("已完成", "done"),
    "reports.state.failed": ("失败", "failed"),
    "reports.stage.queued": ("等待开始", "waiting to start"),
    "reports.stage.starting": ("开始", "starting"),
    "reports.stage.summarising": ("汇总", "summarising"),
    "reports.stage.writing the ledger": ("写入明细", "writing the ledger"),
    "reports.stage.writing budgets and exceptions": (
        "写入预算与异常",
        "writing budgets and exceptions",
    ),
    "reports.stage.saving the workbook": ("保存工作簿", "saving the workbook"),
    "reports.stage.done": ("完成", "done"),
    "reports.stage.failed": ("失败", "failed"),
}


@dataclass(frozen=True)
class Translator:
    language: Language

    def t(self, key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            return key
        text = pair[LANGUAGES.index(self.language)] or pair[0]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in MESSAGES


def language_of(query: str | None, cookie: str | None) -> Language:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT
