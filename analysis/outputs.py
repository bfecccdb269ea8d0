"""Exports: CSV (UTF-8 with BOM), formatted XLSX, SPSS .sav and Stata .dta.

SPSS and Stata files hold the response-level data with variable labels (the
Vietnamese item wording) and value labels (option labels).  Stata value
labels need integer values, so every single-choice item is stored as an
integer code in both files: the option code itself when all codes of the item
are integers, else the option's position (1, 2, ...) in the questionnaire.
The mapping is written to the codebook (:func:`codebook`).  Multiple-choice
answers stay text (space-separated codes, XLSForm style).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .instruments import Instrument, norm_code

HEADERS_VI = {
    "level": "Cấp", "code": "Mã", "name_vi": "Tên", "name_en": "Tên (tiếng Anh)", "unit": "Đơn vị",
    "unit_name": "Tên đơn vị", "estimate": "Ước lượng", "se": "Sai số chuẩn", "ci_low": "KTC 95% dưới",
    "ci_high": "KTC 95% trên", "df": "Bậc tự do", "n_valid": "Số trả lời hợp lệ", "complete": "Đủ dữ liệu",
    "max_points": "Điểm tối đa", "percent": "Tỷ lệ đạt (%)", "rank": "Thứ hạng", "rank_best": "Hạng cao nhất",
    "rank_worst": "Hạng thấp nhất", "not_different_from": "Không khác biệt có ý nghĩa với",
    "joint_rank_best": "Hạng cao nhất (đồng thời 95%)", "joint_rank_worst": "Hạng thấp nhất (đồng thời 95%)",
    "rankable": "Xếp hạng được", "ranking_note": "Ghi chú xếp hạng", "part": "Phần",
    "n_not_different": "Số đơn vị không khác biệt",
    "different_from_next": "Khác biệt với đơn vị kế tiếp", "questionnaire": "Phiếu", "item": "Câu hỏi",
    "label_vi": "Nội dung", "section": "Trang", "matrix": "Ma trận", "eligible": "Số người thuộc diện",
    "missing": "Số người bỏ trống", "rate": "Tỷ lệ bỏ trống (%)", "response_id": "Mã phiếu trả lời",
    "total_seconds": "Tổng thời gian (giây)", "median_seconds": "Trung vị thời gian (giây)",
    "speeder": "Trả lời quá nhanh", "straightlined_matrices": "Số ma trận trả lời một kiểu",
    "straightliner": "Trả lời một kiểu", "excluded": "Bị loại", "stratum": "Tầng", "group": "Nhóm",
    "population_size": "Quy mô tổng thể", "sample_size": "Cỡ mẫu", "respondents": "Số người trả lời",
    "response_rate": "Tỷ lệ trả lời", "base_weight": "Trọng số cơ sở",
    "nonresponse_factor": "Hệ số điều chỉnh",
    "weight": "Trọng số cuối", "date": "Ngày", "responses": "Số phiếu", "variable": "Biến",
    "value": "Giá trị", "value_label": "Nhãn giá trị", "stata_code": "Mã số (SPSS/Stata)",
}
_FORMATS = {"estimate": "0.00", "se": "0.00", "ci_low": "0.00", "ci_high": "0.00", "percent": "0.0",
            "max_points": "0.00", "rate": "0.0", "df": "0", "n_valid": "#,##0", "weight": "0.000",
            "base_weight": "0.000", "response_rate": "0.0%", "total_seconds": "0", "median_seconds": "0"}


# Formula injection (CWE-1236, OWASP "CSV Injection"): a spreadsheet runs a cell that starts with
# one of these as a formula. Text starting so gets a leading single quote; numbers (-1.5, +84, or
# space-separated codes such as "-1 2") are left alone, and .sav/.dta keep every value as it is.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00")
_NUMBERS = re.compile(r"\s*[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
                      r"(?:\s+[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)*\s*")


def escape_formula(value):
    """Return a text cell that a spreadsheet would run as a formula with a leading ', else the value."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _NUMBERS.fullmatch(value):
        return "'" + value
    return value


