"""Write the XLSForm test corpus: varied forms in each format pyxform reads, and what we expect of each.

Run `python tests/instruments/xlsforms/make_corpus.py` to write the forms into `corpus/` and
`expected.json` beside this file. `.xlsx` is written with openpyxl; `.xls` with the small BIFF8
writer below (no installed library writes .xls; xlrd, which pyxform uses, reads these files);
`.csv` and `.md` as text, in pyxform's layouts. A survey row wrapped in `Dropped` is one the import
must report as left out (kind "unsupported"), by its sheet row number.
"""

import csv
import io
import json
import struct
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent


class Dropped(list):
    """A survey row the import must report as dropped."""


# ---------------------------------------------------------------------------------------------
# .xls: a minimal BIFF8 workbook (text cells only) in an OLE2 compound file
# ---------------------------------------------------------------------------------------------


def _record(kind: int, data: bytes) -> bytes:
    """Return one BIFF record."""
    return struct.pack("<HH", kind, len(data)) + data


def _unicode(text: str, lenlen: int) -> bytes:
    """Return a BIFF8 unicode string (UTF-16LE, with its length in lenlen bytes)."""
    size = struct.pack("<B" if lenlen == 1 else "<H", len(text))
    return size + b"\x01" + text.encode("utf-16-le")


def _biff_sheet(rows: list[list]) -> bytes:
    """Return a worksheet substream holding the cells as text (LABEL records)."""
    width = max((len(r) for r in rows), default=1)
    out = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6))
    out += _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value not in (None, ""):
                out += _record(0x0204, struct.pack("<HHH", r, c, 0) + _unicode(str(value), 2))
    return out + _record(0x000A, b"")


def _biff_workbook(sheets: dict[str, list[list]]) -> bytes:
    """Return the Workbook stream: globals (sheet list), then each sheet."""
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6))
    codepage = _record(0x0042, struct.pack("<H", 1200))
    names = [_unicode(name, 1) for name in sheets]
    globals_size = len(bof) + len(codepage) + sum(4 + 6 + len(n) for n in names) + 4
    bodies, offset, bounds = [], globals_size, b""
    for name, rows in zip(names, sheets.values(), strict=True):
        body = _biff_sheet(rows)
        bounds += _record(0x0085, struct.pack("<IBB", offset, 0, 0) + name)
        bodies.append(body)
        offset += len(body)
    return bof + codepage + bounds + _record(0x000A, b"") + b"".join(bodies)


def xls_bytes(sheets: dict[str, list[list]]) -> bytes:
    """Wrap the Workbook stream in an OLE2 compound file (512-byte sectors, no mini stream)."""
    stream = _biff_workbook(sheets)
    stream += b"\x00" * (max(4096, -(-len(stream) // 512) * 512) - len(stream))
    data_sectors = len(stream) // 512
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + 1 + data_sectors:
        fat_sectors += 1
    end, free, fat_mark = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    directory_at = fat_sectors
    first_data = fat_sectors + 1
    fat = [fat_mark] * fat_sectors + [end]
    fat += [first_data + i + 1 for i in range(data_sectors - 1)] + [end]
    fat += [free] * (fat_sectors * 128 - len(fat))
    difat = list(range(fat_sectors)) + [free] * (109 - fat_sectors)
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, directory_at, 0, 4096, end, 0, end, 0)
        + struct.pack("<109I", *difat)
    )

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name.encode("utf-16-le") + b"\x00\x00") if name else b""
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
            + struct.pack("<III", free, free, child)
            + b"\x00" * 16
            + b"\x00" * 4
            + b"\x00" * 16
            + struct.pack("<II", start, size)
            + b"\x00" * 4
        )

    directory = (
        entry("Root Entry", 5, 1, end, 0)
        + entry("Workbook", 2, free, first_data, len(stream))
        + entry("", 0, free, 0, 0) * 2
    )
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + stream


# ---------------------------------------------------------------------------------------------
# the other formats
# ---------------------------------------------------------------------------------------------


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    """Write the sheets as an .xlsx workbook."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(sheets: dict[str, list[list]]) -> bytes:
    """Write pyxform's CSV layout: a sheet name alone on a line, then its rows after an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for title, rows in sheets.items():
        writer.writerow([title])
        width = max(len(r) for r in rows)
        for row in rows:
            writer.writerow(["", *[("" if v is None else v) for v in row], *[""] * (width - len(row))])
    return buffer.getvalue().encode("utf-8")


