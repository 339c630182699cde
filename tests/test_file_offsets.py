"""Answer offsets in the .txt file itself: the indexed text maps back to the file line by line."""

from qa.articles import ArticleReader
from qa.file_offsets import locate, text_to_file
from qa.retrieval import Citation

FILE = ("\ufeffHarbor news\r\n\r\nPosted March 10, 2010\r\nLeave a comment\r\n\r\n\r\n\r\n"
        "  The bridge opened on Monday.   \r\nShare this\r\nIt cost 40 million euros.\r\n\r\nTags: bridges\r\n")


def _article(tmp_path):
    path = tmp_path / "bridge.txt"
    path.write_bytes(FILE.encode("utf-8"))
    [article], _ = ArticleReader().read_file(path, "bridge.txt")
    return article, path.read_bytes().decode("utf-8-sig")


def test_every_character_of_the_indexed_text_maps_to_the_same_character_in_the_file(tmp_path):
    article, file_text = _article(tmp_path)
    assert article.text != file_text  # title, Posted line, boilerplate and blank lines were dropped
    where = text_to_file(article.text, file_text)
    for i, ch in enumerate(article.text):
        if ch != "\n":
            assert file_text[where(i)] == ch, i


def test_a_changed_file_gives_no_offsets(tmp_path):
    article, file_text = _article(tmp_path)
    assert text_to_file(article.text, file_text.replace("40 million", "41 million")) is None


def test_locate_sets_file_offsets_only_for_txt_files_that_match(tmp_path):
    article, file_text = _article(tmp_path)
    start = article.text.index("40 million")

    def cite(source):
        return Citation(article.id, article.title, article.date, source, "", 1, 0, len(article.text), article.text,
                        answer_start=start, answer_end=start + len("40 million euros"))

    txt, other = cite("bridge.txt"), cite("bridge.md")
    locate([txt, other], tmp_path, lambda _id: article.text)
    assert file_text[txt.file_answer_start:txt.file_answer_end] == "40 million euros"
    assert other.file_answer_start is None
    (tmp_path / "bridge.txt").write_text("Harbor news\n\nSomething else entirely.\n")
    again = cite("bridge.txt")
    locate([again], tmp_path, lambda _id: article.text)
    assert again.file_answer_start is None


def test_an_answer_across_a_dropped_line_gets_no_file_offsets(tmp_path):
    article, file_text = _article(tmp_path)
    start = article.text.index("Monday.")
    end = article.text.index(" 40 million")  # "Monday.\nIt cost": the file has "Share this" in between
    c = Citation(article.id, article.title, article.date, "bridge.txt", "", 1, 0, len(article.text), article.text,
                 answer_start=start, answer_end=end)
    locate([c], tmp_path, lambda _id: article.text)
    assert c.file_answer_start is None and c.file_answer_end is None
