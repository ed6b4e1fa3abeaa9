"""Directive codes: every way articles write them, and nothing that only looks like one."""

from __future__ import annotations

import pytest

from indexer.article import Locality
from indexer.directives import canonical_code, directive_label, find_directives


def codes(text: str, localities: list[Locality] | None = None) -> list[str]:
    return [d.code for d in find_directives(text, localities)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thực hiện Kết luận số 21-KL/TW của Trung ương", ["21-KL/TW"]),
        ("Kết luận số 21- KL/TW của Ban Chấp hành Trung ương", ["21-KL/TW"]),
        ("Kết luận số 21 của Ban Chấp hành Trung ương Đảng về xây dựng Đảng", ["21-KL/TW"]),
        ("Kết luận số 21, ngày 25/10/ 2021 của Ban Chấp hành Trung ương Đảng", ["21-KL/TW"]),
        ("tiếp tục thực hiện CT 05 –CT/TW của Bộ Chính trị", ["05-CT/TW"]),
        ("thực hiện Chỉ thị số 05 của Bộ Chính trị về học tập", ["05-CT/TW"]),
        ("Chỉ thị số 05 của Bộ chính trị “Về đẩy mạnh học tập”", ["05-CT/TW"]),
        ("Quy định 37 – QĐ/TW về những điều đảng viên không được làm", ["37-QĐ/TW"]),
        ("Quy định số 08-QĐi/TW về trách nhiệm nêu gương", ["08-QĐi/TW"]),
        ("Nghị quyết số 5-NQ/TƯ của Trung ương", ["05-NQ/TW"]),
        ("Quyết định số 68/QĐ-TW ngày 4.7.2007 của Bộ Chính trị", ["68-QĐ/TW"]),
        ("Nghị quyết số 18, 19-NQ/TW Hội nghị Trung ương 6", ["18-NQ/TW", "19-NQ/TW"]),
        ("accent-free: quy dinh 37-QD/TW va ke hoach 25-KH/DU", ["37-QĐ/TW", "25-KH/ĐU"]),
        ("Nghị quyết 26 ngày 19-5-2018 của Hội nghị lần thứ 7 Ban Chấp hành Trung ương",
         ["26-NQ/TW"]),
    ],
)
def test_all_written_forms_give_the_canonical_code(text, expected):
    assert codes(text) == expected


def test_bare_number_resolved_by_a_full_code_elsewhere():
    text = ("Huyện tuyên truyền Kết luận số 21-KL/TW. Để thực hiện hiệu quả Kết luận số 21, "
            "các cấp ủy nắm tình hình.")
    assert codes(text) == ["21-KL/TW"]
    text = "Để thực hiện hiệu quả Kết luận số 21, các cấp ủy. Sau đó là Kết luận 21-KL/TW."
    assert codes(text) == ["21-KL/TW"]


@pytest.mark.parametrize(
    "text",
    [
        "Kết luận số 21 được các cấp ủy quán triệt.",  # issuer unknown
        "Nghị quyết 42 của Quốc hội về xử lý nợ xấu",  # a state document
        "Chỉ thị 05/CT-TTg ngày 6/2/2017 của Thủ tướng Chính phủ",
        "Quyết định số 77/QĐ-TTg ngày 11/1/2016; Nghị quyết số 111/2015/QH13",
        "ký công văn số 721/BKHĐT-KCHTĐT ngày 24-11-2015",
        "ngày 25/10/2021, 57/57 đảng bộ đạt 100%, đạt 1/2 chỉ tiêu",
        "Liên hệ: 0243.825.1234 hoặc 0211-3862-245; Kế hoạch 2022 được giao",
        "Quy định 1,5 m mới được thi vào Sư phạm: lý giải của nhà trường",
        "Chỉ thị của Ban Bí thư, Hướng dẫn của của Ban Tổ chức Trung ương",
        "xe biển 29A-123.45 và mã 12-AB/CD",
    ],
)
def test_dates_phones_fractions_and_state_documents_are_not_codes(text):
    assert codes(text) == []


def test_local_codes_carry_their_issuing_body_and_place():
    (plan,) = find_directives("Thực hiện Kế hoạch 44-KH/HU ngày 14/3/2022 của Ban Thường vụ "
                              "Huyện ủy Gò Công Tây về thực hiện")
    assert (plan.code, plan.type, plan.issuer, plan.date) == (
        "44-KH/HU", "Kế hoạch", "Huyện ủy Gò Công Tây", "2022-03-14")
    kon_ray = [Locality("Kon Tum", "Kon Rẫy", None, "Quảng Ngãi", "subject")]
    (plan,) = find_directives("Ban Thường vụ Huyện ủy vừa ban hành Kế hoạch số 66-KH/HU, ngày "
                              "28/02/2022 về lãnh đạo", kon_ray)
    assert (plan.issuer, plan.date) == ("Huyện ủy Kon Rẫy", "2022-02-28")
    (guide,) = find_directives("Hướng dẫn 07 ngày 17/3/2022 của Tỉnh ủy Hà Nam về học tập")
    assert (guide.code, guide.issuer, guide.date) == ("07-HD/TU", "Tỉnh ủy Hà Nam", "2022-03-17")
    (guide,) = find_directives("theo Hướng dẫn 05 – HD/BTCTU ngày 01/11/2018 của Ban Tổ chức",
                               [Locality("Tiền Giang", "Gò Công Tây", "Long Bình")])
    assert guide.issuer == "Ban Tổ chức Tỉnh ủy Tiền Giang"
    (decision,) = find_directives("Quy định số 03-QĐ/TU của Thành ủy Đà Nẵng về kê khai")
    assert (decision.code, decision.issuer) == ("03-QĐ/TU", "Thành ủy Đà Nẵng")


def test_central_codes_from_the_catalogue_and_unknown_codes_still_found():
    (kl,) = find_directives("Kết luận số 01-KL/TW về tiếp tục thực hiện")
    assert (kl.type, kl.issuer, kl.date) == ("Kết luận", "Bộ Chính trị", "2021-05-18")
    assert kl.title and "phong cách Hồ Chí Minh" in kl.title
    (unknown,) = find_directives("Chỉ thị số 23-CT/TW của Ban Bí thư về lý luận chính trị")
    assert (unknown.code, unknown.type, unknown.issuer) == ("23-CT/TW", "Chỉ thị", "Ban Bí thư")
    assert unknown.title is None
    # a reused number with another date is not given the catalogue's title
    (old,) = find_directives("Nghị quyết 26-NQ/TW ngày 05/8/2008 về nông nghiệp")
    assert (old.date, old.title) == ("2008-08-05", None)


def test_one_record_per_code_in_order_of_first_citation():
    text = "Quy định 37-QĐ/TW; Kết luận 21-KL/TW; lại Quy định số 37- QĐ/TW và 21 - KL/TW."
    assert codes(text) == ["37-QĐ/TW", "21-KL/TW"]


def test_labels_and_canonical_form():
    assert directive_label("21-KL/TW") == "Kết luận 21-KL/TW"
    assert directive_label("44-KH/HU") == "Kế hoạch 44-KH/HU"
    assert directive_label("37-QĐ/TW") == "Quy định 37-QĐ/TW"
    assert directive_label("weird") == "weird"
    assert canonical_code("5", "QD", "TƯ") == "05-QĐ/TW"
    assert canonical_code("102", "QĐ", "TW") == "102-QĐ/TW"
