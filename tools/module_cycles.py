"""List the module dependencies of a Rust crate's `src/` and report import circles.

A module depends on another when its file names it: a `use` of `crate::`, `super::`,
`self::` or a child module's path, or such a path written inline. A name one module
imports and another reaches through it (`use super::X` where the parent only imports
`X`) counts as a dependency on where `X` comes from.

It prints, with the files and lines that make each dependency:

- a circle: modules with one parent that depend on each other, directly or round a
  loop (a dependency between two modules counts between their ancestors that are
  siblings: `a::x -> b::y` is `a -> b` under their common parent);
- `--deps` lists every dependency, so an arrow back up (a lower module naming a
  higher one) can be looked for; a child reading its own ancestors is normal.

Usage: `python3 tools/module_cycles.py [src] [--deps] [--tests]` (`--tests` reads the
`#[cfg(test)]` modules too). Exits 1 when it finds a circle, so CI can run it as a guard.
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

PATH_RE = re.compile(r"\b(?:crate|super|self)(?:\s*::\s*(?:r#)?\w+)+")
USE_RE = re.compile(r"\b(pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]+);")
INLINE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*\{")
TEST_FILE_MOD_RE = re.compile(
    r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;"
)


def strip_comments_and_strings(text):
    """Blank out comments, string and char literals, keeping offsets and newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and not re.match(r"\w", text[i - 1 : i]):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e as f}}` → [(["a", "b"], None), (["a", "c", "d"], None), (..., "f")]."""
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", tree.strip())

    def parse(s, prefix):
        results = []
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            brace = part.find("{")
            if brace >= 0:
                head = [x for x in part[:brace].split("::") if x]
                results += parse(part[brace + 1 : part.rindex("}")], prefix + head)
            else:
                m = re.fullmatch(r"(.*?)\s+as\s+(\w+)", part)
                path, alias = (m.group(1), m.group(2)) if m else (part, None)
                results.append((prefix + [x for x in path.split("::") if x], alias))
        return results

    return parse(tree, [])


class Crate:
    """The module tree of one `src/` directory and the references of each module."""

    def __init__(self, src, with_tests):
        self.src = Path(src)
        self.with_tests = with_tests
        self.modules = {}  # module path tuple -> file
        self.imports = defaultdict(dict)  # module -> {name: target path tuple}
        self.refs = defaultdict(list)  # module -> [(path tuple, file, line)]
        for file in sorted(self.src.rglob("*.rs")):
            self.modules.setdefault(self.module_of(file), file)
        # file modules declared `#[cfg(test)] mod x;`, and their descendants
        tests = {
            (*module, m.group(1))
            for module, file in self.modules.items()
            for m in TEST_FILE_MOD_RE.finditer(strip_comments_and_strings(file.read_text()))
        }
        for module, file in list(self.modules.items()):
            if with_tests or not any(module[: len(t)] == t for t in tests):
                self.read(module, file)

    def module_of(self, file):
        rel = file.relative_to(self.src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]):
            return ("crate",) if parts == ["lib"] else ("main",)
        if parts[-1] == "mod":
            parts = parts[:-1]
        return ("crate", *parts)

    def read(self, module, file):
        text = strip_comments_and_strings(file.read_text())
        spans = []  # inline modules: (start, end, name, under #[cfg(test)])
        for m in INLINE_MOD_RE.finditer(text):
            depth, j = 1, m.end()
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            item_start = max(text.rfind(c, 0, m.start()) for c in ";{}") + 1
            spans.append((m.start(), j, m.group(1), "#[cfg(test)]" in text[item_start : m.start()]))

        def scope_at(pos):
            path, test = list(module), False
            for start, end, name, is_test in spans:
                if start < pos < end:
                    path.append(name)
                    test = test or is_test
            return tuple(path), test

        def line_of(pos):
            return text.count("\n", 0, pos) + 1

        uses = []
        for m in USE_RE.finditer(text):
            uses.append((m.start(), m.end()))
            scope, test = scope_at(m.start())
            if test and not self.with_tests:
                continue
            for segs, alias in expand_use_tree(m.group(2)):
                segs = [s[2:] if s.startswith("r#") else s for s in segs]
                absolute = self.absolute(scope, segs)
                if absolute is None:
                    continue
                if segs[-1] == "self":
                    absolute = absolute[:-1]
                    segs = segs[:-1]
                if segs and segs[-1] != "*":
                    self.imports[scope][alias or segs[-1]] = absolute
                self.refs[module].append((absolute, file, line_of(m.start())))
        for m in PATH_RE.finditer(text):
            if any(start <= m.start() < end for start, end in uses):
                continue
            scope, test = scope_at(m.start())
            if test and not self.with_tests:
                continue
            segs = [s.strip() for s in m.group(0).split("::")]
            absolute = self.absolute(scope, segs)
            if absolute is not None:
                self.refs[module].append((absolute, file, line_of(m.start())))

    def absolute(self, scope, segs):
        """The absolute path a `use`/inline path names from `scope`, None if external."""
        segs = list(segs)
        base = list(scope)
        if segs[0] == "crate":
            return tuple(["crate", *segs[1:]])
        if segs[0] in ("super", "self"):
            while segs and segs[0] in ("super", "self"):
                if segs.pop(0) == "super":
                    base.pop()
            return tuple(base + segs)
        # a path from a child module of the scope (2018 uniform paths)
        if tuple(scope) + (segs[0],) in self.modules:
            return tuple(scope) + tuple(segs)
        return None

    def resolve(self, path, seen=None):
        """The deepest module a path lands in, following imports through modules."""
        seen = seen or set()
        best = None
        for k in range(len(path), 0, -1):
            if path[:k] in self.modules:
                best = path[:k]
                break
        if best is None:
            return None
        rest = path[len(best) :]
        if rest and rest[0] in self.imports.get(best, {}) and (best, rest[0]) not in seen:
            seen.add((best, rest[0]))
            target = self.imports[best][rest[0]] + tuple(rest[1:])
            deeper = self.resolve(target, seen)
            if deeper is not None:
                return deeper
        return best

    def edges(self):
        """{(from module, to module): [(file, line), ...]} for every dependency."""
        found = defaultdict(list)
        for module, refs in self.refs.items():
            for path, file, line in refs:
                target = self.resolve(path)
                if target is None or target == module:
                    continue
                if (file, line) not in found[(module, target)]:
                    found[(module, target)].append((file, line))
        return found


