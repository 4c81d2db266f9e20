#!/usr/bin/python3
"""Fails when the build or the tests use something that scripts/install-deps.sh does not
install, so a fresh Debian 12 machine cannot fail where this one passes.

usage: check_deps.py SOURCE_DIR BUILD_DIR [--drop PACKAGE]

What is checked, each against the map of install-deps.sh (`--map`: kind, name, package):
  - every pkg-config module, find_package and find_library name in the CMake files is
    mapped, and a mapped pkg-config module's .pc file belongs to that package (or to one
    it depends on);
  - every library on a link line of BUILD_DIR that lies outside the tree belongs to a
    package that install-deps installs (or one they depend on) or to Debian's base
    system (Priority: required, what `debootstrap --variant=minbase` installs);
  - every command that a build or test script runs (scripts/, tests/, bench/; .ci/run runs
    on the CI host, not in the fresh root), every add_test command, every /usr/bin path
    named, and every Python module a test imports: a base-system owner is fine,
    anything else must be mapped by name to a package whose dependencies hold its owner.

--drop removes one package from the map first: the check must then fail and name what
that package provided (the test of this test). Ends with one line "deps: N checked,
M problems".
"""
import ast
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys

ARCH_LIBDIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib"]
SHELL_WORDS = set(
    """if then else elif fi for while until do done case esac in function select time
    return exit break continue export local readonly set unset shift trap wait read cd
    exec eval echo printf test true false command type hash alias umask ulimit getopts
    kill pwd source . : [ [[ ]] { } ! ( ) ;; builtin let declare typeset""".split()
)


def fail_usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def read_map(source, drop):
    out = subprocess.run(
        [os.path.join(source, "scripts/install-deps.sh"), "--map"],
        check=True, capture_output=True, text=True,
    ).stdout
    entries = []
    for line in out.splitlines():
        kind, name, pkg = line.split()
        if pkg != drop:
            entries.append((kind, name, pkg))
    return entries


class Dpkg:
    """Installed packages, their dependencies and the owners of files."""

    def __init__(self):
        fmt = "${Package}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\t${Provides}\n"
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", fmt], check=True, capture_output=True, text=True
        ).stdout
        self.deps = {}
        self.providers = {}
        self.base = set()
        for line in out.splitlines():
            name, prio, essential, deps, provides = line.split("\t")
            alternatives = []
            for group in deps.split(","):
                names = [re.sub(r"[:\s(].*", "", a.strip()) for a in group.split("|")]
                names = [n for n in names if n]
                if names:
                    alternatives.append(names)
            self.deps[name] = alternatives
            for p in provides.split(","):
                p = re.sub(r"[\s(].*", "", p.strip())
                if p:
                    self.providers.setdefault(p, []).append(name)
            if prio == "required" or essential == "yes":
                self.base.add(name)
        self.base = self.closure(self.base)
        self.owners = None

    def resolve(self, name):
        if name in self.deps:
            return [name]
        return [p for p in self.providers.get(name, []) if p in self.deps]

    def closure(self, roots):
        seen = set()
        todo = [r for root in roots for r in self.resolve(root)]
        while todo:
            pkg = todo.pop()
            if pkg in seen:
                continue
            seen.add(pkg)
            for group in self.deps.get(pkg, []):
                for alt in group:
                    todo.extend(self.resolve(alt))
        return seen

    def owner(self, path):
        """The package that installed `path` (symlinks and the merged /usr followed)."""
        if self.owners is None:
            self.owners = {}
            for lst in glob.glob("/var/lib/dpkg/info/*.list"):
                pkg = os.path.basename(lst)[:-5].split(":")[0]
                with open(lst, errors="replace") as f:
                    for line in f:
                        self.owners.setdefault(line.rstrip("\n"), pkg)
        candidates = [path, os.path.realpath(path)]
        for p in list(candidates):
            if p.startswith("/usr/"):
                candidates.append(p[4:])
            elif p.startswith(("/bin/", "/sbin/", "/lib/", "/lib64/")):
                candidates.append("/usr" + p)
        for p in candidates:
            if p in self.owners:
                return self.owners[p]
        return None


def cmake_files(source):
    files = [os.path.join(source, "CMakeLists.txt")]
    for pattern in ("src/**/*.cmake", "src/**/CMakeLists.txt", "tests/**/*.cmake",
                    "tests/**/CMakeLists.txt", "bench/**/CMakeLists.txt", "plugins/**/CMakeLists.txt"):
        files += glob.glob(os.path.join(source, pattern), recursive=True)
    return sorted(set(f for f in files if os.path.isfile(f)))


def strip_cmake_comments(text):
    return "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in text.splitlines())


