"""The analysts' results page: sections, Vietnamese headings and numbers, four distinct markers with a
legend, the time of computation, a bounded page, charts from the app's own origin, and the legend in
the downloads."""

import io
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlalchemy import select

from analysis import synthetic
from analysis.report import write_report
from survey import demo
from survey.dashboard.views import report_dir
from survey.responses import report_meta
from survey.sampling.models import Wave
from tests.factories import log_in, log_in_demo_coordinator, make_wave, seed_demo

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAGE = f"/staff/analysis/{demo.WAVE_CODE}"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def computed(app, session, client):
    """The demo province (wave open, a provisional PAR framework), its coordinator logged in, and the
    report computed by its job."""
    seed_demo(app, session)
    log_in_demo_coordinator(client)
    token = CSRF.search(client.get(PAGE).text).group(1)
    started = client.post(f"{PAGE}/run", data={"csrf_token": token})
    assert "Hoàn thành" in client.get(started.headers["Location"]).text
    return client


def marker_count(page: str, key: str) -> int:
    """How many figures on the page carry a marker (the legend's entries are not counted)."""
    return len(re.findall(rf'<span class="mk {key}" title=', page))


def test_summary_shows_time_status_and_the_legend_of_four_markers(computed, session):
    page = computed.get(PAGE).text
    assert re.search(r"Kết quả tính lúc \d\d/\d\d/\d{4} \d\d:\d\d", page)
    assert "trạng thái đợt khảo sát khi tính: Đang mở" in page
    for symbol, label in (("⊘", "Không công bố"), ("†", "Không có khoảng tin cậy"),
                          ("‡", "Khung chỉ số tạm thời"), ("◷", "Kết quả giữa kỳ")):
        assert f'aria-hidden="true">{symbol}</span></dt>' in page and f"<strong>{label}</strong>" in page
    assert re.search(r"Dưới \d+ câu trả lời hợp lệ", page)
    assert marker_count(page, "interim") >= 2  # the time line and the section heading
    assert "ci_low" not in page and "n_valid" not in page  # no column codes
    assert 'src="/staff/analysis/CCHC-DEMO/files/responses_over_time.png"' in page
    assert "<script" not in page


def test_framework_sections_in_vietnamese_with_markers(computed, session):
    sipas = computed.get(PAGE, query_string={"section": "fw-sipas-2023"}).text
    par = computed.get(PAGE, query_string={"section": "fw-par-province-2024"}).text
    for page in (sipas, par):
        assert "Khoảng tin cậy 95%" in page and "Số trả lời hợp lệ" in page and "Kết quả theo đơn vị" in page
        assert 'class="results"' in page and "<script" not in page
        assert marker_count(page, "interim") >= 1
    assert "Chỉ số (%)" in sipas and "Theo yếu tố" in sipas
    assert "Điểm tối đa" in par and "Tỷ lệ đạt (%)" in par and "Theo lĩnh vực (điểm)" in par
    # Vietnamese numbers: decimal comma, intervals with an en dash, no decimal point in a figure
    assert re.search(r">\d{1,3},\d<", sipas) and re.search(r"\d{1,3},\d–\d{1,3},\d", sipas)
    assert not re.search(r'class="num">\d+\.\d', sipas + par)
    assert marker_count(sipas, "suppressed") >= 1
    assert marker_count(par, "no_interval") >= 1
    assert marker_count(par, "provisional") >= 1
    par_total = par[par.index("Kết quả theo đơn vị"):par.index("Theo lĩnh vực")]
    assert marker_count(par_total, "provisional") >= 1  # the survey total rests on provisional fields
    assert 'src="/staff/analysis/CCHC-DEMO/files/units_sipas-2023.png"' in sipas


def test_english_numbers_and_headings(computed):
    page = computed.get(PAGE, query_string={"section": "fw-sipas-2023", "lang": "en"}).text
    assert re.search(r"\d{1,3}\.\d–\d{1,3}\.\d", page)
    assert not re.search(r"\d,\d–", page)