def sibling_circles(edges):
    """Circles among siblings: [(parent, [child, ...], [(a, b, (from, to), where)])]."""
    graphs = defaultdict(lambda: defaultdict(dict))
    for (a, b), where in edges.items():
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        if k == len(a) or k == len(b):
            continue  # one is the other's ancestor
        parent, ca, cb = a[:k], a[k], b[k]
        graphs[parent][ca].setdefault(cb, []).append(((a, b), where))
    circles = []
    for parent, graph in graphs.items():
        for component in strongly_connected(graph):
            if len(component) < 2:
                continue
            inside = [
                (x, y, pair, where)
                for x in sorted(component)
                for y, found in sorted(graph[x].items())
                if y in component
                for pair, where in found
            ]
            circles.append((parent, sorted(component), inside))
    return sorted(circles)


def strongly_connected(graph):
    """Tarjan's strongly connected components of {node: {node: ...}}."""
    index, low, stack, on, out = {}, {}, [], set(), []
    nodes = set(graph) | {y for ys in graph.values() for y in ys}

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(path):
    return "::".join(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default="src")
    parser.add_argument("--deps", action="store_true", help="print every dependency")
    parser.add_argument("--tests", action="store_true", help="read #[cfg(test)] modules too")
    args = parser.parse_args()
    crate = Crate(args.src, with_tests=args.tests)
    edges = crate.edges()
    if args.deps:
        for (a, b), where in sorted(edges.items()):
            print(f"{name(a)} -> {name(b)}  ({where[0][0]}:{where[0][1]})")
    circles = sibling_circles(edges)
    for parent, component, inside in circles:
        print(f"circle under {name(parent)}: {', '.join(component)}")
        for x, y, (a, b), where in inside:
            places = ", ".join(f"{f}:{line}" for f, line in where[:3])
            more = f" (+{len(where) - 3})" if len(where) > 3 else ""
            print(f"  {x} -> {y}: {name(a)} -> {name(b)} at {places}{more}")
    print(f"{len(circles)} circle(s)")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
