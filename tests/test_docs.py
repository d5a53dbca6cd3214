"""The repository's documentation stands alone: no pointer to an outside "SPEC" document, and
every pointer into docs/ names a file and a section that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
#: What is scanned: the package, the core, the tests, the benchmarks and the documentation.
SCANNED = ("python/mimkit", "cpp", "tests", "bench", "README.md", "docs")
TEXT_SUFFIXES = {".py", ".pyi", ".hpp", ".cpp", ".h", ".md", ".txt", ".toml", ".cfg"}

#: "SPEC 3", "SPEC 7.2": section numbers of a document that is not in the repository.
SPEC_REFERENCE = re.compile(r"\bSPEC \d")
#: A pointer such as (docs/theory.md, "Phase 1") or docs/theory.md, section "Thresholds".
THEORY_POINTER = re.compile(r"docs/theory\.md,\s*(?:sections?\s+)?(.*)")
#: A pointer to another page of docs/.
DOCS_PAGE = re.compile(r"docs/[\w./-]+\.md")


def _text_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        files += [
            p
            for p in candidates
            if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
        ]
    return files


def _lines():
    """(file relative to the root, line number, line) for every scanned line but this file's."""
    for path in _text_files():
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            yield rel, number, line


def _pointer_sections(rest: str) -> list[str]:
    """The quoted section names right after ``docs/theory.md,``: up to the end of the sentence
    or of the enclosing parenthesis."""
    depth, end = 0, len(rest)
    for i, ch in enumerate(rest):
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                end = i
                break
            depth -= 1
        elif ch in ".;" and depth == 0 and (i + 1 == len(rest) or rest[i + 1] in " \"'`"):
            end = i
            break
    return re.findall(r'"([^"]+)"', rest[:end])


def _theory_headings() -> set[str]:
    text = THEORY.read_text(encoding="utf-8")
    return {m.group(1).strip() for m in re.finditer(r"^##+ (.+)$", text, flags=re.MULTILINE)}


def test_no_reference_to_an_outside_spec_document():
    hits = [
        f"{rel}:{n}: {line.strip()}" for rel, n, line in _lines() if SPEC_REFERENCE.search(line)
    ]
    assert not hits, (
        "references to 'SPEC <n>', a document outside the repository; point at a section of "
        'docs/theory.md instead, e.g. (docs/theory.md, "Phase 1"):\n' + "\n".join(hits)
    )


def test_theory_pointers_name_existing_sections():
    headings = _theory_headings()
    assert {"Phase 1", "Phase 2", "Thresholds", "Metrics"} <= headings
    bad, seen = [], 0
    for rel, n, line in _lines():
        match = THEORY_POINTER.search(line)
        if match is None or rel == "docs/theory.md":  # the target itself, not a pointer
            continue
        seen += 1
        sections = _pointer_sections(match.group(1))
        missing = [s for s in sections if s not in headings]
        if not sections or missing:
            bad.append(f"{rel}:{n}: {line.strip()}  (unknown: {missing or 'no quoted section'})")
    assert seen > 0
    assert not bad, (
        "pointers into docs/theory.md must quote a section heading of it "
        f"({', '.join(sorted(headings))}):\n" + "\n".join(bad)
    )


def test_docs_pages_named_in_the_code_exist():
    missing = [
        f"{rel}:{n}: {page}"
        for rel, n, line in _lines()
        for page in DOCS_PAGE.findall(line)
        if not (ROOT / page).is_file()
    ]
    assert not missing, "pointers to docs pages that do not exist:\n" + "\n".join(missing)


def test_markdown_has_no_control_characters():
    # A LaTeX backslash written through a non-raw string turns into one (\a, \f, \t, \n...).
    control = re.compile(r"[\x00-\x09\x0b-\x1f]")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    bad = [
        f"{page.relative_to(ROOT)}:{number}"
        for page in pages
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if control.search(line)
    ]
    assert not bad, "control characters in:\n" + "\n".join(bad)