def test_one_unit_in_detail_and_rankings(computed, session):
    wave = session.scalar(select(Wave).filter_by(code=demo.WAVE_CODE))
    sipas = computed.get(PAGE, query_string={"section": "fw-sipas-2023"}).text
    unit = re.search(r'<option value="([^"]+)"', sipas).group(1)
    detail = computed.get(PAGE, query_string={"section": "fw-sipas-2023", "unit": unit}).text
    assert "Yếu tố" in detail and "Câu hỏi" in detail and "Chỉ tiêu" in detail
    assert f'<option value="{unit}" selected>' in detail
    ranking = computed.get(PAGE, query_string={"section": "ranking"}).text
    assert re.search(r"hạng \d+, có thể từ \d+ đến \d+", ranking)
    assert "không xếp hạng được" in ranking and marker_count(ranking, "no_interval") >= 1
    assert "Khoảng hạng đồng thời 95%" in ranking
    unknown = computed.get(PAGE, query_string={"section": "fw-sipas-2023", "unit": "NOT-A-UNIT"}).text
    assert "Chỉ tiêu" not in unknown and wave.code in unknown


def test_quality_and_files_sections(computed):
    quality = computed.get(PAGE, query_string={"section": "quality"}).text
    assert "Trả lời quá nhanh" in quality and "Cỡ mẫu hiệu dụng" in quality
    files = computed.get(PAGE, query_string={"section": "files"}).text
    assert "legend.csv" in files and "analysis.xlsx" in files and "Bảng tính Excel" in files


def test_every_section_is_small(computed):
    """No section dumps a table of every row: each page stays well under 150 kB for 20 units."""
    for section in ("summary", "fw-sipas-2023", "fw-par-province-2024", "ranking", "quality", "files"):
        page = computed.get(PAGE, query_string={"section": section})
        assert page.status_code == 200 and len(page.data) < 150_000, section


def test_downloads_carry_the_legend_and_the_time(computed):
    legend = computed.get(f"{PAGE}/files/legend.csv")
    text = legend.data.decode("utf-8-sig")
    legend.close()
    for symbol in ("⊘", "†", "‡", "◷"):
        assert symbol in text
    assert "Thời điểm tính" in text and "open" in text
    xlsx = computed.get(f"{PAGE}/files/analysis.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    xlsx.close()
    assert book.sheetnames[0] == "Chú giải"
    assert [c.value for c in book["Chú giải"][1]] == ["Ký hiệu", "Trạng thái", "Giải thích", "Explanation"]
    assert "Ước lượng" in [c.value for c in book["sipas_sipas-2023"][1]]
    html = computed.get(f"{PAGE}/files/index.html")
    assert "◷ Kết quả giữa kỳ" in html.text
    assert "img-src 'self' data:" in html.headers["Content-Security-Policy"]
    html.close()


def test_a_closed_wave_of_30_units_is_paged_and_small(app, session, client):
    """Thirty units, every one with results: each section stays small, one unit's items only on
    request; a closed wave's figures carry no interim marker."""
    questionnaire, framework = (yaml.safe_load((ROOT / "questionnaires" / name).read_text(encoding="utf-8"))
                                for name in ("sipas-service.yaml", "frameworks/sipas-2023.yaml"))
    wave = make_wave(session, status="closed")
    session.commit()
    units = {f"XA-{i:02d}": f"Xã Thử Nghiệm Số {i}" for i in range(30)}
    responses, strata = synthetic.responses(questionnaire, units, per_unit=12, seed=3, wave=wave.code)
    folder = report_dir(wave, None)
    write_report(responses, strata, [questionnaire], [framework], folder, wave=wave.code)
    report_meta.write_meta(folder, wave, {"sipas-2023": framework}, len(responses), 3)
    log_in(client, session, "analyst")
    page = f"/staff/analysis/{wave.code}"
    sizes = {}
    for section in ("summary", "fw-sipas-2023", "ranking", "quality", "files"):
        answer = client.get(page, query_string={"section": section})
        assert answer.status_code == 200
        sizes[section] = len(answer.data)
        assert marker_count(answer.text, "interim") == 0 and "Đã đóng" in answer.text
    sipas = client.get(page, query_string={"section": "fw-sipas-2023"}).text
    assert sipas.count('<tr><th scope="row"><a href=') == 30 and "Chỉ tiêu" not in sipas  # no items yet
    detail = client.get(page, query_string={"section": "fw-sipas-2023", "unit": "XA-07"})
    assert "Chỉ tiêu" in detail.text and "Xã Thử Nghiệm Số 7" in detail.text
    sizes["detail"] = len(detail.data)
    assert max(sizes.values()) < 100_000, sizes
