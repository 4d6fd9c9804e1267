"""Labels of the review desk (queue panel, keys, group decisions, grid) and the Overview's weekly charts, in
English and Chinese; merged into dashboard.i18n.MESSAGES."""

from __future__ import annotations

from typing import Final

DESK_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "desk.reviewing": {"en": "Under review: {at} of {of} on this page · finding {id}",
                       "zh": "正在审核：本页第 {at}/{of} 条 · 发现 {id}"},
    "desk.keys": {"en": "Keys: j next · k previous · c confirm · d dismiss · e escalate · n note",
                  "zh": "快捷键：j 下一条 · k 上一条 · c 确认 · d 排除 · e 上报 · n 备注"},
    "desk.listing_photo": {"en": "Listing photo", "zh": "商品图片"},
    "desk.reference_photo": {"en": "Reference it matched", "zh": "匹配的参考图"},
    "desk.photo_unavailable": {"en": "Photo cannot\nbe shown", "zh": "图片\n无法显示"},
    "desk.no_photo": {"en": "No photo\nkept", "zh": "未保存\n图片"},
    "desk.no_reference": {"en": "No reference\nmatched", "zh": "未匹配\n参考图"},
    "desk.where": {"en": "{marketplace} · seller {seller} · {price} · ships from {ship_from}",
                   "zh": "{marketplace} · 卖家 {seller} · {price} · 发货地 {ship_from}"},
    "desk.note_waiting": {"en": "Note for this decision: {note}", "zh": "本次决定的备注：{note}"},
    "desk.note_label": {"en": "Note for finding {id} (Enter saves it; c or d then decides)",
                        "zh": "发现 {id} 的备注（回车保存，然后按 c 或 d 决定）"},
    "desk.note_save": {"en": "Save note", "zh": "保存备注"},
    "desk.previous": {"en": "Previous · k", "zh": "上一条 · k"},
    "desk.next": {"en": "Next · j", "zh": "下一条 · j"},
    "desk.note": {"en": "Note · n", "zh": "备注 · n"},
    "desk.decided": {"en": "Finding {id}:", "zh": "发现 {id}："},
    "desk.key_stale": {"en": "The page changed as the key was pressed; nothing was decided. Press it again.",
                       "zh": "按键时页面已变化，未做任何决定。请再按一次。"},
    "desk.group": {"en": "Decide for a group", "zh": "批量决定"},
    "desk.group_decision": {"en": "Decision", "zh": "决定"},
    "desk.group_ask": {"en": "Decide for the group…", "zh": "批量决定…"},
    "desk.group.seller": {"en": "every unreviewed finding of this seller (#{id})",
                          "zh": "该卖家（#{id}）的全部待审核发现"},
    "desk.group.network": {"en": "every unreviewed finding of this seller's network (#{id})",
                           "zh": "该卖家所属网络（#{id}）的全部待审核发现"},
    "desk.group.product": {"en": "every unreviewed finding of this product (#{id})",
                           "zh": "该产品（#{id}）的全部待审核发现"},
    "desk.group.filter": {"en": "every finding under the filters", "zh": "当前筛选条件下的全部发现"},
    "desk.group_empty": {"en": "No unreviewed finding is left in that group.", "zh": "该组已没有待审核的发现。"},
    "desk.group_title": {"en": "Decide for a group", "zh": "批量决定"},
    "desk.group_question": {"en": "{verb} {count}: {group}?", "zh": "{verb} {count}：{group}？"},
    "desk.group_audit": {"en": "Each decision is written to the audit log under your name. Findings a colleague "
                               "reviews meanwhile are skipped.",
                         "zh": "每条决定都以您的用户名记入审计日志。期间已被他人审核的发现将被跳过。"},
    "desk.group_yes": {"en": "{verb} {count}", "zh": "{verb} {count}"},
    "desk.group_over_max": {
        "en": "{count} findings is more than the maximum of {max} for one decision (BRANDPATROL_BULK_REVIEW_MAX). "
              "Check the group once more.",
        "zh": "{count} 条超过单次决定上限 {max} 条（BRANDPATROL_BULK_REVIEW_MAX）。请再次确认。"},
    "desk.group_yes_again": {"en": "Yes, {verb} all {count}", "zh": "是的，{verb}全部 {count} 条"},
    "desk.group_cancel": {"en": "Cancel", "zh": "取消"},
    "queue.layout": {"en": "View", "zh": "视图"},
    "queue.layout.table": {"en": "Table", "zh": "表格"},
    "queue.layout.grid": {"en": "Grid", "zh": "网格"},
    "queue.review_this": {"en": "Review", "zh": "审核"},
    "queue.under_review": {"en": "▶ under review", "zh": "▶ 正在审核"},
    "col.photo": {"en": "Photo", "zh": "图片"},
    "col.reference_photo": {"en": "Reference photo", "zh": "参考图"},
    "col.suspect_findings": {"en": "Suspect findings", "zh": "可疑发现"},
    "col.confirmed": {"en": "Confirmed", "zh": "已确认"},
    "col.shops": {"en": "Shops", "zh": "店铺"},
    "col.link": {"en": "Link", "zh": "关联"},
    "col.detail": {"en": "Detail", "zh": "详情"},
    # the Overview
    "overview.weeks": {"en": "last {weeks} weeks", "zh": "最近 {weeks} 周"},
    "overview.in_days": {"en": "{days} days", "zh": "{days} 天"},
    "overview.to_notice": {"en": "Finding to notice (median)", "zh": "发现至投诉（中位数）"},
    "overview.to_removal": {"en": "Notice to removal (median)", "zh": "投诉至下架（中位数）"},
    "overview.finding_to_removal": {"en": "Finding to removal (median)", "zh": "发现至下架（中位数）"},
    "overview.relisting_rate": {"en": "Relisting rate", "zh": "重新上架率"},
    "overview.pipeline_line": {
        "en": "Findings found in the period and filed on notices: {on_notices}; their listings removed: {removed}, "
              "of which back again (same seller or same photo): {relisted}.",
        "zh": "本期发现并已投诉：{on_notices} 条；其商品已下架：{removed} 件，"
              "其中重新上架（同一卖家或同一图片）：{relisted} 件。"},
    "overview.region": {"en": "Province or country", "zh": "省份或国家"},
    "overview.week": {"en": "Week of", "zh": "周（起始日）"},
    "overview.by_region": {"en": "Where suspect goods ship from, last {weeks} weeks",
                           "zh": "可疑商品的发货地（最近 {weeks} 周）"},
    "overview.other_regions": {"en": "{count} other regions", "zh": "其他 {count} 个地区"},
    "overview.per_week_verdict": {"en": "Findings per week and verdict", "zh": "每周各判定的发现数"},
    "overview.per_week_marketplace": {"en": "Findings per week and marketplace", "zh": "每周各平台的发现数"},
    "overview.per_region_week": {"en": "Findings per region, verdict and week", "zh": "各地区、判定与周的发现数"},
    # the listing detail page
    "detail.not_found": {"en": "Finding not found.", "zh": "未找到该发现。"},
    "detail.matched": {"en": "What matching saw", "zh": "匹配依据"},
    "detail.region_artwork": {
        "en": "Photo {position}: the pack of reference {reference} found by keypoints, outlined in red "
              "({inliers} of {matches} matching keypoints agree on one perspective, {coverage} of the artwork).",
        "zh": "图片 {position}：通过特征点找到参考图 {reference} 的包装（红框；{matches} 个匹配特征点中 {inliers} 个"
              "符合同一透视，覆盖图案的 {coverage}）。"},
    "detail.region_whole": {
        "en": "Photo {position}: the whole photo (blue frame) compared with reference {reference} after {view}: "
              "distance {distance} bits.",
        "zh": "图片 {position}：整张图片（蓝框）经 {view} 后与参考图 {reference} 比较：距离 {distance} 位。"},
    "detail.region_keypoints": {"en": "Keypoints: {inliers} of {matches} agree.",
                                "zh": "特征点：{matches} 个中 {inliers} 个一致。"},
    "detail.other_listings": {"en": "The seller's other listings ({count})", "zh": "该卖家的其他商品（{count}）"},
    "detail.no_other_listings": {"en": "No other listing of this seller is known.", "zh": "尚无该卖家的其他商品。"},
    "detail.network": {"en": "Its network of shops (#{id}, {size} shops)",
                       "zh": "所属店铺网络（#{id}，{size} 家店铺）"},
}
