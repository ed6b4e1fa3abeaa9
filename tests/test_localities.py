"""Locality extraction: the traps of design/localities.md, each as a user would meet it."""

from __future__ import annotations

import pytest

from indexer.localities import find_localities


def places(text: str, title: str | None = None) -> list[tuple]:
    """(province, district, commune) of each locality found, title first when given."""
    full = f"{title}\n\n{text}" if title else text
    span = (0, len(title)) if title else None
    return [(x.province, x.district, x.commune) for x in find_localities(full, [], span)]


def test_unit_word_and_parent_in_brackets():
    assert places("Đảng bộ huyện Bình Lục (Hà Nam) ngày càng vững mạnh.") == [
        ("Hà Nam", "Bình Lục", None)]


def test_2025_province_and_no_unit_word_in_names():
    (loc,) = find_localities("Công an tỉnh Tiền Giang cho biết.")
    assert (loc.province, loc.province_2025) == ("Tiền Giang", "Đồng Tháp")
    (loc,) = find_localities("Tỉnh ủy Hà Giang họp.")
    assert loc.province_2025 == "Tuyên Quang"


@pytest.mark.parametrize(
    "text",
    [
        "Cán bộ học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh.",
        "Kỷ niệm ngày sinh Chủ tịch Hồ Chí Minh (19/5/1890).",
        "Đường Hồ Chí Minh chạy qua nhiều tỉnh. Bác Hồ Chí Minh kính yêu.",
    ],
)
def test_ho_chi_minh_the_person_is_not_a_place(text):
    assert places(text) == []


def test_ho_chi_minh_city_with_its_unit_word_or_abbreviation():
    for text in ("Tại Thành phố Hồ Chí Minh, hội nghị đã diễn ra.",
                 "Sáng 27-11, tại TP. HCM, hội thi bế mạc.",
                 "Bí thư Thành ủy TPHCM dẫn đầu đoàn công tác."):
        assert places(text) == [("Hồ Chí Minh", None, None)], text


def test_byline_that_is_a_commune_name_is_not_a_place():
    # "Minh Phú" is a commune in several provinces, here it signs the article
    assert places("Đảng bộ huyện Bình Lục ngày càng vững mạnh./.\n\nMinh Phú") == [
        ("Hà Nam", "Bình Lục", None)]
    assert places("Công an huyện Kiến Thụy đã tạm giữ tài xế. Giang Chinh") == [
        ("Hải Phòng", "Kiến Thụy", None)]


def test_bare_ambiguous_commune_is_not_guessed():
    assert places("Người dân Long Bình vui mừng đón Tết.") == []
    # "xã Long Bình" alone: 7 units in 6 provinces, no parent named
    assert places("Đảng ủy xã Long Bình tổ chức tọa đàm.") == []


def test_ambiguous_commune_resolved_by_a_parent_in_the_article():
    text = ("Xã Long Bình qua 01 năm thực hiện kết luận. Thực hiện Kế hoạch của Ban Thường vụ "
            "Huyện ủy Gò Công Tây, Đảng ủy xã đã ban hành kế hoạch.")
    assert places(text) == [("Tiền Giang", "Gò Công Tây", "Long Bình")]
    # and by the parent written right after it, even when another parent is nearer in spirit
    assert places("Bí thư Đảng ủy xã Tân Phú (huyện Vĩnh Tường) cho biết.") == [
        ("Vĩnh Phúc", "Vĩnh Tường", "Tân Phú")]


def test_accents_matter_but_tone_placement_does_not():
    assert places("Đảng uỷ xã Thổ Bình họp.") == [("Tuyên Quang", "Lâm Bình", "Thổ Bình")]
    # "Thọ Bình" is another commune, in Thanh Hóa: never the Tuyên Quang one
    assert ("Tuyên Quang", "Lâm Bình", "Thổ Bình") not in places("Đảng ủy xã Thọ Bình họp.")
    assert places("Tỉnh ủy Hoà Bình họp.") == places("Tỉnh ủy Hòa Bình họp.") == [
        ("Hòa Bình", None, None)]
    assert places("Tỉnh uỷ Thanh Hoá và Tỉnh ủy Khánh Hòa") == [
        ("Thanh Hóa", None, None), ("Khánh Hòa", None, None)]


def test_accent_free_text_matches_by_folded_form():
    assert places("Dang bo huyen Binh Luc, tinh Ha Nam ngay cang vung manh.") == [
        ("Hà Nam", "Bình Lục", None)]
    assert places("xa Tho Binh, huyen Lam Binh, tinh Tuyen Quang") == [
        ("Tuyên Quang", "Lâm Bình", "Thổ Bình")]