def md_bytes(sheets: dict[str, list[list]]) -> bytes:
    """Write pyxform's Markdown layout: the sheet name in the first column of its first line."""
    lines = []
    for title, rows in sheets.items():
        width = max(len(r) for r in rows)
        for index, row in enumerate(rows):
            cells = [("" if v is None else str(v).replace("|", "\\|")) for v in row]
            cells += [""] * (width - len(cells))
            lines.append(f"| {title if index == 0 else ''} | " + " | ".join(cells) + " |")
    return ("\n".join(lines) + "\n").encode("utf-8")


WRITERS = {".xlsx": xlsx_bytes, ".xls": xls_bytes, ".csv": csv_bytes, ".md": md_bytes}

# ---------------------------------------------------------------------------------------------
# the forms
# ---------------------------------------------------------------------------------------------

VI_EN = {
    "survey": [
        [
            "type",
            "name",
            "label::Vietnamese (vi)",
            "label::English (en)",
            "hint::Vietnamese (vi)",
            "hint::English (en)",
            "required",
            "relevant",
            "constraint",
            "constraint_message::Vietnamese (vi)",
            "constraint_message::English (en)",
            "appearance",
        ],
        ["begin_group", "p1", "Phần một", "Part one", None, None, None, None, None, None, None, "field-list"],
        [
            "select_one yn",
            "used",
            "Ông/Bà đã dùng dịch vụ?",
            "Did you use the service?",
            "Chọn một",
            "Choose one",
            "yes",
        ],
        [
            "integer",
            "visits",
            "Số lần đến",
            "Visits",
            None,
            None,
            None,
            "${used} = 'y'",
            ". >= 1 and . <= 20",
            "Từ 1 đến 20 lần",
            "1 to 20 visits",
        ],
        ["select_multiple ch", "channels", "Kênh thông tin", "Channels", None, None, None, "${used} = 'y'"],
        ["end_group"],
        ["begin_group", "p2", "Phần hai", "Part two", None, None, None, "${used} = 'y'"],
        ["select_one yn", "again", "Ông/Bà sẽ quay lại?", "Would you come back?"],
        ["date", "when", "Ngày đến", "Day of the visit"],
        ["text", "why", "Vì sao?", "Why?", None, None, None, None, None, None, None, "multiline"],
        ["end_group"],
    ],
    "choices": [
        ["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"],
        ["yn", "y", "Có", "Yes"],
        ["yn", "n", "Không", "No"],
        ["ch", "zalo", "Zalo", "Zalo"],
        ["ch", "phone", "Điện thoại", "Phone"],
        ["ch", "web", "Trang web", "Website"],
    ],
}


def form(form_id: str, survey, choices=None, version="1", extra_settings=None, title=None):
    """Return the sheets of one form."""
    settings_head, settings_row = ["form_title", "form_id", "version"], [title or form_id, form_id, version]
    for key, value in (extra_settings or {}).items():
        settings_head.append(key)
        settings_row.append(value)
    sheets = {"survey": survey}
    if choices:
        sheets["choices"] = choices
    sheets["settings"] = [settings_head, settings_row]
    return sheets


def basic(form_id: str):
    """The bilingual service form."""
    return form(form_id, VI_EN["survey"], VI_EN["choices"], version="3")


def legacy_single_colon():
    """Old single-colon language columns (`label:english`), as older Kobo forms write them."""
    return form(
        "legacy_colon",
        [
            ["type", "name", "label:Vietnamese", "label:English", "hint:English", "relevant"],
            ["begin group", "g", "Thông tin", "Information"],
            ["select one yn", "ok", "Hài lòng?", "Satisfied?", "Pick one"],
            ["text", "comment", "Góp ý", "Comment", None, "${ok} = 'n'"],
            ["end group"],
        ],
        [
            ["list name", "name", "label:Vietnamese", "label:English"],
            ["yn", "y", "Có", "Yes"],
            ["yn", "n", "Không", "No"],
        ],
    )


