#!/usr/bin/python3
"""Checks that scripts/setup.sh installs everything the build, the tests and the scripts use.

It collects what was really used:
  - headers and other inputs of every compilation (the compiler's dependency files, *.d);
  - libraries on every link command (link.txt), and the files CMake's configure step found
    (CMakeCache.txt: FILEPATH entries and the config files of <Package>_DIR entries);
  - shared libraries the built programs load (ldd), which is where a runtime choice such as
    the BLAS behind libblas.so.3 shows up;
  - programs the scripts and CI run (command words of the shell scripts, interpreters),
    and the Python modules the Python scripts import.
Each file is mapped to the Debian package that owns it, from the database dpkg -S reads
(/var/lib/dpkg/info/*.list), following symlinks such as /etc/alternatives. A package is
accepted when it is named in setup.sh's lists or pulled in through their Depends or
Pre-Depends (apt-cache depends --recurse --no-recommends --no-suggests), or belongs to
Debian's required base system, with its Depends. Anything else fails the check, naming the
file, the package and what used it. Programs or modules not installed on this machine are
listed as unchecked (an optional group, such as the benchmarks', may be absent).

Usage: scripts/check_setup.py [--build DIR] [--setup FILE]
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(message):
    print(f"check_setup: error: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- what setup.sh installs

def setup_groups(setup_file):
    out = subprocess.run(["bash", setup_file, "--list"], capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{setup_file}: --list failed: {out.stderr.strip()}")
    groups = {}
    for line in out.stdout.split("\n"):
        if line.strip():
            group, package = line.split()
            groups.setdefault(group, set()).add(package)
    if "build" not in groups:
        fail(f"{setup_file}: --list names no build packages")
    return groups


def depends_closure(packages):
    """Every package reachable from `packages` through Depends / Pre-Depends."""
    if not packages:
        return set()
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *sorted(packages)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"apt-cache depends failed (run apt-get update first?): {out.stderr.strip()[:300]}")
    closure = set(packages)
    for line in out.stdout.split("\n"):
        line = line.strip()
        if not line:
            continue
        # Node lines name a package; edge lines look like "Depends: name" or "|Depends: name".
        name = line.split(":", 1)[1].strip() if ":" in line and not line.startswith("<") else line
        name = name.strip("<>").split(":")[0]
        if name:
            closure.add(name)
    return closure


def base_system():
    """Debian's required packages, and apt, which runs setup.sh's installs: present on every
    Debian machine before setup runs."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Priority} ${Essential}\n"],
                         capture_output=True, text=True, check=True)
    base = {"apt"}
    for line in out.stdout.splitlines():
        package, priority, essential = (line.split(" ") + ["", ""])[:3]
        if priority == "required" or essential == "yes":
            base.add(package)
    return base


# ---------------------------------------------------------------- who owns a file

class Owners:
    """Path -> package, read from dpkg's file lists (what dpkg -S searches)."""

    def __init__(self):
        self.by_path = {}
        for listing in glob.glob("/var/lib/dpkg/info/*.list"):
            package = os.path.basename(listing)[:-len(".list")].split(":")[0]
            with open(listing, encoding="utf-8", errors="replace") as f:
                for path in f.read().split("\n"):
                    if path:
                        self.by_path.setdefault(path, package)

    def _variants(self, path):
        # Debian 12 merges /bin, /lib, /sbin into /usr; dpkg records either spelling.
        yield path
        for short in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
            if path.startswith("/usr" + short):
                yield path[len("/usr"):]
            elif path.startswith(short):
                yield "/usr" + path

    def owner(self, path):
        """The package owning `path`, or one of the links it resolves through."""
        seen = set()
        current = os.path.normpath(path)
        while current not in seen:
            seen.add(current)
            for variant in self._variants(current):
                if variant in self.by_path:
                    return self.by_path[variant]
            # Resolve the directories first (a file can sit under a symlinked folder), then the file.
            parent = os.path.realpath(os.path.dirname(current))
            candidate = os.path.join(parent, os.path.basename(current))
            if candidate != current:
                current = candidate
                continue
            if not os.path.islink(current):
                break
            current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
        return None


# ---------------------------------------------------------------- what was used

def inside_project(path, build):
    real = os.path.realpath(path)
    return real.startswith(ROOT + os.sep) or real.startswith(os.path.realpath(build) + os.sep)


def depfile_inputs(build):
    for depfile in glob.glob(os.path.join(build, "**", "*.d"), recursive=True):
        with open(depfile, encoding="utf-8", errors="replace") as f:
            text = f.read().replace("\\\n", " ")
        for line in text.split("\n"):
            if ":" not in line:
                continue
            for token in line.split(":", 1)[1].split():
                if token.startswith("/"):
                    yield token, os.path.relpath(depfile, build)