def escape_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a table whose text cells cannot run as spreadsheet formulas (headers too)."""
    out = table.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map(escape_formula)
    out.columns = [escape_formula(c) for c in out.columns]
    return out


def write_csv(table: pd.DataFrame, path) -> None:
    """CSV in UTF-8 with a byte-order mark, so Excel shows Vietnamese letters; formulas escaped."""
    escape_formulas(table).to_csv(path, index=False, encoding="utf-8-sig")


def write_xlsx(sheets: dict[str, pd.DataFrame], path) -> None:
    """Formatted workbook: Vietnamese headers, bold frozen header row, number formats, widths.

    Parameters
    ----------
    sheets : dict
        Sheet name -> table (columns named as in the analysis tables).
    path : str or path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, table in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        columns = list(table.columns)
        ws.append([escape_formula(HEADERS_VI.get(c, c)) for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for j, col in enumerate(columns, start=1):
            letter = get_column_letter(j)
            fmt = _FORMATS.get(col)
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
            longest = max([len(HEADERS_VI.get(col, col))] + [len(str(v)) for v in table[col].head(200)])
            ws.column_dimensions[letter].width = min(max(10, longest + 2), 60)
        ws.freeze_panes = "A2"
    wb.save(path)


def _cell(value):
    """A value openpyxl can store (NaN and NA as empty, numpy scalars as Python, formulas escaped)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return escape_formula(value)


def _varname(name: str, used: set, limit: int) -> str:
    """A valid, unique SPSS/Stata variable name (letters, digits, _; starts with a letter)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not base or not base[0].isalpha():
        base = "v" + base
    base = base[:limit]
    out, k = base, 1
    while out.lower() in used:
        k += 1
        out = f"{base[:limit - len(str(k)) - 1]}_{k}"
    used.add(out.lower())
    return out


def _codes(item) -> dict[str, int]:
    """Option code -> integer value for SPSS/Stata (the code itself if every code is an integer)."""
    codes = [o.code for o in item.options]
    if codes and all(re.fullmatch(r"-?\d+", c) for c in codes):
        return {c: int(c) for c in codes}
    return {c: i for i, c in enumerate(codes, start=1)}


def codebook(instruments: list[Instrument]) -> pd.DataFrame:
    """Items, their labels and the integer codes used in the .sav/.dta files."""
    rows = []
    for inst in instruments:
        for it in inst.items:
            mapping = _codes(it) if it.type == "single_choice" else {}
            for opt in it.options:
                rows.append({"questionnaire": inst.id, "item": it.id, "label_vi": it.label_vi,
                             "value": opt.code, "value_label": opt.label_vi,
                             "stata_code": mapping.get(opt.code)})
            if not it.options:
                rows.append({"questionnaire": inst.id, "item": it.id, "label_vi": it.label_vi,
                             "value": "", "value_label": "", "stata_code": None})
    return pd.DataFrame(rows)


def labelled_frame(data: pd.DataFrame, instruments: list[Instrument], limit: int = 32):
    """Response-level frame for SPSS/Stata with integer-coded choices, variable and value labels."""
    items = {}
    for inst in instruments:
        for it in inst.items:
            items.setdefault(it.id, it)
    keep = [c for c in data.columns if c in items or not c.startswith("_")]
    used: set = set()
    out, var_labels, value_labels = {}, {}, {}
    for col in keep:
        name = _varname(col, used, limit)
        item = items.get(col)
        series = data[col]
        if item is not None and item.type == "single_choice":
            mapping = _codes(item)
            values = series.map(lambda v, m=mapping: m.get(norm_code(v)) if pd.notna(v) and v != "" else None)
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
            value_labels[name] = {float(mapping[o.code]): o.label_vi[:32000] for o in item.options}
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            out[name] = series.astype(float)
        else:
            out[name] = series.astype("string").fillna("").astype(object)
        var_labels[name] = item.label_vi if item is not None else _column_label(col)
    return pd.DataFrame(out), var_labels, value_labels


def _column_label(col: str) -> str:
    """Vietnamese label of a non-item export column."""
    if col.startswith("seconds__"):
        return f"Thời gian trang {col[9:]} (giây)"
    if col.startswith("repw_") and col[5:].isdigit():
        return f"Trọng số lặp {col[5:]} (xem replicate_weights.txt)"
    extra = {"wave": "Đợt khảo sát", "questionnaire_version": "Phiên bản phiếu", "mode": "Hình thức",
             "language": "Ngôn ngữ", "submitted_on": "Ngày nộp", "device_class": "Loại thiết bị",
             "cluster": "Cụm", "psu": "Đơn vị mẫu cấp 1", "fpc_population": "Quy mô tổng thể của tầng"}
    return extra.get(col) or HEADERS_VI.get(col, col)


def write_sav(data: pd.DataFrame, instruments: list[Instrument], path) -> None:
    """SPSS .sav of the responses with Vietnamese variable and value labels (pyreadstat)."""
    import pyreadstat

    frame, var_labels, value_labels = labelled_frame(data, instruments, limit=64)
    pyreadstat.write_sav(frame, str(path), column_labels=[var_labels[c] for c in frame.columns],
                         variable_value_labels=value_labels)


def write_dta(data: pd.DataFrame, instruments: list[Instrument], path) -> None:
    """Stata .dta (version 15, UTF-8) with labels truncated to Stata's 80 characters."""
    import pyreadstat

    frame, var_labels, value_labels = labelled_frame(data, instruments, limit=32)
    labels = [_clip(var_labels[c], 80) for c in frame.columns]
    pyreadstat.write_dta(frame, str(path), column_labels=labels, variable_value_labels=value_labels,
                         version=15)


def _clip(text: str, chars: int) -> str:
    """At most ``chars`` characters and 4 x chars bytes of UTF-8."""
    text = text[:chars]
    while len(text.encode("utf-8")) > 4 * chars:
        text = text[:-1]
    return text


ESTIMATE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "percent")


def suppress_small_cells(table: pd.DataFrame, min_responses: int) -> pd.DataFrame:
    """Blank the estimates of units resting on fewer than ``min_responses`` valid answers.

    Statistical disclosure control for published tables (threshold rule, as in
    Hundepool et al. 2012, *Statistical Disclosure Control*, section 5.2): the
    row stays, with its ``n_valid``, and ``suppressed`` says why its numbers are
    missing.  Pooled rows (unit ``ALL``) rest on every answer and are kept.

    Parameters
    ----------
    table : pandas.DataFrame
        An index table with ``n_valid`` and the estimate columns.
    min_responses : int
        The smallest number of valid answers an estimate may rest on.

    Returns
    -------
    pandas.DataFrame
        A copy with the small cells blanked and a boolean ``suppressed`` column.
    """
    small = table["n_valid"].fillna(0).lt(min_responses).to_numpy() & table["estimate"].notna().to_numpy()
    if "unit" in table.columns:
        small &= (table["unit"].astype(str) != "ALL").to_numpy()
    out = table.copy()
    columns = [c for c in ESTIMATE_COLUMNS if c in out.columns]
    out.loc[small, columns] = float("nan")
    out["suppressed"] = small
    return out