def legacy_types():
    """Legacy type spellings pyxform still reads."""
    return form(
        "legacy_types",
        [
            ["type", "name", "label::English", "label::Vietnamese"],
            ["select one from yn", "a", "Agree?", "Đồng ý?"],
            ["select all that apply from fruit", "b", "Fruit", "Trái cây"],
            ["select1 yn", "c", "Again?", "Lần nữa?"],
            ["add integer prompt", "d", "How many?", "Bao nhiêu?"],
            ["add text prompt", "e", "Name a place", "Tên một nơi"],
            ["add date prompt", "f", "When?", "Khi nào?"],
            ["q note", "g", "Thanks", "Cảm ơn"],
        ],
        [
            ["list_name", "name", "label::English", "label::Vietnamese"],
            ["yn", "yes", "Yes", "Có"],
            ["yn", "no", "No", "Không"],
            ["fruit", "mango", "Mango", "Xoài"],
            ["fruit", "durian", "Durian", "Sầu riêng"],
        ],
    )


def or_other():
    """`select_one list or_other`: the choice "other" and its follow-up text."""
    return form(
        "or_other",
        [
            ["type", "name", "label", "required"],
            ["select_one office or_other", "office", "Cơ quan nào?", "yes"],
            ["select_multiple doc or_other", "docs", "Giấy tờ nào?"],
            ["integer", "n", "Số lần"],
        ],
        [
            ["list_name", "name", "label"],
            ["office", "ubnd", "UBND xã"],
            ["office", "police", "Công an"],
            ["doc", "cccd", "Căn cước"],
            ["doc", "birth", "Giấy khai sinh"],
        ],
    )


def auto_named_notes():
    """Notes without a name, which pyxform numbers itself."""
    return form(
        "auto_notes",
        [
            ["type", "name", "label"],
            ["note", None, "Xin chào"],
            ["integer", "age", "Tuổi"],
            ["note", None, "Cảm ơn"],
        ],
    )


def unnamed_group():
    """A group without a name: pyxform 4.5 refuses it ("Question or group with no name")."""
    return form(
        "unnamed_group",
        [
            ["type", "name", "label"],
            ["begin_group", None, "Nhóm"],
            ["integer", "age", "Tuổi"],
            ["end_group"],
        ],
    )


def free_version(form_id: str):
    """A version as Kobo writes it (a date and time)."""
    return form(
        form_id,
        [["type", "name", "label"], ["integer", "age", "Tuổi"], ["text", "name", "Tên"]],
        version="2022-04-11 16:26:28.971000",
    )


def choice_filter_duplicates():
    """The same choice name twice in a list used with choice_filter (allow_choice_duplicates)."""
    return form(
        "cascade",
        [
            ["type", "name", "label", "choice_filter"],
            ["select_one province", "province", "Tỉnh"],
            Dropped(["select_one district", "district", "Huyện", "province=${province}"]),
        ],
        [
            ["list_name", "name", "label", "province"],
            ["province", "hn", "Hà Nội"],
            ["province", "hp", "Hải Phòng"],
            ["district", "center", "Trung tâm", "hn"],
            ["district", "bd", "Ba Đình", "hn"],
            ["district", "center", "Trung tâm", "hp"],
            ["district", "lc", "Lê Chân", "hp"],
        ],
        extra_settings={"allow_choice_duplicates": "yes"},
    )


def duplicates_refused():
    """Duplicate choice names without allow_choice_duplicates: pyxform refuses."""
    return form(
        "dups",
        [["type", "name", "label"], ["select_one l", "q", "Q"]],
        [["list_name", "name", "label"], ["l", "a", "A"], ["l", "a", "A again"]],
    )


def save_incomplete():
    """A `bind::saveIncomplete` column (Collect's save-on-leave), which is not a language."""
    return form(
        "save_incomplete",
        [
            ["type", "name", "label::English (en)", "label::Vietnamese (vi)", "bind::saveIncomplete"],
            ["integer", "age", "Age", "Tuổi", "true()"],
            ["text", "name_of_unit", "Unit", "Đơn vị"],
        ],
    )