def link_inputs(build):
    for link in glob.glob(os.path.join(build, "**", "link.txt"), recursive=True):
        with open(link) as f:
            words = f.read().split()
        where = os.path.relpath(link, build)
        for word in words:
            for token in word.split(","):
                if token.startswith("/") and os.path.isfile(token):
                    yield token, where
                elif token.startswith("-l") and len(token) > 2:
                    found = subprocess.run(["g++", f"-print-file-name=lib{token[2:]}.so"],
                                           capture_output=True, text=True).stdout.strip()
                    if found.startswith("/"):
                        yield found, where


def cmake_cache_inputs(build):
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.isfile(cache):
        fail(f"{cache}: not found; build first (scripts/setup.sh)")
    with open(cache) as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_.+-]+):(FILEPATH|PATH)=(/.*)$", line.strip())
            if not m:
                continue
            name, kind, value = m.groups()
            if kind == "FILEPATH" and os.path.isfile(value):
                yield value, f"CMakeCache.txt {name}"
            elif kind == "PATH" and name.endswith("_DIR") and os.path.isdir(value):
                for config in glob.glob(os.path.join(value, "*[Cc]onfig.cmake")):
                    yield config, f"CMakeCache.txt {name}"


def elf_files(build):
    for dirpath, _, names in os.walk(build):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if not (os.access(path, os.X_OK) or name.endswith(".so")):
                continue
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


def runtime_libraries(build):
    for elf in elf_files(build):
        out = subprocess.run(["ldd", elf], capture_output=True, text=True).stdout
        for line in out.split("\n"):
            m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
            if m:
                yield m.group(1), os.path.relpath(elf, build)


SHELL_SKIP = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
              "in", "function", "select", "time", "!", "{", "}", "[[", "]]", "exec", "sudo", "env", "xargs",
              "nohup", "timeout", "command"}


def shell_builtins():
    out = subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True, text=True).stdout
    return set(out.split())


def blank_quoted_text(code):
    """Quoted text holds no commands, unless a double-quoted string substitutes one."""
    out, i = [], 0
    while i < len(code):
        quote = code[i]
        if quote not in "'\"":
            out.append(quote)
            i += 1
            continue
        j = i + 1
        while j < len(code) and code[j] != quote:
            j += 2 if quote == '"' and code[j] == "\\" else 1
        inner = code[i + 1:j]
        out.append(quote + (inner if quote == '"' and "$(" in inner else "") + quote)
        i = j + 1
    return "".join(out)


def shell_programs(path, builtins):
    """(program, line number, probe) for the literal command words of a shell script."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    functions = {m.group(1) for l in lines for m in [re.match(r"\s*(?:function\s+)?([\w-]+)\s*\(\)", l)] if m}
    heredoc, in_array = None, False
    for number, line in enumerate(lines, 1):
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if in_array:  # the words of a multi-line array are data
            in_array = ")" not in re.sub(r"#.*$", "", line)
            continue
        if re.match(r"^\s*[A-Za-z_]\w*\+?=\([^)]*$", line):
            in_array = True
            continue
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if m:
            heredoc = m.group(1)
        if number == 1 and line.startswith("#!"):
            words = line[2:].split()
            if words:
                yield (words[1] if os.path.basename(words[0]) == "env" and len(words) > 1 else words[0]), number, False
            continue
        code = re.sub(r"(^|\s)#.*$", "", line)
        code = blank_quoted_text(code)
        code = re.sub(r"\b[A-Za-z_]\w*\+?=\([^)]*\)", "", code)  # the words of an array are data
        code = re.sub(r"\$?\(\(.*?\)\)", "", code)  # and so is arithmetic, $((...)) and ((...))
        for probe in re.findall(r"command\s+-v\s+([\w.+-]+)", code):
            yield probe, number, True
        for segment in re.split(r"\|\||&&|[|;`(]|\$\(", code):
            words = segment.split()
            if words and words[0] in ("for", "case", "select"):
                continue  # loop variables and case words are not commands
            if len(words) > 1 and re.match(r"^\$\w+$", words[0]):
                words = words[1:]  # a command prefix held in a variable, such as $sudo_cmd
            while words and (words[0] in SHELL_SKIP or re.match(r"^[A-Za-z_]\w*=", words[0]) or words[0].startswith("-")):
                if words[0] == "command":
                    words = []  # `command -v X` is a probe, handled above
                    break
                words = words[1:]
            if not words:
                continue
            word = words[0].strip("\"")
            if not re.match(r"^[/\w][\w./+-]*$", word) or word in builtins or word in functions:
                continue
            yield word, number, False


def python_programs(path):
    """The interpreter and the imported top-level modules of a Python script."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, 1):
        if number == 1 and line.startswith("#!"):
            yield "program", line[2:].split()[0], number
        m = re.match(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))", line)
        if m:
            names = [m.group(1)] if m.group(1) else [n.strip().split(" ")[0] for n in m.group(2).split(",")]
            for name in names:
                yield "module", name.split(".")[0], number
        for program in re.findall(r"[\"'](/usr/bin/[\w.+-]+)[\"']", line):
            yield "program", program, number


