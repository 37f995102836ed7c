#!/usr/bin/env python3
"""Names that two source files of one unity-built target both define file-locally.

The instrumented builds compile the core library in batches of files (CMake's UNITY_BUILD),
and every build does so for the test binaries (CMakeLists.txt). The files of a batch share one
translation unit, so two files' helpers in unnamed namespaces (or `static` ones) of the same
enclosing namespace meet: the same signature fails to compile, and a different one silently
becomes an overload, so a call in one file may bind to the other file's helper. This check
refuses any such name across a whole target, whatever the batches are: rename it, or share
it through a header.

Usage: scripts/unity-names.py   (from anywhere; exit 1 when a name is defined twice)
It reads the code as clang-format leaves it: declarations of a namespace start in column 0.
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The unity-built targets and their sources, as CMakeLists.txt globs them.
TARGETS = {
    "shopctl_core": [p for p in ROOT.glob("src/**/*.cpp")
                     if "api" not in p.parent.parts[-1:] and p != ROOT / "src/cli/main.cpp"],
    "shopctl_api": list(ROOT.glob("src/api/*.cpp")),
    "shopctl_tests": [p for p in ROOT.glob("tests/**/*.cpp") if "fuzz" not in p.parts],
}

RAW_OPEN = re.compile(r'R"([^(\s]{0,16})\(')


def strip_literals(line, raw_end):
    """The line without comments and literals; raw_end is the closing of an open raw string."""
    out = ""
    i = 0
    while i < len(line):
        if raw_end is not None:
            j = line.find(raw_end, i)
            if j < 0:
                return out, raw_end
            i = j + len(raw_end)
            raw_end = None
            out += '""'
            continue
        m = RAW_OPEN.match(line, i)
        if m:
            raw_end = ")" + m.group(1) + '"'
            i = m.end()
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if c in "\"'":
            j = i + 1
            while j < len(line) and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            out += c + c
            i = j + 1
            continue
        out += c
        i += 1
    return out, raw_end


def local_names(path):
    """(enclosing namespace, name) of what the file defines in unnamed namespaces or static."""
    names = {}
    depth = 0
    stack = []  # (depth inside, namespace name or "" for an unnamed one)
    raw_end = None
    block_comment = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if block_comment:
            if "*/" not in line:
                continue
            line = line.split("*/", 1)[1]
            block_comment = False
        starts_in_raw = raw_end is not None
        code, raw_end = strip_literals(line, raw_end)
        if "/*" in code:
            code, _, rest = code.partition("/*")
            block_comment = "*/" not in rest
        in_unnamed = bool(stack) and stack[-1][1] == "" and depth == stack[-1][0]
        at_namespace = (not stack and depth == 0) or (bool(stack) and depth == stack[-1][0])
        if (at_namespace and not starts_in_raw and code and not code[0].isspace()
                and not code.startswith(("#", "}", "{", "namespace", "template", "TEST_CASE",
                                         "TEST_SUITE", "SCENARIO"))):
            is_static = re.match(r"(static|constexpr|const)\b", code) is not None
            name = None
            m = re.match(r"(?:struct|class|enum(?:\s+class)?|union)\s+(\w+)", code)
            if m:
                name = m.group(1) if in_unnamed else None
            elif (m := re.match(r"using\s+(\w+)\s*=", code)):
                name = m.group(1) if in_unnamed else None
            elif not code.startswith("using") and (in_unnamed or is_static):
                m = re.search(r"(\w+)\s*(\(|=|\{|\[|;)", code)
                if m and m.group(1) != "operator":
                    name = m.group(1)
            if name:
                enclosing = "::".join(n for _, n in stack if n)
                names.setdefault((enclosing, name), number)
        m = re.match(r"\s*(?:inline\s+)?namespace\s*([\w:]*)\s*\{", code)
        if m:
            stack.append((depth + 1, m.group(1)))
        for ch in code:
            if ch == "{":
                depth += 1
            elif ch == "}":
                if stack and depth == stack[-1][0]:
                    stack.pop()
                depth -= 1
    return names


def main():
    clashes = 0
    unique = 0
    for target, files in TARGETS.items():
        where = collections.defaultdict(list)
        for path in sorted(files):
            for key, line in local_names(path).items():
                where[key].append(f"{path.relative_to(ROOT)}:{line}")
        for (enclosing, name), places in sorted(where.items()):
            if len(places) == 1:
                unique += 1
            else:
                clashes += 1
                scope = f"{enclosing}::" if enclosing else ""
                print(f"unity-names: {target}: {scope}{name} is defined file-locally in "
                      f"{len(places)} files: {', '.join(places)}")
    if clashes:
        print("unity-names: a unity build compiles these files together; rename the helper or "
              "share it through a header (scripts/unity-names.py says why)")
    # One check per file-local name of a unity-built target.
    print(f"unity-names: {unique} passed, {clashes} failed")
    return 1 if clashes else 0


if __name__ == "__main__":
    sys.exit(main())