def english_swahili(form_id: str):
    """A form in English and Swahili."""
    return form(
        form_id,
        [
            [
                "type",
                "name",
                "label::English (en)",
                "label::Swahili (sw)",
                "hint::English (en)",
                "hint::Swahili (sw)",
                "relevant",
                "constraint",
                "constraint_message::English (en)",
                "constraint_message::Swahili (sw)",
            ],
            ["begin_group", "household", "Household", "Kaya"],
            [
                "integer",
                "members",
                "How many members?",
                "Wanakaya wangapi?",
                "Count everyone",
                "Hesabu wote",
                None,
                ". > 0",
                "At least one",
                "Angalau mmoja",
            ],
            ["select_one yn", "water", "Do you have water?", "Je, mna maji?"],
            [
                "select_multiple src",
                "source",
                "Which source?",
                "Chanzo gani?",
                None,
                None,
                "${water} = 'yes'",
            ],
            ["end_group"],
        ],
        [
            ["list_name", "name", "label::English (en)", "label::Swahili (sw)"],
            ["yn", "yes", "Yes", "Ndiyo"],
            ["yn", "no", "No", "Hapana"],
            ["src", "tap", "Tap", "Bomba"],
            ["src", "well", "Well", "Kisima"],
            ["src", "river", "River", "Mto"],
        ],
        extra_settings={"default_language": "English (en)"},
    )


def chinese_english():
    """A form in Chinese and English."""
    return form(
        "zh_en",
        [
            ["type", "name", "label::中文 (zh)", "label::English (en)", "required"],
            ["select_one sat", "sat", "您对服务满意吗？", "Are you satisfied with the service?", "yes"],
            ["text", "why", "为什么？", "Why?"],
            ["decimal", "wait", "等待时间（小时）", "Waiting time (hours)"],
        ],
        [
            ["list_name", "name", "label::中文 (zh)", "label::English (en)"],
            ["sat", "1", "满意", "Satisfied"],
            ["sat", "2", "一般", "Neutral"],
            ["sat", "3", "不满意", "Dissatisfied"],
        ],
    )


def vi_en_fr(form_id: str):
    """A form in Vietnamese, English and French."""
    return form(
        form_id,
        [
            [
                "type",
                "name",
                "label::Tiếng Việt (vi)",
                "label::English (en)",
                "label::Français (fr)",
                "relevant",
            ],
            ["begin_group", "g", "Dịch vụ", "Service", "Service"],
            ["select_one yn", "used", "Đã dùng?", "Used it?", "Utilisé ?"],
            ["text", "what", "Dịch vụ nào?", "Which service?", "Quel service ?", "${used} = 'y'"],
            ["end_group"],
        ],
        [
            ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)", "label::Français (fr)"],
            ["yn", "y", "Có", "Yes", "Oui"],
            ["yn", "n", "Không", "No", "Non"],
        ],
    )


def repeats():
    """A repeat, which we cannot represent: its rows are reported."""
    return form(
        "repeats",
        [
            ["type", "name", "label"],
            ["integer", "size", "Số người"],
            Dropped(["begin_repeat", "person", "Người"]),
            Dropped(["integer", "age", "Tuổi"]),
            Dropped(["text", "job", "Nghề"]),
            ["end_repeat"],
            ["text", "remark", "Ghi chú"],
        ],
    )


def external_selects():
    """Choices from files and from an external_choices sheet."""
    sheets = form(
        "external",
        [
            ["type", "name", "label", "choice_filter"],
            ["select_one province", "province", "Tỉnh"],
            Dropped(["select_one_from_file communes.csv", "commune", "Xã"]),
            Dropped(["select_one_external ward", "ward", "Phường", "province=${province}"]),
            ["text", "street", "Đường"],
        ],
        [["list_name", "name", "label"], ["province", "hn", "Hà Nội"], ["province", "hue", "Huế"]],
    )
    sheets["external_choices"] = [
        ["list_name", "name", "label", "province"],
        ["ward", "w1", "Phường 1", "hn"],
    ]
    return sheets


def media():
    """Media questions and media on labels."""
    return form(
        "media",
        [
            ["type", "name", "label", "media::image", "parameters"],
            Dropped(["image", "photo", "Ảnh giấy tờ", None, "max-pixels=1024"]),
            Dropped(["audio", "voice", "Ghi âm"]),
            Dropped(["video", "clip", "Video"]),
            Dropped(["file", "doc", "Tệp"]),
            Dropped(["note", "logo", "Biểu trưng", "logo.png"]),
            ["integer", "count", "Số lượng"],
        ],
    )


def locations():
    """Geopoints, geotraces and geoshapes."""
    return form(
        "geo",
        [
            ["type", "name", "label"],
            Dropped(["geopoint", "where", "Vị trí"]),
            Dropped(["geotrace", "route", "Tuyến đường"]),
            Dropped(["geoshape", "area", "Khu vực"]),
            ["text", "address", "Địa chỉ"],
        ],
    )