def module_file(name):
    code = ("import importlib.util,sys\n"
            "s=importlib.util.find_spec(sys.argv[1])\n"
            "print(s.origin if s and s.origin not in (None,'built-in','frozen') else ('builtin' if s else ''))")
    out = subprocess.run(["/usr/bin/python3", "-c", code, name], capture_output=True, text=True, cwd="/")
    return out.stdout.strip()


def script_files():
    scripts = [os.path.join(ROOT, ".ci", "run")]
    for pattern in ("scripts/**/*.sh", "scripts/**/*.py", "tests/**/*.sh"):
        scripts += glob.glob(os.path.join(ROOT, pattern), recursive=True)
    return sorted(set(scripts))


# ---------------------------------------------------------------- the check

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, os.environ.get("RECAP_BUILD_DIR", "build")))
    parser.add_argument("--setup", default=os.path.join(ROOT, "scripts", "setup.sh"),
                        help="the setup script whose lists are checked (default scripts/setup.sh)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)

    groups = setup_groups(args.setup)
    base = depends_closure(base_system())
    for_build = depends_closure(groups["build"]) | base
    for_scripts = depends_closure(set().union(*groups.values())) | base
    owners = Owners()

    used = {}  # path -> (what used it, packages allowed)
    # Programs a script only probes for (`command -v X`) and otherwise runs through a
    # variable: optional by construction (CUDA's nvcc on a GPU machine), so one from
    # outside Debian is reported, not an error; a program also run by name is required.
    probed, run_by_name = set(), set()
    def use(path, where, allowed):
        if not inside_project(path, build):
            used.setdefault(path, (where, allowed))

    for source in (depfile_inputs, link_inputs, cmake_cache_inputs, runtime_libraries):
        for path, where in source(build):
            use(path, where, for_build)

    unchecked = {}  # program or module -> where it is used
    builtins = shell_builtins()
    for script in script_files():
        rel = os.path.relpath(script, ROOT)
        allowed = for_build if rel in (".ci/run", "scripts/test.sh", "scripts/setup.sh", "scripts/check_setup.sh") \
            else for_scripts
        if script.endswith(".py"):
            items = list(python_programs(script))
        else:
            items = [("program", word, n) if not probe else ("probe", word, n) for word, n, probe in shell_programs(script, builtins)]
        for kind, name, number in items:
            where = f"{rel}:{number}"
            if kind == "module":
                origin = module_file(name)
                if origin == "builtin":
                    continue
                if not origin:
                    unchecked.setdefault(f"python module {name}", []).append(where)
                elif not inside_project(origin, build):
                    use(origin, where, allowed)
                continue
            if name.startswith("/"):
                program = name if os.path.exists(name) else None
            elif "/" in name:
                continue  # a path relative to the repository: the project's own program
            else:
                program = shutil.which(name)
            if program is None:
                if kind != "probe":
                    unchecked.setdefault(f"program {name}", []).append(where)
            else:
                (probed if kind == "probe" else run_by_name).add(program)
                use(program, where, allowed)

    missing = {}  # package -> [(path, what used it)]
    unowned = []
    packages_seen = set()
    for path, (where, allowed) in sorted(used.items()):
        package = owners.owner(path)
        if package is None:
            if path in probed and path not in run_by_name:
                print(f"check_setup: optional, not from Debian: {path} (probed by {where})")
                continue
            unowned.append(f"{path} (used by {where}) belongs to no Debian package")
            continue
        packages_seen.add(package)
        if package not in allowed:
            missing.setdefault(package, []).append((path, where))

    for name, places in sorted(unchecked.items()):
        print(f"check_setup: not installed here, not checked: {name} ({', '.join(places[:3])}"
              f"{', ...' if len(places) > 3 else ''})")
    for line in unowned:
        print(f"check_setup: error: {line}", file=sys.stderr)
    for package, files in sorted(missing.items()):
        shown = "; ".join(f"{path} (used by {where})" for path, where in files[:3])
        more = f"; and {len(files) - 3} more files" if len(files) > 3 else ""
        print(f"check_setup: error: package {package} is neither listed in {args.setup} nor pulled in "
              f"through Depends, but the build or a script used it: {shown}{more}", file=sys.stderr)
    problems = len(unowned) + len(missing)
    print(f"check_setup: {len(used)} files from {len(packages_seen)} packages used by the build, tests and scripts; "
          f"{problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
