"""The QCVN 102:2016 codes danvan is not certain of, in one table to change when the axis says.

The structure of a package is in edxml.xsd; the values below are the ones public
implementations of the standard use. Change them here (and only here) when the provincial
document axis (trục liên thông) publishes its own list.
"""

from __future__ import annotations

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
PREFIX = "edXML"
MANIFEST_VERSION = "1.0"

# DocumentType/Type: "1" văn bản hành chính, "2" văn bản quy phạm pháp luật (uncertain: some
# axes use their own numbering per tên loại). Keyed by our Report.doc_type (the symbol's
# first part, "BC" in "01/BC-SXD"): (Type, TypeName).
DOCUMENT_TYPES: dict[str, tuple[str, str]] = {
    "BC": ("1", "Báo cáo"),
    "CV": ("1", "Công văn"),
    "KH": ("1", "Kế hoạch"),
    "TB": ("1", "Thông báo"),
    "TTr": ("1", "Tờ trình"),
    "QĐ": ("1", "Quyết định"),
}

# OtherInfo/Priority (độ khẩn).
PRIORITIES: dict[int, str] = {
    0: "Thường",
    1: "Khẩn",
    2: "Thượng khẩn",
    3: "Hỏa tốc",
    4: "Hỏa tốc hẹn giờ",
}
PRIORITY_NORMAL = 0

# MessageHeader/SteeringType: 0 = văn bản thường (not a chỉ đạo điều hành document).
STEERING_TYPE = 0

# TraceHeaderList/Bussiness/BussinessDocType: 0 = a new document (1 revoke, 2 update, 3 replace).
BUSINESS_DOC_TYPES: dict[int, str] = {
    0: "Văn bản mới",
    1: "Thu hồi",
    2: "Cập nhật",
    3: "Thay thế",
}
BUSINESS_NEW = 0
# Bussiness/Paper: 0 = no paper copy follows the electronic one.
PAPER_NONE = 0

# Status reply (edXML:Status/StatusCode).
STATUS_CODES: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận",
    "04": "Phân công",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
}

# SignerInfo/Competence (thẩm quyền ký): a deputy signs for the head ("KT." = ký thay).
# Keyed by the start of the signer's title as archived ("Phó Giám đốc").
COMPETENCE_BY_TITLE_PREFIX: dict[str, str] = {
    "Phó ": "KT.",
}
COMPETENCE_HEAD = ""