def calculate_ok():
    """Calculations our expressions can evaluate, used in conditions."""
    return form(
        "calc_ok",
        [
            ["type", "name", "label", "calculation", "relevant", "constraint"],
            ["integer", "adults", "Người lớn"],
            ["integer", "children", "Trẻ em"],
            ["calculate", "total", None, "${adults} + ${children}"],
            ["calculate", "big", None, "${total} > 5"],
            ["note", "many", "Hộ đông người", None, "${big}"],
            ["integer", "rooms", "Số phòng", None, None, ". <= ${total}"],
            ["calculate", "unused", None, "${rooms} * 2"],
        ],
    )


def calculate_unsupported():
    """A calculation with functions our expressions do not have: the row and its users are reported."""
    return form(
        "calc_bad",
        [
            ["type", "name", "label", "calculation", "relevant"],
            ["text", "first", "Tên"],
            Dropped(["calculate", "greeting", None, "concat('Xin chào ', ${first})"]),
            Dropped(["note", "hello", "Lời chào", None, "string-length(${greeting}) > 10"]),
            Dropped(["calculate", "stamp", None, "once(today())"]),
            ["integer", "age", "Tuổi"],
        ],
    )


def kobo_metadata():
    """Kobo's metadata rows: not collected, answers stay anonymous."""
    return form(
        "kobo_meta",
        [
            ["type", "name", "label"],
            ["start", "start"],
            ["end", "end"],
            ["today", "today"],
            ["deviceid", "deviceid"],
            ["username", "username"],
            ["phonenumber", "phonenumber"],
            ["audit", "audit"],
            ["select_one yn", "consent", "Đồng ý tham gia?"],
        ],
        [["list_name", "name", "label"], ["yn", "1", "Có"], ["yn", "0", "Không"]],
    )


def large_form(form_id: str):
    """A large form: 12 sections of 26 questions, 330 survey rows."""
    survey = [
        [
            "type",
            "name",
            "label::Vietnamese (vi)",
            "label::English (en)",
            "relevant",
            "required",
            "constraint",
        ]
    ]
    choices = [["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"]]
    for code, vi, en in (
        ("1", "Rất không hài lòng", "Very dissatisfied"),
        ("2", "Không hài lòng", "Dissatisfied"),
        ("3", "Bình thường", "Neutral"),
        ("4", "Hài lòng", "Satisfied"),
        ("5", "Rất hài lòng", "Very satisfied"),
    ):
        choices.append(["sat", code, vi, en])
    for s in range(1, 13):
        survey.append(
            ["begin_group", f"s{s}", f"Phần {s}", f"Part {s}", f"${{q{s - 1}_1}} != '1'" if s > 1 else None]
        )
        for q in range(1, 27):
            name = f"q{s}_{q}"
            if q % 3 == 1:
                survey.append(
                    [
                        "select_one sat",
                        name,
                        f"Câu {s}.{q}: mức hài lòng",
                        f"Q {s}.{q}: satisfaction",
                        None,
                        "yes",
                    ]
                )
            elif q % 3 == 2:
                survey.append(
                    [
                        "integer",
                        name,
                        f"Câu {s}.{q}: số lần",
                        f"Q {s}.{q}: how many times",
                        f"${{q{s}_{q - 1}}} != ''",
                        None,
                        ". >= 0 and . <= 100",
                    ]
                )
            else:
                survey.append(["text", name, f"Câu {s}.{q}: ý kiến", f"Q {s}.{q}: comment"])
        survey.append(["end_group"])
    survey[1][4] = None
    return form(form_id, survey, choices, version="2024.1", title="Phiếu lớn")


def not_a_form():
    """Bytes that are no workbook at all (a .xlsx that is not a zip)."""
    return b"PK\x03\x04 this is not really a zip archive"


def missing_list():
    """A select on a list that is not in the choices sheet: pyxform refuses."""
    return form(
        "missing_list",
        [["type", "name", "label"], ["select_one nolist", "q", "Q"]],
        [["list_name", "name", "label"], ["other_list", "a", "A"]],
    )


def no_survey_sheet():
    """A workbook without a survey sheet: pyxform refuses."""
    return {
        "questions": [["type", "name", "label"], ["integer", "a", "A"]],
        "choices": [["list_name", "name", "label"], ["l", "a", "A"]],
    }


def bad_name():
    """A name that is not an XML name: pyxform refuses."""
    return form("bad_name", [["type", "name", "label"], ["integer", "1abc", "Q"]])


