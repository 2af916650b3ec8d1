"""Sample plans for the plan-import tests: the seed plan's expected values and a .docx built
from Markdown the way an NĐ30 plan is laid out (shared by the parser and the screen tests)."""

from __future__ import annotations

import io
import re

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

# --- A .docx made from Markdown, laid out like an NĐ30 plan ----------------------------------

NATIONAL_MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
_HEADER_DATE = re.compile(r"^[^,]{2,30}, ngày\s*(?:\S+\s*)?tháng|^[^,]{2,30}, ngày \d")


def _plain(line: str) -> str:
    line = re.sub(r"^\s*#+\s*", "", line.strip())
    return re.sub(r"\*+", "", line).strip()


def _runs(paragraph, text: str, *, bold: bool = False, italic: bool = False) -> None:
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic


def markdown_to_docx(markdown: str, *, auto_numbering: bool = False) -> bytes:
    """A Word file with the Markdown's text: header and "Nơi nhận" in two-column tables,
    headings bold, body justified with a first-line indent. With ``auto_numbering``, "1." and
    "-" items become Word list paragraphs (the number is then not part of the text)."""
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(14)
    normal.paragraph_format.space_after = Pt(6)
    section = document.sections[0]
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    section.top_margin = section.bottom_margin = Cm(2)
    lines = [line for line in markdown.splitlines() if line.strip()]
    header: list[str] = []
    heading = False  # "KẾ HOẠCH" and the title under it are centred and bold
    i = 0
    while i < len(lines):
        raw, text = lines[i], _plain(lines[i])
        i += 1
        if text.startswith("Số:") or _HEADER_DATE.match(text):
            header.append(text)
            if len(header) == 2:
                table = document.add_table(rows=2, cols=2)
                table.cell(0, 0).text = "SỞ XÂY DỰNG"
                table.cell(0, 1).text = NATIONAL_MOTTO
                table.cell(1, 0).text, table.cell(1, 1).text = header
            continue
        if text.startswith("Nơi nhận"):
            rest = [_plain(line) for line in lines[i:]]
            left, right = document.add_table(rows=1, cols=2).rows[0].cells
            _runs(left.paragraphs[0], text, bold=True, italic=True)
            for line in (x for x in rest if x.startswith("-")):
                left.add_paragraph().add_run(line).font.size = Pt(11)
            signer = [x for x in rest if not x.startswith("-")]
            for k, line in enumerate(signer):
                paragraph = right.paragraphs[0] if k == 0 else right.add_paragraph()
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                if k == len(signer) - 1 and k:
                    for _ in range(3):  # room for the signature
                        right.add_paragraph()
                    paragraph = right.add_paragraph()
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _runs(paragraph, line, bold=True)
            break
        number = re.match(r"^\d+\.\s+", text)
        if auto_numbering and (number or text.startswith("- ")):
            style = "List Number" if number else "List Bullet"
            document.add_paragraph(text[number.end() if number else 2 :], style=style)
            continue
        paragraph = document.add_paragraph()
        heading = text == "KẾ HOẠCH" or (heading and not text.startswith(("Thực hiện", "Căn cứ")))
        if heading or raw.lstrip().startswith(("#", "**")) and not re.match(r"^[IVX]+\.", text):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _runs(paragraph, text, bold=True)
        elif re.match(r"^[IVX]+\.", text):
            _runs(paragraph, text, bold=True)
        else:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            paragraph.paragraph_format.first_line_indent = Cm(1)
            _runs(paragraph, text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# seed.py's title of the 2023 campaign (the short form some plans use).
TITLE_2023 = "Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận năm 2023"
SEED_TITLE = (
    "Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận nhân kỷ niệm 93 năm "
    "Ngày truyền thống công tác dân vận của Đảng (15/10/1930-15/10/2023)"
)
# Section II's four paragraphs as the plan writes them ("Tỉnh uỷ", "khoá" in the new spelling).
SEED_ITEMS = [
    "Tăng cường tuyên truyền sâu rộng trong công chức, viên chức và người lao động về Ngày "
    "truyền thống công tác dân vận của Đảng, về tư tưởng Dân vận của Chủ tịch Hồ Chí Minh, về vị "
    "trí, vai trò, tầm quan trọng của công tác dân vận trong tình hình mới; Kết quả thực hiện công "
    "tác dân vận và phong trào thi đua Dân vận khéo",
    "Tiếp tục quán triệt, tổ chức thực hiện có hiệu quả các văn bản của Đảng về công tác dân vận "
    "trong cán bộ, đảng viên, công chức, viên chức và người lao động, đặc biệt là Nghị quyết số "
    "25-NQ/TW ngày 03/6/2013 của Ban chấp hành trung ương Đảng (khóa XI) về tăng cường công tác "
    "dân vận trong tình hình mới, Chỉ thị số 19-CT/TU ngày 16/10/2013 của Tỉnh ủy về tăng cường "
    "công tác dân vận của chính quyền đáp ứng yêu cầu trong tình hình mới, Quyết định số "
    "23-QĐ/TW ngày 30/7/2021 của Bộ Chính trị; Đề án số 02-ĐA/TU, ngày 09/11/2021 và Quy chế số "
    "05-QC/TU ngày 09/12/2021 của Ban thường vụ tỉnh ủy về công tác dân vận, gắn với triển khai "
    "thực hiện các nhiệm vụ chính trị của cơ quan, đơn vị",
    "Tăng cường công tác dân vận của cơ quan gắn với triển khai thực hiện hiệu quả Chỉ thị số "
    "33/CT-TTg, ngày 26/11/2021 của Thủ tướng Chính phủ “Về tiếp tục tăng cường và đổi mới công "
    "tác dân vận của cơ quan hành chính nhà nước, chính quyền các cấp trong tình hình mới”. Tập "
    "trung nâng cao hiệu quả công tác cải cách hành chính, thực hiện Quy chế dân chủ, giải quyết "
    "khiếu nại, tố cáo",
    "Tổ chức “Tháng cao điểm” thực hiện công tác dân vận năm 2023 gắn với các hoạt động thiết "
    "thực hưởng ứng, chào mừng ngày Quốc tế người cao tuổi (01/10), ngày Khuyến học Việt Nam "
    "(02/10), ngày Doanh nhân Việt Nam (13/10), ngày thành lập Hội Nông dân Việt Nam (14/10), "
    "ngày thành lập Hội Liên hiệp Thanh niên Việt Nam (15/10), ngày truyền thống công tác dân vận "
    "của Đảng (15/10), ngày vì người nghèo (17/10) và ngày thành lập Hội Liên hiệp phụ nữ Việt "
    "Nam (20/10)...",
]
# The plan's own wording of the observances (seed.py capitalises "Người cao tuổi", "Phụ nữ").
SEED_OBSERVANCE_NAMES = [
    "Ngày Quốc tế người cao tuổi",
    "Ngày Khuyến học Việt Nam",
    "Ngày Doanh nhân Việt Nam",
    "Ngày thành lập Hội Nông dân Việt Nam",
    "Ngày thành lập Hội Liên hiệp Thanh niên Việt Nam",
    "Ngày truyền thống công tác dân vận của Đảng",
    "Ngày vì người nghèo",
    "Ngày thành lập Hội Liên hiệp phụ nữ Việt Nam",
]
# The only anniversary the plan states: "93 năm … (15/10/1930-15/10/2023)".
SEED_STATED_YEARS = {"danvan": 93}