def cmake_uses(source):
    """(kind, name, where) for pkg_check_modules, find_package and find_library."""
    uses = []
    keywords = {"REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                "NO_CMAKE_ENVIRONMENT_PATH", "NAMES", "HINTS", "PATHS"}
    for path in cmake_files(source):
        text = strip_cmake_comments(open(path).read())
        rel = os.path.relpath(path, source)
        for m in re.finditer(r"pkg_check_modules\s*\(([^)]*)\)", text):
            words = m.group(1).split()[1:]
            for w in words:
                if w not in keywords:
                    uses.append(("pkgconfig", re.sub(r"[<>=].*", "", w), rel))
        for m in re.finditer(r"find_package\s*\(\s*([A-Za-z0-9_]+)", text):
            uses.append(("cmake", m.group(1), rel))
        for m in re.finditer(r"find_library\s*\(([^)]*)\)", text):
            words = m.group(1).split()
            names = words[1:]
            if "NAMES" in names:
                names = names[names.index("NAMES") + 1:]
            for w in names:
                if w in keywords or w.startswith("$"):
                    break
                uses.append(("lib", w, rel))
    return uses


def link_libraries(build):
    """Libraries outside the trees that the build links: absolute paths and -lNAME."""
    libs = {}
    for path in glob.glob(os.path.join(build, "**/link.txt"), recursive=True):
        for tok in open(path).read().split():
            if tok.startswith("-Wl,"):
                parts = tok[4:].split(",")
            else:
                parts = [tok]
            for part in parts:
                if part.startswith("/") and re.search(r"\.(so|a)(\.[0-9]+)*$", part):
                    libs.setdefault(part, os.path.relpath(path, build))
                elif part.startswith("-l"):
                    found = find_lib(part[2:])
                    if found:
                        libs.setdefault(found, os.path.relpath(path, build))
    return libs


def find_lib(name):
    for d in ARCH_LIBDIRS:
        for suffix in (".so", ".a"):
            p = os.path.join(d, "lib" + name + suffix)
            if os.path.exists(p):
                return p
    return None


def script_files(source):
    files = []
    for pattern in ("scripts/*.sh", "tests/**/*.sh", "bench/**/*.sh"):
        files += glob.glob(os.path.join(source, pattern), recursive=True)
    return sorted(set(files))


def split_heredocs(text):
    """Returns (shell text without heredoc bodies, list of python heredoc bodies)."""
    shell, python = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        shell.append(line)
        m = re.search(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?", line)
        i += 1
        if m:
            end = m.group(1)
            body = []
            while i < len(lines) and lines[i].strip() != end:
                body.append(lines[i])
                i += 1
            i += 1
            if "python" in line:
                python.append("\n".join(body))
    return "\n".join(shell), python


def blank_quotes(line):
    """Removes quoted text, keeping the commands of $(...) inside double quotes."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = line.find("'", i + 1)
            i = n if j < 0 else j + 1
            out.append(" X ")
            continue
        if c == '"':
            j = i + 1
            inner = []
            while j < n and line[j] != '"':
                if line[j] == "\\":
                    j += 2
                    continue
                if line.startswith("$(", j):
                    depth, k = 1, j + 2
                    while k < n and depth:
                        depth += {"(": 1, ")": -1}.get(line[k], 0)
                        k += 1
                    inner.append(" ; " + line[j + 2:k - 1] + " ; ")
                    j = k
                    continue
                j += 1
            out.append(" X " + "".join(inner))
            i = j + 1
            continue
        if c == "#" and (i == 0 or line[i - 1] in " \t;"):
            break
        out.append(c)
        i += 1
    return "".join(out)


def shell_commands(text):
    """Words in command position in shell text (a heuristic: good enough to find tools)."""
    defined = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)", text, re.M))
    commands = set()
    for raw in text.splitlines():
        line = blank_quotes(raw)
        for seg in re.split(r"\|\||&&|[;|&`(){}]|\$\(|\bthen\b|\bdo\b|\belse\b", line):
            words = seg.split()
            while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])
                             or words[0] in ("!", "exec", "command", "time", "nohup", "env")):
                words.pop(0)
            if words and words[0] == "timeout" and len(words) > 2:
                words = words[2:]
            if not words:
                continue
            w = words[0]
            if w in SHELL_WORDS or w in defined or not re.match(r"^[A-Za-z/][A-Za-z0-9._+/-]*$", w):
                continue
            commands.add(w)
    return commands


def cmake_test_commands(source):
    cmds = set()
    for path in cmake_files(source):
        text = strip_cmake_comments(open(path).read())
        for m in re.finditer(r"COMMAND\s+(/[^\s)]+)", text):
            cmds.add(m.group(1))
    return cmds


def python_modules(code):
    mods = set()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return mods
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def module_file(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.origin in (None, "built-in", "frozen"):
        return "built-in"
    return spec.origin


def main(argv):
    drop = None
    if "--drop" in argv:
        i = argv.index("--drop")
        if i + 1 >= len(argv):
            fail_usage()
        drop = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) != 3:
        fail_usage()
    source, build = argv[1], argv[2]
    entries = read_map(source, drop)
    dpkg = Dpkg()
    listed = sorted({pkg for _, _, pkg in entries})
    installs = dpkg.closure(listed)
    mapped = {(kind, name): pkg for kind, name, pkg in entries}
    problems = []
    checked = 0

    def need_mapped(kind, name, what, owner=None):
        pkg = mapped.get((kind, name))
        if pkg is None:
            problems.append("%s is not installed by scripts/install-deps.sh: map %s \"%s\"%s"
                            % (what, kind, name, " (provided by %s)" % owner if owner else ""))
            return
        if owner is not None and owner not in dpkg.closure([pkg]):
            problems.append("%s belongs to %s, but install-deps maps it to %s, which does not "
                            "depend on it" % (what, owner, pkg))

    for kind, name, where in cmake_uses(source):
        checked += 1
        owner = None
        if kind == "pkgconfig":
            r = subprocess.run(["pkg-config", "--variable=pcfiledir", name],
                               capture_output=True, text=True)
            if r.returncode == 0:
                owner = dpkg.owner(os.path.join(r.stdout.strip(), name + ".pc"))
        need_mapped(kind, name, "%s %s (%s)" % (kind, name, where), owner)

    for lib, where in sorted(link_libraries(build).items()):
        if lib.startswith(os.path.realpath(build)) or lib.startswith(os.path.realpath(source)):
            continue
        checked += 1
        owner = dpkg.owner(lib)
        if owner is None:
            problems.append("library %s (linked by %s) belongs to no Debian package" % (lib, where))
        elif owner not in installs and owner not in dpkg.base:
            problems.append("library %s (linked by %s) belongs to %s, which scripts/install-deps.sh "
                            "does not install" % (lib, where, owner))

    tools = {}
    pysources = []
    for path in script_files(source):
        shell, heredocs = split_heredocs(open(path).read())
        rel = os.path.relpath(path, source)
        for cmd in shell_commands(shell):
            tools.setdefault(cmd, rel)
        pysources += [(rel, body) for body in heredocs]
        for absolute in re.findall(r"(/usr/s?bin/[A-Za-z0-9._+-]+)", shell):
            tools.setdefault(absolute, rel)
    for cmd in cmake_test_commands(source):
        tools.setdefault(cmd, "CMake add_test")
    for path in glob.glob(os.path.join(source, "tests/**/*.py"), recursive=True):
        pysources.append((os.path.relpath(path, source), open(path).read()))

    for cmd, where in sorted(tools.items()):
        if "/" in cmd and not cmd.startswith("/usr/") and not cmd.startswith("/bin/"):
            continue  # a project path
        path = cmd if cmd.startswith("/") else shutil.which(cmd)
        if path is None or not os.path.exists(path):
            if "/" in cmd or ("tool", cmd) in mapped:
                checked += 1
                problems.append("command %s (run by %s) is not on this machine" % (cmd, where))
            continue  # a word in a string, not a command
        checked += 1
        owner = dpkg.owner(path)
        if owner is None or owner in dpkg.base:
            continue
        need_mapped("tool", os.path.basename(cmd), "command %s (run by %s)" % (cmd, where), owner)

    python_pkg = mapped.get(("tool", "python3"))
    python_closure = dpkg.closure([python_pkg]) if python_pkg else set()
    seen = set()
    for where, code in pysources:
        for mod in sorted(python_modules(code)):
            if mod in seen:
                continue
            seen.add(mod)
            checked += 1
            # The project's own helper modules sit beside the scripts that import them.
            if os.path.exists(os.path.join(source, os.path.dirname(where), mod + ".py")):
                continue
            origin = module_file(mod)
            if origin is None:
                problems.append("python module %s (imported by %s) is not installed" % (mod, where))
                continue
            if origin == "built-in":
                continue
            owner = dpkg.owner(origin)
            if owner is None or owner in dpkg.base or owner in python_closure:
                continue
            need_mapped("python", mod, "python module %s (imported by %s)" % (mod, where), owner)

    for p in problems:
        print("deps: " + p)
    print("deps: %d checked, %d problems%s" % (checked, len(problems),
                                                 " (with %s dropped)" % drop if drop else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