def unicode_names():
    """Names and choice names that XLSForm allows and our ids do not: renamed, with notes."""
    return form(
        "unicode_names",
        [
            ["type", "name", "label", "relevant"],
            ["select_one muc", "câu_1", "Mức độ"],
            ["text", "q.2", "Vì sao?", "${câu_1} = 'rat tot'"],
            ["integer", "q-3", "Số"],
        ],
        [["list_name", "name", "label"], ["muc", "rat tot", "Rất tốt"], ["muc", "tot", "Tốt"]],
    )


def nested_and_likert():
    """Nested groups, a Likert matrix and a table-list."""
    return form(
        "nested",
        [
            ["type", "name", "label", "appearance", "relevant"],
            ["begin_group", "main", "Chính", "field-list"],
            ["select_one yn", "ok", "Ổn?"],
            ["begin_group", "inner", "Trong", None, "${ok} = 'y'"],
            ["integer", "x", "Số"],
            ["end_group"],
            ["begin_group", "grid", "Đánh giá", "field-list"],
            ["select_one lik", "r1", "Thái độ", "likert"],
            ["select_one lik", "r2", "Thời gian", "likert"],
            ["end_group"],
            ["begin_group", "table", "Bảng", "table-list"],
            ["select_one yn", "t1", "Một"],
            ["select_one yn", "t2", "Hai"],
            ["end_group"],
            ["end_group"],
        ],
        [
            ["list_name", "name", "label"],
            ["yn", "y", "Có"],
            ["yn", "n", "Không"],
            ["lik", "1", "Kém"],
            ["lik", "2", "Được"],
            ["lik", "3", "Tốt"],
        ],
    )


def conditional_required():
    """A required condition, which we cannot keep (the item is then not required)."""
    return form(
        "cond_required",
        [
            ["type", "name", "label", "required"],
            ["select_one yn", "a", "A?"],
            Dropped(["text", "b", "B", "${a} = 'y'"]),
        ],
        [["list_name", "name", "label"], ["yn", "y", "Có"], ["yn", "n", "Không"]],
    )


def times():
    """Time and date-time questions."""
    return form(
        "times",
        [
            ["type", "name", "label"],
            Dropped(["time", "t", "Giờ"]),
            Dropped(["datetime", "dt", "Ngày giờ"]),
            ["date", "d", "Ngày"],
        ],
    )


def caption_legacy():
    """Old column names: caption, relevance, constraining message, list name with a space."""
    return form(
        "caption_legacy",
        [
            ["type", "name", "caption", "relevance", "constraint", "constraining message"],
            ["select_one yn", "a", "Có con?"],
            ["integer", "b", "Mấy con?", "${a} = 'y'", ". < 20", "Ít hơn 20"],
        ],
        [["list name", "name", "caption"], ["yn", "y", "Có"], ["yn", "n", "Không"]],
    )


def regex_constraint():
    """A constraint using regex(), which our expressions cannot evaluate: dropped and reported."""
    return form(
        "regex",
        [
            ["type", "name", "label", "constraint"],
            Dropped(["text", "phone", "Số điện thoại", "regex(., '^[0-9]{10}$')"]),
            ["integer", "n", "Số"],
        ],
    )


def default_language_english():
    """default_language English with a plain label column and French."""
    return form(
        "default_en",
        [
            ["type", "name", "label", "label::Français (fr)"],
            ["integer", "age", "Age", "Âge"],
            ["text", "town", "Town", "Ville"],
        ],
        extra_settings={"default_language": "English (en)"},
    )


def language_without_code():
    """A language named without a code (Kirundi): kept under a private code."""
    return form(
        "kirundi",
        [
            ["type", "name", "label::English", "label::Kirundi"],
            ["integer", "age", "Age", "Imyaka"],
            ["text", "hill", "Hill", "Umusozi"],
        ],
    )


def kobo_export():
    """A form as KoboToolbox exports it: $kuid and $autoname columns, true/false, a random version."""
    return form(
        "kobo_export",
        [
            ["type", "name", "label::English (en)", "hint::English (en)", "required", "relevant", "$kuid",
             "$autoname"],
            ["start", "start", None, None, None, None, "aB1cD2", "start"],
            ["end", "end", None, None, None, None, "eF3gH4", "end"],
            ["select_one kl0xq26", "consent", "Do you agree to take part?", None, "true", None, "iJ5kL6",
             "consent"],
            ["integer", "age", "Age", "In years", "false", "${consent} = 'yes'", "mN7oP8", "age"],
            ["text", "comments", "Comments", None, "false", None, "qR9sT0", "comments"],
        ],
        [
            ["list_name", "name", "label::English (en)", "$kuid", "$autovalue"],
            ["kl0xq26", "yes", "Yes", "uV1wX2", "yes"],
            ["kl0xq26", "no", "No", "yZ3aB4", "no"],
        ],
        version="vJ7kQp2XtPzL9mR3nW8sYc",
    )