def test_people_streets_and_companies_are_not_places():
    assert places("Ông Lê Xuân Huy phát biểu. Bà Trần Thị Kim Bảng cho biết.") == []
    assert places("Nhà hàng trên đường Hà Nội, quận 1 đông khách.") == [
        ("Hồ Chí Minh", "1", None)]
    assert places("Công ty đấu giá hợp danh Hồng Lĩnh tổ chức bán đấu giá.") == []
    assert places("Cầu vượt Linh Xuân, ngã tư Thủ Đức kẹt xe.") == []
    # a junction of two streets: the second street is no place either
    assert places("Đến ngã ba Trường Chinh - Trường Sa, xe khách tông vào nhà dân ở "
                  "TP. Pleiku, tỉnh Gia Lai.") == [("Gia Lai", "Pleiku", None)]
    assert places("Bình Dương - Đồng Nai là hai tỉnh giáp ranh.") == [
        ("Bình Dương", None, None), ("Đồng Nai", None, None)]


def test_unique_names_bare_and_district_before_province():
    assert places("Kon Rẫy: tổ chức đợt sinh hoạt chính trị.") == [("Kon Tum", "Kon Rẫy", None)]
    assert places("Bình Dương - Đồng Nai là hai tỉnh giáp ranh.") == [
        ("Bình Dương", None, None), ("Đồng Nai", None, None)]


def test_unknown_longer_name_is_not_cut_short():
    # "Quế Bình" merged away before 2022; "Quế" (a Hà Nam town) must not stand in for it
    assert places("Ông sinh tại xã Quế Bình, huyện Hiệp Đức, Quảng Nam.") == [
        ("Quảng Nam", "Hiệp Đức", None)]


def test_parent_written_next_to_a_unit_must_contain_it():
    # Kẻ Sặt was a town of Hải Dương; "xã Kẻ Sặt, TP Hải Phòng" can only be the 2025
    # commune, whose record names the 2022 units it was made from
    (loc,) = find_localities("tại xã Kẻ Sặt, TP Hải Phòng")
    assert (loc.province, loc.district, loc.commune) == ("Hải Dương", "Bình Giang", "Kẻ Sặt")
    assert (loc.province_2025, loc.commune_2025) == ("Hải Phòng", "Kẻ Sặt")
    # a district written after a commune it never held drops that reading
    assert places("xã Cẩm Huy, huyện Kỳ Anh") == [("Hà Tĩnh", "Kỳ Anh", None)]


def test_lists_after_a_plural_unit_word():
    text = "Huyện Vĩnh Tường chỉ đạo các xã Tân Phú, Thượng Trưng và Vĩnh Ninh thực hiện."
    assert places(text) == [("Vĩnh Phúc", "Vĩnh Tường", "Tân Phú"),
                            ("Vĩnh Phúc", "Vĩnh Tường", "Thượng Trưng"),
                            ("Vĩnh Phúc", "Vĩnh Tường", "Vĩnh Ninh")]


def test_unit_types_resolve_same_names():
    assert places("UBND thị xã Kỳ Anh (Hà Tĩnh)") == [("Hà Tĩnh", "Kỳ Anh", None)]
    assert places("Công an TP. Hưng Yên, tỉnh Hưng Yên") == [("Hưng Yên", "Hưng Yên", None)]


def test_roles_subject_from_title_mentioned_elsewhere():
    title = "Vĩnh Tường: Triển khai có hiệu quả các chỉ thị"
    body = ("Đồng chí dự sinh hoạt chi bộ xóm Mới A, xã Thượng Trưng\n\n"
            "Đảng bộ huyện Vĩnh Tường có trên 9.600 đảng viên. Tỉnh ủy Vĩnh Phúc chỉ đạo.")
    text = f"{title}\n\n{body}"
    found = find_localities(text, [], (0, len(title)))
    assert [(x.district, x.commune, x.role) for x in found] == [
        ("Vĩnh Tường", None, "subject"), ("Vĩnh Tường", "Thượng Trưng", "mentioned")]


def test_ancestors_are_not_repeated():
    found = find_localities("xã Thổ Bình, huyện Lâm Bình, tỉnh Tuyên Quang")
    assert [(x.province, x.district, x.commune) for x in found] == [
        ("Tuyên Quang", "Lâm Bình", "Thổ Bình")]


def test_article_province_beats_the_unit_word_written():
    # Hải Thanh became a ward (phường) of Nghi Sơn in 2020; writers still say "xã".
    # The Nam Định commune of that name is not taken in an article about Thanh Hóa.
    text = "Tỉnh đoàn Thanh Hóa tuyên dương đoàn viên Hội LHTN xã Hải Thanh, huyện Tĩnh Gia."
    assert places(text) == [("Thanh Hóa", "Nghi Sơn", "Hải Thanh")]
    assert places("Hội LHTN xã Hải Thanh tổ chức ra quân.") == [
        ("Nam Định", "Hải Hậu", "Hải Thanh")]