FORMS = {  # file name -> (sheets or bytes, expected outcome)
    "basic_vi_en.xlsx": (basic("basic_xlsx"), "full"),
    "basic_vi_en.xls": (basic("basic_xls"), "full"),
    "basic_vi_en.csv": (basic("basic_csv"), "full"),
    "basic_vi_en.md": (basic("basic_md"), "full"),
    "legacy_single_colon.xlsx": (legacy_single_colon(), "full"),
    "legacy_single_colon.xls": (legacy_single_colon(), "full"),
    "legacy_types.xlsx": (legacy_types(), "full"),
    "legacy_types.csv": (legacy_types(), "full"),
    "or_other.xlsx": (or_other(), "full"),
    "or_other.md": (or_other(), "full"),
    "auto_named_notes.xlsx": (auto_named_notes(), "full"),
    "unnamed_group.xlsx": (unnamed_group(), "refused"),
    "free_version.xlsx": (free_version("free_version_xlsx"), "full"),
    "free_version.xls": (free_version("free_version_xls"), "full"),
    "choice_filter_duplicates.xlsx": (choice_filter_duplicates(), "partial"),
    "duplicates_refused.xlsx": (duplicates_refused(), "refused"),
    "save_incomplete.xlsx": (save_incomplete(), "full"),
    "english_swahili.xlsx": (english_swahili("en_sw_xlsx"), "full"),
    "english_swahili.csv": (english_swahili("en_sw_csv"), "full"),
    "chinese_english.xlsx": (chinese_english(), "full"),
    "vi_en_fr.xlsx": (vi_en_fr("vi_en_fr_xlsx"), "full"),
    "vi_en_fr.md": (vi_en_fr("vi_en_fr_md"), "full"),
    "repeats.xlsx": (repeats(), "partial"),
    "external_selects.xlsx": (external_selects(), "partial"),
    "media.xlsx": (media(), "partial"),
    "locations.xls": (locations(), "partial"),
    "calculate_ok.xlsx": (calculate_ok(), "full"),
    "calculate_unsupported.md": (calculate_unsupported(), "partial"),
    "kobo_metadata.xlsx": (kobo_metadata(), "full"),
    "large_330_rows.xlsx": (large_form("large_xlsx"), "full"),
    "large_330_rows.xls": (large_form("large_xls"), "full"),
    "not_a_form.xlsx": (not_a_form(), "refused"),
    "missing_list.md": (missing_list(), "refused"),
    "no_survey_sheet.xlsx": (no_survey_sheet(), "refused"),
    "bad_name.csv": (bad_name(), "refused"),
    "unicode_names.xlsx": (unicode_names(), "full"),
    "nested_and_likert.xlsx": (nested_and_likert(), "full"),
    "conditional_required.md": (conditional_required(), "partial"),
    "times.csv": (times(), "partial"),
    "caption_legacy.xls": (caption_legacy(), "full"),
    "regex_constraint.xlsx": (regex_constraint(), "partial"),
    "default_language_english.xlsx": (default_language_english(), "full"),
    "language_without_code.md": (language_without_code(), "full"),
    "kobo_export.xlsx": (kobo_export(), "full"),
}


def main(folder: Path = HERE) -> None:
    """Write every form into folder/corpus and what we expect of each into folder/expected.json."""
    (folder / "corpus").mkdir(exist_ok=True)
    expected = {}
    for name, (sheets, outcome) in FORMS.items():
        data = sheets if isinstance(sheets, bytes) else WRITERS[Path(name).suffix](sheets)
        (folder / "corpus" / name).write_bytes(data)
        rows = [] if isinstance(sheets, bytes) else sheets.get("survey", [])
        dropped = [index for index, row in enumerate(rows, start=1) if isinstance(row, Dropped)]
        expected[name] = {"outcome": outcome, "dropped_survey_rows": dropped}
    text = json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
    (folder / "expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
